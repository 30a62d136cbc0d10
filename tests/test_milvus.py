"""Milvus (Milvus Lite, a local .db file, or a Milvus Lite server shared by processes) as the
whole store: the vectors and BM25 live in Milvus, none in the folder; the same hits and answers
as FAISS (questions without diacritics included), filters run inside Milvus, every version is a
collection of its own (one process indexes while another answers), and ``migrate`` copies a
FAISS knowledge base's vectors without embedding them again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_QA, load_qa

from assistant import Assistant, IndexMismatchError, KnowledgeBase, Settings, index_paths
from assistant.config import BUNDLED_REPORTS
from assistant.lexical import LexicalIndex
from assistant.retrieve import Retriever
from assistant.sparse import row_vectors
from assistant.storage import index_signature, live_version
from assistant.text import fold
from assistant.types import SearchFilter
from assistant.vectors import milvus, milvus_collection, milvus_filter
from assistant.vectors.milvus_lexical import MilvusLexical

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

PAIRS = [("Bắc Giang", 2020), ("Bắc Kạn", 2019), ("Bình Dương", 2022), ("Quảng Bình", 2022)]


@pytest.fixture(autouse=True, scope="module")
def _close_clients():
    yield
    milvus_collection.close_all()


def milvus_settings(tmp_path: Path, name: str = "index", **kw) -> Settings:
    return Settings(
        index_dir=tmp_path / name, vector_store="milvus", milvus_uri=str(tmp_path / "kb.db"), **kw
    )


def collection_rows(kb: KnowledgeBase) -> dict[str, dict]:
    """Every row of the knowledge base's collection, by key."""
    index = kb.vector_index
    assert isinstance(index, milvus.MilvusIndex)
    rows = index.client().query(
        index.target.collection,
        filter='pk != ""',
        limit=16_384,
        output_fields=["pk", "vector", "doc_id", "province", "year", "chunk_id"],
    )
    return {r["pk"]: r for r in rows}


def doc_count(kb: KnowledgeBase, doc_id: str) -> int:
    index = kb.vector_index
    rows = index.client().query(
        index.target.collection,
        filter=f"doc_id == {json.dumps(doc_id)}",
        output_fields=["count(*)"],
    )
    return int(rows[0]["count(*)"])


# --- the real model on the bundled reports: FAISS and Milvus side by side ------------------


@pytest.fixture(scope="module")
def stores(real_encoder, tmp_path_factory) -> dict[str, Assistant]:
    """The bundled reports indexed on FAISS and on Milvus Lite, the Milvus one reopened from
    its folder (as the app and eval open it)."""
    tmp = tmp_path_factory.mktemp("stores")
    faiss_settings = Settings(index_dir=tmp / "faiss")
    kb, _ = index_paths([BUNDLED_REPORTS], faiss_settings.index_dir, faiss_settings, real_encoder)
    settings = milvus_settings(tmp)
    _, report = index_paths([BUNDLED_REPORTS], settings.index_dir, settings, real_encoder)
    assert len(report.added) == 5 and not report.rejected
    return {
        "faiss": Assistant(faiss_settings, kb, real_encoder),
        "milvus": Assistant.open(settings, real_encoder),
    }


@pytest.mark.model
@pytest.mark.parametrize("store", ["faiss", "milvus"])
def test_reports_qa_same_top5_and_answers(stores, store):
    bot, ref = stores[store], stores["faiss"]
    entry = bot.kb.vector_index.describe()
    assert (entry["name"], entry["index"]) == (
        store,
        "FLAT" if store == "milvus" else ref.kb.vector_index.describe()["index"],
    )
    rows = load_qa(REPO_QA)
    assert len(rows) == 17
    for row in rows:
        got, want = bot.ask(row["question"]), ref.ask(row["question"])
        assert [h.chunk.id for h in got.hits[:5]] == [h.chunk.id for h in want.hits[:5]], row["id"]
        assert got.answer == want.answer and got.refused == want.refused, row["id"]
        if row["answerable"]:
            assert any(a in got.answer for a in row["answers"]), row["id"]
        # typed without diacritics: BM25 on the folded twin (Milvus's sparse_folded field)
        plain = fold(row["question"])
        got, want = bot.ask(plain), ref.ask(plain)
        assert [h.chunk.id for h in got.hits[:5]] == [h.chunk.id for h in want.hits[:5]], plain
        assert got.answer == want.answer and got.refused == want.refused, plain


