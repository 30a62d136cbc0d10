"""The nouns that flow through the pipeline: Document -> Chunk -> Hit -> Answer."""

from __future__ import annotations

import bisect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import numpy as np

MIB = 1024 * 1024  # bytes in a mebibyte: file and part limits

# progress(stage, done, total): reports of long work (reading, OCR, embedding, loading)
Progress = Callable[[str, int, int], None]


class Encoder(Protocol):
    """What indexing and retrieval need of an embedder: ``embed(texts, kind)`` -> unit
    vectors ``(len(texts), dim)`` float32, ``kind`` "query" or "passage"
    (``embeddings.Embedder`` fits)."""

    name: str
    dim: int

    def embed(self, texts: list[str], kind: str = "passage", **kw: Any) -> np.ndarray: ...


class Document(BaseModel):
    """One source file, cleaned. All offsets in the pipeline point into ``text``."""

    id: str  # the path as indexed (absolute, POSIX)
    path: str
    title: str
    text: str
    sha256: str  # of the raw file bytes
    format: str  # txt, md, html, pdf, docx, doc, odt, xlsx, xls, ods
    province: str | None = None
    year: int | None = None  # the primary year (labels); filters ask covers(year)
    period_start: int | None = None  # the years the document covers (assistant/periods.py)
    period_end: int | None = None
    published: str | None = None  # ISO date YYYY-MM-DD
    source_url: str | None = None
    # where each part of ``text`` comes from (assistant/layout.py), all by offsets into ``text``:
    pages: list[tuple[int, int]] = []  # (offset, page number): a PDF page starts there
    sections: list[tuple[int, str]] = []  # (offset, label): a sheet, a heading ("": none)
    tables: list[tuple[int, int, str]] = []  # (start, end, header row) of each table
    ocr: list[tuple[int, float]] = []  # (page number, mean word confidence 0-100) of OCR'd pages

    def page_at(self, offset: int) -> int | None:
        """The PDF page ``text[offset]`` is on (1-based), or None."""
        i = bisect.bisect_right(self.pages, (offset, sys.maxsize)) - 1
        return self.pages[i][1] if i >= 0 else None

    def section_at(self, offset: int) -> str | None:
        """The sheet, heading or table ``text[offset]`` is in, or None."""
        i = bisect.bisect_right(self.sections, (offset, "\U0010ffff")) - 1
        return self.sections[i][1] or None if i >= 0 else None

    def table_at(self, offset: int) -> str | None:
        """The header row of the table ``text[offset]`` is in, or None."""
        for start, end, header in self.tables:
            if start <= offset < end:
                return header
        return None

    def location_at(self, offset: int) -> str | None:
        """Where a citation points, besides its page: "Trang tính Viễn thông, bảng «Chỉ tiêu |
        2020 | 2021»"."""
        table = self.table_at(offset)
        parts = [self.section_at(offset), f"bảng «{table}»" if table else None]
        return ", ".join(p for p in parts if p) or None

    def covers(self, year: int) -> bool:
        """The document's period (else its year) includes ``year``."""
        if self.period_start is not None and self.period_end is not None:
            return self.period_start <= year <= self.period_end
        return self.year == year

    def period(self) -> str | None:
        """ "2020", "2008–2023", or None when unknown."""
        start, end = self.period_start, self.period_end
        if start is not None and end is not None and start != end:
            return f"{start}–{end}"
        return str(self.year) if self.year else None

    def label(self) -> str:
        """Short human label: "Bắc Giang, 2020"."""
        return ", ".join(str(x) for x in (self.province, self.year) if x) or self.title


class Chunk(BaseModel):
    """A span of a document: ``doc.text[start:end] == text``."""

    id: str  # f"{doc_id}:{start}"
    doc_id: str
    start: int
    end: int
    text: str
    header: str = ""  # context (title, province, year) prepended for embedding and BM25

    def indexed_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


class SearchFilter(BaseModel):
    """Which documents a search may return; a field left None does not filter. The vector store
    applies it inside its engine (FAISS: allowed rows; Milvus: a filter expression)."""

    model_config = ConfigDict(frozen=True)

    province: str | None = None  # the canonical name, as in Document.province
    year: int | None = None
    doc_ids: frozenset[str] | None = None

    def matches(self, doc: Document) -> bool:
        return (
            (self.province is None or doc.province == self.province)
            and (self.year is None or doc.covers(self.year))
            and (self.doc_ids is None or doc.id in self.doc_ids)
        )


class Hit(BaseModel):
    """A retrieved chunk with its document and scores."""

    chunk: Chunk
    doc: Document = Field(repr=False)
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None


class Citation(BaseModel):
    """A numbered reference [n] to the exact sentence span of a document."""

    n: int
    doc: str
    title: str
    province: str | None
    year: int | None
    published: str | None = None
    source_url: str | None = None
    chunk_id: str
    start: int
    end: int
    quote: str
    score: float
    page: int | None = None  # the PDF page of the quote ("trang N")
    location: str | None = None  # the sheet, heading or table of the quote


class CitationCheck(BaseModel):
    """What the check of a generated answer found (see :mod:`assistant.citecheck`)."""

    removed: list[int] = []  # numbers of [n] markers to passages that do not exist, taken out
    unverified: list[str] = []  # sentences whose numbers are not in the passages they cite
    uncited: bool = False  # the answer cites no passage at all


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = []
    related: list[Citation] = []  # closest passages shown with a refusal
    hits: list[Hit] = Field(default=[], exclude=True)
    timings_ms: dict[str, float] = {}
    answerer: Literal["extractive", "llm"] = "extractive"  # who wrote ``answer``
    notice: str | None = None  # Vietnamese, shown above the answer (e.g. why the LLM was not used)
    fallback: str | None = None  # why the LLM answer was replaced: unreachable, timeout, ...
    check: CitationCheck | None = None  # of a generated answer
    table: dict | None = None  # an answer from the indicator table (assistant/compare.py)

    def to_json_dict(self) -> dict:
        """The public JSON shape of ``ask --json`` and the app's API. ``answerer``, ``notice``,
        ``fallback`` and ``check`` appear only when set (language-model mode)."""
        data = self.model_dump(mode="json", exclude={"hits"})
        for key in ("notice", "fallback", "check", "table"):
            if data[key] is None:
                del data[key]
        if data["answerer"] == "extractive" and "fallback" not in data:
            del data["answerer"]
        return data
