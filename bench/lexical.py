"""``python -m bench.lexical``: the BM25 column sum of ``assistant.lexical`` (scipy's public
sparse product) against scipy's private ``_sparsetools.csc_matvec`` one column at a time (what it
replaced) and numpy's gather-add-scatter, on posting lists of a 1M-chunk index. Prints ms per
query (median of the repeats) and checks the three give the same float32 sums."""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from assistant.about import plain
from assistant.lexical import _sum_columns


def postings(n: int, sizes: list[int], seed: int = 0) -> tuple[np.ndarray, ...]:
    """A CSC matrix (indptr, indices, data) with one column per posting-list size."""
    rng = np.random.default_rng(seed)
    cols = [np.sort(rng.choice(n, size, replace=False)).astype(np.int32) for size in sizes]
    indptr = np.cumsum([0, *map(len, cols)]).astype(np.int64)
    data = rng.random(int(indptr[-1]), dtype=np.float32)
    return indptr, np.concatenate(cols), data


def private_kernel(indptr, indices, data, columns, n) -> np.ndarray:
    from scipy.sparse._sparsetools import csc_matvec

    s = np.zeros(n, np.float32)
    one = np.ones(1, np.float32)
    for t in columns:
        a, b = int(indptr[t]), int(indptr[t + 1])
        csc_matvec(n, 1, np.array([0, b - a], indices.dtype), indices[a:b], data[a:b], one, s)
    return s


def numpy_columns(indptr, indices, data, columns, n) -> np.ndarray:
    s = np.zeros(n, np.float32)
    for t in columns:
        a, b = int(indptr[t]), int(indptr[t + 1])
        s[indices[a:b]] += data[a:b]
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lexical", description=plain(__doc__))
    parser.add_argument("--rows", type=int, default=1_000_000, help="chunks (1000000)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    n = args.rows
    # a question's tokens at 1M chunks: a few common syllables and pairs, more rare ones
    sizes = [s * n // 1_000_000 for s in (400_000, 150_000, 60_000, 20_000, 5_000, 800, 90, 12)]
    indptr, indices, data = postings(n, sizes)
    columns = list(range(len(sizes)))
    ways = {
        "public sparse product (assistant.lexical)": _sum_columns,
        "private csc_matvec per column (before)": private_kernel,
        "numpy gather-add-scatter per column": numpy_columns,
    }
    results = {name: f(indptr, indices, data, columns, n) for name, f in ways.items()}
    first = next(iter(results.values()))
    same = all(np.array_equal(first, r) for r in results.values())
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):  # interleaved, so load from other tenants hits all alike
        for name, f in ways.items():
            t0 = time.perf_counter()
            f(indptr, indices, data, columns, n)
            times[name].append((time.perf_counter() - t0) * 1000)
    print(
        f"{n} rows, {len(sizes)} query tokens, {int(indptr[-1])} postings; identical sums: {same}"
    )
    for name, ms in times.items():
        print(f"  {name}: {statistics.median(ms):.2f} ms (min {min(ms):.2f})")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