@pytest.mark.model
@pytest.mark.parametrize("store", ["faiss", "milvus"])
@pytest.mark.parametrize(("province", "year"), PAIRS)
def test_filtered_search_matches_faiss(stores, store, province, year):
    bot, ref = stores[store], stores["faiss"]
    for question in ("số trạm BTS", "dịch vụ công trực tuyến mức độ 4", "an toàn thông tin"):
        hits = bot.retriever.search(question, 10, province=province, year=year)
        want = ref.retriever.search(question, 10, province=province, year=year)
        assert hits and all((h.doc.province, h.doc.year) == (province, year) for h in hits)
        assert [(h.chunk.id, round(h.score, 5)) for h in hits] == [
            (h.chunk.id, round(h.score, 5)) for h in want
        ]
    # the dense retriever alone: Milvus filters by expression, FAISS by allowed rows
    qv = bot.encoder.embed(["trạm BTS"], "query")[0]
    where = SearchFilter(province=province, year=year)
    allowed = bot.retriever.allowed_rows(province, year)
    scores, rows = bot.kb.dense_search(qv, 8, allowed, where)
    ref_scores, ref_rows = ref.kb.dense_search(qv, 8, allowed)
    # equal scores (duplicate sentences) may come in either order: FAISS's heap decides there
    assert sorted(rows.tolist()) == sorted(ref_rows.tolist())
    want = dict(zip(ref_rows.tolist(), ref_scores.tolist(), strict=True))
    assert all(abs(want[r] - v) <= 1e-5 for r, v in zip(rows.tolist(), scores, strict=True))
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)  # the same ranking
    assert set(rows.tolist()) <= set(allowed.tolist())


@pytest.mark.model
@pytest.mark.parametrize("store", ["faiss", "milvus"])
def test_a_year_inside_a_period_reaches_the_review(stores, store):
    """2015 is inside the Bắc Ninh review's period (2008-2023): both engines let it through,
    with the same rows; 2031 is inside none."""
    bot = stores[store]
    qv = bot.encoder.embed(["phim tài liệu quảng bá"], "query")[0]
    where = SearchFilter(year=2015)
    allowed = bot.retriever.allowed_rows(year=2015)
    scores, rows = bot.kb.dense_search(qv, 5, allowed, where)
    assert len(rows) and {bot.kb.chunks[r].doc_id for r in rows} == {
        d.id for d in bot.kb.documents.values() if d.province == "Bắc Ninh"
    }
    assert set(rows.tolist()) <= set(allowed.tolist())
    assert bot.retriever.search("trạm BTS", 5, year=2031) == []


