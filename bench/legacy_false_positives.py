"""False conversions of the legacy-encoding detector (:mod:`assistant.legacy`) on real Unicode text,
and how exactly it restores the same text typed in TCVN3 and VNI.

Usage: ``python -m bench.legacy_false_positives [--json OUT]``

Reads every real text we have: the bundled reports (``data/reports``), the shared report corpus
and news (``../shared/corpus``), and the passages of every public eval set
(``../shared/eval/public/*/passages*.jsonl``). A false conversion is a text that
:func:`assistant.legacy.fix_text` changes; the goal is 0. The restore rate encodes each text to
TCVN3 and VNI and counts the lines converted back exactly (TCVN3 has no toned capitals, so its
lines are compared case-insensitively).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.legacy import encode, fix_text

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def real_texts() -> Iterator[tuple[str, str, str]]:
    """(source set, id, text) of every real text."""
    for name, folder in (
        ("data/reports", ROOT / "data" / "reports"),
        ("shared/corpus/reports", SHARED / "corpus" / "reports"),
        ("shared/corpus/news-2017", SHARED / "corpus" / "news-2017"),
    ):
        for path in sorted(folder.glob("*")):
            if path.is_file() and path.suffix in (".txt", ".md", ".html", ".htm"):
                yield name, path.name, path.read_text(encoding="utf-8")
    for path in sorted((SHARED / "eval" / "public").glob("*/passages*.jsonl")):
        name = f"eval/{path.parent.name}/{path.name}"
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                yield (
                    name,
                    str(row.get("id")),
                    "\n".join(str(row[k]) for k in ("title", "text") if row.get(k)),
                )


def measure() -> dict:
    sets: dict[str, dict] = {}
    false_conversions: list[dict] = []
    restore = {"tcvn3": [0, 0], "vni": [0, 0]}  # [lines exact, lines with non-ASCII]
    t0 = time.perf_counter()
    for name, ident, text in real_texts():
        s = sets.setdefault(name, {"texts": 0, "chars": 0, "false_conversions": 0})
        s["texts"] += 1
        s["chars"] += len(text)
        fixed, encoding = fix_text(text)
        if fixed != text:
            s["false_conversions"] += 1
            changed = [
                a for a, b in zip(text.split("\n"), fixed.split("\n"), strict=True) if a != b
            ]
            false_conversions.append(
                {"set": name, "id": ident, "encoding": encoding, "lines": changed[:3]}
            )
        if name.startswith("eval/") and s["texts"] > 2000:
            continue  # the round trip on a sample of each large set is enough
        for enc in ("tcvn3", "vni"):
            back, _ = fix_text(encode(text, enc))
            for orig, got in zip(text.split("\n"), back.split("\n"), strict=True):
                if orig.isascii():
                    continue
                restore[enc][1] += 1
                same = got.lower() == orig.lower() if enc == "tcvn3" else got == orig
                restore[enc][0] += same
    total = sum(s["false_conversions"] for s in sets.values())
    return {
        "false_conversions": total,
        "texts": sum(s["texts"] for s in sets.values()),
        "chars": sum(s["chars"] for s in sets.values()),
        "sets": sets,
        "examples": false_conversions[:20],
        "restored_lines": {
            enc: {"exact": a, "lines": n, "rate": round(a / max(n, 1), 5)}
            for enc, (a, n) in restore.items()
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args(argv)
    result = measure()
    for name, s in result["sets"].items():
        print(
            f"{name:48} {s['texts']:6} texts {s['chars']:10,} chars "
            f"{s['false_conversions']} false conversions"
        )
    print(
        f"false conversions: {result['false_conversions']} of {result['texts']} texts "
        f"({result['chars']:,} characters)"
    )
    for enc, r in result["restored_lines"].items():
        print(f"{enc}: {r['exact']}/{r['lines']} lines restored exactly ({r['rate']:.2%})")
    for ex in result["examples"]:
        print("  false:", ex)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if result["false_conversions"] else 0


if __name__ == "__main__":
    sys.exit(main())
