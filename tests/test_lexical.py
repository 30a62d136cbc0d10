"""BM25 scores: the column-at-a-time sum equals bm25s's own scoring exactly, through scipy's
compiled kernel and through the numpy fallback alike."""

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
    return [c.indexed_text() for d in docs
            for c in chunk_document(d, s.chunk_size, s.chunk_overlap, s.context_header)]


def bm25s_scores(index: L.LexicalIndex, query: str) -> np.ndarray:
    """bm25s's own ``get_scores`` on the tokens ``LexicalIndex.scores`` uses."""
    retriever, words = index._pick(query)
    words = [w for w in dict.fromkeys(words) if w in retriever.vocab_dict]
    return retriever.get_scores(words)


@pytest.mark.parametrize("compiled", [True, False], ids=["scipy-kernel", "numpy-fallback"])
def test_scores_equal_bm25s_bit_for_bit(texts, monkeypatch, compiled):
    if not compiled:
        monkeypatch.setattr(L, "_csc_matvec", None)
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
def test_add_column_matches_numpy_for_every_dtype(rows_dtype, data_dtype):
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(10_000, 3_000, replace=False)).astype(rows_dtype)
    data = rng.random(3_000).astype(data_dtype)
    s = rng.random(10_000).astype(np.float32)
    want = s.copy()
    want[rows] += data
    L._add_column(s, rows, data)
    assert np.array_equal(s, want)
    L._add_column(s, rows[:0], data[:0])  # an empty column changes nothing
    assert np.array_equal(s, want)