def test_milvus_knowledge_base_on_disk(stores):
    """The folder holds the manifest only: no vectors, no FAISS index, no BM25, no records;
    Milvus holds every vector, each chunk's BM25 weights (those of the in-process index), the
    chunks, documents and facts."""
    kb, ref = stores["milvus"].kb, stores["faiss"].kb
    folder = live_version(stores["milvus"].settings.index_dir)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]
    assert [c.model_dump() for c in kb.chunks] == [c.model_dump() for c in ref.chunks]
    assert kb.documents == ref.documents and len(kb.documents) == 5
    np.testing.assert_array_equal(kb.owners, ref.owners)
    assert [f.model_dump() for f in kb.facts.facts] == [f.model_dump() for f in ref.facts.facts]
    assert kb.vector_index.capabilities.records_in_engine
    assert isinstance(kb.lexical, MilvusLexical) and kb.vector_index.capabilities.whole_store
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    store = manifest["vector_store"]
    assert (store["name"], store["index"], store["bm25"], store["records"]) == (
        "milvus",
        "FLAT",
        "milvus",
        "milvus",
    )
    assert store["chunks"] == len(ref) == manifest["n_chunks"]
    assert store["uri"].endswith("kb.db") and store["collection"].startswith(store["base"] + "_v")
    rows = collection_rows(kb)
    assert len(rows) == len(ref.vectors) == len(kb.vector_index)
    first = rows[f"{kb.chunks[0].id}#0"]
    doc = kb.documents[kb.chunks[0].doc_id]
    assert (first["doc_id"], first["province"], first["year"]) == (doc.id, doc.province, doc.year)
    np.testing.assert_allclose(first["vector"], ref.vectors[0], atol=1e-7)
    np.testing.assert_allclose(kb.vectors_of(np.array([5, 0])), ref.vectors[[5, 0]], atol=1e-7)
    # BM25: the stored sparse vectors are the in-process index's weights, row for row
    assert isinstance(ref.lexical, LexicalIndex)
    want = list(row_vectors(ref.lexical.exact, len(ref)))
    stored = {
        r["pk"]: r["sparse"]
        for r in kb.vector_index.client().query(
            store["collection"] + "_chunks", filter="pk >= 0", output_fields=["pk", "sparse"]
        )
    }
    assert sorted(stored) == list(range(len(kb)))
    for row in (0, 7, len(kb) - 1):
        assert stored[row].keys() == want[row].keys()
        assert all(abs(stored[row][t] - w) <= 1e-6 for t, w in want[row].items())
    for token in ("trạm", "bts", "tram", "quảng_bình", "không-có-token-này"):
        assert kb.lexical.idf(token) == pytest.approx(ref.lexical.idf(token), abs=1e-9), token


def test_expression_is_a_template_with_its_values_apart():
    e = milvus_filter.where_expression(SearchFilter(province="Bắc Giang", year=2020))
    assert (
        e.template == "province == {province} and period_start <= {year} and period_end >= {year}"
    )
    assert e.params == {"province": "Bắc Giang", "year": 2020}
    assert e.arguments(True) == {"filter": e.template, "filter_params": dict(e.params)}
    assert e.render() == 'province == "Bắc Giang" and period_start <= 2020 and period_end >= 2020'
    hostile = milvus_filter.where_expression(
        SearchFilter(doc_ids=frozenset({'/r/b" or pk != "x.txt', "/r/a.txt"}))
    )
    assert hostile.template == "doc_id in {doc_ids}"
    assert hostile.render() == 'doc_id in ["/r/a.txt", "/r/b\\" or pk != \\"x.txt"]'
    assert milvus_filter.where_expression(SearchFilter()).arguments(True) == {"filter": ""}


def test_filters_go_as_templates_unless_the_engine_refuses_them_fake_client():
    """A fake client stands in for a Milvus server (none runs here): a server that takes
    parameters gets the template; one that cannot parse it (as Milvus Lite) the rendered
    expression from then on."""
    calls: list[dict] = []

    def server(**kw):
        calls.append(kw)
        return "ok"

    def lite(**kw):
        calls.append(kw)
        if "{" in kw["filter"]:
            raise RuntimeError("unexpected character '{' at column 12")
        return "ok"

    e = milvus_filter.keys_in(["a#0"])
    assert milvus_filter.filtered("http://server:19530", server, e, limit=1) == "ok"
    assert calls == [{"filter": "pk in {keys}", "filter_params": {"keys": ["a#0"]}, "limit": 1}]
    calls.clear()
    for _ in range(2):
        assert milvus_filter.filtered("http://lite:19530", lite, e) == "ok"
    assert [c["filter"] for c in calls] == ["pk in {keys}", 'pk in ["a#0"]', 'pk in ["a#0"]']
    calls.clear()
    assert milvus_filter.filtered(str(Path("/x/kb.db")), lite, e) == "ok"  # a Lite file
    assert calls == [{"filter": 'pk in ["a#0"]'}]


# --- the fake encoder: updates, deletions, migration, settings ----------------------------


