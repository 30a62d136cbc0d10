"""Hybrid retrieval: dense (FAISS or Milvus) + BM25 (in the process or in Milvus), fused by
weighted z-scores (or reciprocal rank), with filters."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from assistant.config import Settings
from assistant.kb import KnowledgeBase
from assistant.lexical import Scores
from assistant.provinces import find_provinces
from assistant.types import Encoder, Hit, SearchFilter


class Retriever:
    """Searches one knowledge base with one encoder.

    >>> # retriever = Retriever(kb, encoder, Settings()); retriever.search("trạm BTS", k=5)
    """

    def __init__(self, kb: KnowledgeBase, encoder: Encoder, settings: Settings) -> None:
        self.kb = kb
        self.encoder = encoder
        self.settings = settings

    def search_filter(
        self,
        province: str | None = None,
        year: int | None = None,
        doc_ids: Collection[str] | None = None,
    ) -> SearchFilter | None:
        """The filters as document fields (province canonical); None when nothing is
        filtered."""
        if province is None and year is None and doc_ids is None:
            return None
        return SearchFilter(
            province=_canonical_province(province) if province else None,
            year=year,
            doc_ids=None if doc_ids is None else frozenset(doc_ids),
        )

    def allowed_rows(
        self,
        province: str | None = None,
        year: int | None = None,
        doc_ids: Collection[str] | None = None,
    ) -> np.ndarray | None:
        """Rows of the chunks that pass the filters; None when nothing is filtered."""
        where = self.search_filter(province, year, doc_ids)
        if where is None:
            return None
        return self.kb.rows_where(where)

    def search(
        self,
        query: str,
        k: int | None = None,
        province: str | None = None,
        year: int | None = None,
        doc_ids: Collection[str] | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Top-``k`` hits for ``query``, best first, each with its scores and ranks; ``vector``
        is the query's embedding when the caller already has it."""
        k = k or self.settings.top_k
        s = self.settings
        where = self.search_filter(province, year, doc_ids)
        allowed = None if where is None else self.kb.rows_where(where)
        if len(self.kb) == 0 or (allowed is not None and len(allowed) == 0):
            return []
        n = len(self.kb) if allowed is None else len(allowed)
        depth = min(max(s.candidates, k), n)
        use_dense = s.fusion == "dense" or (s.fusion != "bm25" and s.dense_weight > 0)
        use_bm25 = s.fusion == "bm25" or (s.fusion != "dense" and s.bm25_weight > 0)

        dense: dict[int, tuple[int, float]] = {}
        qv = None
        if use_dense:
            qv = vector if vector is not None else self.encoder.embed([query], "query")[0]
            scores, rows = self.kb.dense_search(qv, depth, allowed, where)
            dense = {
                int(r): (i + 1, float(sc))
                for i, (sc, r) in enumerate(zip(scores, rows, strict=True))
            }
        lexical: dict[int, tuple[int, float]] = {}
        bm = None
        if use_bm25:
            bm = self.kb.lexical.scorer(query, allowed, where)
            top, top_scores = bm.top(depth)
            lexical = {
                int(r): (i + 1, float(sc))
                for i, (r, sc) in enumerate(zip(top, top_scores, strict=True))
            }

        if s.fusion == "dense":
            fused = {r: v[1] for r, v in dense.items()}
        elif s.fusion == "bm25":
            fused = {r: v[1] for r, v in lexical.items()}
        elif s.fusion == "rrf":
            fused = {}
            for r, (rank, _) in dense.items():
                fused[r] = fused.get(r, 0.0) + s.dense_weight / (s.rrf_k + rank)
            for r, (rank, _) in lexical.items():
                fused[r] = fused.get(r, 0.0) + s.bm25_weight / (s.rrf_k + rank)
        else:  # "score": weighted sum of z-scores over the union of both candidate lists
            fused = self._score_fusion(qv, bm, dense, lexical)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        hits = []
        for r in best:
            chunk = self.kb.chunks[r]
            d, b = dense.get(r), lexical.get(r)
            hits.append(
                Hit(
                    chunk=chunk,
                    doc=self.kb.documents[chunk.doc_id],
                    score=fused[r],
                    dense_score=d[1] if d else None,
                    dense_rank=d[0] if d else None,
                    bm25_score=b[1] if b else None,
                    bm25_rank=b[0] if b else None,
                )
            )
        return hits

    def _score_fusion(
        self,
        qv: np.ndarray | None,
        bm: Scores | None,
        dense: dict[int, tuple[int, float]],
        lexical: dict[int, tuple[int, float]],
    ) -> dict[int, float]:
        """``w_dense * z(cosine) + w_bm25 * z(BM25)``. Every candidate of either list gets both
        scores (a row outside one list is scored exactly, not treated as missing); z-scores are
        taken over the candidates, so the two scales are comparable query by query."""
        s = self.settings
        rows = np.fromiter(dict.fromkeys([*dense, *lexical]), np.int64)
        total = np.zeros(len(rows), np.float64)
        if qv is not None and s.dense_weight > 0:
            total += s.dense_weight * _z(self.kb.dense_scores(qv, rows))
        if bm is not None and s.bm25_weight > 0:
            total += s.bm25_weight * _z(bm.at(rows))
        return {int(r): float(v) for r, v in zip(rows, total, strict=True)}


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def _canonical_province(name: str) -> str:
    found = find_provinces(name)
    return found[0][0] if found else name
