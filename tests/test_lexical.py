"""BM25 scores: the sum of the query tokens' columns (scipy's public sparse product) equals
bm25s's own scoring bit for bit, and equals numpy's column-at-a-time sum for any dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import Settings, load_documents
from assistant import lexical as L
from assistant.chunking import chunk_document
from assistant.config import BUNDLED_REPORTS
from assistant.text import fold, tokens

QUERIES = [
    "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?",
    "bac giang co bao nhieu tram bts",
    "tỷ lệ hộ gia đình có kết nối internet cáp quang",
    "Dịch vụ công trực tuyến mức độ 4 của Bình Dương",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    s = Settings()
    docs, _ = load_documents([BUNDLED_REPORTS], s.max_file_bytes)
    return [
        c.indexed_text()
        for d in docs
        for c in chunk_document(d, s.chunk_size, s.chunk_overlap, s.context_header)
    ]


def bm25s_scores(index: L.LexicalIndex, query: str) -> np.ndarray:
    """bm25s's own ``get_scores`` on the tokens ``LexicalIndex.scores`` uses."""
    retriever, words = index._pick(query)
    words = [w for w in dict.fromkeys(words) if w in retriever.vocab_dict]
    return retriever.get_scores(words)


def test_scores_equal_bm25s_bit_for_bit(texts):
    index = L.LexicalIndex.build(texts)
    assert index.n == len(texts) == 110
    for query in QUERIES:
        ours, theirs = index.scores(query), bm25s_scores(index, query)
        assert ours.dtype == np.float32
        assert np.array_equal(ours, theirs.astype(np.float32)), query
        assert (ours > 0).sum() > 10


def test_a_plain_query_is_scored_on_the_folded_index(texts):
    index = L.LexicalIndex.build(texts)
    plain, accented = QUERIES[1], QUERIES[0]
    assert index._pick(plain)[1] == tokens(fold(plain))
    assert index._pick(accented)[0] is index.exact
    # the plain question still finds the accented text: the two Bắc Giang chunks on BTS
    best = np.argsort(-index.scores(plain), kind="stable")[:2]
    assert sorted(best) == [4, 5]
    assert all("Bắc Giang" in texts[i] and "trạm BTS" in texts[i] for i in best)


def test_allowed_rows_zero_the_others(texts):
    index = L.LexicalIndex.build(texts)
    allowed = np.arange(0, index.n, 3)
    full, part = index.scores(QUERIES[0]), index.scores(QUERIES[0], allowed)
    assert np.array_equal(part[allowed], full[allowed])
    assert not part[np.setdiff1d(np.arange(index.n), allowed)].any()


@pytest.mark.parametrize("rows_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("data_dtype", [np.float32, np.float64])
def test_sum_columns_matches_numpy_column_by_column(rows_dtype, data_dtype):
    rng = np.random.default_rng(1)
    n, vocab = 10_000, 6
    cols = [np.sort(rng.choice(n, size, replace=False)) for size in (3_000, 0, 5_000, 40, 1, 9)]
    indptr = np.cumsum([0, *map(len, cols)]).astype(rows_dtype)
    indices = np.concatenate(cols).astype(rows_dtype)
    data = rng.random(len(indices)).astype(data_dtype)
    for columns in ([0, 2, 3], [3, 2, 0], [1], [5, 0, 4, 2], list(range(vocab))):
        want = np.zeros(n, np.float32)
        for t in columns:  # float32 additions, column after column, as bm25s
            want[indices[indptr[t] : indptr[t + 1]]] += data[indptr[t] : indptr[t + 1]].astype(
                np.float32
            )
        got = L._sum_columns(indptr, indices, data, columns, n)
        assert got.dtype == np.float32 and got.shape == (n,)
        assert np.array_equal(got, want), columns
    assert not L._sum_columns(indptr, indices, data, [1], n).any()  # an empty column
    assert not L._sum_columns(indptr, indices, data, [], n).any()
