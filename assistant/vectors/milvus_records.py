"""The knowledge base's records in Milvus, so that a folder on Milvus holds nothing but its
manifest: each chunk's JSON (and its number of vectors) on its row of ``C_chunks``
(:mod:`assistant.vectors.milvus_lexical`), and the documents and the indicator facts as JSON
lines in ``C_records``, cut into parts a VARCHAR field holds:

``C_records``  ``pk`` = ``f"{kind}:{seq}"``, ``kind`` (``documents`` or ``facts``), ``seq`` (the
               part's place), ``data`` (≤ :data:`PART_CHARS` characters of JSON lines), and a
               two-number ``probe`` vector (Milvus wants a vector field in every collection).

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
from assistant.vectors.milvus_lexical import RECORD_MAX

RECORDS = "_records"
PART_CHARS = 16_000  # ≤ 4 bytes a character: a part stays under a VARCHAR's 65,535 bytes
READ = 2_000  # rows per query when reading


def records_collection(collection: str) -> str:
    return collection + RECORDS


def chunk_fields(chunk: Chunk, vectors: int) -> dict[str, Any]:
    """The record fields of a chunk's row in ``C_chunks``."""
    record = json.dumps(chunk.model_dump(), ensure_ascii=False)
    if len(record.encode("utf-8")) > RECORD_MAX:
        raise IndexCorruptError(
            f"chunk {chunk.id} is too long for a Milvus field ({len(record)} characters); "
            "index with a smaller ASSISTANT_CHUNK_SIZE"
        )
    return {"record": record, "vectors": int(vectors)}


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
    schema.add_field("probe", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="probe", index_type="FLAT", metric_type="IP")
    params.add_index(field_name="kind", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def insert_records(
    client: Any, collection: str, documents: Iterable[Document], facts: FactTable | None
) -> None:
    """The documents and the facts as JSON lines, in parts."""
    name = records_collection(collection)
    blobs = {"documents": "".join(json_lines(d.model_dump() for d in documents))}
    if facts is not None:
        blobs["facts"] = "".join(facts.lines())
    rows = [
        {"pk": f"{kind}:{seq}", "kind": kind, "seq": seq, "data": part, "probe": [1.0, 0.0]}
        for kind, text in blobs.items()
        for seq, part in enumerate(parts(text))
    ]
    for start in range(0, len(rows), 500):
        client.insert(name, rows[start : start + 500])


def json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def read_records(
    client: Any, collection: str, n_chunks: int
) -> tuple[list[Document], list[Chunk], np.ndarray, FactTable | None]:
    """Documents, chunks (in row order), the vectors' owning chunk rows and the facts, as
    :func:`insert_records` and the chunks' rows hold them."""
    chunks: list[Chunk] = []
    sizes: list[int] = []
    for start in range(0, n_chunks, READ):
        found = client.query(
            collection + "_chunks",
            filter=f"pk >= {start} and pk < {min(start + READ, n_chunks)}",
            output_fields=["pk", "record", "vectors"],
            limit=READ,
        )
        found.sort(key=lambda r: int(r["pk"]))
        if [int(r["pk"]) for r in found] != list(range(start, start + len(found))):
            raise IndexCorruptError(f"Milvus collection {collection}_chunks misses chunk rows")
        chunks += [Chunk(**json.loads(r["record"])) for r in found]
        sizes += [int(r["vectors"]) for r in found]
    if len(chunks) != n_chunks:
        raise IndexCorruptError(
            f"Milvus holds {len(chunks)} chunks of the {n_chunks} the manifest names"
        )
    blobs = _blobs(client, records_collection(collection))
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
            filter=f"seq >= {offset} and seq < {offset + READ}",
            output_fields=["kind", "seq", "data"],
            limit=16_384,
        )
        if not found:
            break
        for r in found:
            pieces.setdefault(r["kind"], []).append((int(r["seq"]), r["data"]))
        offset += READ
    return {kind: "".join(p for _, p in sorted(items)) for kind, items in pieces.items()}
