"""The embedding function as its users meet it: ``embed()`` gives the index's own vectors,
sentence-transformers' ``encode_query`` / ``encode_document`` names, and a LangChain
``Embeddings`` that langchain_community's FAISS takes as it is. Real model, bundled reports."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.chunking import chunk_windows
from embeddings import DEFAULT_BACKEND, embed, load_embedder

pytestmark = pytest.mark.model
BTS = "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"


def stored_texts(kb, window: int) -> list[str]:
    """The text behind each stored vector, in the index's order (``indexing.embed_chunks``)."""
    texts = []
    for c in kb.chunks:
        texts.append(c.indexed_text())
        texts += [
            f"{c.header}\n{c.text[a:b]}" if c.header else c.text[a:b]
            for a, b in chunk_windows(c, window)
        ]
    return texts


def test_embed_defaults_to_the_index_backend(real_assistant) -> None:
    assert DEFAULT_BACKEND == real_assistant.settings.embed_backend == "onnx-int8"
    assert load_embedder() is real_assistant.encoder  # one embedder per process
    assert real_assistant.kb.signature["model"] == "multilingual-e5-small:onnx-int8"


def test_embed_equals_the_index_vectors(real_assistant) -> None:
    kb = real_assistant.kb
    texts = stored_texts(kb, real_assistant.settings.dense_windows)
    assert len(texts) == len(kb.vectors) > len(kb.chunks) == 110
    ours = embed(texts)
    assert ours.dtype == np.float32 and ours.shape == kb.vectors.shape
    assert np.abs(ours - kb.vectors).max() <= 1e-6
    one = embed([texts[7]])  # alone, not in a batch: the same vector
    assert np.abs(one[0] - kb.vectors[7]).max() <= 1e-6


def test_encode_document_and_query_are_embed(real_assistant) -> None:
    emb = load_embedder()
    text = real_assistant.kb.chunks[4].indexed_text()
    doc = emb.encode_document(text)
    assert doc.shape == (384,) and doc.dtype == np.float32
    assert np.array_equal(doc, embed([text], kind="passage")[0])
    assert np.array_equal(emb.encode_query(BTS), embed([BTS], kind="query")[0])
    many = emb.encode_document([text, BTS])
    assert many.shape == (2, 384)
    assert np.array_equal(many, embed([text, BTS]))
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    tensor = emb.encode_query([BTS], convert_to_tensor=True)
    assert tuple(tensor.shape) == (1, 384) and np.array_equal(
        tensor.numpy()[0], emb.encode_query(BTS)
    )
    assert not np.array_equal(emb.encode_query(text), doc)  # the prefixes differ


@pytest.mark.filterwarnings("ignore:.*langchain-community.*:DeprecationWarning")
def test_langchain_faiss_finds_the_bac_giang_bts_chunk_first(real_assistant) -> None:
    from langchain_community.vectorstores import FAISS
    from langchain_core.embeddings import Embeddings

    from embeddings.langchain import E5Embeddings

    kb = real_assistant.kb
    adapter = E5Embeddings()
    assert isinstance(adapter, Embeddings) and adapter.embedder is load_embedder()
    query = adapter.embed_query(BTS)
    assert isinstance(query, list) and len(query) == 384 and isinstance(query[0], float)
    docs = adapter.embed_documents([kb.chunks[0].indexed_text()])
    assert isinstance(docs, list) and isinstance(docs[0], list) and len(docs[0]) == 384

    store = FAISS.from_texts(
        [c.indexed_text() for c in kb.chunks],
        adapter,
        metadatas=[{"id": c.id, "doc": c.doc_id} for c in kb.chunks],
    )
    for question in (BTS, "bac giang co bao nhieu tram bts"):
        best = store.similarity_search(question, k=3)
        top = best[0]
        assert "bac-giang-2020" in top.metadata["doc"], question
        assert "1.422 trạm BTS" in top.page_content, question
    # the vectors the adapter stored are the index's chunk vectors
    rows = [kb.vector_rows(np.array([i]))[0] for i in range(len(kb.chunks))]
    stored = np.stack([store.index.reconstruct(i) for i in range(len(kb.chunks))])
    assert np.abs(stored - kb.vectors[rows]).max() <= 1e-6