def test_update_and_delete_follow_the_documents(reports_copy, tmp_path, fake_encoder, monkeypatch):
    """Re-indexing embeds only the changed documents; the new version is a collection of its
    own holding every vector (the kept ones copied from the previous collection), the previous
    one stays for processes still answering from it, the one before is dropped."""
    settings = milvus_settings(tmp_path)
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    rows = collection_rows(kb)
    assert len(rows) == len(kb.vectors) > len(kb)
    qb = str((reports_copy / "quang-binh-2022.txt").resolve())
    bn = str((reports_copy / "bac-ninh-15-nam.txt").resolve())
    bg = str((reports_copy / "bac-giang-2020.txt").resolve())
    n_bn = len(kb.vector_rows(kb.rows_for([bn])))
    assert doc_count(kb, bn) == n_bn > 0
    bg_rows = {k: r for k, r in rows.items() if r["doc_id"] == bg}

    inserted: list[int] = []
    real_insert = milvus_collection.insert_vectors

    def spy(*args, **kw):
        inserted.append(n := real_insert(*args, **kw))
        return n

    monkeypatch.setattr(milvus_collection, "insert_vectors", spy)
    with open(reports_copy / "quang-binh-2022.txt", "a", encoding="utf-8") as fh:
        fh.write("\n\nNăm 2022, Quảng Bình lắp đặt 42 trạm quan trắc tự động.\n")
    (reports_copy / "bac-ninh-15-nam.txt").unlink()
    kb2, report = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert [Path(p).name for p in report.updated] == ["quang-binh-2022.txt"]
    assert [Path(p).name for p in report.removed] == ["bac-ninh-15-nam.txt"]
    n_qb = len(kb2.vector_rows(kb2.rows_for([qb])))
    assert report.vectors_embedded == n_qb  # only the updated document was embedded
    assert inserted == [len(kb2.vector_index)]  # a whole new version
    first, second = kb.vector_index.describe(), kb2.vector_index.describe()
    assert first["base"] == second["base"] and first["collection"] != second["collection"]
    assert doc_count(kb2, bn) == 0 and doc_count(kb, bn) == n_bn  # the previous one is kept
    assert doc_count(kb2, qb) == n_qb
    rows2 = collection_rows(kb2)
    assert (
        len(rows2)
        == len(kb2.vectors)
        == len(kb.vectors) - n_bn - len(kb.vector_rows(kb.rows_for([qb]))) + n_qb
    )
    for key, row in bg_rows.items():  # untouched: the same vectors, copied over
        np.testing.assert_array_equal(rows2[key]["vector"], row["vector"])
    # the same hits as FAISS over the same vectors and texts
    on_faiss = KnowledgeBase(
        kb2.documents, kb2.chunks, kb2.vectors, kb2.signature, owners=kb2.owners
    )
    for q in ("Quảng Bình trạm quan trắc", "Bắc Ninh", "chính quyền điện tử", "tram quan trac"):
        a = Retriever(kb2, fake_encoder, settings).search(q, 5)
        b = Retriever(on_faiss, fake_encoder, settings).search(q, 5)
        assert [h.chunk.id for h in a] == [h.chunk.id for h in b]
        assert [h.bm25_score for h in a] == pytest.approx([h.bm25_score for h in b], abs=1e-5)
        assert all(h.doc.id != bn for h in a)

    # reopened from the folder (released, as a fresh process finds it): loaded and counted
    kb2.vector_index.client().release_collection(kb2.vector_index.target.collection)
    loaded = KnowledgeBase.load(
        settings.index_dir, index_signature(settings, fake_encoder), settings
    )
    assert loaded.vector_index.describe() == kb2.vector_index.describe()
    assert [h.chunk.id for h in Retriever(loaded, fake_encoder, settings).search("trạm BTS")] == [
        h.chunk.id for h in Retriever(kb2, fake_encoder, settings).search("trạm BTS")
    ]

    inserted.clear()
    kb3, report = index_paths(
        [reports_copy], settings.index_dir, settings, fake_encoder, rebuild=True
    )
    assert inserted == [len(kb3.vectors)] and len(collection_rows(kb3)) == len(kb3.vectors)
    held = set(kb3.vector_index.client().list_collections())
    assert not {n for n in held if n.startswith(first["collection"])}  # two versions back
    assert second["collection"] in held


