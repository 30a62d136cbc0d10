"""Indexing time added by the indicator table: ``index_paths`` with and without fact extraction,
and the extraction alone, on the bundled reports and on a corpus of copies of them grown to
``--chunks`` chunks (10,000 by default). The bar: extraction adds at most 10%.

    python -m bench.indicators                 # bundled reports + 10k chunks (~10 min, 2 cores)
    python -m bench.indicators --chunks 500 --repeat 1   # a smoke run

Writes ``bench/results/indicators.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

from assistant import Settings, index_paths, load_encoder
from assistant.about import plain
from assistant.config import BUNDLED_REPORTS, PROJECT_ROOT
from assistant.facts import FactTable
from assistant.ingest import load_document

RESULTS = PROJECT_ROOT / "bench" / "results" / "indicators.json"


def grown_corpus(folder: Path, chunks: int, per_copy: int) -> Path:
    """Copies of the bundled reports (each copy's text made unique) in ``folder``, enough for
    about ``chunks`` chunks."""
    folder.mkdir(parents=True, exist_ok=True)
    reports = sorted(BUNDLED_REPORTS.glob("*.txt"))
    copies = max(1, -(-chunks // per_copy))
    for i in range(copies):
        for p in reports:
            text = p.read_text("utf-8")
            (folder / f"{p.stem}-{i:04d}.txt").write_text(f"{text}\n\nBản sao số {i}.\n", "utf-8")
    return folder


def _index_time(paths: list[Path], settings: Settings, encoder: Any, facts: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-ind-") as tmp:
        s = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
        t0 = time.perf_counter()
        if facts:
            index_paths(paths, s.index_dir, s, encoder)
        else:
            with mock.patch("assistant.indexing.FactTable.build", return_value=FactTable([])):
                index_paths(paths, s.index_dir, s, encoder)
        return time.perf_counter() - t0


def measure(paths: list[Path], settings: Settings, encoder: Any, repeat: int) -> dict[str, Any]:
    """Index ``paths`` ``repeat`` times each way (alternating), and time the extraction alone."""
    docs = [load_document(p) for folder in paths for p in sorted(Path(folder).glob("*.txt"))]
    without, with_facts = [], []
    for _ in range(repeat):
        without.append(_index_time(paths, settings, encoder, facts=False))
        with_facts.append(_index_time(paths, settings, encoder, facts=True))
    extraction = []
    for _ in range(max(3, repeat)):
        t0 = time.perf_counter()
        table = FactTable.build(docs)
        extraction.append(time.perf_counter() - t0)
    base, full, ext = (statistics.median(x) for x in (without, with_facts, extraction))
    from assistant.chunking import chunk_document

    n_chunks = sum(
        len(chunk_document(d, settings.chunk_size, settings.chunk_overlap, settings.context_header))
        for d in docs
    )
    return {
        "documents": len(docs),
        "chunks": n_chunks,
        "facts": len(table),
        "index_s_without_facts": [round(x, 3) for x in without],
        "index_s_with_facts": [round(x, 3) for x in with_facts],
        "extraction_s": [round(x, 4) for x in extraction],
        "overhead_pct_extraction_over_index": round(100 * ext / base, 2),
        "overhead_pct_with_vs_without": round(100 * (full - base) / base, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.indicators", description=plain(__doc__))
    parser.add_argument("--chunks", type=int, default=10_000, help="size of the grown corpus")
    parser.add_argument("--repeat", type=int, default=3, help="index runs each way")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = Settings()
    encoder = load_encoder(settings)
    out: dict[str, Any] = {"backend": settings.embed_backend}
    out["bundled"] = measure([BUNDLED_REPORTS], settings, encoder, args.repeat)
    print(f"bundled reports: {json.dumps(out['bundled'])}")
    with tempfile.TemporaryDirectory(prefix="bench-ind-corpus-") as tmp:
        per_copy = max(1, out["bundled"]["chunks"] // out["bundled"]["documents"])
        folder = grown_corpus(
            Path(tmp) / "corpus", args.chunks, per_copy * out["bundled"]["documents"]
        )
        out["grown"] = measure([folder], settings, encoder, max(1, args.repeat // 3))
    print(f"grown corpus: {json.dumps(out['grown'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), "utf-8")
    worst = max(out[k]["overhead_pct_extraction_over_index"] for k in ("bundled", "grown"))
    print(f"extraction adds {worst:.1f}% to indexing at most (bar: 10%); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
