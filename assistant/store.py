"""The knowledge base on disk: documents, chunks, vectors, BM25 and a manifest in one folder.

Layout of ``index_dir``::

    CURRENT              name of the live version folder (replaced atomically)
    .lock                held while a writer builds a new version
    v-<time ns>/         manifest.json, documents.jsonl, chunks.jsonl, vectors.npy,
                         index.faiss, bm25/

A build writes a new version folder, then swaps ``CURRENT`` with ``os.replace``: a crash at any
moment leaves the previous version live and loadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.errors import (
    BadFileError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from assistant.facts import FactTable
from assistant.indicators import vocabulary_version
from assistant.ingest import Rejected, iter_files, load_document
from assistant.lexical import LexicalIndex
from assistant.periods import METADATA_VERSION
from assistant.text import NORMALISER_VERSION, fold, sentence_spans
from assistant.types import Chunk, Document, Progress, SearchFilter
from assistant.vectors import FaissIndex, VectorIndex, exact_search

FORMAT_VERSION = 2
# a filtered search over at most this many vectors is exact even when the index is not
EXACT_FILTERED = 20_000


class Encoder(Protocol):
    """What the store needs of an embedder (``embeddings.Embedder`` fits)."""

    name: str
    dim: int

    def embed(self, texts: list[str], kind: str = "passage", **kw: Any) -> np.ndarray: ...


@dataclass
class IndexReport:
    """What one indexing run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    chunks_embedded: int = 0
    vectors_embedded: int = 0  # chunks' own vectors plus their sentence windows'

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
                f"{len(self.rejected)} rejected")


def index_signature(settings: Settings, encoder: Encoder) -> dict[str, Any]:
    """Everything that, when changed, makes stored chunks or vectors invalid."""
    return {
        "format": FORMAT_VERSION,
        "model": encoder.name,
        "dim": int(encoder.dim),
        "normaliser": NORMALISER_VERSION,
        "metadata": METADATA_VERSION,  # how documents' year, period, province are found
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "context_header": settings.context_header,
        "fold_diacritics": settings.fold_diacritics,
        "dense_windows": settings.dense_windows,
    }


