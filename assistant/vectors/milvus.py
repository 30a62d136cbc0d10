"""Milvus as the whole store, behind the same interface as FAISS (:class:`VectorStore`).

One collection row per vector: a chunk's own vector and one per sentence window, keyed
``f"{chunk_id}#{n}"`` (``n`` = 0 for the chunk's own vector), with the document's ``doc_id``,
``province``, ``year`` and period (``period_start``, ``period_end``) beside it, so a
province/year filter runs inside Milvus as an expression (``province == {province} and
period_start <= {year} and period_end >= {year}``, its values passed apart:
:mod:`assistant.vectors.milvus_filter`). The BM25 side is in Milvus too, as sparse vectors
(:mod:`assistant.vectors.milvus_lexical`), and fusion reads the candidates' exact scores from
the stored vectors; the records are there too (:mod:`assistant.vectors.milvus_records`): the
knowledge base folder holds only the manifest naming the version's collections. Connections and
collection operations: :mod:`assistant.vectors.milvus_collection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from assistant.config import Settings
from assistant.errors import AssistantError, IndexCorruptError, VectorStoreError
from assistant.lexical import Lexical
from assistant.storage import live_version, read_manifest
from assistant.types import Chunk, Progress, SearchFilter
from assistant.vectors.base import Capabilities, Records, Update, VectorRows, VectorStore
from assistant.vectors.milvus_collection import (
    INSERT_BATCH,
    NAME,
    MilvusTarget,
    connect,
    count,
    public_uri,
    short_error,
    target_for,
    write_collection,
)
from assistant.vectors.milvus_filter import Expression, filtered, keys_in, where_expression
from assistant.vectors.milvus_lexical import MilvusLexical
from assistant.vectors.milvus_records import read_records, records_collection

MAX_LIMIT = 16_384  # Milvus's largest top-k


class MilvusIndex(VectorStore):
    """A :class:`VectorStore` over a Milvus collection. ``keys[row]`` is the collection key of
    vector ``row`` of the knowledge base. Connects on first search and checks that the
    collection holds ``len(keys)`` vectors."""

    NAME = NAME

    def __init__(
        self,
        target: MilvusTarget,
        keys: Sequence[str],
        token: SecretStr | None = None,
        bm25: tuple[int, bool] | None = None,
        records: bool = True,
    ) -> None:
        """``bm25``: ``(chunks, fold_diacritics)`` of the BM25 side kept in Milvus; None for
        a version written before Milvus kept it (its folder holds vectors and BM25);
        ``records``: the chunks', documents' and facts' records are in Milvus too."""
        self.target = target
        self.keys = list(keys)
        self.token = token
        self.bm25 = bm25
        self._rows = {k: i for i, k in enumerate(self.keys)}
        self._client: Any = None
        self._lexical: Lexical | None = None
        self.records = records and bm25 is not None
        # a row filter is a list of keys in an expression: the caller searches it better
        self.capabilities = Capabilities(
            exact=target.index == "FLAT",
            filters_in_engine=True,
            rows_in_engine=False,
            vectors_in_folder=False,
            incremental=False,
            whole_store=bm25 is not None,
            records_in_engine=self.records,
        )

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        rows: VectorRows,
        settings: Settings,
        index_dir: Path,
        update: Update | None = None,
        progress: Progress | None = None,
    ) -> MilvusIndex:
        """Write a new version's collections where the settings say (when they ask for
        Milvus; else where the previous version is): every vector and the BM25 side of
        ``rows.lexical``. The previous version's collections stay (processes still answer from
        them); older ones are dropped."""
        previous = None
        if update is not None and update.previous.get("name") == NAME:
            previous = MilvusTarget.from_manifest(update.previous)
        if settings.vector_store != NAME and previous is not None:
            target = previous  # the manifest decides
        else:
            target = target_for(settings, index_dir)
        target = target.next_version()
        keys = vector_keys(rows.chunks, rows.owners)
        keep = [previous.collection] if previous is not None else []
        keep += live_collections(index_dir)  # a --rebuild has no previous: the live one stays
        client = write_collection(
            target, settings.milvus_token, vectors, rows, keys, keep, progress
        )
        fold = rows.lexical is not None and rows.lexical.folded is not None
        index = cls(target, keys, settings.milvus_token, (len(rows.chunks), fold))
        index._client = client
        return index

    @classmethod
    def open(
        cls, entry: dict[str, Any], folder: Path, rows: VectorRows, settings: Settings | None = None
    ) -> MilvusIndex:
        """The collection ``entry`` names (:func:`opened_target`)."""
        target, token = opened_target(entry, settings)
        bm25 = None
        if entry.get("bm25") == NAME:
            bm25 = (len(rows.chunks), bool(entry.get("fold_diacritics", True)))
        records = entry.get("records") == NAME
        return cls(target, vector_keys(rows.chunks, rows.owners), token, bm25, records)

    @classmethod
    def stored_records(
        cls, entry: dict[str, Any], settings: Settings | None = None
    ) -> Records | None:
        """The documents, chunks and facts of a version written with its records in Milvus."""
        if entry.get("records") != NAME:
            return None  # written before Milvus kept the records: they are in the folder
        target, token = opened_target(entry, settings)
        try:
            client = connect(target, token)
            client.load_collection(records_collection(target.collection))
            documents, chunks, owners, facts = read_records(
                client, target.collection, int(entry["chunks"])
            )
        except (IndexCorruptError, VectorStoreError):
            raise
        except Exception as err:
            raise VectorStoreError(
                f"cannot read the knowledge base's records from Milvus collection "
                f"{target.collection!r} at {public_uri(target.uri)} ({short_error(err)}); check "
                "that the server is up, or index again"
            ) from err
        return Records(documents, chunks, owners, facts)

    def save(self, folder: Path) -> None:
        """Nothing to write: the vectors are in Milvus, the manifest names the collection."""

    def __len__(self) -> int:
        return len(self.keys)

    def describe(self) -> dict[str, Any]:
        entry: dict[str, Any] = dict(self.target.describe())
        if self.bm25 is not None:
            entry["bm25"] = NAME
            entry["fold_diacritics"] = self.bm25[1]
        if self.records and self.bm25 is not None:  # the folder holds only the manifest
            entry["records"] = NAME
            entry["chunks"] = self.bm25[0]
        return entry

    def lexical(self) -> Lexical | None:
        if self.bm25 is None:
            return None
        if self._lexical is None:
            self._lexical = MilvusLexical(
                self.client, self.target.uri, self.target.collection, self.bm25[0], self.bm25[1]
            )
        return self._lexical

    def fetch(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``, read by key."""
        keys = [self.keys[int(r)] for r in np.asarray(rows, np.int64)]
        found: dict[str, Any] = {}
        try:
            for start in range(0, len(keys), INSERT_BATCH):
                part = keys[start : start + INSERT_BATCH]
                for hit in filtered(
                    self.target.uri,
                    self.client().query,
                    keys_in(part),
                    collection_name=self.target.collection,
                    output_fields=["pk", "vector"],
                    limit=len(part),
                ):
                    found[hit["pk"]] = hit["vector"]
        except (IndexCorruptError, VectorStoreError):
            raise
        except Exception as err:
            raise VectorStoreError(
                f"cannot read vectors from Milvus ({short_error(err)}); check that the server "
                "is up and the collection exists"
            ) from err
        missing = [k for k in keys if k not in found]
        if missing:
            raise IndexCorruptError(
                f"Milvus collection {self.target.collection!r} lacks {len(missing)} vectors "
                f"(e.g. {missing[0]!r}); index again with --rebuild"
            )
        dim = len(found[keys[0]]) if keys else 0
        return np.asarray([found[k] for k in keys], np.float32).reshape(len(keys), dim)

    def summary(self) -> str:
        entry = self.describe()
        return f"{NAME} collection {entry['collection']} at {entry['uri']}"

    def client(self) -> Any:
        if self._client is None:
            client = connect(self.target, self.token)
            try:  # a collection is released when its server (or Lite file) was reopened
                if client.has_collection(self.target.collection):
                    client.load_collection(self.target.collection)
            except Exception as err:
                raise VectorStoreError(
                    f"cannot load Milvus collection {self.target.collection!r} ({short_error(err)})"
                ) from err
            held = count(client, self.target)
            if held != len(self.keys):
                raise IndexCorruptError(
                    f"Milvus collection {self.target.collection!r} at "
                    f"{public_uri(self.target.uri)} holds {held} vectors, the knowledge base "
                    f"{len(self.keys)}; rebuild with `python -m assistant index PATH --rebuild "
                    "--store milvus` or copy them again with `python -m assistant migrate --to "
                    "milvus`"
                )
            self._client = client
        return self._client

    def search(
        self,
        query: np.ndarray,
        k: int,
        where: SearchFilter | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, rows)``: ``where`` becomes an expression on the rows' province,
        period and doc_id fields; else ``allowed`` rows a key filter."""
        if where is not None:
            return self._search(query, k, where_expression(where))
        if allowed is None:
            return self._search(query, k, Expression())
        keys = [self.keys[int(r)] for r in allowed]
        return self._search(query, min(k, len(keys)), keys_in(keys))

    def _search(self, query: np.ndarray, k: int, expr: Expression) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.keys), MAX_LIMIT)
        if k <= 0:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.target.index == "HNSW":
            params["params"] = {"ef": max(k, 128)}
        elif self.target.index == "IVF_FLAT":
            params["params"] = {"nprobe": 32}
        try:
            found = filtered(
                self.target.uri,
                self.client().search,
                expr,
                collection_name=self.target.collection,
                data=[np.asarray(query, np.float32).tolist()],
                anns_field="vector",
                limit=k,
                output_fields=["pk"],
                search_params=params,
            )[0]
        except (IndexCorruptError, VectorStoreError):
            raise
        except Exception as err:
            raise VectorStoreError(
                f"Milvus search failed ({short_error(err)}); check that the "
                "server is up and the collection exists"
            ) from err
        scores = np.empty(len(found), np.float32)
        rows = np.empty(len(found), np.int64)
        for i, hit in enumerate(found):
            key = hit.get("pk")  # the primary field, at the top or in the entity
            row = self._rows.get(key if key is not None else hit.get("id"))
            if row is None:
                raise IndexCorruptError(
                    f"Milvus returned {key!r}, which the knowledge base does not hold; "
                    "index again with --rebuild"
                )
            scores[i], rows[i] = hit["distance"], row
        order = np.lexsort((rows, -scores))  # best first, ties by row as FAISS does
        return scores[order], rows[order]


