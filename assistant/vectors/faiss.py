"""FAISS as the vector store: exact search for up to a few hundred thousand vectors, IVF-Flat
(calibrated for recall) above, HNSW on request, all in the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.config import Settings
from assistant.types import Progress, SearchFilter
from assistant.vectors.base import Capabilities, Update, VectorRows, VectorStore

faiss.omp_set_num_threads(max(1, faiss.omp_get_max_threads()))


# Exact search up to this many vectors (~45 ms a query at 200k on 2 cores); above it an
# inverted-file index (IVF-Flat: full vectors, so no loss from compression) whose number of
# probed lists is calibrated for recall@10 against exact search when it is built.
EXACT_MAX = 200_000
TARGET_RECALL = 0.98
KINDS = ("auto", "flat", "ivf", "hnsw")


def choose_kind(n: int, kind: str = "auto", exact_max: int = EXACT_MAX) -> str:
    """The index type for ``n`` vectors: ``kind`` itself unless it is "auto".

    >>> choose_kind(50_000), choose_kind(1_000_000)
    ('flat', 'ivf')
    """
    if kind not in KINDS:
        raise ValueError(f"unknown vector index kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind != "auto":
        return kind
    return "flat" if n <= exact_max else "ivf"


class FaissIndex(VectorStore):
    """Exact inner product (``IndexFlatIP``), IVF-Flat for large collections, or HNSW, in the
    process; the type is chosen by size unless asked for (:func:`choose_kind`). The index is
    ``index.faiss`` in the knowledge base folder."""

    FILE = "index.faiss"
    NAME = "faiss"

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = kind  # the index type: flat, ivf or hnsw
        self.capabilities = Capabilities(
            exact=kind == "flat",
            filters_in_engine=False,
            rows_in_engine=True,
            vectors_in_folder=True,
            incremental=False,
        )
        if kind == "ivf":
            # one question at a time: split the probed lists between the cores (the default
            # splits the queries, leaving one core idle; at 1M vectors 57 -> 31 ms a search)
            faiss.extract_index_ivf(index).parallel_mode = 1

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        rows: VectorRows,
        settings: Settings,
        index_dir: Path,
        update: Update | None = None,
        progress: Progress | None = None,
    ) -> FaissIndex:
        """The index type the settings ask for (``vector_index``, ``exact_max_vectors``),
        built afresh from every vector (FAISS has no rows to keep)."""
        return cls.from_vectors(vectors, settings.vector_index, settings.exact_max_vectors)

    @classmethod
    def from_vectors(
        cls, vectors: np.ndarray, kind: str = "auto", exact_max: int = EXACT_MAX
    ) -> FaissIndex:
        """An index of ``kind`` (:func:`choose_kind`) over ``vectors`` ``(n, dim)``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = choose_kind(n, kind, exact_max)
        if kind == "ivf" and n < 1000:
            kind = "flat"  # too few vectors to train the lists
        index: faiss.Index
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.hnsw.efSearch = 128
            index = hnsw
        else:
            return cls(_build_ivf(vectors), kind)
        if n:
            index.add(vectors)
        return cls(index, kind)

    @classmethod
    def open(
        cls, entry: dict[str, Any], folder: Path, rows: VectorRows, settings: Settings | None = None
    ) -> FaissIndex:
        return cls.load(folder, entry.get("index", "flat"))

    @classmethod
    def load(cls, folder: Path, kind: str) -> FaissIndex:
        return cls(faiss.read_index(str(folder / cls.FILE)), kind)

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / self.FILE))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def describe(self) -> dict[str, Any]:
        return {"name": self.NAME, "index": self.kind}

    def search(
        self,
        query: np.ndarray,
        k: int,
        where: SearchFilter | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)``; ``allowed`` rows are a bitmap inside FAISS (``where``
        is not read: FAISS stores no document fields)."""
        n = len(self) if allowed is None else len(allowed)
        k = min(k, n)
        if k <= 0:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            # a bitmap: built in O(n / 8) and checked in O(1), for a few rows or millions
            mask = np.zeros(len(self), bool)
            mask[allowed] = True
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bits))
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector)  # type: ignore[attr-defined]
            elif self.kind == "ivf":
                # a filter keeps a share of each list: probe more lists, in proportion, but not
                # past 1/16 of them unless the calibration already did (at 1M chunks nprobe is
                # 256 of 4096 and widening bought no recall at twice the time; at 100k it is
                # single digits and a one-in-five filter lost 12% of recall without widening)
                ivf = faiss.extract_index_ivf(self.index)
                wider = ivf.nprobe * int(np.ceil(len(self) / max(len(allowed), 1)))
                nprobe = min(max(ivf.nprobe, ivf.nlist // 16), wider)
                params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, rows = self.index.search(q, k, params=params)
        del params  # the selector reads ``bits`` until here
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]


def _build_ivf(vectors: np.ndarray, seed: int = 0) -> faiss.Index:
    """IVF-Flat with ~4·sqrt(n) lists (at most 4096), trained on a sample, and ``nprobe`` set
    to the smallest value whose recall@10 against exact search reaches ``TARGET_RECALL`` on
    queries drawn near stored vectors."""
    n, dim = vectors.shape
    nlist = int(min(4096, max(16, 4 * np.sqrt(n))))
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(sample)
    index.add(vectors)
    queries = vectors[rng.choice(n, size=min(n, 100), replace=False)]
    queries = queries + 0.05 * rng.standard_normal(queries.shape).astype(np.float32)
    faiss.normalize_L2(queries)
    _, truth = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    index.nprobe = nlist
    for nprobe in (8, 16, 32, 64, 128, 256, 512):
        if nprobe >= nlist:
            break
        index.nprobe = nprobe
        _, found = index.search(queries, 10)
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
        if recall >= TARGET_RECALL:
            break
    return index
