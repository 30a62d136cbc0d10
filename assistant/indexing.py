"""Indexing: files -> documents -> chunks -> vectors, merged with the live version and saved
as a new one (:func:`index_paths`); documents that do not come from files (:func:`build_kb`);
moving the vectors to another store (:func:`migrate`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import chunk_document, chunk_windows
from assistant.config import Settings
from assistant.errors import BadFileError
from assistant.facts import FactTable
from assistant.ingest import Rejected, iter_files, load_document
from assistant.kb import KnowledgeBase
from assistant.lexical import LexicalIndex
from assistant.storage import index_signature, write_lock
from assistant.types import Chunk, Document, Encoder, Progress
from assistant.vectors import Update, VectorRows, build_store, choose_store


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
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.rejected)} rejected"
        )


def index_paths(
    paths: Sequence[Path | str],
    index_dir: Path,
    settings: Settings,
    encoder: Encoder,
    rebuild: bool = False,
    progress: Progress | None = None,
    embed_passages: Callable[[list[str]], np.ndarray] | None = None,
) -> tuple[KnowledgeBase, IndexReport]:
    """Bring the knowledge base in ``index_dir`` up to date with the files under ``paths``.

    Only new or changed files are embedded; files deleted from an indexed folder are dropped;
    a file that fails to load keeps its previously indexed version. Documents indexed from other
    paths are kept. ``embed_passages`` (e.g. :func:`assistant.ray_embed.ray_embedder`) embeds all
    new texts in one call instead of the encoder. The vectors stay in the store the live version
    uses (the manifest decides; settings that name another one explicitly are refused, naming
    ``migrate``); a first build or ``rebuild`` uses the store the settings name.
    """
    report = IndexReport()
    signature = index_signature(settings, encoder)
    with write_lock(index_dir):
        old: KnowledgeBase | None = None
        live_store: dict[str, Any] | None = None  # the live version's vector store
        if not rebuild and (index_dir / "CURRENT").exists():
            old = KnowledgeBase.load(index_dir, expected=signature)
            live_store = old.vector_index.describe()
            choose_store(settings, live_store, index_dir)  # a mismatch: before any work
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
                report.rejected.append(Rejected(str(f), str(err), err.code))
                if previous:
                    docs[doc_id] = previous
                continue
            except OSError as err:
                report.rejected.append(
                    Rejected(str(f), f"cannot read file: {err}", "file_unreadable")
                )
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

        new_chunks = [
            c
            for d in changed
            for c in chunk_document(
                d, settings.chunk_size, settings.chunk_overlap, settings.context_header
            )
        ]
        new_vectors, new_owners = embed_chunks(
            new_chunks,
            encoder,
            settings.embed_batch_size,
            settings.dense_windows,
            progress,
            embed_passages,
        )
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
            parts.append(old.vectors_of(vec_rows))
            # renumber the owners: old chunk row -> its position among the kept chunks
            position = np.full(len(old.chunks), -1, np.int64)
            position[rows] = np.arange(len(rows))
            owner_parts.append(position[old.owners[vec_rows]])
        parts.append(new_vectors)
        owner_parts.append(new_owners + len(chunks))
        chunks.extend(new_chunks)
        vectors = np.concatenate(parts).astype(np.float32, copy=False)
        owners = np.concatenate(owner_parts)
        kb = write_kb(
            index_dir,
            settings,
            signature,
            docs,
            chunks,
            vectors,
            owners,
            Update(live_store, [d.id for d in changed] + report.removed)
            if live_store is not None
            else None,
            old.facts if old is not None else None,
            kept_ids,
            progress,
        )
    return kb, report


def write_kb(
    index_dir: Path,
    settings: Settings,
    signature: dict[str, Any],
    documents: dict[str, Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    owners: np.ndarray,
    update: Update | None = None,
    old_facts: FactTable | None = None,
    kept_ids: Iterable[str] = (),
    progress: Progress | None = None,
) -> KnowledgeBase:
    """The end of every build: the vector store (:func:`assistant.vectors.build_store`), the
    facts (those of ``kept_ids`` taken from ``old_facts``), the knowledge base, saved as the
    new live version of ``index_dir`` (the caller holds :func:`write_lock`)."""
    if progress:
        progress("write", 0, 1)
    lexical = LexicalIndex.build([c.indexed_text() for c in chunks], signature["fold_diacritics"])
    facts = FactTable.build(documents.values(), old_facts, list(kept_ids))
    store = build_store(
        settings,
        index_dir,
        vectors,
        VectorRows(chunks, owners, documents, lexical, facts),
        update,
        progress=progress,
    )
    kb = KnowledgeBase(
        documents,
        chunks,
        vectors,
        signature,
        vector_index=store,
        lexical=None if store.capabilities.whole_store else lexical,
        owners=owners,
        facts=facts,
    )
    kb.save(index_dir)
    if progress:
        progress("write", 1, 1)
    return kb


def build_kb(
    documents: Iterable[Document],
    index_dir: Path,
    settings: Settings,
    encoder: Encoder,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """A knowledge base of ``documents`` that do not come from files (eval's passage pools):
    chunked, embedded and saved in ``index_dir`` as :func:`index_paths` would."""
    docs = {d.id: d for d in documents}
    chunks = [
        c
        for d in docs.values()
        for c in chunk_document(
            d, settings.chunk_size, settings.chunk_overlap, settings.context_header
        )
    ]
    vectors, owners = embed_chunks(
        chunks, encoder, settings.embed_batch_size, settings.dense_windows, progress
    )
    with write_lock(index_dir):
        return write_kb(
            index_dir,
            settings,
            index_signature(settings, encoder),
            docs,
            chunks,
            vectors,
            owners,
            progress=progress,
        )


def migrate(index_dir: Path, settings: Settings, progress: Progress | None = None) -> KnowledgeBase:
    """Move the vectors of the knowledge base in ``index_dir`` to the store the settings name,
    without embedding anything: the vectors come from the folder."""
    with write_lock(index_dir):
        kb = KnowledgeBase.load(index_dir)
        vectors = kb.vectors
        lexical = LexicalIndex.build(
            [c.indexed_text() for c in kb.chunks], kb.signature["fold_diacritics"]
        )
        store = build_store(
            settings,
            index_dir,
            vectors,
            VectorRows(kb.chunks, kb.owners, kb.documents, lexical, kb.facts),
            name=settings.vector_store,
            progress=progress,
        )
        new = KnowledgeBase(
            kb.documents,
            kb.chunks,
            vectors,
            kb.signature,
            vector_index=store,
            lexical=None if store.capabilities.whole_store else lexical,
            owners=kb.owners,
            facts=kb.facts,
        )
        new.save(index_dir)
    return new


def embed_chunks(
    chunks: list[Chunk],
    encoder: Encoder,
    batch: int,
    window: int = 0,
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
