"""Milvus as the vector store, behind the same interface as FAISS (:class:`VectorIndex`).

One collection row per vector: a chunk's own vector and one per sentence window, keyed
``f"{chunk_id}#{n}"`` (``n`` = 0 for the chunk's own vector), with the document's ``doc_id``,
``province``, ``year`` and period (``period_start``, ``period_end``) beside it, so a
province/year filter runs inside Milvus as an expression (``province == "Bắc Giang" and
period_start <= 2020 and period_end >= 2020``). The knowledge base folder keeps the
chunks, the BM25 index and a copy of the vectors (exact scores for fusion); its manifest names
the collection. ``uri`` is a Milvus Lite file (``./kb.db``) or a server (``http://host:19530``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from pydantic import SecretStr

from assistant.config import Settings
from assistant.errors import IndexCorruptError, VectorStoreError
from assistant.types import Chunk, Document, Progress, SearchFilter

if TYPE_CHECKING:
    from assistant.store import KnowledgeBase

INSTALL = "pymilvus is not installed: pip install -e '.[milvus]'"
MAX_LIMIT = 16_384  # Milvus's largest top-k
INSERT_BATCH = 1000
STRING_MAX = 8192  # VARCHAR length for keys and document ids (paths)


@dataclass(frozen=True)
class MilvusTarget:
    """Where a knowledge base's vectors live: server (or Lite file), database, collection."""

    uri: str
    db: str
    collection: str
    index: str = "FLAT"

    def describe(self) -> dict[str, str]:
        """What the manifest records (no credentials: user:password is cut from the URI)."""
        return {"name": "milvus", "uri": _public_uri(self.uri), "db": self.db,
                "collection": self.collection, "index": self.index}

    @classmethod
    def from_manifest(cls, store: dict[str, Any]) -> MilvusTarget:
        return cls(store["uri"], store.get("db", ""), store["collection"],
                   store.get("index", "FLAT"))


def target_for(settings: Settings, index_dir: Path) -> MilvusTarget:
    """The target the settings name for the knowledge base in ``index_dir``: a Lite file
    ``<index_dir>/milvus.db`` and a collection named after the folder unless set."""
    index_dir = Path(index_dir).resolve()
    uri = settings.milvus_uri or str(index_dir / "milvus.db")
    if uri.endswith(".db"):
        uri = str(Path(uri).expanduser().resolve())
    collection = settings.milvus_collection or (
        "kb_" + hashlib.sha256(str(index_dir).encode()).hexdigest()[:16])
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", collection):
        raise VectorStoreError(f"Milvus collection name {collection!r} is invalid: use letters, "
                               "digits and underscores, starting with a letter")
    return MilvusTarget(uri, settings.milvus_db, collection, settings.milvus_index)


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
                client = pymilvus.MilvusClient(uri=target.uri, token=secret, db_name=target.db,
                                               timeout=30)
            except Exception as err:  # pymilvus raises MilvusException, grpc errors, OSError
                raise VectorStoreError(
                    f"cannot connect to Milvus at {_public_uri(target.uri)} ({_short(err)}); "
                    "check ASSISTANT_MILVUS_URI (a .db file or http://host:19530), "
                    "ASSISTANT_MILVUS_TOKEN and that the server is running") from err
            _CLIENTS[key] = client
    return client


def close_all() -> None:
    """Close every cached client (tests; a Lite file is released)."""
    with _LOCK:
        for client in _CLIENTS.values():
            with contextlib.suppress(Exception):  # closing is best effort
                client.close()
        _CLIENTS.clear()


# --- the index -------------------------------------------------------------------------------