class KnowledgeBase:
    """Documents and their chunks, searchable by vector and by BM25."""

    def __init__(self, documents: dict[str, Document], chunks: list[Chunk],
                 vectors: np.ndarray, signature: dict[str, Any],
                 vector_index: VectorIndex | None = None,
                 lexical: LexicalIndex | None = None,
                 owners: np.ndarray | None = None, facts: FactTable | None = None) -> None:
        self.documents = documents
        self._facts = facts  # None: extracted from the documents on first use
        self.chunks = chunks
        self.vectors = vectors
        # owners[v] is the chunk row of vector v: a chunk's own vector, then its windows' ones
        self.owners = (np.arange(len(chunks), dtype=np.int64) if owners is None
                       else np.asarray(owners, np.int64))
        if len(self.owners) != len(vectors) or np.any(np.diff(self.owners) < 0):
            raise IndexCorruptError(f"{len(vectors)} vectors do not map onto {len(chunks)} "
                                    "chunks; rebuild the index with --rebuild")
        self.signature = signature
        if vector_index is None:
            vector_index = FaissIndex.build(vectors)
        if lexical is None:
            lexical = LexicalIndex.build([c.indexed_text() for c in chunks],
                                         signature["fold_diacritics"])
        self.vector_index = vector_index
        self.lexical = lexical
        rows: dict[str, list[int]] = {}
        for row, c in enumerate(chunks):
            rows.setdefault(c.doc_id, []).append(row)
        self._rows_by_doc = {k: np.asarray(v, np.int64) for k, v in rows.items()}
        self._rows_where: dict[SearchFilter, np.ndarray] = {}
        self._about: dict[tuple[tuple[str, ...], tuple[int, ...]], frozenset[str]] = {}
        every = np.arange(len(chunks))
        self._first = np.searchsorted(self.owners, every, "left")
        self._last = np.searchsorted(self.owners, every, "right")

    def __len__(self) -> int:
        return len(self.chunks)

    def rows_for(self, doc_ids: Iterable[str]) -> np.ndarray:
        parts = [self._rows_by_doc[d] for d in doc_ids if d in self._rows_by_doc]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def doc_ids_about(self, provinces: Iterable[str] = (), years: Iterable[int] = ()
                      ) -> frozenset[str]:
        """Ids of the documents about any of ``provinces`` (any province when empty) that are
        about, or mention, any of ``years`` (any year when empty); remembered per question
        shape, so a large knowledge base is not scanned on every question."""
        key = (tuple(provinces), tuple(years))
        ids = self._about.get(key)
        if ids is None:
            wanted_p, wanted_y = set(key[0]), set(key[1])
            ids = frozenset(
                d.id for d in self.documents.values()
                if (not wanted_p or d.province in wanted_p)
                and (not wanted_y or any(d.covers(y) for y in wanted_y)
                     or any(str(y) in d.text for y in wanted_y)))
            if len(self._about) >= 256:
                self._about.pop(next(iter(self._about)))
            self._about[key] = ids
        return ids

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
            return self.vectors[chunk_rows] @ query
        sizes = self._last[chunk_rows] - self._first[chunk_rows]
        starts = np.cumsum(sizes) - sizes
        return np.maximum.reduceat(self.vectors[self.vector_rows(chunk_rows)] @ query, starts)

    def dense_search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
                     where: SearchFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, chunk rows)`` by :meth:`dense_scores`, through the vector index
        (``allowed``: chunk rows to search)."""
        depth = int(np.ceil(k * len(self.owners) / max(len(self.chunks), 1))) + k
        if where is not None and hasattr(self.vector_index, "search_where"):
            # the engine filters on the documents' fields itself (Milvus: an expression);
            # ``where`` lets through exactly the rows in ``allowed``
            scores, rows = self.vector_index.search_where(query, depth, where)
        else:
            vec_allowed = None if allowed is None else self.vector_rows(allowed)
            if (vec_allowed is not None and len(vec_allowed) <= EXACT_FILTERED
                    and getattr(self.vector_index, "kind", "flat") != "flat"):
                # an approximate index may miss a narrow filter's rows: search them exactly
                scores, at = exact_search(self.vectors[vec_allowed], query, depth)
                rows = vec_allowed[at]
            else:
                scores, rows = self.vector_index.search(query, depth, vec_allowed)
        best: dict[int, float] = {}
        for score, row in zip(scores, rows, strict=True):
            best.setdefault(int(self.owners[row]), float(score))  # best first: keep the max
        top = list(best.items())[:k]
        return (np.array([v for _, v in top], np.float32),
                np.array([r for r, _ in top], np.int64))

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

    # --- persistence ----------------------------------------------------------------------

    def save(self, index_dir: Path) -> Path:
        """Write a new version folder and make it live atomically; returns the folder."""
        index_dir.mkdir(parents=True, exist_ok=True)
        name = f"v-{time.time_ns():020d}"  # sorts in creation order
        tmp = index_dir / f".tmp-{name}"
        previous = _current_name(index_dir)
        tmp.mkdir()
        try:
            _write_jsonl(tmp / "documents.jsonl", (d.model_dump() for d in self.documents.values()))
            _write_jsonl(tmp / "chunks.jsonl", (c.model_dump() for c in self.chunks))
            np.save(tmp / "vectors.npy", self.vectors)
            np.save(tmp / "owners.npy", self.owners)
            self.vector_index.save(tmp)
            self.lexical.save(tmp)
            self.facts.save(tmp)
            manifest = {
                **self.signature,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "n_chunks": len(self.chunks),
                "n_facts": len(self.facts),
                "facts_version": self.facts.version,
                "vector_index": self.vector_index.kind,
                "vector_store": getattr(self.vector_index, "store", {"name": "faiss"}),
                "documents": {d.id: {"sha256": d.sha256, "title": d.title,
                                     "chunks": int(len(self._rows_by_doc.get(d.id, [])))}
                              for d in self.documents.values()},
            }
            _write_json(tmp / "manifest.json", manifest)
            _fsync_tree(tmp)
            os.replace(tmp, index_dir / name)
            _write_json(index_dir / ".CURRENT.tmp", {"version": name})
            os.replace(index_dir / ".CURRENT.tmp", index_dir / "CURRENT")
            _fsync_dir(index_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _remove_old_versions(index_dir, keep=name, previous=previous)
        return index_dir / name

    @classmethod
    def load(cls, index_dir: Path, expected: dict[str, Any] | None = None,
             settings: Settings | None = None) -> KnowledgeBase:
        """Load the live version; ``expected`` (see :func:`index_signature`) is checked against
        the manifest and a mismatch names the fix. With ``settings``, the vector store they name
        must be the one the folder uses (and gives the Milvus address and token); without, the
        manifest's store is opened."""
        folder = live_version(index_dir)
        try:
            manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
            if expected is not None:
                check_signature(manifest, expected)
            docs = [Document(**d) for d in _read_jsonl(folder / "documents.jsonl")]
            chunks = [Chunk(**c) for c in _read_jsonl(folder / "chunks.jsonl")]
            vectors = np.load(folder / "vectors.npy")
            owners = np.load(folder / "owners.npy")
        except IndexMismatchError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexCorruptError(
                f"cannot read the knowledge base in {folder} ({err}); rebuild it with "
                f"`python -m assistant index PATH --index {index_dir} --rebuild`") from err
        if len(vectors) != len(owners) or (len(owners) and owners[-1] >= len(chunks)):
            raise IndexCorruptError(f"{folder}: {len(vectors)} vectors for {len(chunks)} chunks;"
                                    " rebuild the index with --rebuild")
        signature = {k: manifest.get(k) for k in (
            "format", "model", "dim", "normaliser", "metadata", "chunk_size", "chunk_overlap",
            "context_header", "fold_diacritics", "dense_windows")}
        try:
            store = manifest.get("vector_store", {"name": "faiss"})
            if settings is not None and settings.vector_store != store["name"]:
                raise IndexMismatchError(
                    f"the knowledge base in {index_dir} keeps its vectors in {store['name']}, "
                    f"the settings ask for {settings.vector_store}: copy them with `python -m "
                    f"assistant migrate --to {settings.vector_store} --index {index_dir}`")
            if store["name"] == "milvus":
                from assistant.milvus import open_index

                vector_index: VectorIndex = open_index(store, chunks, owners, settings)
            else:
                vector_index = FaissIndex.load(folder, manifest.get("vector_index", "flat"))
            lexical = LexicalIndex.load(folder, len(chunks), signature["fold_diacritics"])
            facts = FactTable.load(folder)
            if facts is not None and facts.version != vocabulary_version():
                facts = None  # another vocabulary: extracted again on first use
        except (OSError, RuntimeError, ValueError) as err:
            raise IndexCorruptError(f"cannot read the indexes in {folder} ({err}); rebuild "
                                    "with --rebuild") from err
        return cls({d.id: d for d in docs}, chunks, vectors, signature, vector_index, lexical,
                   owners, facts)


