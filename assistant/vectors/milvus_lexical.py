"""BM25 inside Milvus: each chunk's BM25 weights as sparse vectors (:mod:`assistant.sparse`) in
a collection of their own, searched by Milvus's sparse index, and the tokens' document
frequencies (the answerer's idf) beside them; nothing of BM25 stays in the folder.

Two collections per knowledge base version, named after its vector collection ``C``:

``C_chunks``  one row per chunk (``pk`` = chunk row): ``sparse`` (tokens with diacritics),
              ``sparse_folded`` (the folded twin, for questions typed without them), the
              document's ``doc_id``, ``province``, ``period_start``, ``period_end`` for filters
              (the chunk's record is elsewhere, :mod:`assistant.vectors.milvus_records`: wide
              rows slow Milvus Lite's filtered searches down three times).
``C_terms``   the document frequency of every token id, in :data:`BUCKETS` rows (``pk`` =
              bucket, folded tokens from :data:`BUCKETS` on), each a sparse vector
              ``{token id: df}``: a question reads the few buckets of its tokens.

A question's sparse vector has weight 1 per distinct token, so the inner product Milvus computes
is the chunk's BM25 score of :meth:`assistant.lexical.LexicalIndex.scores`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import VectorStoreError
from assistant.lexical import Lexical, LexicalIndex, Scores, bm25_idf, query_tokens
from assistant.sparse import SparseVector, document_frequencies, inner, query_vector, row_vectors
from assistant.sparse import token_id as sparse_token_id
from assistant.types import Document, Progress, SearchFilter
from assistant.vectors.milvus_filter import Expression, filtered, keys_in, where_expression

CHUNKS = "_chunks"
TERMS = "_terms"
BUCKETS = 1024
# a sparse vector may not be empty: a chunk without tokens holds one no question has
EMPTY: SparseVector = {sparse_token_id("\x00"): 1e-30}
FETCH = 1000  # rows per query by key


def lexical_collections(collection: str) -> tuple[str, str]:
    """The chunks and terms collections beside the vector collection ``collection``."""
    return collection + CHUNKS, collection + TERMS


def create_lexical(client: Any, collection: str, fold: bool, pymilvus: Any) -> None:
    """(Re)create the two collections, empty."""
    DataType = pymilvus.DataType
    chunks, terms = lexical_collections(collection)
    for name in (chunks, terms):
        if client.has_collection(name):
            client.drop_collection(name)
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    if fold:
        schema.add_field("sparse_folded", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=8192)
    schema.add_field("province", DataType.VARCHAR, max_length=256)
    schema.add_field("period_start", DataType.INT64)
    schema.add_field("period_end", DataType.INT64)
    params = client.prepare_index_params()
    for field in ("sparse", "sparse_folded") if fold else ("sparse",):
        params.add_index(field_name=field, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    for field in ("doc_id", "province", "period_start", "period_end"):
        params.add_index(field_name=field, index_type="INVERTED")
    client.create_collection(chunks, schema=schema, index_params=params, consistency_level="Strong")
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("df", DataType.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index(field_name="df", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(terms, schema=schema, index_params=params, consistency_level="Strong")


def insert_lexical(
    client: Any,
    collection: str,
    lexical: LexicalIndex,
    row_fields: Callable[[int], dict[str, Any]],
    batch: int,
    progress: Progress | None = None,
) -> None:
    """Fill the two collections from ``lexical`` (the chunks' BM25 index); ``row_fields(row)``
    gives a chunk's document fields."""
    chunks, terms = lexical_collections(collection)
    exact = row_vectors(lexical.exact, lexical.n)
    folded = row_vectors(lexical.folded, lexical.n) if lexical.folded is not None else None
    rows: list[dict[str, Any]] = []
    for row in range(lexical.n):
        entry = {"pk": row, "sparse": next(exact) or EMPTY, **row_fields(row)}
        if folded is not None:
            entry["sparse_folded"] = next(folded) or EMPTY
        rows.append(entry)
        if len(rows) == batch or row == lexical.n - 1:
            if progress:
                progress("milvus bm25", row + 1 - len(rows), lexical.n)
            client.insert(chunks, rows)
            rows = []
    buckets: dict[int, SparseVector] = {}
    for offset, retriever in ((0, lexical.exact), (BUCKETS, lexical.folded)):
        for key, df in document_frequencies(retriever).items():
            buckets.setdefault(offset + key % BUCKETS, {})[key] = float(df)
    items = [{"pk": pk, "df": vector} for pk, vector in sorted(buckets.items())]
    for start in range(0, len(items), 64):
        client.insert(terms, items[start : start + 64])


def doc_fields(doc: Document) -> dict[str, Any]:
    """A row's document fields: ``period_start``/``period_end`` are the document's period,
    else its year, else 0 (no year filter lets it through), as :meth:`Document.covers`."""
    if doc.period_start is not None and doc.period_end is not None:
        start, end = int(doc.period_start), int(doc.period_end)
    else:
        start = end = int(doc.year or 0)
    return {
        "doc_id": doc.id,
        "province": doc.province or "",
        "period_start": start,
        "period_end": end,
    }


class SparseScores(Scores):
    """One question's BM25 in Milvus: the best rows by a sparse search, any row's score from
    its stored sparse vector."""

    def __init__(
        self, lexical: MilvusLexical, query: SparseVector, field: str, expr: Expression
    ) -> None:
        self.lexical, self.query, self.field, self.expr = lexical, query, field, expr

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.lexical.n, 16_384)
        if not self.query or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        found = self.lexical.call(
            "search",
            self.expr,
            data=[self.query],
            anns_field=self.field,
            limit=k,
            output_fields=["pk"],
            search_params={"metric_type": "IP"},
        )[0]
        rows = np.array([int(h.get("pk", h.get("id"))) for h in found], np.int64)
        scores = np.array([h["distance"] for h in found], np.float32)
        keep = scores > 0
        rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))  # best first, ties by row
        return rows[order], scores[order]

    def at(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        if not self.query or len(rows) == 0:
            return np.zeros(len(rows), np.float32)
        stored = {int(r["pk"]): r[self.field] for r in self.lexical.rows(rows, self.field)}
        return np.array([inner(self.query, stored.get(int(r), {})) for r in rows], np.float32)


class MilvusLexical(Lexical):
    """The BM25 side of a knowledge base whose vectors are in Milvus collection ``collection``
    at ``uri``; ``client()`` gives the connected client."""

    def __init__(
        self, client: Callable[[], Any], uri: str, collection: str, n: int, fold: bool
    ) -> None:
        self.client = client
        self.uri = uri
        self.chunks, self.terms = lexical_collections(collection)
        self.n = n
        self.fold = fold
        self._buckets: dict[int, SparseVector] = {}

    @property
    def fold_diacritics(self) -> bool:
        return self.fold or self.n == 0

    def call(self, method: str, expr: Expression, collection: str | None = None, **kw: Any) -> Any:
        """``client.<method>`` on the chunks (or ``collection``) filtered by ``expr``; failures
        say what to check."""
        try:
            call = getattr(self.client(), method)
            return filtered(self.uri, call, expr, collection_name=collection or self.chunks, **kw)
        except VectorStoreError:
            raise
        except Exception as err:
            text = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
            raise VectorStoreError(
                f"Milvus BM25 search failed ({text}); check that the server is up and the "
                f"collection {self.chunks!r} exists (index again to write it)"
            ) from err

    def rows(self, rows: np.ndarray, field: str) -> Iterator[dict[str, Any]]:
        """The stored ``field`` of ``rows`` (in batches)."""
        for start in range(0, len(rows), FETCH):
            part = [int(r) for r in rows[start : start + FETCH]]
            yield from self.call(
                "query", keys_in(part), output_fields=["pk", field], limit=len(part)
            )

    def scorer(
        self, query: str, allowed: np.ndarray | None = None, where: SearchFilter | None = None
    ) -> Scores:
        folded, tokens = query_tokens(query, self.fold)
        if where is not None:
            expr = where_expression(where)
        elif allowed is not None:
            expr = keys_in([int(r) for r in allowed])
        else:
            expr = Expression()
        vector = {} if allowed is not None and len(allowed) == 0 else query_vector(tokens)
        return SparseScores(self, vector, "sparse_folded" if folded else "sparse", expr)

    def idf(self, token: str) -> float:
        key = sparse_token_id(token)
        df = self._bucket(key % BUCKETS).get(key)
        if df is None and self.fold:
            df = self._bucket(BUCKETS + key % BUCKETS).get(key)
        return bm25_idf(self.n, int(df or 0))

    def _bucket(self, pk: int) -> SparseVector:
        bucket = self._buckets.get(pk)
        if bucket is None:
            found = self.call("query", keys_in([pk]), self.terms, output_fields=["df"])
            bucket = dict(found[0]["df"]) if found else {}
            if len(self._buckets) >= 4 * BUCKETS:
                self._buckets.clear()
            self._buckets[pk] = bucket
        return bucket

    def save(self, folder: Path) -> None:
        """Nothing to write: the BM25 side is in Milvus."""
