"""The knowledge base folder on disk: versions, the manifest, the index signature, one writer.

Layout of ``index_dir``::

    CURRENT              name of the live version folder (replaced atomically)
    .lock                held while a writer builds a new version
    v-<time ns>/         manifest.json, documents.jsonl, chunks.jsonl, vectors.npy, owners.npy,
                         the vector store's files (index.faiss), bm25/, facts.jsonl;
                         on Milvus only manifest.json: the engine keeps the rest

A build writes a new version folder, then swaps ``CURRENT`` with ``os.replace``: a crash at any
moment leaves the previous version live and loadable. What goes into a version is the knowledge
base's business (:meth:`assistant.kb.KnowledgeBase.save`); how it goes live is this module's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from assistant.periods import METADATA_VERSION
from assistant.text import NORMALISER_VERSION
from assistant.types import Chunk, Document, Encoder

FORMAT_VERSION = 2

# Everything that, when changed, makes stored chunks or vectors invalid: the manifest records
# these keys and a load compares them with the settings. The only list of them.
SIGNATURE: dict[str, Callable[[Settings, Encoder], Any]] = {
    "format": lambda s, e: FORMAT_VERSION,
    "model": lambda s, e: e.name,
    "dim": lambda s, e: int(e.dim),
    "normaliser": lambda s, e: NORMALISER_VERSION,
    "metadata": lambda s, e: METADATA_VERSION,  # how documents' year, period, province are found
    "chunk_size": lambda s, e: s.chunk_size,
    "chunk_overlap": lambda s, e: s.chunk_overlap,
    "context_header": lambda s, e: s.context_header,
    "fold_diacritics": lambda s, e: s.fold_diacritics,
    "dense_windows": lambda s, e: s.dense_windows,
}


def index_signature(settings: Settings, encoder: Encoder) -> dict[str, Any]:
    """The signature the settings and encoder ask for (:data:`SIGNATURE`)."""
    return {key: value(settings, encoder) for key, value in SIGNATURE.items()}


def signature_of(manifest: dict[str, Any]) -> dict[str, Any]:
    """The signature a manifest records."""
    return {key: manifest.get(key) for key in SIGNATURE}


def check_signature(manifest: dict[str, Any], expected: dict[str, Any]) -> None:
    diffs = [
        f"{k}: index has {manifest.get(k)!r}, settings ask for {v!r}"
        for k, v in expected.items()
        if manifest.get(k) != v
    ]
    if diffs:
        raise IndexMismatchError(
            "the knowledge base was built with other settings (" + "; ".join(diffs) + "). "
            "Rebuild it: `python -m assistant index PATH --rebuild`, or change the settings back."
        )


def live_version(index_dir: Path) -> Path:
    """The folder of the live version."""
    current = index_dir / "CURRENT"
    if not current.exists():
        raise IndexNotFoundError(
            f"no knowledge base in {index_dir}; build one with "
            f"`python -m assistant index PATH --index {index_dir}`"
        )
    try:
        name = json.loads(current.read_text("utf-8"))["version"]
    except (OSError, ValueError, KeyError) as err:
        raise IndexCorruptError(f"{current} is unreadable; rebuild with --rebuild") from err
    folder = index_dir / name
    if not folder.is_dir():
        raise IndexCorruptError(f"{current} names {name}, which is missing; rebuild with --rebuild")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder (readers never wait)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise IndexBusyError(
                f"another process is writing {index_dir}; try again when it has finished"
            ) from err
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_version(index_dir: Path, write: Callable[[Path], dict[str, Any]]) -> Path:
    """Write a new version folder and make it live atomically; returns the folder.

    ``write(folder)`` writes the version's files and returns its manifest (written last)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.time_ns():020d}"  # sorts in creation order
    tmp = index_dir / f".tmp-{name}"
    previous = current_version(index_dir)
    tmp.mkdir()
    try:
        manifest = write(tmp)
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


VECTORS = "vectors.npy"


def write_records(
    folder: Path,
    documents: Iterable[Document],
    chunks: Iterable[Chunk],
    vectors: np.ndarray | None,
    owners: np.ndarray,
) -> None:
    """Documents and chunks (JSON lines, UTF-8), vectors (None: an engine keeps them) and
    their owning chunk rows."""
    _write_jsonl(folder / "documents.jsonl", (d.model_dump() for d in documents))
    _write_jsonl(folder / "chunks.jsonl", (c.model_dump() for c in chunks))
    if vectors is not None:
        np.save(folder / VECTORS, vectors)
    np.save(folder / "owners.npy", owners)


def read_records(
    folder: Path,
) -> tuple[list[Document], list[Chunk], np.ndarray | None, np.ndarray]:
    """What :func:`write_records` wrote (raises ``OSError``, ``ValueError``, ``KeyError``,
    ``TypeError`` on a damaged folder); the vectors are None when the folder has none."""
    docs = [Document(**d) for d in _read_jsonl(folder / "documents.jsonl")]
    chunks = [Chunk(**c) for c in _read_jsonl(folder / "chunks.jsonl")]
    vectors = np.load(folder / VECTORS) if (folder / VECTORS).exists() else None
    return docs, chunks, vectors, np.load(folder / "owners.npy")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


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


def current_version(index_dir: Path) -> str | None:
    """The version ``CURRENT`` names, or None (no index yet, or an unreadable ``CURRENT``):
    one small read, so a process can check for a newer version before each question."""
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
