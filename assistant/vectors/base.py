"""The vector store interface: every engine (FAISS in the process, Milvus beside it) is built,
opened, saved and searched the same way, and says what it can do in :class:`Capabilities`.

Rows are numbered 0..n-1 in the knowledge base's vector order; row numbers never leave the
knowledge base (:mod:`assistant.kb`), which maps them to chunks.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import VectorStoreError
from assistant.facts import FactTable
from assistant.lexical import Lexical, LexicalIndex
from assistant.types import Chunk, Document, Progress, SearchFilter


@dataclass(frozen=True)
class Capabilities:
    """What a store can do; callers branch on these, never on the engine.

    ``exact``: :meth:`VectorStore.search` returns the true top-k (no approximation).
    ``filters_in_engine``: ``search(where=...)`` filters on the documents' fields inside the
    engine (the fields are stored beside the vectors), so ``allowed`` rows are not needed.
    ``rows_in_engine``: ``search(allowed=...)`` restricts the rows inside the engine cheaply
    (a bitmap); when False, a narrow row filter is better searched exactly by the caller.
    ``vectors_in_folder``: :meth:`VectorStore.save` writes the vectors into the knowledge
    base folder (else they live in the engine).
    ``incremental``: re-indexing touches only the changed documents' vectors.
    ``whole_store``: the engine keeps everything: the vectors (:meth:`VectorStore.fetch`
    returns them, so the folder holds no ``vectors.npy``), the BM25 side
    (:meth:`VectorStore.lexical`, no ``bm25/`` folders) and, for versions written so, the
    records (:meth:`VectorStore.stored_records`: the folder holds only the manifest).
    ``records_in_engine``: this version's documents, chunks and facts are in the engine.
    """

    exact: bool
    filters_in_engine: bool
    rows_in_engine: bool
    vectors_in_folder: bool
    incremental: bool
    whole_store: bool = False
    records_in_engine: bool = False


@dataclass(frozen=True)
class VectorRows:
    """What each vector row belongs to: ``owners[row]`` is the position in ``chunks`` of the
    chunk of vector ``row``; ``documents`` by id (an engine may store their fields);
    ``lexical``: the chunks' BM25 index, ``facts`` their indicator facts, for an engine that
    keeps the BM25 side and the records."""

    chunks: Sequence[Chunk]
    owners: np.ndarray
    documents: Mapping[str, Document]
    lexical: LexicalIndex | None = None
    facts: FactTable | None = None


@dataclass(frozen=True)
class Records:
    """A knowledge base's records as an engine that keeps them returns them: documents,
    chunks in row order, each vector's owning chunk row, the facts (None: none stored)."""

    documents: list[Document]
    chunks: list[Chunk]
    owners: np.ndarray
    facts: FactTable | None


@dataclass(frozen=True)
class Update:
    """A store to build as the next version of ``previous`` (the live version's manifest
    entry, see :meth:`VectorStore.describe`): ``changed`` names the documents added, updated
    or removed since; None when every vector is to be written again."""

    previous: dict[str, Any]
    changed: Sequence[str] | None = None


class VectorStore(abc.ABC):
    """Inner-product search over L2-normalised vectors, rows numbered 0..n-1."""

    capabilities: Capabilities

    @classmethod
    @abc.abstractmethod
    def build(
        cls,
        vectors: np.ndarray,
        rows: VectorRows,
        settings: Settings,
        index_dir: Path,
        update: Update | None = None,
        progress: Progress | None = None,
    ) -> VectorStore:
        """A store holding ``vectors`` ``(n, dim)`` float32, for the knowledge base in
        ``index_dir``; ``update``: the version it replaces (an engine that keeps its vectors
        outside the folder writes only what changed)."""

    @classmethod
    @abc.abstractmethod
    def open(
        cls, entry: dict[str, Any], folder: Path, rows: VectorRows, settings: Settings | None = None
    ) -> VectorStore:
        """The store a manifest ``entry`` (:meth:`describe`) names, for the version ``folder``;
        ``settings`` may give the engine's address and credentials."""

    @classmethod
    def stored_records(
        cls, entry: dict[str, Any], settings: Settings | None = None
    ) -> Records | None:
        """The records the engine keeps for the version a manifest ``entry`` names (a store
        with ``whole_store``); None when they are in the folder."""
        return None

    @abc.abstractmethod
    def save(self, folder: Path) -> None:
        """Write what the version ``folder`` needs to open this store again."""

    @abc.abstractmethod
    def search(
        self,
        query: np.ndarray,
        k: int,
        where: SearchFilter | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)`` for one query vector ``(dim,)``, best first, ties by
        row. ``where`` and ``allowed`` (sorted rows) describe the same restriction: a store
        with ``filters_in_engine`` uses ``where`` when given, any other uses ``allowed``."""

    def fetch(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` ``(len(rows), dim)``: a store with ``whole_store``
        (the others' vectors are the knowledge base's own copy)."""
        raise VectorStoreError(f"{self.summary()} does not return its vectors")

    def lexical(self) -> Lexical | None:
        """The BM25 side kept in the engine (a store with ``whole_store``), else None."""
        return None

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the manifest records to open the store again (``name``: the engine,
        ``index``: its index type; no credentials)."""

    def summary(self) -> str:
        """One line for people: where the vectors are."""
        entry = self.describe()
        return f"{entry['name']} ({entry['index']} index)"


def exact_search(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` ``(scores, positions)`` of ``query`` among ``vectors`` by brute force.

    >>> exact_search(np.eye(3, dtype=np.float32), np.array([0, 1, 0], np.float32), 1)
    (array([1.], dtype=float32), array([1]))
    """
    k = min(k, len(vectors))
    if k <= 0:
        return np.empty(0, np.float32), np.empty(0, np.int64)
    scores = vectors @ np.asarray(query, np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return scores[top].astype(np.float32), top.astype(np.int64)
