"""The vector stores: FAISS's index type chosen by size (exact up to a bound, IVF-Flat above it
with its probe count calibrated for recall; filtered searches stay exact where an approximate
index could miss), and every store (FAISS, Milvus Lite) through the same interface."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from assistant import Chunk, Document, Settings
from assistant.indexing import index_paths
from assistant.kb import KnowledgeBase
from assistant.lexical import LexicalIndex
from assistant.retrieve import Retriever
from assistant.types import SearchFilter
from assistant.vectors import (
    Update,
    VectorRows,
    build_store,
    choose_kind,
    exact_search,
    manifest_entry,
    open_store,
)
from assistant.vectors.faiss import FaissIndex


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


def test_index_paths_builds_the_kind_the_settings_ask_for(
    reports_copy: Path, tmp_path: Path, fake_encoder
):
    settings = Settings(index_dir=tmp_path / "kb", exact_max_vectors=10)
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert kb.vector_index.kind == "flat"  # fewer than 1000 vectors: nothing to train
    settings = Settings(index_dir=tmp_path / "kb2", vector_index="hnsw")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert KnowledgeBase.load(settings.index_dir).vector_index.kind == "hnsw"


def test_a_narrow_filter_on_an_approximate_index_is_searched_exactly(
    reports_copy: Path, tmp_path: Path, fake_encoder
):
    """The same filtered dense hits as the exact index, with an approximate index that holds
    none of the filtered rows' lists (HNSW here: the bundled reports are too few for IVF)."""
    settings = Settings(index_dir=tmp_path / "kb")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    approx = KnowledgeBase(
        kb.documents,
        kb.chunks,
        kb.vectors,
        kb.signature,
        vector_index=FaissIndex.from_vectors(kb.vectors, "hnsw"),
        lexical=kb.lexical,
        owners=kb.owners,
    )
    exact_hits = Retriever(kb, fake_encoder, settings).search("trạm BTS", k=5, province="Bắc Giang")
    approx_hits = Retriever(approx, fake_encoder, settings).search(
        "trạm BTS", k=5, province="Bắc Giang"
    )
    assert [h.chunk.id for h in approx_hits] == [h.chunk.id for h in exact_hits]
    assert {h.doc.province for h in approx_hits} == {"Bắc Giang"}


# --- every store through the same interface ------------------------------------------------


@pytest.fixture(params=["faiss", "milvus"])
def backend(request, tmp_path: Path):
    """The name of a vector store and settings that ask for it (Milvus: a Lite file)."""
    if request.param == "milvus":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
    settings = Settings(
        index_dir=tmp_path / "kb", vector_store=request.param, milvus_uri=str(tmp_path / "kb.db")
    )
    yield request.param, settings
    if request.param == "milvus":
        from assistant.vectors import milvus_collection

        milvus_collection.close_all()


def synthetic_rows(n_docs: int = 6, per_doc: int = 40, seed: int = 0):
    """``n_docs`` documents (two provinces, three years), ``per_doc`` chunks each with two
    vectors (its own and a window's): vectors, rows."""
    docs = {
        f"/r/{i}.txt": Document(
            id=f"/r/{i}.txt",
            path=f"/r/{i}.txt",
            title=f"Báo cáo {i}",
            text="x" * 10_000,
            sha256=str(i),
            format="txt",
            province=("Bắc Giang", "Bình Dương")[i % 2],
            year=2019 + i % 3,
        )
        for i in range(n_docs)
    }
    chunks = [
        Chunk(id=f"{d}:{j * 100}", doc_id=d, start=j * 100, end=j * 100 + 50, text="x" * 50)
        for d in docs
        for j in range(per_doc)
    ]
    owners = np.repeat(np.arange(len(chunks)), 2)
    vectors = clustered(len(owners), seed=seed)
    return vectors, VectorRows(chunks, owners, docs, bm25_of(chunks))


def bm25_of(chunks: list[Chunk]) -> LexicalIndex:
    return LexicalIndex.build([c.indexed_text() for c in chunks])