class PassageEncoderMustNotRun:
    """Wraps an encoder; embedding passages (what migrating must not do) raises."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def embed(self, texts, kind="passage", **kw):
        if kind == "passage":
            raise AssertionError(f"embedded {len(texts)} passages")
        return self.inner.embed(texts, kind, **kw)


def test_migrate_copies_vectors_without_embedding(
    reports_copy, tmp_path, fake_encoder, monkeypatch, capsys
):
    from assistant import bot
    from assistant.cli import main

    faiss_settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], faiss_settings.index_dir, faiss_settings, fake_encoder)
    guarded = PassageEncoderMustNotRun(fake_encoder)
    monkeypatch.setattr(bot, "load_encoder", lambda settings: guarded)

    uri = tmp_path / "migrated.db"
    assert (
        main(
            [
                "migrate",
                "--to",
                "milvus",
                "--uri",
                str(uri),
                "--index",
                str(faiss_settings.index_dir),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"moved {len(kb.vectors)} vectors of {len(kb)} chunks without embedding" in out
    settings = Settings(
        index_dir=faiss_settings.index_dir, vector_store="milvus", milvus_uri=str(uri)
    )
    moved = Assistant.open(settings, guarded).kb
    rows = collection_rows(moved)
    assert len(rows) == len(kb.vectors)
    keys = milvus.vector_keys(kb.chunks, kb.owners)
    np.testing.assert_array_equal(
        np.array([rows[k]["vector"] for k in keys], np.float32), kb.vectors
    )
    for q in ("Bắc Giang có bao nhiêu trạm BTS?", "hộp thư điện tử"):
        a = Retriever(kb, guarded, faiss_settings).search(q, 5)
        b = Retriever(moved, guarded, settings).search(q, 5, province="Bắc Giang")
        c = Retriever(kb, guarded, faiss_settings).search(q, 5, province="Bắc Giang")
        assert [h.chunk.id for h in Retriever(moved, guarded, settings).search(q, 5)] == [
            h.chunk.id for h in a
        ]
        assert [h.chunk.id for h in b] == [h.chunk.id for h in c]

    # the folder now says milvus: FAISS settings are told how to go back, and going back works
    with pytest.raises(IndexMismatchError, match="migrate --to faiss"):
        Assistant.open(faiss_settings, guarded)
    assert main(["migrate", "--to", "faiss", "--index", str(faiss_settings.index_dir)]) == 0
    back = Assistant.open(faiss_settings, guarded).kb
    assert back.vector_index.describe()["name"] == "faiss"
    np.testing.assert_array_equal(back.vectors, kb.vectors)


def test_cli_index_with_milvus_and_errors(
    reports_copy, tmp_path, fake_encoder, monkeypatch, capsys
):
    from assistant import bot
    from assistant.cli import main

    monkeypatch.setattr(bot, "load_encoder", lambda settings: fake_encoder)
    index = tmp_path / "kb"
    assert (
        main(
            [
                "index",
                str(reports_copy),
                "--index",
                str(index),
                "--store",
                "milvus",
                "--uri",
                str(tmp_path / "cli.db"),
                "--collection",
                "reports_test",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "5 added" in out and "vectors in milvus collection reports_test_v" in out
    assert (
        main(
            [
                "index",
                str(reports_copy),
                "--index",
                str(index),
                "--store",
                "milvus",
                "--uri",
                "ftp://nowhere",
            ]
        )
        == 2
    )
    assert "must be a Milvus Lite file" in capsys.readouterr().err
    assert (
        main(
            [
                "migrate",
                "--to",
                "milvus",
                "--index",
                str(index),
                "--uri",
                str(tmp_path / "x.db"),
                "--collection",
                "9bad",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: Milvus collection name '9bad' is invalid")
    assert "Traceback" not in err


def test_reindexing_a_milvus_folder_without_a_store_stays_on_milvus(
    reports_copy, tmp_path, fake_encoder, monkeypatch, capsys
):
    """The manifest decides: settings that name no store keep the folder's Milvus (a new
    version of its collection, embedding only what changed); ``--rebuild`` starts afresh on the
    settings' store."""
    from assistant import bot
    from assistant.cli import main

    monkeypatch.delenv("ASSISTANT_VECTOR_STORE", raising=False)
    monkeypatch.delenv("ASSISTANT_MILVUS_URI", raising=False)
    monkeypatch.setattr(bot, "load_encoder", lambda settings: fake_encoder)
    index = tmp_path / "kb"
    assert (
        main(
            [
                "index",
                str(reports_copy),
                "--index",
                str(index),
                "--store",
                "milvus",
                "--uri",
                str(tmp_path / "stay.db"),
                "--collection",
                "stay_here",
            ]
        )
        == 0
    )
    first = json.loads((live_version(index) / "manifest.json").read_text("utf-8"))
    capsys.readouterr()

    with open(reports_copy / "quang-binh-2022.txt", "a", encoding="utf-8") as fh:
        fh.write("\n\nNăm 2022, Quảng Bình lắp đặt 42 trạm quan trắc tự động.\n")
    inserted: list[int] = []
    real_insert = milvus_collection.insert_vectors

    def spy(*args, **kw):
        inserted.append(n := real_insert(*args, **kw))
        return n

    monkeypatch.setattr(milvus_collection, "insert_vectors", spy)
    assert main(["index", str(reports_copy), "--index", str(index)]) == 0  # no --store
    out = capsys.readouterr().out
    assert "1 updated" in out and "vectors in milvus collection stay_here_v" in out
    manifest = json.loads((live_version(index) / "manifest.json").read_text("utf-8"))
    before, after = first["vector_store"], manifest["vector_store"]
    assert (after["name"], after["base"], after["uri"]) == ("milvus", "stay_here", before["uri"])
    assert after["collection"] != before["collection"]
    assert not {"index.faiss", "vectors.npy", "bm25"} & {
        p.name for p in live_version(index).iterdir()
    }
    settings = Settings(
        index_dir=index, vector_store="milvus", milvus_uri=str(tmp_path / "stay.db")
    )
    kb = KnowledgeBase.load(index, settings=settings)
    assert inserted == [len(kb.vector_index)]
    assert len(collection_rows(kb)) == len(kb.vectors)

    # --rebuild starts from an empty index: the settings' store (FAISS by default)
    assert main(["index", str(reports_copy), "--index", str(index), "--rebuild"]) == 0
    assert "vectors in faiss" in capsys.readouterr().out
    assert KnowledgeBase.load(index).vector_index.describe()["name"] == "faiss"


