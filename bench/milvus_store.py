"""Milvus Lite as the whole store against FAISS, on the same knowledge base: the bundled reports
copied until they hold 100k and 1M chunks (:func:`bench.e2e.scaled`), loaded into Milvus Lite
through the knowledge base's own path (vectors, BM25 sparse vectors, document fields; batched
inserts), then ``Assistant.ask`` p50/p95 on both stores in the same run.

Usage: ``python -m bench.milvus_store [--chunks 100000,1000000] [--windows 0] [--uri URI]``
(``--uri http://host:19530``: a Milvus server instead of a Milvus Lite file). The sample is
indexed with ``dense_windows=0`` by default (one vector per chunk, so 1M chunks are 1M vectors
on both stores); ``--windows 250`` keeps the default sentence windows (~3 vectors per chunk).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from assistant import Assistant, Settings
from assistant.kb import KnowledgeBase
from assistant.lexical import LexicalIndex
from assistant.vectors import VectorRows, build_store, milvus_collection
from assistant.vectors.milvus import MilvusIndex
from bench.e2e import ask_latency, sample_assistant, scaled
from bench.machine import machine
from bench.questions import questions

RESULTS = Path(__file__).parent / "results" / "milvus_store.json"


def rss_mb() -> float:
    """This process's resident memory now (Milvus Lite runs inside it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest resident memory seen while the block runs (sampled every 0.2 s)."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def on_milvus(
    bot: Assistant, folder: Path, uri: str | None = None
) -> tuple[Assistant, dict[str, Any]]:
    """``bot``'s knowledge base written to Milvus as the whole store (as ``index``/``migrate``
    write it): a Milvus Lite file in ``folder``, or the server at ``uri``; and the load's time,
    rows per second and memory (of this process: with a server, Milvus's own is apart)."""
    kb = bot.kb
    assert isinstance(kb.lexical, LexicalIndex)
    settings = bot.settings.model_copy(
        update={
            "vector_store": "milvus",
            "milvus_uri": uri or str(folder / "kb.db"),
            "index_dir": folder,
        }
    )
    rows = VectorRows(kb.chunks, kb.owners, kb.documents, kb.lexical)
    with PeakRss() as memory:
        t0 = time.perf_counter()
        store = build_store(settings, folder, kb.vectors, rows)
        seconds = time.perf_counter() - t0
    # vector rows, one BM25 row and one record row per chunk (the documents' parts not counted)
    inserted = len(kb.owners) + 2 * len(kb.chunks)
    big = KnowledgeBase(
        kb.documents, kb.chunks, None, kb.signature, vector_index=store, owners=kb.owners
    )
    load = {
        "chunks": len(kb.chunks),
        "vectors": len(kb.owners),
        "rows": inserted,
        "load_s": round(seconds, 1),
        "rows_per_s": round(inserted / seconds),
        "chunks_per_s": round(len(kb.chunks) / seconds),
        "rss_before_mb": round(memory.start),
        "peak_rss_mb": round(memory.peak),
        "load_rss_mb": round(memory.peak - memory.start),
    }
    return Assistant(settings, big, bot.encoder), load


def run(sizes: list[int], windows: int, asked: list[str], uri: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "machine": machine(),
        "dense_windows": windows,
        "milvus": uri or "Milvus Lite file",
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-milvus-store-") as tmp:
        settings = Settings(dense_windows=windows)
        bot = sample_assistant(settings, Path(tmp) / "sample")
        for n in sizes:
            print(f"{n:,} chunks: FAISS", flush=True)
            big = scaled(bot, n)
            faiss = ask_latency(big, asked, repeat=1)
            print(f"{n:,} chunks: loading Milvus Lite", flush=True)
            milvus, load = on_milvus(big, Path(tmp) / f"milvus-{n}", uri)
            print(f"  {load}", flush=True)
            ask = ask_latency(milvus, asked, repeat=1)
            same = sum(
                [h.chunk.id for h in big.ask(q).hits[:5]]
                == [h.chunk.id for h in milvus.ask(q).hits[:5]]
                for q in asked
            )
            out["sizes"].append(
                {
                    "chunks": len(big.kb.chunks),
                    "faiss": faiss,
                    "milvus": {**ask, "load": load},
                    "same_top5": f"{same}/{len(asked)}",
                }
            )
            print(
                f"  faiss {faiss['p50_ms']}/{faiss['p95_ms']} ms, milvus "
                f"{ask['p50_ms']}/{ask['p95_ms']} ms, same top-5 {same}/{len(asked)}",
                flush=True,
            )
            store = milvus.kb.vector_index
            assert isinstance(store, MilvusIndex)
            milvus_collection.drop_versions(store.client(), store.target, [])  # on a server too
            milvus_collection.close_all()
            del big, milvus
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.milvus_store")
    parser.add_argument("--chunks", default="100000,1000000")
    parser.add_argument("--windows", type=int, default=0)
    parser.add_argument(
        "--uri", help="a Milvus server (http://host:19530) instead of a Milvus Lite file"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.chunks.split(",")]
    result = run(sizes, args.windows, questions(), args.uri)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