class MilvusIndex:
    """A :class:`~assistant.vectors.VectorIndex` over a Milvus collection. ``keys[row]`` is the
    collection key of vector ``row`` of the knowledge base; rows never leave this object's
    callers. Connects on first search and checks that the collection holds ``len(keys)``
    vectors."""

    kind = "milvus"

    def __init__(self, target: MilvusTarget, keys: Sequence[str],
                 token: SecretStr | None = None) -> None:
        self.target = target
        self.keys = list(keys)
        self.token = token
        self._rows = {k: i for i, k in enumerate(self.keys)}
        self._client: Any = None

    @property
    def store(self) -> dict[str, str]:
        return self.target.describe()

    def __len__(self) -> int:
        return len(self.keys)

    def client(self) -> Any:
        if self._client is None:
            client = connect(self.target, self.token)
            try:  # a collection is released when its server (or Lite file) was reopened
                if client.has_collection(self.target.collection):
                    client.load_collection(self.target.collection)
            except Exception as err:
                raise VectorStoreError(f"cannot load Milvus collection "
                                       f"{self.target.collection!r} ({_short(err)})") from err
            held = count(client, self.target)
            if held != len(self.keys):
                raise IndexCorruptError(
                    f"Milvus collection {self.target.collection!r} at "
                    f"{_public_uri(self.target.uri)} holds {held} vectors, the knowledge base "
                    f"{len(self.keys)}; rebuild with `python -m assistant index PATH --rebuild "
                    "--store milvus` or copy them again with `python -m assistant migrate --to "
                    "milvus`")
            self._client = client
        return self._client

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)``; ``allowed`` rows become a key filter in Milvus."""
        if allowed is None:
            return self._search(query, k, "")
        keys = [self.keys[int(r)] for r in allowed]
        return self._search(query, min(k, len(keys)), f"pk in {_list(keys)}")

    def search_where(self, query: np.ndarray, k: int, where: SearchFilter
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)`` among the documents ``where`` lets through, filtered
        inside Milvus by the rows' province, period and doc_id fields."""
        return self._search(query, k, expression(where))

    def _search(self, query: np.ndarray, k: int, expr: str) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.keys), MAX_LIMIT)
        if k <= 0:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.target.index == "HNSW":
            params["params"] = {"ef": max(k, 128)}
        elif self.target.index == "IVF_FLAT":
            params["params"] = {"nprobe": 32}
        try:
            found = self.client().search(
                self.target.collection, data=[np.asarray(query, np.float32).tolist()],
                anns_field="vector", limit=k, filter=expr, output_fields=["pk"],
                search_params=params)[0]
        except (IndexCorruptError, VectorStoreError):
            raise
        except Exception as err:
            raise VectorStoreError(f"Milvus search failed ({_short(err)}); check that the server "
                                   "is up and the collection exists") from err
        scores = np.empty(len(found), np.float32)
        rows = np.empty(len(found), np.int64)
        for i, hit in enumerate(found):
            key = hit.get("pk")  # the primary field, at the top or in the entity
            row = self._rows.get(key if key is not None else hit.get("id"))
            if row is None:
                raise IndexCorruptError(
                    f"Milvus returned {key!r}, which the knowledge base does not hold; "
                    "index again with --rebuild")
            scores[i], rows[i] = hit["distance"], row
        order = np.lexsort((rows, -scores))  # best first, ties by row as FAISS does
        return scores[order], rows[order]

    def save(self, folder: Path) -> None:
        """Nothing to write: the vectors are in Milvus, the manifest names the collection."""


def expression(where: SearchFilter) -> str:
    """A Milvus boolean expression for ``where`` ('' when it lets everything through).

    A year filter keeps the documents whose period (``period_start``..``period_end``, the
    year alone when a document has no period) includes the year.

    >>> expression(SearchFilter(province="Bắc Giang", year=2020))
    'province == "Bắc Giang" and period_start <= 2020 and period_end >= 2020'
    """
    parts = []
    if where.province is not None:
        parts.append(f"province == {_string(where.province)}")
    if where.year is not None:
        parts.append(f"period_start <= {int(where.year)} and period_end >= {int(where.year)}")
    if where.doc_ids is not None:
        parts.append(f"doc_id in {_list(sorted(where.doc_ids))}")
    return " and ".join(parts)


def vector_keys(chunks: Sequence[Chunk], owners: np.ndarray) -> list[str]:
    """The collection key of each vector: ``f"{chunk_id}#{n}"``, n-th vector of its chunk."""
    keys = []
    previous, n = -1, 0
    for owner in np.asarray(owners, np.int64).tolist():
        n = n + 1 if owner == previous else 0
        previous = owner
        keys.append(f"{chunks[owner].id}#{n}")
    return keys


def count(client: Any, target: MilvusTarget) -> int:
    """Vectors in the collection (0 when it does not exist)."""
    try:
        if not client.has_collection(target.collection):
            return 0
        rows = client.query(target.collection, filter="", output_fields=["count(*)"],
                            consistency_level="Strong")
    except Exception as err:
        raise VectorStoreError(f"cannot read Milvus collection {target.collection!r} "
                               f"({_short(err)})") from err
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
    params.add_index(field_name="vector", index_type=target.index, metric_type="IP",
                     params={"M": 32, "efConstruction": 128} if target.index == "HNSW"
                     else {"nlist": 1024} if target.index == "IVF_FLAT" else {})
    for name in ("doc_id", "province", "year", "period_start", "period_end"):
        params.add_index(field_name=name, index_type="INVERTED")
    client.create_collection(target.collection, schema=schema, index_params=params,
                             consistency_level="Strong")


def insert_vectors(client: Any, target: MilvusTarget, documents: dict[str, Document],
                   chunks: Sequence[Chunk], vectors: np.ndarray, keys: Sequence[str],
                   rows: Iterable[int], owners: np.ndarray, progress: Progress | None = None
                   ) -> int:
    """Insert the vectors ``rows`` (of the knowledge base's ``vectors``) in batches; returns how
    many."""
    rows = list(rows)
    for start in range(0, len(rows), INSERT_BATCH):
        if progress:
            progress("milvus", start, len(rows))
        batch = []
        for r in rows[start : start + INSERT_BATCH]:
            chunk = chunks[int(owners[r])]
            doc = documents[chunk.doc_id]
            batch.append({"pk": keys[r], "vector": vectors[r], "chunk_id": chunk.id,
                          "doc_id": chunk.doc_id, "province": doc.province or "",
                          "year": int(doc.year or 0), **_period_fields(doc)})
        client.insert(target.collection, batch)
    if progress:
        progress("milvus", len(rows), len(rows))
    return len(rows)


