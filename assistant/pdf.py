"""PDF -> blocks, page by page: a page with a text layer keeps it (its ruled tables kept as
tables), a page without one is rendered and recognised (:mod:`assistant.ocr`).

Every block knows its page, so every chunk can cite "trang N".
"""

from __future__ import annotations

import hashlib
import io
import zlib

from assistant.errors import BadFileError
from assistant.formats import Meta
from assistant.layout import Block
from assistant.ocr import Progress, recognise_pages
from assistant.tables import pdf_page_blocks, pdf_tables

MIN_PAGE_CHARS = 1  # a page with fewer non-space characters in its text layer is scanned


def pdf_blocks(raw: bytes, progress: Progress | None = None) -> tuple[list[Block], Meta]:
    """Blocks of every page in order, and the document title."""
    texts, title = _text_layer(raw)
    scanned = [i + 1 for i, t in enumerate(texts) if len("".join(t.split())) < MIN_PAGE_CHARS]
    with_text = [i + 1 for i, t in enumerate(texts) if i + 1 not in set(scanned)]
    tables = pdf_tables(raw, [p for p in with_text if _may_hold_table(texts[p - 1])])
    recognised = (
        recognise_pages(raw, scanned, hashlib.sha256(raw).hexdigest(), progress) if scanned else {}
    )
    blocks: list[Block] = []
    for number, text in enumerate(texts, start=1):
        if number in tables:
            blocks += pdf_page_blocks(number, tables[number])
        elif number in recognised:
            page = recognised[number]
            blocks.append(Block(text=page.text, page=number, ocr_confidence=page.confidence))
        else:
            blocks.append(Block(text=text, page=number))
    return blocks, {"title": title}


def _may_hold_table(text: str) -> bool:
    """Worth the table pass: a page with at least two lines holding several numbers."""
    lines = [line for line in text.split("\n") if sum(ch.isdigit() for ch in line) >= 2]
    return len(lines) >= 2


def _text_layer(raw: bytes) -> tuple[list[str], str | None]:
    """The text layer of each page (pypdf, whose limits refuse decompression bombs)."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise BadFileError(
                "PDF is encrypted; remove the password and try again", code="pdf_encrypted"
            )
        texts = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info and info.title else None
    except BadFileError:
        raise
    except LimitReachedError as err:
        raise BadFileError(
            "PDF stream inflates beyond the safety limit (compression bomb?)", code="pdf_bomb"
        ) from err
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        OSError,
        AttributeError,
        IndexError,
        RecursionError,
        zlib.error,
    ) as err:
        raise BadFileError(
            f"corrupt or unreadable PDF ({type(err).__name__})", code="pdf_unreadable"
        ) from err
    if not texts:
        raise BadFileError("no text found in the PDF (it has no pages)", code="pdf_no_text")
    return texts, title
