"""Milvus Lite against FAISS on synthetic 384-d vectors with a province field (63 provinces):
build time, memory (RSS growth and bytes on disk), search p50/p95 with and without a province
filter. The filter runs inside each engine: FAISS gets the province's rows (an ID selector, as
the knowledge base passes them), Milvus an expression ``province == "P17"``."""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.search import _latency, synthetic

K = 10
PROVINCES = 63
INSERT_BATCH = 5000


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)


def _timed(fn: Any, queries: np.ndarray, where: np.ndarray | None) -> list[float]:
    times = []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        fn(q, None if where is None else int(where[i]))
        times.append((time.perf_counter() - t0) * 1000)
    return times


def bench_faiss(
    base: np.ndarray,
    province: np.ndarray,
    queries: np.ndarray,
    query_province: np.ndarray,
    kind: str = "flat",
) -> dict[str, Any]:
    """FAISS flat or IVF-flat: unfiltered search and search limited to one province's rows."""
    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    dim = base.shape[1]
    if kind == "flat":
        index: Any = faiss.IndexFlatIP(dim)
        params: dict[str, Any] = {}
    else:
        nlist = min(1024, int(4 * np.sqrt(len(base))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(base[np.random.default_rng(3).permutation(len(base))[: 40 * nlist]])
        params = {"nprobe": 16}
        index.nprobe = 16
    index.add(base)
    build = time.perf_counter() - t0
    # RSS growth can come out negative (memory freed by the previous row); an index's
    # serialised size is its memory, give or take the allocator
    rss = max(_rss_mb() - rss0, faiss.serialize_index(index).nbytes / 2**20)
    rows_of = {p: np.flatnonzero(province == p) for p in np.unique(query_province)}

    def search(q: np.ndarray, p: int | None) -> None:
        sp = None
        if p is not None:
            sel = faiss.IDSelectorBatch(rows_of[p])
            ivf, flat = faiss.SearchParametersIVF, faiss.SearchParameters  # stubs lack ``sel``
            sp = ivf(sel=sel, **params) if kind != "flat" else flat(sel=sel)  # type: ignore[call-arg]
        index.search(q[None, :], K, params=sp)

    plain = _latency(_timed(search, queries, None))
    filtered = _latency(_timed(search, queries, query_province))
    size = faiss.serialize_index(index).nbytes / 2**20
    return {
        "engine": f"faiss-{kind}",
        "n": len(base),
        "build_s": round(build, 1),
        "rss_mb": round(rss, 1),
        "disk_mb": round(size, 1),
        "p50_ms": plain["p50_ms"],
        "p95_ms": plain["p95_ms"],
        "filtered_p50_ms": filtered["p50_ms"],
        "filtered_p95_ms": filtered["p95_ms"],
    }


def bench_milvus_lite(
    base: np.ndarray,
    province: np.ndarray,
    queries: np.ndarray,
    query_province: np.ndarray,
    folder: Path,
) -> dict[str, Any]:
    """Milvus Lite (a local .db, FLAT index): insert in batches, then search."""
    from pymilvus import DataType, MilvusClient

    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)  # Lite's unimplemented calls
    gc.collect()
    rss0 = _rss_mb()
    uri = str(folder / "bench.db")
    t0 = time.perf_counter()
    client = MilvusClient(uri)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=base.shape[1])
    schema.add_field("province", DataType.VARCHAR, max_length=64)
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    params.add_index(field_name="province", index_type="INVERTED")
    client.create_collection(
        "bench", schema=schema, index_params=params, consistency_level="Strong"
    )
    for start in range(0, len(base), INSERT_BATCH):
        stop = min(len(base), start + INSERT_BATCH)
        client.insert(
            "bench",
            [
                {"id": i, "vector": base[i], "province": f"P{province[i]}"}
                for i in range(start, stop)
            ],
        )
    client.flush("bench")
    client.load_collection("bench")
    client.search("bench", data=[queries[0].tolist()], limit=K, output_fields=["id"])  # warm
    build = time.perf_counter() - t0
    rss = _rss_mb() - rss0

    def search(q: np.ndarray, p: int | None) -> None:
        client.search(
            "bench",
            data=[q.tolist()],
            limit=K,
            output_fields=["id"],
            filter="" if p is None else f'province == "P{p}"',
        )

    plain = _latency(_timed(search, queries, None))
    filtered = _latency(_timed(search, queries, query_province))
    client.close()
    return {
        "engine": "milvus-lite-flat",
        "n": len(base),
        "build_s": round(build, 1),
        "rss_mb": round(rss, 1),
        "disk_mb": _disk_mb(Path(uri)),
        "p50_ms": plain["p50_ms"],
        "p95_ms": plain["p95_ms"],
        "filtered_p50_ms": filtered["p50_ms"],
        "filtered_p95_ms": filtered["p95_ms"],
    }


def bench_stores(
    sizes: list[int], n_queries: int = 100, dim: int = 384, milvus: bool = True
) -> list[dict[str, Any]]:
    """Rows (one per engine and size) for FAISS flat, FAISS IVF-flat and Milvus Lite."""
    rows: list[dict[str, Any]] = []
    queries = synthetic(n_queries, dim, seed=1)
    query_province = np.random.default_rng(2).integers(0, PROVINCES, n_queries)
    for n in sizes:
        base = synthetic(n, dim)
        province = np.random.default_rng(4).integers(0, PROVINCES, n)
        rows.append(bench_faiss(base, province, queries, query_province, "flat"))
        rows.append(bench_faiss(base, province, queries, query_province, "ivf"))
        if milvus:
            folder = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
            try:
                rows.append(bench_milvus_lite(base, province, queries, query_province, folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        del base
    return rows
