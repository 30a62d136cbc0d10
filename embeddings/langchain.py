"""The embedder as a LangChain ``Embeddings``: plug it into any vector store that takes one.

    from langchain_community.vectorstores import FAISS
    from embeddings.langchain import E5Embeddings

    store = FAISS.from_texts(texts, E5Embeddings())
    store.similarity_search("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?", k=3)

``embed_documents`` adds the "passage: " prefix and ``embed_query`` the "query: " one; vectors
are unit length (inner product = cosine) and equal those of :func:`embeddings.embed`, hence the
index's with the default backend. ``langchain_core`` comes with langchain-text-splitters.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from .base import DEFAULT_BACKEND, DEFAULT_MODEL, Backend, Embedder
from .loading import load_embedder


class E5Embeddings(Embeddings):
    """LangChain ``Embeddings`` over an :class:`Embedder` (loaded once per process).

    >>> # E5Embeddings().embed_query("Bắc Giang có bao nhiêu trạm BTS?")  -> 384 floats
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        model: str = DEFAULT_MODEL,
        backend: Backend = DEFAULT_BACKEND,
        batch_size: int = 32,
    ) -> None:
        self.embedder = embedder or load_embedder(model, backend=backend)
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"E5Embeddings({self.embedder!r})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passages -> one list of ``dim`` floats per text."""
        return self.embedder.embed(list(texts), "passage", batch_size=self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        """A search question -> ``dim`` floats."""
        return self.embedder.embed([text], "query")[0].tolist()
