"""BM25 as sparse vectors, for a vector engine that searches them itself (Milvus).

Each row becomes ``{token id: BM25 weight}`` with the weights bm25s precomputed for that row
(idf times the saturated, length-normalised term frequency, "lucene" BM25), and a question
becomes ``{token id: 1.0}`` for each distinct token: their inner product is exactly the row's
BM25 score of :meth:`assistant.lexical.LexicalIndex.scores`. The tokens are *ours*
(syllables, syllable pairs, the folded twin for questions without diacritics); token ids are a
stable hash of the token, so a question needs no vocabulary.

>>> from assistant.lexical import LexicalIndex
>>> lex = LexicalIndex.build(["Bắc Giang có 1.422 trạm BTS", "Bắc Ninh có 33 máy chủ"])
>>> rows = list(row_vectors(lex.exact, lex.n))
>>> q = query_vector(["trạm", "bts", "trạm_bts"])
>>> round(inner(q, rows[0]), 4) == round(float(lex.scores("trạm BTS")[0]), 4), inner(q, rows[1])
(True, 0.0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import bm25s
import numpy as np
from scipy import sparse

SparseVector = dict[int, float]
ID_SPACE = 2**32 - 1  # Milvus sparse indices lie in [0, 2^32 - 1)


def token_id(token: str) -> int:
    """A stable id for a token (4 bytes of BLAKE2b): the same in every process and build."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big") % ID_SPACE


def token_ids(retriever: bm25s.BM25) -> np.ndarray:
    """The id of each of the retriever's vocabulary columns."""
    ids = np.zeros(len(retriever.vocab_dict), np.int64)
    for token, col in retriever.vocab_dict.items():
        ids[col] = token_id(token)
    return ids


def row_vectors(
    retriever: bm25s.BM25 | None, n: int, rows: Iterable[int] | None = None
) -> Iterator[SparseVector]:
    """The sparse BM25 vector of each row (all rows, or the given ones), in order."""
    if retriever is None:
        yield from ({} for _ in (range(n) if rows is None else rows))
        return
    if retriever.nonoccurrence_array is not None:
        raise ValueError("BM25L/BM25+ give absent tokens a score: not a sparse vector")
    m = retriever.scores
    vocabulary = len(m["indptr"]) - 1
    csr = sparse.csc_array((m["data"], m["indices"], m["indptr"]), shape=(n, vocabulary)).tocsr()
    ids = token_ids(retriever)
    for r in range(n) if rows is None else rows:
        a, b = csr.indptr[r], csr.indptr[r + 1]
        vector: SparseVector = {}
        for col, weight in zip(csr.indices[a:b], csr.data[a:b], strict=True):
            key = int(ids[col])
            vector[key] = vector.get(key, 0.0) + float(weight)  # a hash collision adds up
        yield vector


def query_vector(tokens: Iterable[str]) -> SparseVector:
    """A question's tokens as a sparse vector: each distinct token once, weight 1."""
    return {token_id(t): 1.0 for t in dict.fromkeys(tokens)}


def inner(a: SparseVector, b: SparseVector) -> float:
    """The inner product of two sparse vectors (what the engine's IP metric computes)."""
    if len(a) > len(b):
        a, b = b, a
    return float(sum(w * b[k] for k, w in a.items() if k in b))


def document_frequencies(retriever: bm25s.BM25 | None) -> dict[int, int]:
    """How many rows hold each token id: the idf of the answerer without the local files."""
    if retriever is None:
        return {}
    counts = np.diff(np.asarray(retriever.scores["indptr"]))
    out: dict[int, int] = {}
    # bm25s may name one token more than it has columns (the empty token, after the others)
    for key, df in zip(token_ids(retriever)[: len(counts)], counts, strict=True):
        out[int(key)] = out.get(int(key), 0) + int(df)
    return out