def live_version(index_dir: Path) -> Path:
    current = index_dir / "CURRENT"
    if not current.exists():
        raise IndexNotFoundError(
            f"no knowledge base in {index_dir}; build one with "
            f"`python -m assistant index PATH --index {index_dir}`")
    try:
        name = json.loads(current.read_text("utf-8"))["version"]
    except (OSError, ValueError, KeyError) as err:
        raise IndexCorruptError(f"{current} is unreadable; rebuild with --rebuild") from err
    folder = index_dir / name
    if not folder.is_dir():
        raise IndexCorruptError(f"{current} names {name}, which is missing; rebuild with "
                                "--rebuild")
    return folder


def check_signature(manifest: dict[str, Any], expected: dict[str, Any]) -> None:
    diffs = [f"{k}: index has {manifest.get(k)!r}, settings ask for {v!r}"
             for k, v in expected.items() if manifest.get(k) != v]
    if diffs:
        raise IndexMismatchError(
            "the knowledge base was built with other settings (" + "; ".join(diffs) + "). "
            "Rebuild it: `python -m assistant index PATH --rebuild`, or change the settings back.")


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder (readers never wait)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise IndexBusyError(f"another process is writing {index_dir}; try again when it "
                                 "has finished") from err
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def index_paths(
    paths: list[Path | str], index_dir: Path, settings: Settings, encoder: Encoder,
    rebuild: bool = False, progress: Progress | None = None,
    embed_passages: Callable[[list[str]], np.ndarray] | None = None,
) -> tuple[KnowledgeBase, IndexReport]:
    """Bring the knowledge base in ``index_dir`` up to date with the files under ``paths``.

    Only new or changed files are embedded; files deleted from an indexed folder are dropped;
    a file that fails to load keeps its previously indexed version. Documents indexed from other
    paths are kept. ``embed_passages`` (e.g. :func:`assistant.bulk.ray_embedder`) embeds all new
    texts in one call instead of the encoder; the vectors go to the store the settings name.
    """
    report = IndexReport()
    signature = index_signature(settings, encoder)
    with write_lock(index_dir):
        old: KnowledgeBase | None = None
        if not rebuild and (index_dir / "CURRENT").exists():
            old = KnowledgeBase.load(index_dir, expected=signature)
        old_docs = old.documents if old else {}
        roots = [Path(p) for p in paths]
        for root in roots:
            if not root.exists():
                raise BadFileError(f"path not found: {root}")
        files = list(iter_files(roots))
        docs: dict[str, Document] = {}
        changed: list[Document] = []
        seen: set[str] = set()
        for i, f in enumerate(files):
            if progress:
                progress("read", i, len(files))
            doc_id = f.resolve().as_posix()
            if doc_id in seen:  # the same file named twice ("a/x.txt", "a/b/../x.txt")
                continue
            seen.add(doc_id)
            previous = old_docs.get(doc_id)
            try:
                if previous and _sha256(f) == previous.sha256:
                    docs[doc_id] = previous
                    report.unchanged.append(doc_id)
                    continue
                doc = load_document(f, settings.max_file_bytes, progress=progress)
            except BadFileError as err:
                report.rejected.append(Rejected(str(f), str(err)))
                if previous:
                    docs[doc_id] = previous
                continue
            except OSError as err:
                report.rejected.append(Rejected(str(f), f"cannot read file: {err}"))
                if previous:
                    docs[doc_id] = previous
                continue
            docs[doc_id] = doc
            changed.append(doc)
            (report.updated if previous else report.added).append(doc_id)
        resolved_roots = [r.resolve().as_posix() for r in roots]
        for doc_id, doc in old_docs.items():
            if doc_id in docs:
                continue
            if any(doc_id == r or doc_id.startswith(r.rstrip("/") + "/") for r in resolved_roots):
                report.removed.append(doc_id)
            else:
                docs[doc_id] = doc  # indexed from another path: keep

        new_chunks = [c for d in changed for c in chunk_document(
            d, settings.chunk_size, settings.chunk_overlap, settings.context_header)]
        new_vectors, new_owners = embed_chunks(new_chunks, encoder, settings.embed_batch_size,
                                               settings.dense_windows, progress, embed_passages)
        report.chunks_embedded = len(new_chunks)
        report.vectors_embedded = len(new_vectors)

        kept_ids = [d for d in docs if d in old_docs and docs[d] is old_docs[d]]
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        owner_parts: list[np.ndarray] = []
        if old is not None and kept_ids:
            rows = np.sort(old.rows_for(kept_ids))
            chunks.extend(old.chunks[r] for r in rows)
            vec_rows = old.vector_rows(rows)
            parts.append(old.vectors[vec_rows])
            # renumber the owners: old chunk row -> its position among the kept chunks
            position = np.full(len(old.chunks), -1, np.int64)
            position[rows] = np.arange(len(rows))
            owner_parts.append(position[old.owners[vec_rows]])
        parts.append(new_vectors)
        owner_parts.append(new_owners + len(chunks))
        chunks.extend(new_chunks)
        vectors = np.concatenate(parts).astype(np.float32, copy=False)
        owners = np.concatenate(owner_parts)
        if progress:
            progress("write", 0, 1)
        vector_index: VectorIndex | None = None
        if settings.vector_store == "faiss":
            vector_index = FaissIndex.build(vectors, settings.vector_index,
                                            settings.exact_max_vectors)
        elif settings.vector_store == "milvus":
            from assistant.milvus import sync_collection

            vector_index = sync_collection(
                settings, index_dir, old, docs, chunks, vectors, owners,
                [d.id for d in changed] + report.removed, progress)
        facts = FactTable.build(docs.values(), old.facts if old is not None else None,
                                kept_ids)  # facts of unchanged documents are kept
        kb = KnowledgeBase(docs, chunks, vectors, signature, vector_index=vector_index,
                           owners=owners, facts=facts)
        kb.save(index_dir)
        if progress:
            progress("write", 1, 1)
    return kb, report


