"""Where the time of one question goes: ``Assistant.ask`` on a scaled-up knowledge base, each
stage timed (query embedding, document filter, vector search, BM25, answer).

Usage: ``python -m bench.stages [--chunks 1000000]`` (the 1M knowledge base takes ~3 minutes
and ~15 GB to build, as in ``python -m bench``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant import Assistant, Settings
from assistant import bot as bot_module
from assistant.about import plain

STAGES = {  # label -> what it covers
    "embed": "the query vector",
    "rows_where": "rows of the documents a filter allows",
    "dense_search": "dense candidates: vector rows of the filter, search, best vector per chunk",
    "vector_search": "  of which the vector index's own search (FAISS or Milvus)",
    "bm25": "BM25 scores of every row (in the process; on Milvus the sparse search is in other)",
    "fusion": "exact dense scores of the BM25 candidates",
    "answer": "the extractive answer (the vectors of its candidate sentences included)",
}
NESTED = {"vector_search"}  # inside another stage: not added again


@contextmanager
def timed(bot: Assistant) -> Iterator[dict[str, float]]:
    """Seconds spent in each stage of ``bot.ask`` while the block runs (summed)."""
    spent: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    active: list[str] = []  # the stages running now, outermost first
    kb = bot.kb
    targets: list[tuple[Any, str, str]] = [
        (bot.encoder, "embed", "embed"),
        (kb, "rows_where", "rows_where"),
        (kb, "dense_search", "dense_search"),
        (kb.vector_index, "search", "vector_search"),
        (kb.lexical, "scorer", "bm25"),
        (kb, "dense_scores", "fusion"),
        (bot_module, "compose", "answer"),
    ]
    saved = []
    for obj, name, label in targets:
        own = vars(obj)  # an instance's or module's own attributes
        saved.append((obj, name, name in own, own.get(name)))
        setattr(obj, name, _wrap(getattr(obj, name), label, spent, active))
    try:
        yield spent
    finally:
        for obj, name, had, before in reversed(saved):
            if had:
                setattr(obj, name, before)
            else:
                delattr(obj, name)  # the class's method shows through again


def _wrap(
    fn: Callable[..., Any], label: str, spent: dict[str, float], active: list[str]
) -> Callable[..., Any]:
    """``fn`` timed under ``label``; a call made inside another stage (the answerer embedding
    its candidate sentences) counts for that outer stage only, unless it is a NESTED one."""

    def run(*args: Any, **kw: Any) -> Any:
        if active and label not in NESTED:
            return fn(*args, **kw)
        active.append(label)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            spent[label] += time.perf_counter() - t0
            active.pop()

    return run


def stage_times(bot: Assistant, questions: list[str], repeat: int = 2) -> dict[str, Any]:
    """Mean milliseconds per question in each stage, and the mean of the whole ``ask``."""
    for q in questions:  # warm: each question's document filter is remembered after its first use
        bot.ask(q)
    with timed(bot) as spent:
        t0 = time.perf_counter()
        for _ in range(repeat):
            for q in questions:
                bot.ask(q)
        total = time.perf_counter() - t0
    n = repeat * len(questions)
    out = {k: round(v / n * 1000, 1) for k, v in spent.items()}
    out["ask"] = round(total / n * 1000, 1)
    out["other"] = round(
        out["ask"] - sum(v for k, v in out.items() if k != "ask" and k not in NESTED), 1
    )
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.e2e import sample_assistant, scaled
    from bench.questions import questions

    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=plain(__doc__))
    parser.add_argument("--chunks", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        bot = sample_assistant(Settings(), Path(tmp) / "index")
        big = scaled(bot, args.chunks) if args.chunks > len(bot.kb.chunks) else bot
        ms = stage_times(big, questions())
    print(
        f"{len(big.kb.chunks):,} chunks, {len(big.kb.owners):,} vectors "
        f"({big.kb.vector_index.summary()}); mean ms per question:"
    )
    for k, v in ms.items():
        print(f"  {k:14s} {v:7.1f}  {STAGES.get(k, '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
