"""Vector stores behind one interface (:class:`VectorStore`), chosen by name: the manifest's
for a knowledge base that exists, the settings' for a new one.

>>> sorted(STORES)
['faiss', 'milvus']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import IndexMismatchError
from assistant.types import Progress
from assistant.vectors.base import (
    Capabilities,
    Records,
    Update,
    VectorRows,
    VectorStore,
    exact_search,
)
from assistant.vectors.faiss import FaissIndex, choose_kind
from assistant.vectors.milvus import MilvusIndex

STORES: dict[str, type[VectorStore]] = {FaissIndex.NAME: FaissIndex, MilvusIndex.NAME: MilvusIndex}
DEFAULT = FaissIndex.NAME

__all__ = [
    "STORES",
    "Capabilities",
    "Records",
    "Update",
    "VectorRows",
    "VectorStore",
    "build_store",
    "check_store",
    "choose_kind",
    "choose_store",
    "exact_search",
    "in_memory",
    "manifest_entry",
    "open_store",
    "stored_records",
]


def manifest_entry(manifest: dict[str, Any]) -> dict[str, Any]:
    """The vector store a manifest names (``vector_store``); manifests written before stores
    had names hold FAISS vectors, their index type under ``vector_index``."""
    entry = dict(manifest.get("vector_store") or {"name": DEFAULT})
    if "index" not in entry:
        entry["index"] = manifest.get("vector_index", "flat")
    return entry


def _store_class(name: str) -> type[VectorStore]:
    try:
        return STORES[name]
    except KeyError:
        raise IndexMismatchError(
            f"unknown vector store {name!r}; use one of {', '.join(STORES)}"
        ) from None


def open_store(
    entry: dict[str, Any], folder: Path, rows: VectorRows, settings: Settings | None = None
) -> VectorStore:
    """The store a manifest ``entry`` (:func:`manifest_entry`) names, for the version
    ``folder``."""
    return _store_class(entry["name"]).open(entry, folder, rows, settings)


def stored_records(entry: dict[str, Any], settings: Settings | None = None) -> Records | None:
    """The records the engine of a manifest ``entry`` keeps (None: they are in the folder)."""
    return _store_class(entry["name"]).stored_records(entry, settings)


def build_store(
    settings: Settings,
    index_dir: Path,
    vectors: np.ndarray,
    rows: VectorRows,
    update: Update | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> VectorStore:
    """A store holding ``vectors``: the one named ``name`` (default: :func:`choose_store`)."""
    name = name or choose_store(settings, update.previous if update else None, index_dir)
    return _store_class(name).build(vectors, rows, settings, index_dir, update, progress)


def in_memory(vectors: np.ndarray) -> VectorStore:
    """An exact in-process store over ``vectors`` (a knowledge base built without one)."""
    return FaissIndex.from_vectors(vectors)


def choose_store(settings: Settings, previous: dict[str, Any] | None, index_dir: Path) -> str:
    """The store a new version of the knowledge base in ``index_dir`` uses: the previous
    version's (the manifest decides), unless the settings name another one explicitly (then
    :class:`IndexMismatchError` names ``migrate``); the settings' for a first build."""
    if previous is None:
        return settings.vector_store
    if "vector_store" in settings.model_fields_set:
        check_store(previous, settings, index_dir)
    return str(previous["name"])


def check_store(entry: dict[str, Any], settings: Settings, index_dir: Path) -> None:
    """Raise :class:`IndexMismatchError` when the settings ask for another store than the one
    holding the vectors (``entry``); the message names the command that moves them."""
    if entry["name"] != settings.vector_store:
        raise IndexMismatchError(
            f"the knowledge base in {index_dir} keeps its vectors in {entry['name']}, the "
            f"settings ask for {settings.vector_store}: copy them with `python -m assistant "
            f"migrate --to {settings.vector_store} --index {index_dir}` (or index again with "
            "--rebuild)"
        )
