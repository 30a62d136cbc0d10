"""The Milvus side of :mod:`assistant.vectors.milvus`: where a collection lives
(:class:`MilvusTarget`), connections, and the collection operations (create, count, insert,
write a knowledge base version's collections, drop old ones). ``uri`` is a Milvus Lite file
(``./kb.db``), a server (``http://host:19530``) or a Milvus Lite server
(``python -m milvus_lite server``) that several processes share.

Every knowledge base version writes collections of its own, ``<base>_v<time ns>`` (vectors) with
its ``_chunks`` and ``_terms`` (BM25, :mod:`assistant.vectors.milvus_lexical`) and ``_records``
(documents and facts, :mod:`assistant.vectors.milvus_records`): processes that
answer from the live version never see a half-written one, and the folder's ``CURRENT`` switch
makes the new one live. The live and the previous version's collections are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from pydantic import SecretStr

from assistant.config import Settings
from assistant.errors import IndexCorruptError, VectorStoreError
from assistant.types import Chunk, Document, Progress
from assistant.vectors.base import VectorRows
from assistant.vectors.milvus_lexical import (
    create_lexical,
    doc_fields,
    insert_lexical,
    lexical_collections,
)
from assistant.vectors.milvus_records import (
    create_records,
    insert_records,
    records_collection,
)

NAME = "milvus"
INSTALL = "pymilvus is not installed: pip install -e '.[milvus]'"
INSERT_BATCH = 5000  # rows per insert call: Milvus Lite takes ~4,000 rows/s in such batches
STRING_MAX = 8192  # VARCHAR length for keys and document ids (paths)


@dataclass(frozen=True)
class MilvusTarget:
    """Where a knowledge base's vectors live: server (or Lite file), database, collection."""

    uri: str
    db: str
    collection: str
    index: str = "FLAT"
    base: str = ""  # the name the versions' collections start with ("" : the collection)

    def describe(self) -> dict[str, str]:
        """What the manifest records (no credentials: user:password is cut from the URI)."""
        return {
            "name": NAME,
            "uri": public_uri(self.uri),
            "db": self.db,
            "collection": self.collection,
            "base": self.base or self.collection,
            "index": self.index,
        }

    @classmethod
    def from_manifest(cls, store: dict[str, Any]) -> MilvusTarget:
        return cls(
            store["uri"],
            store.get("db", ""),
            store["collection"],
            store.get("index", "FLAT"),
            store.get("base", store["collection"]),
        )

    def next_version(self) -> MilvusTarget:
        """The same place, with a new version's collection ``<base>_v<time ns>``."""
        base = self.base or self.collection
        return MilvusTarget(self.uri, self.db, f"{base}_v{time.time_ns()}", self.index, base)


def target_for(settings: Settings, index_dir: Path) -> MilvusTarget:
    """The target the settings name for the knowledge base in ``index_dir``: a Lite file
    ``<index_dir>/milvus.db`` and a collection named after the folder unless set."""
    index_dir = Path(index_dir).resolve()
    uri = settings.milvus_uri or str(index_dir / "milvus.db")
    if uri.endswith(".db"):
        uri = str(Path(uri).expanduser().resolve())
    collection = settings.milvus_collection or (
        "kb_" + hashlib.sha256(str(index_dir).encode()).hexdigest()[:16]
    )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", collection):
        raise VectorStoreError(
            f"Milvus collection name {collection!r} is invalid: use letters, "
            "digits and underscores, starting with a letter"
        )
    return MilvusTarget(uri, settings.milvus_db, collection, settings.milvus_index, collection)


# --- connections -----------------------------------------------------------------------------

_CLIENTS: dict[tuple[str, str, str], Any] = {}
_LOCK = threading.Lock()


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as err:
        raise VectorStoreError(INSTALL) from err
    return pymilvus


def connect(target: MilvusTarget, token: SecretStr | None = None) -> Any:
    """A ``MilvusClient`` for ``target`` (one per server, database and token per process: a
    Milvus Lite file is opened once)."""
    pymilvus = _pymilvus()
    secret = token.get_secret_value() if token else ""
    key = (target.uri, target.db, hashlib.sha256(secret.encode()).hexdigest())
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            if target.uri.endswith(".db"):
                Path(target.uri).parent.mkdir(parents=True, exist_ok=True)
                # the embedded server logs calls it does not implement (AllocTimestamp) as errors
                logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            # pymilvus logs each failed call with a traceback; ours says what to do instead
            logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
            try:
                client = pymilvus.MilvusClient(
                    uri=target.uri, token=secret, db_name=target.db, timeout=30
                )
            except Exception as err:  # pymilvus raises MilvusException, grpc errors, OSError
                raise VectorStoreError(
                    f"cannot connect to Milvus at {public_uri(target.uri)} ({short_error(err)}); "
                    "check ASSISTANT_MILVUS_URI (a .db file or http://host:19530), "
                    "ASSISTANT_MILVUS_TOKEN and that the server is running"
                ) from err
            _CLIENTS[key] = client
    return client


def close_all() -> None:
    """Close every cached client (tests; a Lite file is released)."""
    with _LOCK:
        for client in _CLIENTS.values():
            with contextlib.suppress(Exception):  # closing is best effort
                client.close()
        _CLIENTS.clear()


def count(client: Any, target: MilvusTarget) -> int:
    """Vectors in the collection (0 when it does not exist)."""
    try:
        if not client.has_collection(target.collection):
            return 0
        rows = client.query(
            target.collection, filter="", output_fields=["count(*)"], consistency_level="Strong"
        )
    except Exception as err:
        raise VectorStoreError(
            f"cannot read Milvus collection {target.collection!r} ({short_error(err)})"
        ) from err
    return int(rows[0]["count(*)"])


