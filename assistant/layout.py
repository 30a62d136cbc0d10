"""A document's text assembled from blocks that know where they come from: a PDF page, a
spreadsheet sheet, a heading's section, a table.

Readers of structured formats (PDF, DOCX, XLSX/ODS) return a list of :class:`Block`;
:func:`assemble` cleans each block on its own and joins them, recording the offsets of pages,
sections and tables in the joined text, so that every chunk can tell its page
(``doc.page_at(chunk.start)``) while ``doc.text[start:end] == chunk.text`` still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.legacy import detect, fix_text
from assistant.text import normalize

SEPARATOR = "\n\n"


@dataclass
class Block:
    """A piece of a document: prose (``text``) or a table (``rows``, the header row first)."""

    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    page: int | None = None  # 1-based PDF page
    section: str | None = None  # "Trang tính Doanh thu", a heading; None: the one before
    ocr_confidence: float | None = None  # mean word confidence (0-100) of an OCR'd page

    @property
    def is_table(self) -> bool:
        return bool(self.rows)


def table_text(rows: list[list[str]]) -> list[str]:
    """Rows as lines ``"cell | cell"``, empty rows and trailing empty cells dropped."""
    lines = []
    for row in rows:
        cells = [" ".join(normalize(c or "").split()) for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def assemble(blocks: list[Block], clean: Callable[[str], str]) -> dict[str, Any]:
    """Join cleaned blocks: ``{"text", "pages", "sections", "tables", "ocr"}`` as the Document
    fields of the same names. Prose goes through ``clean`` (normalise, drop boilerplate); a
    table's rows are normalised only (repeated rows are data)."""
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    sections: list[tuple[int, str]] = []
    tables: list[tuple[int, int, str]] = []
    ocr: dict[int, float] = {}
    pos = 0
    for block in blocks:
        if block.page is not None and (not pages or pages[-1][1] != block.page):
            if pages and pages[-1][0] == pos:
                pages[-1] = (pos, block.page)  # the page before held no text
            else:
                pages.append((pos, block.page))
        if block.page is not None and block.ocr_confidence is not None:
            ocr[block.page] = round(block.ocr_confidence, 1)
        if block.section is not None and (not sections or sections[-1][1] != block.section):
            if sections and sections[-1][0] == pos:
                sections[-1] = (pos, block.section)
            else:
                sections.append((pos, block.section))
        if block.is_table:
            lines = table_text(block.rows)
            text = "\n".join(lines)
            if text:
                tables.append((pos, pos + len(text), lines[0]))
        else:
            text = clean(block.text)
        if not text:
            continue
        parts.append(text)
        pos += len(text) + len(SEPARATOR)
    return {
        "text": SEPARATOR.join(parts),
        "pages": pages,
        "sections": sections,
        "tables": tables,
        "ocr": sorted(ocr.items()),
    }


def fix_legacy(blocks: list[Block]) -> list[Block]:
    """Blocks with their TCVN3/VNI lines and cells converted to Unicode, the encoding detected
    on the whole document (one page or cell is too short to decide on)."""
    whole = "\n".join(
        [b.text for b in blocks] + ["\n".join(" ".join(r) for r in b.rows) for b in blocks]
    )
    encoding = detect(whole)
    if encoding is None:
        return blocks
    for b in blocks:
        b.text = fix_text(b.text, encoding)[0]
        b.rows = [[fix_text(c, encoding)[0] for c in row] for row in b.rows]
        if b.section:
            b.section = fix_text(b.section, encoding)[0]
    return blocks