def test_a_store_mismatch_names_migrate(reports_copy, tmp_path, fake_encoder, monkeypatch, capsys):
    """Settings that explicitly ask for another store than the folder's are refused, for
    indexing and for loading, with the `migrate` command that moves the vectors."""
    from assistant import bot
    from assistant.cli import main

    settings = milvus_settings(tmp_path)
    index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    on_faiss = Settings(index_dir=settings.index_dir, vector_store="faiss")
    with pytest.raises(
        IndexMismatchError,
        match=r"keeps its vectors in milvus.*`python -m "
        r"assistant migrate --to faiss --index ",
    ):
        index_paths([reports_copy], on_faiss.index_dir, on_faiss, fake_encoder)
    with pytest.raises(IndexMismatchError, match="python -m assistant migrate --to faiss"):
        KnowledgeBase.load(settings.index_dir, settings=on_faiss)
    monkeypatch.setattr(bot, "load_encoder", lambda settings: fake_encoder)
    assert (
        main(["index", str(reports_copy), "--index", str(settings.index_dir), "--store", "faiss"])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: the knowledge base in") and "migrate --to faiss" in err
    assert "Traceback" not in err
    # refused before anything was written: the folder still opens on Milvus
    assert (
        KnowledgeBase.load(settings.index_dir, settings=settings).vector_index.describe()["name"]
        == "milvus"
    )