def _period_fields(doc: Document) -> dict[str, int]:
    """``period_start``/``period_end`` of a row: the document's period, else its year, else 0
    (no year filter lets it through), as :meth:`Document.covers` decides."""
    if doc.period_start is not None and doc.period_end is not None:
        return {"period_start": int(doc.period_start), "period_end": int(doc.period_end)}
    return {"period_start": int(doc.year or 0), "period_end": int(doc.year or 0)}


def delete_documents(client: Any, target: MilvusTarget, doc_ids: Sequence[str]) -> None:
    """Delete every vector of the documents ``doc_ids``."""
    ids = sorted(set(doc_ids))
    for start in range(0, len(ids), 500):
        client.delete(target.collection, filter=f"doc_id in {_list(ids[start : start + 500])}")


def sync_collection(settings: Settings, index_dir: Path, old: KnowledgeBase | None,
                    documents: dict[str, Document], chunks: list[Chunk], vectors: np.ndarray,
                    owners: np.ndarray, changed: Sequence[str],
                    progress: Progress | None = None) -> MilvusIndex:
    """Make the collection hold exactly the new knowledge base's vectors.

    When the previous version used the same collection, only ``changed`` documents (added,
    updated or removed) are touched: their vectors are deleted by ``doc_id`` and the new ones
    inserted. Otherwise (first build, ``--rebuild``, another store before) the collection is
    created afresh and filled.
    """
    target = target_for(settings, index_dir)
    keys = vector_keys(chunks, owners)
    try:
        client = connect(target, settings.milvus_token)
        previous = getattr(old.vector_index, "store", None) if old is not None else None
        if previous == target.describe() and client.has_collection(target.collection):
            delete_documents(client, target, changed)
            wanted = set(changed)
            rows = [r for r in range(len(keys)) if chunks[int(owners[r])].doc_id in wanted]
        else:
            create_collection(client, target, vectors.shape[1])
            rows = list(range(len(keys)))
        insert_vectors(client, target, documents, chunks, vectors, keys, rows, owners, progress)
        held = count(client, target)
    except (VectorStoreError, IndexCorruptError):
        raise
    except Exception as err:
        raise VectorStoreError(f"writing Milvus collection {target.collection!r} failed "
                               f"({_short(err)}); the previous knowledge base is unchanged, "
                               "index again") from err
    if held != len(keys):
        raise VectorStoreError(
            f"Milvus collection {target.collection!r} holds {held} vectors after the update, "
            f"expected {len(keys)}; index again with --rebuild")
    index = MilvusIndex(target, keys, settings.milvus_token)
    index._client = client
    return index


def open_index(store: dict[str, Any], chunks: list[Chunk], owners: np.ndarray,
               settings: Settings | None) -> MilvusIndex:
    """The index a manifest names. The server address and token come from the settings when
    they ask for Milvus (a cluster may move), else from the manifest; the collection always
    from the manifest."""
    target = MilvusTarget.from_manifest(store)
    token = None
    if settings is not None and settings.vector_store == "milvus":
        token = settings.milvus_token
        if settings.milvus_uri:
            uri = settings.milvus_uri
            if uri.endswith(".db"):
                uri = str(Path(uri).expanduser().resolve())
            target = MilvusTarget(uri, settings.milvus_db or target.db, target.collection,
                                  target.index)
    return MilvusIndex(target, vector_keys(chunks, owners), token)


def migrate(index_dir: Path, settings: Settings, progress: Progress | None = None
            ) -> KnowledgeBase:
    """Move the vectors of the knowledge base in ``index_dir`` to the store the settings name
    (Milvus or FAISS), without embedding anything: the vectors come from the folder."""
    from assistant.store import KnowledgeBase, write_lock

    with write_lock(index_dir):
        kb = KnowledgeBase.load(index_dir)
        vector_index: Any = None  # FAISS: the knowledge base builds its default index
        if settings.vector_store == "milvus":
            vector_index = sync_collection(settings, index_dir, None, kb.documents, kb.chunks,
                                           kb.vectors, kb.owners, [], progress)
        new = KnowledgeBase(kb.documents, kb.chunks, kb.vectors, kb.signature,
                            vector_index=vector_index, lexical=kb.lexical, owners=kb.owners)
        new.save(index_dir)
    return new


# --- helpers ---------------------------------------------------------------------------------


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # "..." with \" and \\ escaped


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def _public_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password or parts.username:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]
