"""The vector store interface and its FAISS implementation.

FAISS row numbers never leave this module's callers in ``store.py``: everything above works with
chunk ids. Another engine (a distributed one) implements the same :class:`VectorIndex`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

faiss.omp_set_num_threads(max(1, faiss.omp_get_max_threads()))


class VectorIndex(Protocol):
    """Inner-product search over L2-normalised vectors, rows numbered 0..n-1."""

    kind: str

    def __len__(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)`` for one query vector ``(dim,)``; ``allowed`` restricts
        the rows searched (a filter applied inside the engine, not after)."""
        ...

    def save(self, folder: Path) -> None: ...


class FaissIndex:
    """Exact inner product (``IndexFlatIP``) by default; HNSW when asked for."""

    FILE = "index.faiss"

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "flat") -> FaissIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 128
        else:
            raise ValueError(f"unknown vector index kind {kind!r}; use 'flat' or 'hnsw'")
        if len(vectors):
            index.add(vectors)
        return cls(index, kind)

    @classmethod
    def load(cls, folder: Path, kind: str) -> FaissIndex:
        return cls(faiss.read_index(str(folder / cls.FILE)), kind)

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / self.FILE))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(self) if allowed is None else len(allowed)
        k = min(k, n)
        if k <= 0:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=selector) if self.kind == "hnsw"
                      else faiss.SearchParameters(sel=selector))
        scores, rows = self.index.search(q, k, params=params)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]
