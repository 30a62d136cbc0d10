"""Hybrid retrieval: dense (FAISS) + BM25, fused by weighted reciprocal rank, with filters."""

from __future__ import annotations

import numpy as np

from assistant.config import Settings
from assistant.provinces import find_provinces
from assistant.store import Encoder, KnowledgeBase
from assistant.types import Hit


class Retriever:
    """Searches one knowledge base with one encoder.

    >>> # retriever = Retriever(kb, encoder, Settings()); retriever.search("trạm BTS", k=5)
    """

    def __init__(self, kb: KnowledgeBase, encoder: Encoder, settings: Settings) -> None:
        self.kb = kb
        self.encoder = encoder
        self.settings = settings

    def allowed_rows(self, province: str | None = None, year: int | None = None,
                     doc_ids: list[str] | None = None) -> np.ndarray | None:
        """Rows of the chunks that pass the filters; None when nothing is filtered."""
        if province is None and year is None and doc_ids is None:
            return None
        wanted = _canonical_province(province) if province else None
        ids = [d.id for d in self.kb.documents.values()
               if (wanted is None or d.province == wanted)
               and (year is None or d.year == year)
               and (doc_ids is None or d.id in doc_ids)]
        return np.sort(self.kb.rows_for(ids))

    def search(self, query: str, k: int | None = None, province: str | None = None,
               year: int | None = None, doc_ids: list[str] | None = None) -> list[Hit]:
        """Top-``k`` hits for ``query``, best first, each with its scores and ranks."""
        k = k or self.settings.top_k
        s = self.settings
        allowed = self.allowed_rows(province, year, doc_ids)
        if len(self.kb) == 0 or (allowed is not None and len(allowed) == 0):
            return []
        n = len(self.kb) if allowed is None else len(allowed)
        depth = min(max(s.candidates, k), n)

        dense: dict[int, tuple[int, float]] = {}
        if s.fusion in ("rrf", "dense") and (s.fusion == "dense" or s.dense_weight > 0):
            qv = self.encoder.embed([query], "query")[0]
            scores, rows = self.kb.vector_index.search(qv, depth, allowed)
            dense = {int(r): (i + 1, float(sc)) for i, (sc, r) in enumerate(zip(scores, rows,
                                                                               strict=True))}
        lexical: dict[int, tuple[int, float]] = {}
        if s.fusion in ("rrf", "bm25") and (s.fusion == "bm25" or s.bm25_weight > 0):
            bm = self.kb.lexical.scores(query, allowed)
            top = np.argsort(-bm, kind="stable")[:depth]
            lexical = {int(r): (i + 1, float(bm[r])) for i, r in enumerate(top) if bm[r] > 0}

        fused: dict[int, float] = {}
        if s.fusion == "dense":
            fused = {r: v[1] for r, v in dense.items()}
        elif s.fusion == "bm25":
            fused = {r: v[1] for r, v in lexical.items()}
        else:
            for r, (rank, _) in dense.items():
                fused[r] = fused.get(r, 0.0) + s.dense_weight / (s.rrf_k + rank)
            for r, (rank, _) in lexical.items():
                fused[r] = fused.get(r, 0.0) + s.bm25_weight / (s.rrf_k + rank)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        hits = []
        for r in best:
            chunk = self.kb.chunks[r]
            d, b = dense.get(r), lexical.get(r)
            hits.append(Hit(chunk=chunk, doc=self.kb.documents[chunk.doc_id], score=fused[r],
                            dense_score=d[1] if d else None, dense_rank=d[0] if d else None,
                            bm25_score=b[1] if b else None, bm25_rank=b[0] if b else None))
        return hits


def _canonical_province(name: str) -> str:
    found = find_provinces(name)
    return found[0][0] if found else name
