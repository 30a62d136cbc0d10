"""The knowledge base on disk, with the fake encoder (fast): round trips, atomic writes,
manifest checks, incremental updates, filters; those marked EVERY_STORE on FAISS and Milvus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant import (
    Assistant,
    BadFileError,
    Chunk,
    IndexBusyError,
    IndexMismatchError,
    IndexNotFoundError,
    KnowledgeBase,
    Settings,
    index_paths,
)
from assistant.chunking import chunk_windows
from assistant.retrieve import Retriever
from assistant.storage import index_signature, live_version, write_lock


@pytest.fixture
def settings(request, tmp_path: Path):
    """Settings for a knowledge base in ``tmp_path``; on FAISS, or on the store a test names
    with :data:`EVERY_STORE` (Milvus: a Milvus Lite file)."""
    store = getattr(request, "param", "faiss")
    if store == "milvus":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
    yield Settings(
        index_dir=tmp_path / "index", vector_store=store, milvus_uri=str(tmp_path / "kb.db")
    )
    if store == "milvus":
        from assistant.vectors import milvus_collection

        milvus_collection.close_all()


# the same test on every vector store
EVERY_STORE = pytest.mark.parametrize("settings", ["faiss", "milvus"], indirect=True)


def _build(paths, settings, encoder, **kw):
    return index_paths(paths, settings.index_dir, settings, encoder, **kw)


@EVERY_STORE
def test_round_trip_gives_identical_results(reports_copy, settings, fake_encoder):
    kb, report = _build([reports_copy], settings, fake_encoder)
    assert len(report.added) == 5 and report.chunks_embedded == len(kb) > 50
    loaded = KnowledgeBase.load(settings.index_dir, index_signature(settings, fake_encoder))
    assert [c.model_dump() for c in loaded.chunks] == [c.model_dump() for c in kb.chunks]
    assert loaded.documents == kb.documents
    np.testing.assert_array_equal(loaded.vectors, kb.vectors)
    for q in ("Bắc Giang có bao nhiêu trạm BTS?", "hộp thư điện tử", "quang binh may chu"):
        a = Retriever(kb, fake_encoder, settings).search(q, 5)
        b = Retriever(loaded, fake_encoder, settings).search(q, 5)
        assert [(h.chunk.id, h.score) for h in a] == [(h.chunk.id, h.score) for h in b]
    folder = live_version(settings.index_dir)
    # on Milvus everything is in the engine: the folder holds only the manifest
    in_folder = (
        [
            "bm25",
            "bm25-folded",
            "chunks.jsonl",
            "documents.jsonl",
            "facts.jsonl",
            "index.faiss",
            "owners.npy",
            "vectors.npy",
        ]
        if settings.vector_store == "faiss"
        else []
    )
    assert sorted(p.name for p in folder.iterdir()) == sorted([*in_folder, "manifest.json"])
    assert [f.model_dump() for f in loaded.facts.facts] == [f.model_dump() for f in kb.facts.facts]
    assert len(kb.facts) > 0
    if settings.vector_store == "faiss":  # UTF-8, not \\u escapes
        assert "Bắc Giang" in (folder / "chunks.jsonl").read_text("utf-8")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["model"] == "fake-hash-64" and manifest["dim"] == 64
    assert len(manifest["documents"]) == 5
    assert manifest["vector_store"] == loaded.vector_index.describe() == kb.vector_index.describe()
    assert manifest["vector_store"]["name"] == settings.vector_store


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexNotFoundError, match="python -m assistant index"):
        KnowledgeBase.load(tmp_path / "nothing")


def test_manifest_mismatch_names_the_fix(reports_copy, settings, fake_encoder):
    _build([reports_copy], settings, fake_encoder)
    other = Settings(index_dir=settings.index_dir, chunk_size=400)
    with pytest.raises(IndexMismatchError, match=r"chunk_size: index has 700.*--rebuild"):
        KnowledgeBase.load(settings.index_dir, index_signature(other, fake_encoder))
    with pytest.raises(IndexMismatchError, match="chunk_size"):
        _build([reports_copy], other, fake_encoder)  # no silent mixing of chunkings
    kb, report = _build([reports_copy], other, fake_encoder, rebuild=True)
    assert len(report.added) == 5 and max(len(c.text) for c in kb.chunks) <= 400


@EVERY_STORE
def test_incremental_update_embeds_only_what_changed(reports_copy, settings, fake_encoder):
    kb, _ = _build([reports_copy], settings, fake_encoder)
    n_before = len(kb)
    bac_kan_chunks = int(len(kb.rows_for([str((reports_copy / "bac-kan-2019.txt").resolve())])))

    (reports_copy / "bac-ninh-15-nam.txt").unlink()
    with open(reports_copy / "quang-binh-2022.txt", "a", encoding="utf-8") as fh:
        fh.write("\n\nNăm 2022, Quảng Bình lắp đặt 42 trạm quan trắc tự động.\n")
    (reports_copy / "new").mkdir()
    (reports_copy / "new" / "ha-giang.txt").write_text(
        "Báo cáo tỉnh Hà Giang năm 2021\n\nToàn tỉnh có 2.345 trạm BTS.", "utf-8"
    )
    fake_encoder.texts_embedded = 0
    kb2, report = _build([reports_copy], settings, fake_encoder)

    name = lambda ids: sorted(Path(i).name for i in ids)  # noqa: E731
    assert name(report.added) == ["ha-giang.txt"]
    assert name(report.updated) == ["quang-binh-2022.txt"]
    assert name(report.removed) == ["bac-ninh-15-nam.txt"]
    assert name(report.unchanged) == [
        "bac-giang-2020.txt",
        "bac-kan-2019.txt",
        "binh-duong-2022.txt",
    ]
    qb = str((reports_copy / "quang-binh-2022.txt").resolve())
    assert report.chunks_embedded == len(kb2.rows_for([qb])) + 1  # Quảng Bình + the new file
    changed_rows = np.concatenate(
        [
            kb2.rows_for([qb]),
            kb2.rows_for([hits_doc := str((reports_copy / "new" / "ha-giang.txt").resolve())]),
        ]
    )
    assert (
        fake_encoder.texts_embedded
        == report.vectors_embedded
        == len(kb2.vector_rows(changed_rows))
        > report.chunks_embedded
    )  # + sentence windows
    assert len(kb2.rows_for([str((reports_copy / "bac-kan-2019.txt").resolve())])) == bac_kan_chunks
    assert len(kb2.documents) == 5 and len(kb2) != n_before
    hits = Retriever(kb2, fake_encoder, settings).search("Hà Giang 2.345 trạm BTS", 3)
    assert Path(hits[0].doc.path).name == "ha-giang.txt"
    assert all("bac-ninh" not in c.doc_id for c in kb2.chunks)
    assert Path(hits_doc).name == "ha-giang.txt"
    # vectors stay aligned with their chunks after the merge: each chunk's first vector is its own
    again = fake_encoder.embed([c.indexed_text() for c in kb2.chunks], "passage")
    first = np.searchsorted(kb2.owners, np.arange(len(kb2)))
    np.testing.assert_allclose(kb2.vectors[first], again, atol=1e-6)
    # ... followed by its sentence windows' vectors, each embedded with the chunk's header
    for row in (0, len(kb2) // 2, len(kb2) - 1):
        c = kb2.chunks[row]
        texts = [f"{c.header}\n{c.text[a:b]}" for a, b in chunk_windows(c, settings.dense_windows)]
        vec_rows = kb2.vector_rows(np.array([row]))
        assert len(vec_rows) == 1 + len(texts)
        if texts:
            np.testing.assert_allclose(
                kb2.vectors[vec_rows[1:]], fake_encoder.embed(texts, "passage"), atol=1e-6
            )
    assert len(kb2.vectors) > len(kb2)


@EVERY_STORE
def test_nothing_changed_means_nothing_embedded(reports_copy, settings, fake_encoder):
    _build([reports_copy], settings, fake_encoder)
    fake_encoder.texts_embedded = 0
    _, report = _build([reports_copy], settings, fake_encoder)
    assert fake_encoder.texts_embedded == 0 and len(report.unchanged) == 5


@EVERY_STORE
def test_a_broken_file_keeps_its_indexed_version(reports_copy, settings, fake_encoder):
    kb, _ = _build([reports_copy], settings, fake_encoder)
    path = reports_copy / "bac-giang-2020.txt"
    old = kb.documents[str(path.resolve())]
    path.write_bytes(b"\x00\x01\x02" * 500)
    kb2, report = _build([reports_copy], settings, fake_encoder)
    assert [Path(r.path).name for r in report.rejected] == ["bac-giang-2020.txt"]
    assert "binary" in report.rejected[0].reason
    assert kb2.documents[str(path.resolve())] == old
    assert len(kb2.rows_for([old.id])) == len(kb.rows_for([old.id]))


def test_documents_from_other_paths_are_kept(reports_copy, tmp_path, settings, fake_encoder):
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.md").write_text("# Báo cáo Cà Mau năm 2021\n\nCà Mau có 900 trạm BTS.", "utf-8")
    _build([reports_copy], settings, fake_encoder)
    kb, report = _build([other], settings, fake_encoder)
    assert len(report.added) == 1 and report.removed == []
    assert len(kb.documents) == 6 and "Cà Mau" in kb.provinces()


def test_missing_path_is_an_error_and_the_index_is_untouched(
    reports_copy, tmp_path, settings, fake_encoder
):
    _build([reports_copy], settings, fake_encoder)
    before = live_version(settings.index_dir)
    with pytest.raises(BadFileError, match="path not found"):
        _build([tmp_path / "typo"], settings, fake_encoder)
    assert live_version(settings.index_dir) == before


def test_a_crash_while_writing_leaves_the_previous_index_live(
    reports_copy, settings, fake_encoder, monkeypatch
):
    kb, _ = _build([reports_copy], settings, fake_encoder)
    before = live_version(settings.index_dir)
    (reports_copy / "bac-kan-2019.txt").unlink()

    def boom(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr("assistant.lexical.LexicalIndex.save", boom)
    with pytest.raises(OSError, match="disk full"):
        _build([reports_copy], settings, fake_encoder)
    assert live_version(settings.index_dir) == before
    loaded = KnowledgeBase.load(settings.index_dir, index_signature(settings, fake_encoder))
    assert len(loaded.documents) == 5 and len(loaded) == len(kb)
    assert not list(settings.index_dir.glob(".tmp-*"))
    monkeypatch.undo()
    kb2, _ = _build([reports_copy], settings, fake_encoder)
    assert len(kb2.documents) == 4
    versions = sorted(p.name for p in settings.index_dir.glob("v-*"))
    assert versions == [before.name, live_version(settings.index_dir).name]  # live + previous


def test_one_writer_at_a_time(reports_copy, settings, fake_encoder):
    with write_lock(settings.index_dir), pytest.raises(IndexBusyError, match="another process"):
        _build([reports_copy], settings, fake_encoder)


@EVERY_STORE
def test_filters_by_province_and_year(reports_copy, settings, fake_encoder):
    kb, _ = _build([reports_copy], settings, fake_encoder)
    assert kb.provinces() == ["Bắc Giang", "Bắc Kạn", "Bắc Ninh", "Bình Dương", "Quảng Bình"]
    assert kb.years() == [2019, 2020, 2022, 2023]
    r = Retriever(kb, fake_encoder, settings)
    hits = r.search("trạm BTS", 10, province="Bình Dương")
    assert hits and {h.doc.province for h in hits} == {"Bình Dương"}
    assert {h.doc.province for h in r.search("báo chí", 10, province="binh duong")} == {
        "Bình Dương"
    }
    assert {h.doc.year for h in r.search("trạm BTS", 10, year=2022)} == {2022}
    assert r.search("trạm BTS", 10, province="Cà Mau") == []
    assert {h.doc.province for h in r.search("trạm", 10, province="Quảng Bình", year=2022)} == {
        "Quảng Bình"
    }


def test_bm25_finds_the_bts_passage_from_a_query_without_diacritics(
    reports_copy, tmp_path, fake_encoder
):
    s = Settings(index_dir=tmp_path / "bm25", fusion="bm25")
    kb, _ = _build([reports_copy], s, fake_encoder)
    hits = Retriever(kb, fake_encoder, s).search("bac giang co bao nhieu tram bts", 3)
    assert all("trạm BTS" in h.chunk.text for h in hits[:2])
    assert any("1.422 trạm BTS" in h.chunk.text for h in hits)
    assert hits[0].bm25_score and hits[0].bm25_score > 0 and hits[0].dense_score is None
    s_plain = Settings(index_dir=tmp_path / "plain", fusion="bm25", fold_diacritics=False)
    kb_plain, _ = _build([reports_copy], s_plain, fake_encoder)
    plain = Retriever(kb_plain, fake_encoder, s_plain).search("tram bts", 3)
    assert all("1.422 trạm BTS" not in h.chunk.text for h in plain[:1]) or not plain


def test_hits_carry_scores_and_ranks_under_reciprocal_rank_fusion(
    reports_copy, tmp_path, fake_encoder
):
    s = Settings(index_dir=tmp_path / "rrf", fusion="rrf", dense_weight=1.0, bm25_weight=1.0)
    kb, _ = _build([reports_copy], s, fake_encoder)
    hits = Retriever(kb, fake_encoder, s).search("trạm BTS Bắc Giang", 4)
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        expected = sum(1 / (60 + r) for r in (h.dense_rank, h.bm25_rank) if r)
        assert h.score == pytest.approx(expected)


def test_score_fusion_is_the_weighted_sum_of_z_scores(reports_copy, tmp_path, fake_encoder):
    # candidates >= chunks: every row is a dense candidate, so z-scores run over all rows
    s = Settings(index_dir=tmp_path / "score", candidates=1000)
    assert (s.fusion, s.dense_weight, s.bm25_weight) == ("score", 0.7, 0.3)
    kb, _ = _build([reports_copy], s, fake_encoder)
    query = "Bắc Giang có bao nhiêu trạm BTS"
    hits = Retriever(kb, fake_encoder, s).search(query, 5)
    cos = kb.dense_scores(fake_encoder.embed([query], "query")[0], np.arange(len(kb)))
    bm = kb.lexical.scores(query).astype(np.float64)
    z = 0.7 * (cos - cos.mean()) / cos.std() + 0.3 * (bm - bm.mean()) / bm.std()
    assert [kb.chunks.index(h.chunk) for h in hits] == list(np.argsort(-z, kind="stable")[:5])
    assert [h.score for h in hits] == pytest.approx(sorted(z, reverse=True)[:5], rel=1e-4)


def test_chunk_windows_are_runs_of_whole_sentences():
    first, second = "Câu một nói về trạm BTS. " * 4, "Câu hai nói về cáp quang. " * 4
    text = (first + second).strip()
    chunk = Chunk(id="d:0", doc_id="d", start=0, end=len(text), text=text, header="T")
    spans = chunk_windows(chunk, 110)
    assert [text[a:b] for a, b in spans] == [first.strip(), second.strip()]
    assert chunk_windows(chunk, 0) == [] and chunk_windows(chunk, 1000) == []


@EVERY_STORE
def test_dense_score_of_a_chunk_is_its_best_vector(reports_copy, settings, fake_encoder):
    kb, _ = _build([reports_copy], settings, fake_encoder)
    q = fake_encoder.embed(["Bắc Giang có bao nhiêu trạm BTS"], "query")[0]
    rows = np.arange(len(kb))
    best = [max(kb.vectors[v] @ q for v in kb.vector_rows(np.array([r]))) for r in rows]
    np.testing.assert_allclose(kb.dense_scores(q, rows), best, rtol=1e-5)
    scores, found = kb.dense_search(q, 5)
    assert list(found) == list(np.argsort(-np.array(best), kind="stable")[:5])
    np.testing.assert_allclose(scores, sorted(best, reverse=True)[:5], rtol=1e-5)


def test_a_knowledge_base_follows_only_its_own_folder(reports_copy, tmp_path, fake_encoder):
    """An evaluation's index (in its cache) is not replaced by the app's index in
    settings.index_dir, however new that is; a newer version of its own folder is taken."""
    own = Settings(index_dir=tmp_path / "own")
    app = Settings(index_dir=tmp_path / "app")
    kb, _ = _build([reports_copy / "bac-giang-2020.txt"], own, fake_encoder)
    _build([reports_copy], app, fake_encoder)  # the app's index: newer, elsewhere
    bot = Assistant(app, kb, fake_encoder)
    assert not bot.refresh() and bot.kb is kb and len(bot.kb.documents) == 1
    _build([reports_copy / "quang-binh-2022.txt"], own, fake_encoder)  # own folder moves on
    assert bot.refresh() and sorted(d.province for d in bot.kb.documents.values()) == [
        "Bắc Giang",
        "Quảng Bình",
    ]
    assert bot.kb.index_dir == own.index_dir
