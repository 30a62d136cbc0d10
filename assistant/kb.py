"""The knowledge base in memory: documents, their chunks, the vectors (searched through a
:class:`~assistant.vectors.VectorStore`), BM25 and the indicator facts; saved to and loaded
from a version folder (:mod:`assistant.storage`). On a store that keeps everything searched
(Milvus, ``whole_store``), the vectors and BM25 stay in the engine: the folder holds neither."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import IndexCorruptError, IndexMismatchError, VectorStoreError
from assistant.facts import FactTable
from assistant.indicators import vocabulary_version
from assistant.lexical import Lexical, LexicalIndex
from assistant.provinces import find_provinces
from assistant.restore import Restorer
from assistant.storage import (
    check_signature,
    live_version,
    now,
    read_manifest,
    read_records,
    signature_of,
    write_records,
    write_version,
)
from assistant.text import fold
from assistant.types import Chunk, Document, SearchFilter
from assistant.vectors import (
    VectorRows,
    VectorStore,
    check_store,
    exact_search,
    in_memory,
    manifest_entry,
    open_store,
    stored_records,
)

# a filtered search over at most this many vectors is exact even when the index is not
EXACT_FILTERED = 20_000


class KnowledgeBase:
    """Documents and their chunks, searchable by vector and by BM25."""

    def __init__(
        self,
        documents: dict[str, Document],
        chunks: list[Chunk],
        vectors: np.ndarray | None,
        signature: dict[str, Any],
        vector_index: VectorStore | None = None,
        lexical: Lexical | None = None,
        owners: np.ndarray | None = None,
        facts: FactTable | None = None,
    ) -> None:
        self.documents = documents
        self._facts = facts  # None: extracted from the documents on first use
        self.chunks = chunks
        if vector_index is None:
            if vectors is None:
                raise IndexCorruptError("a knowledge base without vectors needs a vector store")
            vector_index = in_memory(vectors)
        whole = vector_index.capabilities.whole_store
        self._vectors = None if whole else vectors  # the engine's when it keeps them
        n_vectors = len(vector_index) if vectors is None else len(vectors)
        # owners[v] is the chunk row of vector v: a chunk's own vector, then its windows' ones
        self.owners = (
            np.arange(len(chunks), dtype=np.int64)
            if owners is None
            else np.asarray(owners, np.int64)
        )
        if len(self.owners) != n_vectors or np.any(np.diff(self.owners) < 0):
            raise IndexCorruptError(
                f"{n_vectors} vectors do not map onto {len(chunks)} "
                "chunks; rebuild the index with --rebuild"
            )
        if self._vectors is None and not whole:
            raise IndexCorruptError("the vectors are missing; rebuild the index with --rebuild")
        self.signature = signature
        if lexical is None:
            lexical = vector_index.lexical() or LexicalIndex.build(
                [c.indexed_text() for c in chunks], signature["fold_diacritics"]
            )
        self.vector_index = vector_index
        self.lexical = lexical
        self.version: str | None = None  # the version folder's name, once saved or loaded
        self.index_dir: Path | None = None  # the index folder that version is in
        rows: dict[str, list[int]] = {}
        for row, c in enumerate(chunks):
            rows.setdefault(c.doc_id, []).append(row)
        self._rows_by_doc = {k: np.asarray(v, np.int64) for k, v in rows.items()}
        self._rows_where: dict[SearchFilter, np.ndarray] = {}
        self._about: dict[tuple[tuple[str, ...], tuple[int, ...]], frozenset[str]] = {}
        self._named: dict[str, frozenset[str]] = {}
        self._unplaced: frozenset[str] | None = None
        self._restorer: Restorer | None = None
        every = np.arange(len(chunks))
        self._first = np.searchsorted(self.owners, every, "left")
        self._last = np.searchsorted(self.owners, every, "right")

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def vectors(self) -> np.ndarray:
        """Every vector ``(n, dim)``: the knowledge base's copy, else read from the engine (all
        of them in memory: for migrating and checking, not for answering)."""
        if self._vectors is not None:
            return self._vectors
        return self.vector_index.fetch(np.arange(len(self.owners)))

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of ``rows`` (from the engine when it keeps them)."""
        rows = np.asarray(rows, np.int64)
        if self._vectors is not None:
            return self._vectors[rows]
        return self.vector_index.fetch(rows)

    def rows_for(self, doc_ids: Iterable[str]) -> np.ndarray:
        parts = [self._rows_by_doc[d] for d in doc_ids if d in self._rows_by_doc]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def doc_ids_about(
        self, provinces: Iterable[str] = (), years: Iterable[int] = ()
    ) -> frozenset[str]:
        """Ids of the documents about any of ``provinces`` (any province when empty) that are
        about, or mention, any of ``years`` (any year when empty); remembered per question
        shape, so a large knowledge base is not scanned on every question.

        A document about no province (a national report, an encyclopedia passage) counts for a
        province its text names: "Trận Điện Biên Phủ ... tỉnh Lai Châu" may answer a question
        that names Điện Biên, while a report about Bắc Giang never answers one about Bình Dương.
        """
        key = (tuple(provinces), tuple(years))
        ids = self._about.get(key)
        if ids is None:
            wanted_p, wanted_y = set(key[0]), set(key[1])
            ids = frozenset(
                d.id
                for d in self.documents.values()
                if (
                    not wanted_p
                    or d.province in wanted_p
                    or (not d.province and wanted_p & self._named_provinces(d))
                )
                and (
                    not wanted_y
                    or any(d.covers(y) for y in wanted_y)
                    or any(str(y) in d.text for y in wanted_y)
                )
            )
            if len(self._about) >= 256:
                self._about.pop(next(iter(self._about)))
            self._about[key] = ids
        return ids

    def unplaced_ids(self) -> frozenset[str]:
        """Ids of the documents about no province (read once)."""
        if self._unplaced is None:
            self._unplaced = frozenset(d.id for d in self.documents.values() if not d.province)
        return self._unplaced

    def restorer(self) -> Restorer:
        """Puts diacritics back into a question typed without them, as these documents write
        their words (counted on first use)."""
        if self._restorer is None:
            self._restorer = Restorer(d.text for d in self.documents.values())
        return self._restorer

    def _named_provinces(self, doc: Document) -> frozenset[str]:
        """The provinces a document's text names (read once per document)."""
        names = self._named.get(doc.id)
        if names is None:
            names = frozenset(p for p, _, _ in find_provinces(doc.text))
            self._named[doc.id] = names
        return names

    def rows_where(self, where: SearchFilter) -> np.ndarray:
        """Sorted rows of the chunks of the documents ``where`` lets through; remembered per
        filter (a knowledge base never changes once built: a new version is a new object)."""
        rows = self._rows_where.get(where)
        if rows is None:
            ids = [d.id for d in self.documents.values() if where.matches(d)]
            rows = np.sort(self.rows_for(ids))
            if len(self._rows_where) >= 256:
                self._rows_where.pop(next(iter(self._rows_where)))
            self._rows_where[where] = rows
        return rows

    def vector_rows(self, chunk_rows: np.ndarray) -> np.ndarray:
        """The rows of every vector (own and windows') of the given chunk rows, grouped by chunk
        in the order given."""
        chunk_rows = np.asarray(chunk_rows, np.int64)
        if len(self.owners) == len(self.chunks):
            return chunk_rows
        first = self._first[chunk_rows]
        sizes = self._last[chunk_rows] - first
        starts = np.cumsum(sizes) - sizes  # where each chunk's group begins in the result
        return np.repeat(first - starts, sizes) + np.arange(int(sizes.sum()))

    def dense_scores(self, query: np.ndarray, chunk_rows: np.ndarray) -> np.ndarray:
        """Cosine of ``query`` to each chunk: the best of its own vector and its windows'."""
        chunk_rows = np.asarray(chunk_rows, np.int64)
        if len(self.owners) == len(self.chunks) or len(chunk_rows) == 0:
            return self.vectors_of(chunk_rows) @ query
        sizes = self._last[chunk_rows] - self._first[chunk_rows]
        starts = np.cumsum(sizes) - sizes
        return np.maximum.reduceat(self.vectors_of(self.vector_rows(chunk_rows)) @ query, starts)

    def dense_search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        where: SearchFilter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, chunk rows)`` by :meth:`dense_scores`, through the vector index
        (``allowed``: chunk rows to search; ``where``: the filter that lets exactly them
        through, for an engine that filters by the documents' fields)."""
        depth = int(np.ceil(k * len(self.owners) / max(len(self.chunks), 1))) + k
        store = self.vector_index
        caps = store.capabilities
        vec_allowed = None if allowed is None else self.vector_rows(allowed)
        if where is not None and caps.filters_in_engine:
            # the engine filters on the documents' fields itself (an expression); ``where``
            # lets through exactly the rows in ``allowed``
            scores, rows = store.search(query, depth, where=where)
        elif (
            vec_allowed is not None
            and len(vec_allowed) <= EXACT_FILTERED
            and not (caps.exact and caps.rows_in_engine)
        ):
            # an approximate index may miss a narrow filter's rows, and an engine without a
            # cheap row filter is slower at it: search them exactly here
            scores, at = exact_search(self.vectors_of(vec_allowed), query, depth)
            rows = vec_allowed[at]
        else:
            scores, rows = store.search(query, depth, allowed=vec_allowed)
        best: dict[int, float] = {}
        for score, row in zip(scores, rows, strict=True):
            best.setdefault(int(self.owners[row]), float(score))  # best first: keep the max
        top = list(best.items())[:k]
        return (np.array([v for _, v in top], np.float32), np.array([r for r, _ in top], np.int64))

    @property
    def facts(self) -> FactTable:
        """The indicator facts of the documents (:mod:`assistant.facts`)."""
        if self._facts is None:
            self._facts = FactTable.build(self.documents.values())
        return self._facts

    def provinces(self) -> list[str]:
        return sorted({d.province for d in self.documents.values() if d.province}, key=fold)

    def years(self) -> list[int]:
        return sorted({d.year for d in self.documents.values() if d.year})

    # --- persistence (the folder's mechanics: assistant.storage) ----------------------------

    def save(self, index_dir: Path) -> Path:
        """Write a new version folder and make it live atomically; returns the folder."""
        folder = write_version(index_dir, self._write)
        self.version, self.index_dir = folder.name, Path(index_dir)
        return folder

    def _write(self, folder: Path) -> dict[str, Any]:
        if not self.vector_index.capabilities.records_in_engine:
            write_records(folder, self.documents.values(), self.chunks, self._vectors, self.owners)
            self.facts.save(folder)
        self.vector_index.save(folder)
        self.lexical.save(folder)
        return {
            **self.signature,
            "created": now(),
            "n_chunks": len(self.chunks),
            "n_facts": len(self.facts),
            "facts_version": self.facts.version,
            "vector_store": self.vector_index.describe(),
            "documents": {
                d.id: {
                    "sha256": d.sha256,
                    "title": d.title,
                    "chunks": int(len(self._rows_by_doc.get(d.id, []))),
                }
                for d in self.documents.values()
            },
        }

    @classmethod
    def load(
        cls,
        index_dir: Path,
        expected: dict[str, Any] | None = None,
        settings: Settings | None = None,
    ) -> KnowledgeBase:
        """Load the live version; ``expected`` (see :func:`assistant.storage.index_signature`)
        is checked against the manifest and a mismatch names the fix. With ``settings``, the
        vector store they name must be the one the folder uses (and they give the engine's
        address and credentials); without, the manifest's store is opened."""
        folder = live_version(index_dir)
        try:
            manifest = read_manifest(folder)
            if expected is not None:
                check_signature(manifest, expected)
            entry = manifest_entry(manifest)
            if settings is not None:
                check_store(entry, settings, index_dir)
            kept = stored_records(entry, settings)  # in the engine: the folder has no records
            if kept is None:
                docs, chunks, vectors, owners = read_records(folder)
                facts = FactTable.load(folder)
            else:
                docs, chunks, vectors, owners = kept.documents, kept.chunks, None, kept.owners
                facts = kept.facts
        except (IndexMismatchError, IndexCorruptError, VectorStoreError):
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexCorruptError(
                f"cannot read the knowledge base in {folder} ({err}); rebuild it with "
                f"`python -m assistant index PATH --index {index_dir} --rebuild`"
            ) from err
        if (vectors is not None and len(vectors) != len(owners)) or (
            len(owners) and owners[-1] >= len(chunks)
        ):
            raise IndexCorruptError(
                f"{folder}: {len(owners)} vectors for {len(chunks)} chunks;"
                " rebuild the index with --rebuild"
            )
        signature = signature_of(manifest)
        documents = {d.id: d for d in docs}
        if facts is not None and facts.version != vocabulary_version():
            facts = None  # another vocabulary: extracted again on first use
        try:
            store = open_store(entry, folder, VectorRows(chunks, owners, documents), settings)
            lexical = store.lexical() or LexicalIndex.load(
                folder, len(chunks), signature["fold_diacritics"]
            )
        except (OSError, RuntimeError, ValueError) as err:
            raise IndexCorruptError(
                f"cannot read the indexes in {folder} ({err}); rebuild with --rebuild"
            ) from err
        kb = cls(documents, chunks, vectors, signature, store, lexical, owners, facts)
        kb.version, kb.index_dir = folder.name, Path(index_dir)
        return kb
