"""The knowledge base's records in Milvus, so that a folder on Milvus holds nothing but its
manifest: each chunk's JSON and its number of vectors, the documents and the indicator facts
as JSON lines cut into parts a VARCHAR field holds, all in ``C_records``:

``C_records``  ``pk`` = ``f"{kind}:{seq}"``; ``kind``: ``chunk`` (``seq`` = its row, ``data`` its
               JSON, ``vectors`` how many it has), ``documents`` or ``facts`` (``seq`` = the
               part's place, ``data`` ≤ :data:`PART_CHARS` characters of JSON lines); and a
               two-number ``probe`` vector (Milvus wants a vector field in every collection).
               Apart from the searched rows: wide rows slow Milvus Lite's filtered searches.

Every process (and machine) that opens the manifest reads them from Milvus.

>>> parts("ab\\ncd\\n", 3)
['ab\\n', 'cd\\n']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from assistant.errors import IndexCorruptError
from assistant.facts import FactTable
from assistant.types import Chunk, Document
from assistant.vectors.base import VectorRows

RECORDS = "_records"
RECORD_MAX = 65_535  # bytes of a VARCHAR field: a chunk's record
PART_CHARS = 16_000  # ≤ 4 bytes a character: a part stays under a VARCHAR's 65,535 bytes
READ = 2_000  # rows per query when reading
PROBE = [1.0, 0.0]


def records_collection(collection: str) -> str:
    return collection + RECORDS


def chunk_record(row: int, chunk: Chunk, vectors: int) -> dict[str, Any]:
    """A chunk's row in ``C_records``."""
    record = json.dumps(chunk.model_dump(), ensure_ascii=False)
    if len(record.encode("utf-8")) > RECORD_MAX:
        raise IndexCorruptError(
            f"chunk {chunk.id} is too long for a Milvus field ({len(record)} characters); "
            "index with a smaller ASSISTANT_CHUNK_SIZE"
        )
    return {"pk": f"chunk:{row}", "kind": "chunk", "seq": row, "data": record, "vectors": vectors}


def parts(text: str, size: int = PART_CHARS) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters (a line may span pieces)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def create_records(client: Any, collection: str, pymilvus: Any) -> None:
    """(Re)create ``C_records``, empty."""
    DataType = pymilvus.DataType
    name = records_collection(collection)
    if client.has_collection(name):
        client.drop_collection(name)
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("kind", DataType.VARCHAR, max_length=32)
    schema.add_field("seq", DataType.INT64)
    schema.add_field("data", DataType.VARCHAR, max_length=RECORD_MAX)
    schema.add_field("vectors", DataType.INT64)
    schema.add_field("probe", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="probe", index_type="FLAT", metric_type="IP")
    params.add_index(field_name="kind", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def insert_records(client: Any, collection: str, rows: VectorRows, batch: int) -> None:
    """The chunks, one a row, then the documents and the facts as JSON lines, in parts."""
    name = records_collection(collection)
    sizes = np.bincount(rows.owners, minlength=len(rows.chunks))
    for start in range(0, len(rows.chunks), batch):
        end = min(start + batch, len(rows.chunks))
        client.insert(
            name,
            [
                {**chunk_record(r, rows.chunks[r], int(sizes[r])), "probe": PROBE}
                for r in range(start, end)
            ],
        )
    blobs = {"documents": "".join(json_lines(d.model_dump() for d in rows.documents.values()))}
    if rows.facts is not None:
        blobs["facts"] = "".join(rows.facts.lines())
    parts_rows = [
        {
            "pk": f"{kind}:{seq}",
            "kind": kind,
            "seq": seq,
            "data": part,
            "vectors": 0,
            "probe": PROBE,
        }
        for kind, text in blobs.items()
        for seq, part in enumerate(parts(text))
    ]
    for start in range(0, len(parts_rows), 500):
        client.insert(name, parts_rows[start : start + 500])


def json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def read_records(
    client: Any, collection: str, n_chunks: int
) -> tuple[list[Document], list[Chunk], np.ndarray, FactTable | None]:
    """Documents, chunks (in row order), the vectors' owning chunk rows and the facts, as
    :func:`insert_records` wrote them."""
    name = records_collection(collection)
    chunks: list[Chunk] = []
    sizes: list[int] = []
    for start in range(0, n_chunks, READ):
        found = client.query(
            name,
            filter=f'kind == "chunk" and seq >= {start} and seq < {min(start + READ, n_chunks)}',
            output_fields=["seq", "data", "vectors"],
            limit=READ,
        )
        found.sort(key=lambda r: int(r["seq"]))
        if [int(r["seq"]) for r in found] != list(range(start, start + len(found))):
            raise IndexCorruptError(f"Milvus collection {name} misses chunk rows")
        chunks += [Chunk(**json.loads(r["data"])) for r in found]
        sizes += [int(r["vectors"]) for r in found]
    if len(chunks) != n_chunks:
        raise IndexCorruptError(
            f"Milvus holds {len(chunks)} chunks of the {n_chunks} the manifest names"
        )
    blobs = _blobs(client, name)
    documents = [Document(**json.loads(x)) for x in blobs.get("documents", "").splitlines() if x]
    facts = None
    if "facts" in blobs:
        facts = FactTable.from_lines(blobs["facts"].splitlines())
    owners = np.repeat(np.arange(len(chunks), dtype=np.int64), sizes)
    return documents, chunks, owners, facts


def _blobs(client: Any, name: str) -> dict[str, str]:
    """Every kind's text, its parts joined in order."""
    pieces: dict[str, list[tuple[int, str]]] = {}
    offset = 0
    while True:
        found = client.query(
            name,
            filter=f'kind != "chunk" and seq >= {offset} and seq < {offset + READ}',
            output_fields=["kind", "seq", "data"],
            limit=16_384,
        )
        if not found:
            break
        for r in found:
            pieces.setdefault(r["kind"], []).append((int(r["seq"]), r["data"]))
        offset += READ
    return {kind: "".join(p for _, p in sorted(items)) for kind, items in pieces.items()}
