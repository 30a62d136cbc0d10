"""BM25 over Vietnamese syllable tokens (bm25s), with diacritic-folded forms."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

from assistant.text import tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)


class LexicalIndex:
    """BM25 scores for every row; rows match the vector index's rows."""

    FOLDER = "bm25"

    def __init__(self, retriever: bm25s.BM25, n: int, fold_diacritics: bool) -> None:
        self.retriever = retriever
        self.n = n
        self.fold_diacritics = fold_diacritics
        self._df: np.ndarray | None = None

    @classmethod
    def build(cls, texts: list[str], fold_diacritics: bool = True) -> LexicalIndex:
        retriever = bm25s.BM25()
        corpus = [tokens(t, fold_diacritics) or [""] for t in texts]
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, len(texts), fold_diacritics)

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of each row for ``query`` (0 where no token matches or not allowed)."""
        if self.n == 0:
            return np.zeros(0, np.float32)
        vocab = self.retriever.vocab_dict
        q = [t for t in dict.fromkeys(tokens(query, self.fold_diacritics)) if t in vocab]
        if not q:
            return np.zeros(self.n, np.float32)
        s = np.asarray(self.retriever.get_scores(q), dtype=np.float32)
        if allowed is not None:
            mask = np.zeros(self.n, bool)
            mask[allowed] = True
            s = np.where(mask, s, 0.0).astype(np.float32)
        return s

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of one token; unseen tokens get the highest."""
        if self._df is None:
            indptr = np.asarray(self.retriever.scores["indptr"]) if self.n else np.zeros(1)
            self._df = np.diff(indptr)
        col = self.retriever.vocab_dict.get(token) if self.n else None
        df = int(self._df[col]) if col is not None and col < len(self._df) else 0
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))

    def save(self, folder: Path) -> None:
        if self.n:
            self.retriever.save(str(folder / self.FOLDER), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n: int, fold_diacritics: bool) -> LexicalIndex:
        if n == 0:
            return cls(bm25s.BM25(), 0, fold_diacritics)
        retriever = bm25s.BM25.load(str(folder / cls.FOLDER), show_progress=False, verbosity=0)
        return cls(retriever, n, fold_diacritics)
