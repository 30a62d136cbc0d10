"""Document -> Chunks with exact spans: ``doc.text[c.start:c.end] == c.text``."""

from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.types import Chunk, Document

# Paragraphs, lines, sentence ends, semicolons, commas, words: Vietnamese prose splits well on
# punctuation; no word segmenter is needed at this level.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "… ", "; ", ": ", ", ", " ", ""]


def context_header(doc: Document) -> str:
    """Short context embedded with each chunk: "Dấu ấn ... | Bắc Giang | 2020"."""
    return " | ".join(str(x) for x in (doc.title, doc.province, doc.year) if x)


def chunk_document(doc: Document, size: int = 700, overlap: int = 150,
                   header: bool = True) -> list[Chunk]:
    """Split ``doc`` into overlapping chunks of at most ``size`` characters.

    >>> from assistant.types import Document
    >>> d = Document(id="d", path="d", title="T", text="Câu một. Câu hai.", sha256="", format="txt")
    >>> [(c.start, c.end, c.text) for c in chunk_document(d, size=100, overlap=0)]
    [(0, 17, 'Câu một. Câu hai.')]
    """
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=overlap, separators=SEPARATORS, keep_separator="end",
        strip_whitespace=True,
    )
    head = context_header(doc) if header else ""
    chunks: list[Chunk] = []
    pos = 0
    for piece in splitter.split_text(doc.text):
        start = doc.text.find(piece, pos)
        if start < 0:  # cannot happen with strip-only splitting; fail loudly if it does
            raise AssertionError(f"chunk not found in {doc.id} after offset {pos}")
        end = start + len(piece)
        chunks.append(Chunk(id=f"{doc.id}:{start}", doc_id=doc.id, start=start, end=end,
                            text=piece, header=head))
        # the next chunk overlaps this one by at most `overlap` characters
        pos = max(start + 1, end - overlap - 1)
    return chunks
