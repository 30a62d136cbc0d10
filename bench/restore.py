"""Diacritic restoration cost: the time and memory to count a knowledge base's syllables (done
once, on its first question typed without diacritics) and the time to restore one question.

Usage: ``python -m bench.restore [--copies 1] [--json OUT]``

The texts are the bundled reports and, where ``../shared`` is beside the repository, every
passage of the public Q&A sets (uit_handcraft_qa, ViQuAD dev and test, zalo2019), each
``--copies`` times (more text, the same vocabulary: an upper bound on time, a lower one on
memory). The questions are the sets' questions with their diacritics removed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from assistant.config import BUNDLED_REPORTS
from assistant.restore import Restorer
from assistant.text import fold
from bench.questions import SHARED

POOLS = SHARED / "eval" / "public"


def texts() -> list[str]:
    out = [p.read_text(encoding="utf-8") for p in sorted(BUNDLED_REPORTS.glob("*.txt"))]
    for path in sorted(POOLS.glob("*/passages*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    return out


def questions(limit: int = 2000) -> list[str]:
    out: list[str] = []
    for path in sorted(POOLS.glob("*/questions*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines()[: limit // 4]:
            if line.strip():
                out.append(fold(json.loads(line)["question"]))
    return out or ["qb co bao nhieu may chu", "bac giang co bao nhieu tram bts"]


def run(copies: int) -> dict:
    corpus = texts() * copies
    chars = sum(map(len, corpus))
    tracemalloc.start()
    t0 = time.perf_counter()
    restorer = Restorer(corpus)
    build_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    asked = questions()
    t0 = time.perf_counter()
    for q in asked:
        restorer.restore(q)
    per_q_ms = (time.perf_counter() - t0) * 1000 / len(asked)
    return {
        "texts": len(corpus),
        "chars": chars,
        "syllable_forms": len(restorer.unigrams),
        "pairs": len(restorer.pairs),
        "build_s": round(build_s, 2),
        "build_mb_per_s": round(chars / 1e6 / build_s, 2),
        "peak_traced_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "questions": len(asked),
        "restore_ms_per_question": round(per_q_ms, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restore", description=__doc__)
    parser.add_argument("--copies", type=int, default=1, help="each text this many times")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.copies < 1:
        print("error: --copies must be at least 1", file=sys.stderr)
        return 2
    result = run(args.copies)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