def vector_keys(chunks: Sequence[Chunk], owners: np.ndarray) -> list[str]:
    """The collection key of each vector: ``f"{chunk_id}#{n}"``, n-th vector of its chunk.

    >>> chunks = [Chunk(id=f"/r/a.txt:{s}", doc_id="/r/a.txt", start=s, end=s + 9, text="x")
    ...           for s in (0, 10)]
    >>> vector_keys(chunks, np.array([0, 0, 1]))
    ['/r/a.txt:0#0', '/r/a.txt:0#1', '/r/a.txt:10#0']
    """
    keys = []
    previous, n = -1, 0
    for owner in np.asarray(owners, np.int64).tolist():
        n = n + 1 if owner == previous else 0
        previous = owner
        keys.append(f"{chunks[owner].id}#{n}")
    return keys


def live_collections(index_dir: Path) -> list[str]:
    """The Milvus collection of the live version in ``index_dir`` ([] when none is live, or it
    is not on Milvus)."""
    try:
        entry = read_manifest(live_version(Path(index_dir))).get("vector_store") or {}
    except (AssistantError, OSError, ValueError):
        return []
    return [str(entry["collection"])] if entry.get("name") == NAME else []


def opened_target(
    entry: dict[str, Any], settings: Settings | None
) -> tuple[MilvusTarget, SecretStr | None]:
    """Where the collection a manifest ``entry`` names is, and the token: the server address
    and token come from the settings when they ask for Milvus (a cluster may move), else from
    the manifest; the collection always from the manifest."""
    target = MilvusTarget.from_manifest(entry)
    if settings is None or settings.vector_store != NAME:
        return target, None
    if settings.milvus_uri:
        uri = settings.milvus_uri
        if uri.endswith(".db"):
            uri = str(Path(uri).expanduser().resolve())
        target = MilvusTarget(
            uri, settings.milvus_db or target.db, target.collection, target.index, target.base
        )
    return target, settings.milvus_token
