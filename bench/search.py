"""FAISS index types on synthetic unit vectors: search latency, recall@10 against exact search,
memory, build time."""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np

K = 10


def synthetic(n: int, dim: int = 384, clusters: int = 2048, seed: int = 0) -> np.ndarray:
    """``n`` L2-normalised vectors drawn around random cluster centres (sentence embeddings are
    clustered by topic, not uniform on the sphere); the centres are the same for every seed."""
    centres = np.random.default_rng(12345).standard_normal((clusters, dim), dtype=np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        part = centres[rng.integers(0, clusters, stop - start)]
        part += 0.8 * rng.standard_normal(part.shape, dtype=np.float32)
        out[start:stop] = part
    faiss.normalize_L2(out)
    return out


def _timed_search(index: faiss.Index, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    rows, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, r = index.search(q[None, :], K)
        times.append((time.perf_counter() - t0) * 1000)
        rows.append(r[0])
    return np.stack(rows), times


def _latency(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(times[len(times) // 2], 3),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 3),
    }


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / K for f, e in zip(found, exact, strict=True)]))


def _memory_mb(index: faiss.Index) -> float:
    return round(faiss.serialize_index(index).nbytes / 2**20, 1)


def bench_size(
    n: int, kinds: list[str], n_queries: int = 200, dim: int = 384, target_recall: float = 0.95
) -> list[dict[str, Any]]:
    """Rows for one collection size: exact Flat first (the ground truth), then ``kinds``."""
    base = synthetic(n, dim)
    queries = synthetic(n_queries, dim, seed=1)  # new points around the same centres
    rows = []
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(base)
    build = time.perf_counter() - t0
    exact, times = _timed_search(flat, queries)
    rows.append(
        {
            "n": n,
            "kind": "flat",
            "recall@10": 1.0,
            **_latency(times),
            "memory_mb": _memory_mb(flat),
            "build_s": round(build, 1),
        }
    )
    del flat
    for kind in kinds:
        t0 = time.perf_counter()
        index: Any  # faiss's index classes share no typed base with these knobs
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.add(base)
            knobs, knob = [32, 64, 128, 256], "efSearch"
        else:
            nlist = min(1024, int(4 * np.sqrt(n)))  # capped: k-means time on 2 cores
            quantizer = faiss.IndexFlatIP(dim)
            if kind == "ivf-flat":
                index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            else:  # ivf-pq: 48 bytes a vector
                index = faiss.IndexIVFPQ(quantizer, dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
            sample = base[np.random.default_rng(3).permutation(n)[: min(n, 40 * nlist)]]
            index.train(sample)
            index.add(base)
            index.quantizer_trains_alone = 0
            knobs, knob = [4, 8, 16, 32, 64, 128], "nprobe"
        build = time.perf_counter() - t0
        best: dict[str, Any] | None = None
        for value in knobs:  # the cheapest setting that reaches the target recall
            if kind == "hnsw":
                index.hnsw.efSearch = value
            else:
                index.nprobe = value
            found, times = _timed_search(index, queries)
            best = {
                "n": n,
                "kind": kind,
                knob: value,
                "recall@10": round(_recall(found, exact), 3),
                **_latency(times),
                "memory_mb": _memory_mb(index),
                "build_s": round(build, 1),
            }
            if best["recall@10"] >= target_recall:
                break
        assert best is not None
        rows.append(best)
        del index
    return rows
