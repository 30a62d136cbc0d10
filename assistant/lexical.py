"""BM25 over Vietnamese syllables and syllable pairs (bm25s).

Two indexes over the same rows: one keeps diacritics ("trạm" and "trám" differ), one folds
them, for questions typed without diacritics ("bac giang co bao nhieu tram bts"). A question
with any diacritic is scored on the first, a plain one on the second, so an accented word is
never counted twice and a plain question still finds accented text.
"""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

from assistant.text import fold, has_diacritics, tokens

try:  # y += A @ x for a CSC matrix A: a column of BM25 scores added into y in place
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
except ImportError:  # a private module of scipy (a dependency of bm25s): numpy instead
    _csc_matvec = None

logging.getLogger("bm25s").setLevel(logging.WARNING)
_ONE = np.ones(1, np.float32)


def _build(corpus: list[list[str]]) -> bm25s.BM25:
    retriever = bm25s.BM25()
    retriever.index([doc or [""] for doc in corpus], show_progress=False)
    return retriever


def _add_column(s: np.ndarray, rows: np.ndarray, data: np.ndarray) -> None:
    """``s[rows] += data`` (each row at most once), through scipy's compiled sparse
    matrix-vector product when it takes these arrays: one pass, ~4x faster than numpy's
    gather-add-scatter on a posting list of a million rows, the same float32 sums."""
    if _csc_matvec is not None and len(rows):
        try:
            ends = np.array([0, len(rows)], rows.dtype)
            _csc_matvec(len(s), 1, ends, rows, data, _ONE, s)
            return
        except (TypeError, ValueError):  # unexpected dtypes: numpy below
            pass
    s[rows] += data


def _scores(retriever: bm25s.BM25, token_ids: list[int], n: int) -> np.ndarray:
    """The sum of the tokens' precomputed BM25 columns: what ``get_scores`` returns (same float32
    sums, same order), one column at a time instead of ``np.add.at`` (~40x slower on posting
    lists of millions)."""
    m = retriever.scores
    indptr, indices, data = m["indptr"], m["indices"], m["data"]
    s = np.zeros(n, np.float32)
    for t in token_ids:
        a, b = int(indptr[t]), int(indptr[t + 1])
        _add_column(s, indices[a:b], data[a:b])
    if retriever.nonoccurrence_array is not None:  # BM25L / BM25+: a score for absent tokens
        s += retriever.nonoccurrence_array[token_ids].sum()
    return s


class LexicalIndex:
    """BM25 scores for every row; rows match the vector index's rows."""

    FOLDER = "bm25"
    FOLDED_FOLDER = "bm25-folded"

    def __init__(self, exact: bm25s.BM25 | None, folded: bm25s.BM25 | None, n: int) -> None:
        self.exact = exact
        self.folded = folded
        self.n = n
        self._df: dict[int, np.ndarray] = {}

    @property
    def fold_diacritics(self) -> bool:
        return self.folded is not None or self.n == 0

    @classmethod
    def build(cls, texts: list[str], fold_diacritics: bool = True) -> LexicalIndex:
        if not texts:
            return cls(None, None, 0)
        exact = _build([tokens(t) for t in texts])
        folded = _build([tokens(fold(t)) for t in texts]) if fold_diacritics else None
        return cls(exact, folded, len(texts))

    def _pick(self, query: str) -> tuple[bm25s.BM25 | None, list[str]]:
        """The index and tokens a query is scored with."""
        if self.folded is not None and not has_diacritics(query):
            return self.folded, tokens(fold(query))
        return self.exact, tokens(query)

    def scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of each row for ``query`` (0 where no token matches or not allowed)."""
        retriever, query_tokens = self._pick(query)
        if retriever is None:
            return np.zeros(self.n, np.float32)
        vocab = retriever.vocab_dict
        q = [t for t in dict.fromkeys(query_tokens) if t in vocab]
        if not q:
            return np.zeros(self.n, np.float32)
        s = _scores(retriever, [vocab[t] for t in q], self.n)
        if allowed is not None:
            mask = np.zeros(self.n, bool)
            mask[allowed] = True
            s = np.where(mask, s, 0.0).astype(np.float32)
        return s

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of one token (looked up with its diacritics, else
        folded); unseen tokens get the highest."""
        df = 0
        for retriever in (self.exact, self.folded):
            col = retriever.vocab_dict.get(token) if retriever is not None else None
            if col is not None:
                key = id(retriever)
                if key not in self._df:
                    self._df[key] = np.diff(np.asarray(retriever.scores["indptr"]))
                counts = self._df[key]
                df = int(counts[col]) if col < len(counts) else 0
                break
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))

    def save(self, folder: Path) -> None:
        if self.exact is not None:
            self.exact.save(str(folder / self.FOLDER), show_progress=False)
        if self.folded is not None:
            self.folded.save(str(folder / self.FOLDED_FOLDER), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n: int, fold_diacritics: bool) -> LexicalIndex:
        if n == 0:
            return cls(None, None, 0)

        def read(name: str) -> bm25s.BM25:
            return bm25s.BM25.load(str(folder / name), show_progress=False, verbosity=0)

        return cls(read(cls.FOLDER), read(cls.FOLDED_FOLDER) if fold_diacritics else None, n)
