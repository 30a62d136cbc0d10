"""Document -> Chunks with exact spans: ``doc.text[c.start:c.end] == c.text``."""

from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.text import sentence_spans
from assistant.types import Chunk, Document

# Paragraphs, lines, sentence ends, semicolons, commas, words: Vietnamese prose splits well on
# punctuation; no word segmenter is needed at this level.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "… ", "; ", ": ", ", ", " ", ""]


def context_header(doc: Document) -> str:
    """Short context embedded with each chunk: "Dấu ấn ... | Bắc Giang | 2020"."""
    return " | ".join(str(x) for x in (doc.title, doc.province, doc.year) if x)


def chunk_document(
    doc: Document, size: int = 700, overlap: int = 150, header: bool = True
) -> list[Chunk]:
    """Split ``doc`` into overlapping chunks of at most ``size`` characters; each row of a
    table (``doc.tables``) is a chunk of its own, indexed with the table's header row.

    >>> from assistant.types import Document
    >>> d = Document(id="d", path="d", title="T", text="Câu một. Câu hai.", sha256="", format="txt")
    >>> [(c.start, c.end, c.text) for c in chunk_document(d, size=100, overlap=0)]
    [(0, 17, 'Câu một. Câu hai.')]
    """
    head = context_header(doc) if header else ""
    chunks: list[Chunk] = []
    pos = 0
    for start, end, table_header in doc.tables:
        chunks += _split(doc, pos, start, size, overlap, head)
        chunks += table_chunks(doc, start, end, table_header, head)
        pos = end
    return chunks + _split(doc, pos, len(doc.text), size, overlap, head)


def table_chunks(doc: Document, start: int, end: int, table_header: str, head: str) -> list[Chunk]:
    """One chunk per row of the table ``doc.text[start:end]`` (its first line the header row),
    indexed with the header row: "Chỉ tiêu | 2020 | 2021" then "Số trạm BTS | 1.200 | 1.422"."""
    header = f"{head}\n{table_header}" if head else table_header
    chunks = []
    pos = start
    lines = doc.text[start:end].split("\n")
    for i, line in enumerate(lines):
        a, b = pos, pos + len(line)
        pos = b + 1
        if (i == 0 and len(lines) > 1) or not line.strip():
            continue  # the header row rides with every other row
        chunks.append(
            Chunk(id=f"{doc.id}:{a}", doc_id=doc.id, start=a, end=b, text=line, header=header)
        )
    return chunks


def _split(doc: Document, begin: int, stop: int, size: int, overlap: int, head: str) -> list[Chunk]:
    """Chunks of the prose ``doc.text[begin:stop]``."""
    if not doc.text[begin:stop].strip():
        return []
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    pos = begin
    for piece in splitter.split_text(doc.text[begin:stop]):
        start = doc.text.find(piece, pos, stop)
        if start < 0:  # cannot happen with strip-only splitting; fail loudly if it does
            raise AssertionError(f"chunk not found in {doc.id} after offset {pos}")
        end = start + len(piece)
        chunks.append(
            Chunk(
                id=f"{doc.id}:{start}", doc_id=doc.id, start=start, end=end, text=piece, header=head
            )
        )
        # the next chunk overlaps this one by at most `overlap` characters
        pos = max(start + 1, end - overlap - 1)
    return chunks


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