def chunk_windows(chunk: Chunk, size: int) -> list[tuple[int, int]]:
    """Spans (in ``chunk.text``) of runs of whole sentences of at most about ``size``
    characters; none when ``size`` is 0 or the chunk is a single window."""
    if size <= 0 or len(chunk.text) <= size:
        return []
    out: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for a, b in sentence_spans(chunk.text):
        if current and b - current[0] > size:
            out.append(current)
            current = None
        current = (current[0], b) if current else (a, b)
    if current:
        out.append(current)
    return out if len(out) > 1 else []


def embed_chunks(chunks: list[Chunk], encoder: Encoder, batch: int, window: int = 0,
                 progress: Progress | None = None,
                 embed_passages: Callable[[list[str]], np.ndarray] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of each chunk (its indexed text) and of its sentence windows (header + window),
    with each vector's owning chunk position. Windows give a long chunk a vector for each of
    its parts, so a question about one sentence finds it."""
    texts: list[str] = []
    owners: list[int] = []
    for i, c in enumerate(chunks):
        texts.append(c.indexed_text())
        owners.append(i)
        for a, b in chunk_windows(c, window):
            texts.append(f"{c.header}\n{c.text[a:b]}" if c.header else c.text[a:b])
            owners.append(i)
    out = []
    if embed_passages is not None and texts:  # one call: the bulk embedder spreads the work
        if progress:
            progress("embed", 0, len(texts))
        out.append(embed_passages(texts))
    else:
        step = batch * 4  # the encoder sorts each call's texts by length: several batches a call
        for i in range(0, len(texts), step):
            if progress:
                progress("embed", i, len(texts))
            out.append(encoder.embed(texts[i : i + step], "passage"))
    if progress:
        progress("embed", len(texts), len(texts))
    vectors = np.concatenate(out) if out else np.zeros((0, encoder.dim), np.float32)
    return vectors.astype(np.float32), np.asarray(owners, np.int64)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_name(index_dir: Path) -> str | None:
    """The version ``CURRENT`` names, or None (no index yet, or an unreadable ``CURRENT``)."""
    try:
        name = json.loads((index_dir / "CURRENT").read_text("utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def _remove_old_versions(index_dir: Path, keep: str, previous: str | None = None) -> None:
    """Drop leftovers of crashed builds (``.tmp-*`` folders, and versions that never went live
    because a writer died between renaming its folder and swapping ``CURRENT``) and every
    version but the live one and ``previous``, the one live before it (a reader may still be
    loading that)."""
    keep_names = {keep, previous}
    for p in [*index_dir.glob("v-*"), *index_dir.glob(".tmp-*")]:
        if p.name not in keep_names:
            shutil.rmtree(p, ignore_errors=True)
