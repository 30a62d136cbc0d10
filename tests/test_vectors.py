"""The FAISS index type chosen by size: exact up to a bound, IVF-Flat above it with its probe
count calibrated for recall; filtered searches stay exact where an approximate index could miss."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from assistant import Settings
from assistant.retrieve import Retriever
from assistant.indexing import index_paths
from assistant.kb import KnowledgeBase
from assistant.vectors import FaissIndex, choose_kind, exact_search


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    centres = np.random.default_rng(99).standard_normal((64, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, 64, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    faiss.normalize_L2(x)
    return x


def recall_at_10(index: FaissIndex, base: np.ndarray, queries: np.ndarray) -> float:
    hits = []
    for q in queries:
        _, exact = exact_search(base, q, 10)
        _, found = index.search(q, 10)
        hits.append(len(set(exact) & set(found)) / 10)
    return float(np.mean(hits))


def test_kind_follows_the_size():
    assert choose_kind(0) == "flat"
    assert choose_kind(200_000) == "flat"
    assert choose_kind(200_001) == "ivf"
    assert choose_kind(5_000, exact_max=1_000) == "ivf"
    assert choose_kind(5_000_000, "flat") == "flat"
    with pytest.raises(ValueError, match="unknown vector index kind 'pq'"):
        choose_kind(10, "pq")


def test_exact_search_matches_faiss_flat():
    base, q = clustered(3_000), clustered(1, seed=5)[0]
    flat = FaissIndex.from_vectors(base, "flat")
    s1, r1 = flat.search(q, 10)
    s2, r2 = exact_search(base, q, 10)
    assert list(r1) == list(r2)
    np.testing.assert_allclose(s1, s2, rtol=1e-5)


def test_a_large_collection_gets_a_calibrated_ivf_index_that_survives_a_round_trip(tmp_path):
    base = clustered(20_000)
    index = FaissIndex.from_vectors(base, exact_max=10_000)
    assert index.kind == "ivf"
    ivf = faiss.extract_index_ivf(index.index)
    assert ivf.nlist == int(4 * np.sqrt(20_000))  # 565 lists
    assert 1 <= ivf.nprobe < ivf.nlist  # calibrated, not a full scan
    queries = clustered(100, seed=7)
    assert recall_at_10(index, base, queries) >= 0.95
    index.save(tmp_path)
    again = FaissIndex.load(tmp_path, "ivf")
    assert faiss.extract_index_ivf(again.index).nprobe == ivf.nprobe
    for q in queries[:5]:
        assert list(again.search(q, 10)[1]) == list(index.search(q, 10)[1])


def test_ivf_splits_one_question_across_cores_with_the_same_results(tmp_path):
    base = clustered(20_000)
    index = FaissIndex.from_vectors(base, exact_max=10_000)
    ivf = faiss.extract_index_ivf(index.index)
    assert ivf.parallel_mode == 1
    index.save(tmp_path)
    assert faiss.extract_index_ivf(FaissIndex.load(tmp_path, "ivf").index).parallel_mode == 1
    queries = clustered(20, seed=11)
    by_lists = [index.search(q, 10) for q in queries]
    ivf.parallel_mode = 0  # faiss's default: one thread per query
    for q, (scores, rows) in zip(queries, by_lists, strict=True):
        s0, r0 = index.search(q, 10)
        assert list(rows) == list(r0)
        np.testing.assert_allclose(scores, s0, rtol=1e-6)


def test_a_small_collection_stays_exact_even_when_ivf_is_asked_for():
    assert FaissIndex.from_vectors(clustered(500), "ivf").kind == "flat"


def test_filtered_ivf_search_returns_only_allowed_rows():
    base = clustered(20_000)
    index = FaissIndex.from_vectors(base, "ivf")
    allowed = np.arange(0, 20_000, 7)
    q = clustered(1, seed=3)[0]
    scores, rows = index.search(q, 10, allowed=allowed)
    assert len(rows) == 10 and set(rows) <= set(allowed)
    _, exact = exact_search(base[allowed], q, 10)
    assert len(set(rows) & set(allowed[exact])) >= 9


def test_index_paths_builds_the_kind_the_settings_ask_for(reports_copy: Path, tmp_path: Path,
                                                          fake_encoder):
    settings = Settings(index_dir=tmp_path / "kb", exact_max_vectors=10)
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert kb.vector_index.kind == "flat"  # fewer than 1000 vectors: nothing to train
    settings = Settings(index_dir=tmp_path / "kb2", vector_index="hnsw")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert KnowledgeBase.load(settings.index_dir).vector_index.kind == "hnsw"


def test_a_narrow_filter_on_an_approximate_index_is_searched_exactly(reports_copy: Path,
                                                                      tmp_path: Path,
                                                                      fake_encoder):
    """The same filtered dense hits as the exact index, with an approximate index that holds
    none of the filtered rows' lists (HNSW here: the bundled reports are too few for IVF)."""
    settings = Settings(index_dir=tmp_path / "kb")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    approx = KnowledgeBase(kb.documents, kb.chunks, kb.vectors, kb.signature,
                           vector_index=FaissIndex.from_vectors(kb.vectors, "hnsw"),
                           lexical=kb.lexical, owners=kb.owners)
    exact_hits = Retriever(kb, fake_encoder, settings).search("trạm BTS", k=5,
                                                               province="Bắc Giang")
    approx_hits = Retriever(approx, fake_encoder, settings).search("trạm BTS", k=5,
                                                                    province="Bắc Giang")
    assert [h.chunk.id for h in approx_hits] == [h.chunk.id for h in exact_hits]
    assert {h.doc.province for h in approx_hits} == {"Bắc Giang"}