def test_every_store_finds_the_exact_top_k(backend):
    name, settings = backend
    vectors, rows = synthetic_rows()
    store = build_store(settings, settings.index_dir, vectors, rows)
    assert store.describe()["name"] == name and len(store) == len(vectors)
    assert store.capabilities.exact
    for q in clustered(5, seed=3):
        scores, found = store.search(q, 10)
        want_scores, want = exact_search(vectors, q, 10)
        assert list(found) == list(want)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_every_store_opens_again_from_its_manifest_entry(backend, tmp_path: Path):
    name, settings = backend
    vectors, rows = synthetic_rows()
    store = build_store(settings, settings.index_dir, vectors, rows)
    folder = tmp_path / "version"
    folder.mkdir()
    store.save(folder)
    assert bool(list(folder.iterdir())) == store.capabilities.vectors_in_folder
    entry = json.loads(json.dumps(store.describe()))  # as the manifest keeps it
    again = open_store(entry, folder, rows, settings)
    assert again.describe() == store.describe() and len(again) == len(store)
    assert again.capabilities == store.capabilities
    for q in clustered(3, seed=4):
        a, b = store.search(q, 10), again.search(q, 10)
        assert list(a[1]) == list(b[1])
        np.testing.assert_allclose(a[0], b[0], atol=1e-6)


def test_every_store_searches_only_the_filtered_rows(backend):
    """``where`` and ``allowed`` name the same rows: a store uses the one it can, with the
    same exact hits."""
    name, settings = backend
    vectors, rows = synthetic_rows()
    store = build_store(settings, settings.index_dir, vectors, rows)
    where = SearchFilter(province="Bình Dương", year=2020)
    ids = {d.id for d in rows.documents.values() if where.matches(d)}
    allowed = np.flatnonzero([rows.chunks[o].doc_id in ids for o in rows.owners])
    assert 0 < len(allowed) < len(vectors)
    for q in clustered(3, seed=6):
        scores, found = store.search(q, 8, where=where, allowed=allowed)
        want_scores, at = exact_search(vectors[allowed], q, 8)
        assert list(found) == list(allowed[at])
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)
        if not store.capabilities.filters_in_engine:  # ``allowed`` alone is enough
            assert list(store.search(q, 8, allowed=allowed)[1]) == list(allowed[at])


def test_a_rebuilt_store_holds_the_new_vectors_only(backend):
    """A new version (one document dropped, one changed) holds the new vectors only; on
    Milvus it is a collection of its own, the previous one kept for processes still on it and
    dropped by the version after."""
    name, settings = backend
    vectors, rows = synthetic_rows()
    first = build_store(settings, settings.index_dir, vectors, rows)
    keep = [i for i, c in enumerate(rows.chunks) if c.doc_id != "/r/0.txt"]
    position = np.full(len(rows.chunks), -1)
    position[keep] = np.arange(len(keep))
    vec_rows = np.flatnonzero(np.isin(rows.owners, keep))
    new_vectors = vectors[vec_rows].copy()
    changed = np.flatnonzero([rows.chunks[o].doc_id == "/r/1.txt" for o in rows.owners[vec_rows]])
    new_vectors[changed] = clustered(len(changed), seed=9)
    kept_chunks = [rows.chunks[i] for i in keep]
    new_rows = VectorRows(
        kept_chunks,
        position[rows.owners[vec_rows]],
        {k: v for k, v in rows.documents.items() if k != "/r/0.txt"},
        bm25_of(kept_chunks),
    )
    second = build_store(
        settings,
        settings.index_dir,
        new_vectors,
        new_rows,
        Update(first.describe(), ["/r/0.txt", "/r/1.txt"]),
    )
    assert len(second) == len(new_vectors)
    for q in [*clustered(3, seed=10), new_vectors[changed[0]]]:
        _, found = second.search(q, 10)
        assert list(found) == list(exact_search(new_vectors, q, 10)[1])
    if name == "faiss":
        assert second.describe() == first.describe()
        return
    a, b = first.describe(), second.describe()
    assert a["base"] == b["base"] and a["collection"] != b["collection"]
    assert b["collection"].startswith(b["base"] + "_v")
    client = second.client()
    held = set(client.list_collections())
    for entry in (a, b):
        c = entry["collection"]
        assert {c, c + "_chunks", c + "_terms"} <= held
    third = build_store(settings, settings.index_dir, new_vectors, new_rows, Update(b))
    held = set(client.list_collections())
    c = third.describe()["collection"]
    assert {c, c + "_chunks", c + "_terms", b["collection"]} <= held
    assert not {n for n in held if n.startswith(a["collection"])}  # two versions back: dropped


def test_manifests_written_before_stores_had_names_open_on_faiss():
    assert manifest_entry({"vector_index": "hnsw"}) == {"name": "faiss", "index": "hnsw"}
    assert manifest_entry({"vector_store": {"name": "faiss"}, "vector_index": "ivf"}) == {
        "name": "faiss",
        "index": "ivf",
    }
    milvus = {"name": "milvus", "uri": "/x/kb.db", "db": "", "collection": "kb_1", "index": "FLAT"}
    assert manifest_entry({"vector_store": milvus, "vector_index": "milvus"}) == milvus
