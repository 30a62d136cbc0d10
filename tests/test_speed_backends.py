"""The fast embedding backends (ONNX Runtime fp32 and int8) against sentence-transformers fp32.

Tolerances (issue 5): ONNX fp32 runs the same graph, so its vectors must reach a mean cosine of
FP32_MEAN_COS to the torch ones (each text FP32_MIN_COS); int8 quantises weights and activations,
which the issue bounds at a mean of INT8_MEAN_COS (measured: ~0.996 mean, ~0.994 worst here). On
the bundled reports both must retrieve the same evidence as fp32 for every question.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_embeddings import LONG, TEXTS

from assistant import Assistant, Settings, index_paths, load_encoder
from assistant.chunking import chunk_document, chunk_windows
from assistant.config import BUNDLED_REPORTS
from embeddings import ModelUnavailableError, default_cache_dir, load_embedder

FP32_MEAN_COS = 0.9999
FP32_MIN_COS = 0.9999
INT8_MEAN_COS = 0.98
INT8_MIN_COS = 0.97
QA = Path(__file__).parent / "data" / "reports_qa.jsonl"
model = pytest.mark.model


def _report_texts(limit: int = 30) -> list[str]:
    """Passages as the store embeds them (chunks with their header, sentence windows): every
    ``n``-th of the bundled reports' ones, so short and long ones are both in."""
    from assistant import load_documents

    settings = Settings()
    docs, _ = load_documents([BUNDLED_REPORTS])
    texts = []
    for d in docs:
        for c in chunk_document(
            d, settings.chunk_size, settings.chunk_overlap, settings.context_header
        ):
            texts.append(c.indexed_text())
            texts += [
                f"{c.header}\n{c.text[a:b]}" for a, b in chunk_windows(c, settings.dense_windows)
            ]
    return texts[:: max(1, len(texts) // limit)]


@pytest.fixture(scope="module")
def torch_embedder():
    return load_embedder(cache_dir=default_cache_dir(), backend="torch")


@pytest.fixture(scope="module")
def reference(torch_embedder) -> dict[str, tuple[list[str], np.ndarray]]:
    """Texts and their fp32 vectors per kind: passages from the reports, queries from the tests."""
    passages = TEXTS + _report_texts()
    return {
        "passage": (passages, torch_embedder.embed(passages, "passage")),
        "query": (TEXTS, torch_embedder.embed(TEXTS, "query")),
    }


@model
@pytest.mark.parametrize(
    "backend, mean_cos, min_cos",
    [("onnx", FP32_MEAN_COS, FP32_MIN_COS), ("onnx-int8", INT8_MEAN_COS, INT8_MIN_COS)],
)
@pytest.mark.parametrize("kind", ["passage", "query"])
def test_vectors_match_fp32(
    backend: str,
    mean_cos: float,
    min_cos: float,
    kind: str,
    reference: dict[str, tuple[list[str], np.ndarray]],
) -> None:
    fast = load_embedder(cache_dir=default_cache_dir(), backend=backend)
    texts, fp32 = reference[kind]
    vecs = fast.embed(texts, kind)
    assert vecs.shape == (len(texts), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cos = (vecs * fp32).sum(axis=1)
    assert cos.mean() >= mean_cos and cos.min() >= min_cos, sorted(cos)[:5]


@model
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_long_text_windows_like_torch(backend: str, torch_embedder) -> None:
    fast = load_embedder(cache_dir=default_cache_dir(), backend=backend)
    assert fast.count_tokens("passage: " + LONG) > 3 * fast.max_seq_length
    assert [fast.count_tokens(t) for t in TEXTS] == [torch_embedder.count_tokens(t) for t in TEXTS]
    assert fast._windows(["passage: " + LONG]) == torch_embedder._windows(["passage: " + LONG])
    cos = fast.embed([LONG])[0] @ torch_embedder.embed([LONG])[0]
    assert cos >= (FP32_MIN_COS if backend == "onnx" else 0.99)


@model
def test_int8_vectors_do_not_depend_on_the_batch() -> None:
    fast = load_embedder(cache_dir=default_cache_dir(), backend="onnx-int8")
    together = fast.embed(TEXTS)
    assert np.array_equal(fast.embed(TEXTS, batch_size=3), together)
    alone = np.stack([fast.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(alone, together, atol=1e-6)


@model
def test_backends_are_named_and_cached() -> None:
    fp32 = load_embedder(cache_dir=default_cache_dir(), backend="onnx")
    int8 = load_embedder(cache_dir=default_cache_dir(), backend="onnx-int8")
    # fp32 vectors are interchangeable with torch's; int8 ones must not meet a torch index
    assert (fp32.name, int8.name) == ("multilingual-e5-small", "multilingual-e5-small:onnx-int8")
    assert load_embedder(cache_dir=default_cache_dir(), backend="onnx-int8") is int8
    assert (int8.dim, int8.max_seq_length) == (384, 512)
    assert int8.prefixes == {"query": "query: ", "passage": "passage: "}
    assert load_encoder(Settings()) is int8  # the default for indexing and search
    files = sorted(p.name for p in fp32.folder.iterdir())
    assert files == ["export.json", "model-int8.onnx", "model.onnx", "tokenizer.json"]
    assert fp32.folder.parent == default_cache_dir()
    with pytest.raises(AttributeError, match="torch"):
        _ = int8.model


def test_unknown_backend_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="onnx-int8"):
        load_embedder(cache_dir=tmp_path, backend="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Settings(embed_backend="tensorrt")  # type: ignore[arg-type]


def test_missing_model_says_offline_for_onnx_too(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="offline"):
        load_embedder(str(tmp_path / "nothing"), cache_dir=tmp_path, backend="onnx-int8")


# --- retrieval on the bundled reports ------------------------------------------------------


def _ranks(bot: Assistant, k: int = 5) -> dict[str, tuple[int | None, list[str]]]:
    """Per question of the repository set: the rank at which all its evidence is retrieved
    (None: not within the top ``k``) and the top-``k`` chunk ids."""
    from eval.datasets import load_qa_set
    from eval.metrics import covered_items, retrieved_rank
    from eval.runner import evidence_items

    qa = load_qa_set(QA)
    out = {}
    for q in qa.questions:
        hits = bot.ask(q.question, k=k).hits
        items = evidence_items(q, qa.format, bot.kb)
        covers = [covered_items((h.chunk.doc_id, h.chunk.start, h.chunk.end), items) for h in hits]
        rank = retrieved_rank(covers, len(items)) if items else None
        out[q.id] = (rank, [h.chunk.id for h in hits])
    return out


@pytest.fixture(scope="module")
def bots(real_assistant, tmp_path_factory) -> dict[str, Assistant]:
    """The default assistant (int8) and one with the torch fp32 encoder, on the sample reports."""
    settings = Settings(
        index_dir=tmp_path_factory.mktemp("backends") / "index", embed_backend="torch"
    )
    encoder = load_encoder(settings)
    kb, report = index_paths([BUNDLED_REPORTS], settings.index_dir, settings, encoder)
    assert len(report.added) == 5 and kb.signature["model"] == "multilingual-e5-small"
    assert real_assistant.kb.signature["model"] == "multilingual-e5-small:onnx-int8"
    return {"torch": Assistant(settings, kb, encoder), "onnx-int8": real_assistant}


@model
def test_onnx_fp32_search_equals_torch(bots: dict[str, Assistant]) -> None:
    """fp32 ONNX query vectors search the torch index with the same hits."""
    torch_bot = bots["torch"]
    fp32 = load_embedder(cache_dir=default_cache_dir(), backend="onnx")
    assert fp32.name == torch_bot.encoder.name  # an fp32 index serves both
    onnx_bot = Assistant(torch_bot.settings, torch_bot.kb, fp32)
    assert _ranks(onnx_bot) == _ranks(torch_bot)


@model
def test_int8_finds_the_same_evidence(bots: dict[str, Assistant]) -> None:
    fp32, int8 = _ranks(bots["torch"]), _ranks(bots["onnx-int8"])
    assert {q: r[0] is not None for q, r in int8.items()} == {
        q: r[0] is not None for q, r in fp32.items()
    }
    top1 = sum(int8[q][1][:1] == fp32[q][1][:1] for q in fp32)
    assert top1 >= len(fp32) - 1  # the first hit moves for at most one question


@model
def test_int8_dense_retrieval_finds_the_same_evidence(bots: dict[str, Assistant]) -> None:
    dense = {
        name: Assistant(bot.settings.model_copy(update={"fusion": "dense"}), bot.kb, bot.encoder)
        for name, bot in bots.items()
    }
    fp32, int8 = _ranks(dense["torch"]), _ranks(dense["onnx-int8"])
    assert {q: r[0] is not None for q, r in int8.items()} == {
        q: r[0] is not None for q, r in fp32.items()
    }


@model
def test_an_index_built_with_int8_is_not_searched_with_torch(bots: dict[str, Assistant]) -> None:
    from assistant import IndexMismatchError, KnowledgeBase
    from assistant.storage import index_signature

    int8 = bots["onnx-int8"]
    torch_settings = int8.settings.model_copy(update={"embed_backend": "torch"})
    expected = index_signature(torch_settings, load_encoder(torch_settings))
    with pytest.raises(IndexMismatchError, match="onnx-int8"):
        KnowledgeBase.load(int8.settings.index_dir, expected)