# --- writing ---------------------------------------------------------------------------------


def create_collection(client: Any, target: MilvusTarget, dim: int) -> None:
    """(Re)create the collection, empty: key, vector and the filterable document fields."""
    pymilvus = _pymilvus()
    DataType = pymilvus.DataType
    if client.has_collection(target.collection):
        client.drop_collection(target.collection)
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=STRING_MAX)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(dim))
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=STRING_MAX)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=STRING_MAX)
    schema.add_field("province", DataType.VARCHAR, max_length=256)  # "" when unknown
    schema.add_field("year", DataType.INT64)  # 0 when unknown
    schema.add_field("period_start", DataType.INT64)  # the years the document covers; 0: none
    schema.add_field("period_end", DataType.INT64)
    params = client.prepare_index_params()
    params.add_index(
        field_name="vector",
        index_type=target.index,
        metric_type="IP",
        params={"M": 32, "efConstruction": 128}
        if target.index == "HNSW"
        else {"nlist": 1024}
        if target.index == "IVF_FLAT"
        else {},
    )
    for name in ("doc_id", "province", "year", "period_start", "period_end"):
        params.add_index(field_name=name, index_type="INVERTED")
    client.create_collection(
        target.collection, schema=schema, index_params=params, consistency_level="Strong"
    )


def insert_vectors(
    client: Any,
    target: MilvusTarget,
    documents: Mapping[str, Document],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    keys: Sequence[str],
    owners: np.ndarray,
    progress: Progress | None = None,
) -> int:
    """Insert every vector in batches of :data:`INSERT_BATCH`; returns how many."""
    fields = {d.id: doc_fields(d) for d in documents.values()}
    for start in range(0, len(keys), INSERT_BATCH):
        if progress:
            progress("milvus", start, len(keys))
        batch = []
        for r in range(start, min(start + INSERT_BATCH, len(keys))):
            chunk = chunks[int(owners[r])]
            doc = documents[chunk.doc_id]
            batch.append(
                {
                    "pk": keys[r],
                    "vector": vectors[r],
                    "chunk_id": chunk.id,
                    "year": int(doc.year or 0),
                    **fields[chunk.doc_id],
                }
            )
        client.insert(target.collection, batch)
    if progress:
        progress("milvus", len(keys), len(keys))
    return len(keys)


def version_collections(collection: str) -> list[str]:
    """The collections of one version: its vectors, its BM25 (chunks, terms), its records."""
    return [collection, *lexical_collections(collection), records_collection(collection)]


def drop_versions(client: Any, target: MilvusTarget, keep: Iterable[str]) -> list[str]:
    """Drop the collections of ``target``'s versions other than ``keep`` (vector collection
    names); returns the dropped names."""
    base = target.base or target.collection
    kept = {name for k in keep for name in version_collections(k)}
    dropped = []
    for name in client.list_collections():
        ours = name == base or (
            name.startswith(base + "_v") and name[len(base) + 2 :].split("_")[0].isdigit()
        )
        ours = ours or name in version_collections(base)
        if ours and name not in kept:
            client.drop_collection(name)
            dropped.append(name)
    return dropped


def write_collection(
    target: MilvusTarget,
    token: SecretStr | None,
    vectors: np.ndarray,
    rows: VectorRows,
    keys: Sequence[str],
    keep: Sequence[str] = (),
    progress: Progress | None = None,
) -> Any:
    """Write a new version's collections (``target.collection``, its BM25 from
    ``rows.lexical``) holding exactly ``vectors`` (keyed ``keys``); returns the client. The
    other versions' collections, but ``keep`` (the live one), are dropped once it is written;
    a failed write drops what it wrote and leaves the live version as it was."""
    if rows.lexical is None:
        raise VectorStoreError("Milvus keeps the BM25 side: the chunks' BM25 index is needed")
    client = None
    try:
        client = connect(target, token)
        create_collection(client, target, vectors.shape[1])
        create_lexical(client, target.collection, rows.lexical.folded is not None, _pymilvus())
        create_records(client, target.collection, _pymilvus())
        insert_vectors(
            client, target, rows.documents, rows.chunks, vectors, keys, rows.owners, progress
        )
        fields = {d.id: doc_fields(d) for d in rows.documents.values()}
        insert_lexical(
            client,
            target.collection,
            rows.lexical,
            lambda row: fields[rows.chunks[row].doc_id],
            INSERT_BATCH,
            progress,
        )
        insert_records(client, target.collection, rows, INSERT_BATCH)
        held = count(client, target)
        if held != len(keys):
            raise VectorStoreError(
                f"Milvus collection {target.collection!r} holds {held} vectors after writing, "
                f"expected {len(keys)}; index again"
            )
        drop_versions(client, target, [target.collection, *keep])
    except Exception as err:
        if client is not None:
            with contextlib.suppress(Exception):  # best effort: the live version is untouched
                for name in version_collections(target.collection):
                    client.drop_collection(name)
        if isinstance(err, VectorStoreError | IndexCorruptError):
            raise
        raise VectorStoreError(
            f"writing Milvus collection {target.collection!r} failed "
            f"({short_error(err)}); the previous knowledge base is unchanged, "
            "index again"
        ) from err
    return client


# --- helpers ---------------------------------------------------------------------------------


def public_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password or parts.username:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def short_error(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]
