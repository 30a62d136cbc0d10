"""Files -> Documents: read txt/md/html/pdf/docx (text bytes decoded by
:mod:`assistant.decoding`), normalise, clean web boilerplate, and detect metadata (title,
province, year, publication date, source address).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.decoding import decode
from assistant.docx import docx_blocks
from assistant.errors import BadFileError
from assistant.formats import MAX_UNZIPPED_BYTES, html_text
from assistant.layout import Block, assemble, fix_legacy
from assistant.legacy import fix_text
from assistant.office import doc_text, odt_blocks
from assistant.pdf import pdf_blocks
from assistant.periods import document_period
from assistant.provinces import find_provinces
from assistant.tables import sheet_blocks
from assistant.text import normalize
from assistant.types import MIB, Document, Progress

log = logging.getLogger(__name__)

SUPPORTED = {
    ".txt": "txt",
    ".md": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".doc": "doc",
    ".odt": "odt",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".ods": "ods",
}
# the BadFileError code of a file its reader failed on unexpectedly
UNREADABLE = {
    "pdf": "pdf_unreadable",
    "docx": "docx_unreadable",
    "doc": "office_unreadable",
    "odt": "office_unreadable",
    "xlsx": "office_unreadable",
    "xls": "office_unreadable",
    "ods": "office_unreadable",
}
pdf_text = pdf_blocks  # the PDF reader (tests replace it by this name)
__all__ = [
    "MAX_UNZIPPED_BYTES",
    "SUPPORTED",
    "Rejected",
    "clean_text",
    "detect_metadata",
    "iter_files",
    "load_document",
    "load_documents",
]


@dataclass
class Rejected:
    path: str
    reason: str
    code: str = "bad_file"  # the BadFileError's code (assistant/errors.py)


def iter_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Supported files under the given files or folders (recursive, sorted, hidden skipped)."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if (
                    f.is_file()
                    and f.suffix.lower() in SUPPORTED
                    and not any(part.startswith(".") for part in rel)
                ):
                    yield f
        else:
            yield p


def load_document(
    path: Path | str, max_bytes: int = 20 * MIB, progress: Progress | None = None
) -> Document:
    """Read one file as a cleaned Document, or raise BadFileError with a one-line reason.
    ``progress("ocr", page, pages)`` follows the OCR of a scanned PDF page by page."""
    path = Path(path)
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise BadFileError(
            f"unsupported file type {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(SUPPORTED))}",
            code="file_unsupported",
        )
    try:
        path.as_posix().encode("utf-8")
    except UnicodeEncodeError as err:
        raise BadFileError(
            "the file name is not valid UTF-8; rename the file", code="file_unreadable"
        ) from err
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadFileError(
                f"file is too large ({size / MIB:.1f} MB, limit {max_bytes / MIB:.1f} MB)",
                code="file_too_large",
            )
        raw = path.read_bytes()
    except OSError as err:
        raise BadFileError(
            f"cannot read file: {err.strerror or err}", code="file_unreadable"
        ) from err
    if not raw.strip():
        raise BadFileError("file is empty", code="file_empty")
    extracted, meta = _extract(raw, fmt, progress)
    if isinstance(extracted, str):  # legacy TCVN3/VNI lines back to Unicode, then cleaned
        layout: dict = {"text": clean_text(normalize(fix_text(extracted)[0]))}
    else:  # blocks that know their page, sheet or section (assistant/layout.py)
        layout = assemble(fix_legacy(extracted), lambda t: clean_text(normalize(t)))
    text = layout.pop("text")
    if not text.strip():
        raise BadFileError(
            "no text found in the PDF (OCR found no text on its pages)"
            if fmt == "pdf"
            else "no text found in the file (only spaces, markup or invisible characters)",
            code="pdf_no_text" if fmt == "pdf" else "file_no_text",
        )
    resolved = path.resolve().as_posix()
    return Document(
        id=resolved,
        path=resolved,
        text=text,
        format=fmt,
        sha256=hashlib.sha256(raw).hexdigest(),
        **layout,
        **detect_metadata(
            text,
            title=meta.get("title"),
            published=meta.get("published"),
            source_url=meta.get("url"),
        ),
    )


def _extract(
    raw: bytes, fmt: str, progress: Progress | None = None
) -> tuple[str | list[Block], dict[str, str | None]]:
    """The file's text (or blocks) and metadata by format. Any failure of a parser becomes a
    BadFileError: one hostile file never stops a batch."""
    try:
        if fmt in ("txt", "md"):
            return decode(raw), {}
        if fmt == "html":
            return html_text(decode(raw))
        if fmt == "pdf":
            return pdf_text(raw, progress) if progress else pdf_text(raw)
        if fmt == "doc":
            return doc_text(raw)
        if fmt == "odt":
            return odt_blocks(raw)
        if fmt in ("xlsx", "xls", "ods"):
            return sheet_blocks(raw, fmt)
        return docx_blocks(raw)
    except BadFileError:
        raise
    except Exception as err:  # a parser bug (or MemoryError) must not abort the batch
        log.warning("unexpected %s reading a %s file", type(err).__name__, fmt, exc_info=True)
        raise BadFileError(
            f"unreadable {fmt.upper()} file ({type(err).__name__})",
            code=UNREADABLE.get(fmt, "file_unreadable"),
        ) from err


def load_documents(
    paths: Iterable[Path | str], max_bytes: int = 20 * MIB
) -> tuple[list[Document], list[Rejected]]:
    """Load every supported file under ``paths``; bad files are returned with their reason."""
    docs, rejected = [], []
    for f in iter_files(paths):
        try:
            docs.append(load_document(f, max_bytes))
        except BadFileError as err:
            log.warning("skipped %s: %s", f, err)
            rejected.append(Rejected(str(f), str(err), err.code))
    return docs, rejected


# --- cleaning -------------------------------------------------------------------------------

_BOILERPLATE = re.compile(
    r"^(skip ribbon commands|skip to main content|sign in|đăng nhập|menu|vn en|image banner"
    r"|anh tin bai|in bài viết.*|chia sẻ.*|cỡ chữ\s*:.*|xem với cỡ chữ.*|lượt xem\s*:?.*"
    r"|.*kính chào quý khách.*|trang chủ( góp ý| sơ đồ trang| liên hệ)+|bản in|về đầu trang"
    r"|•?\s*(đang online|hôm nay|trong tuần|tất cả|hôm qua|tổng truy cập)\s*:\s*[\d.,]+)$",
    re.IGNORECASE,
)
# Everything from such a heading on is a list of other news, not the report.
_TRAILER = re.compile(
    r"^(tin khác|các tin khác|tin tức khác|tin liên quan|các tin liên quan|bài viết liên quan"
    r"|tin cùng chuyên mục|xem thêm|thống kê truy cập|tin mới nhất|đọc nhiều nhất)\s*:?$",
    re.IGNORECASE,
)


def clean_text(text: str) -> str:
    """Drop site menus and widgets, captions repeated twice in a row, and trailing news lists.

    >>> clean_text("Tiêu đề\\nLượt xem: 246\\nẢnh 1\\nẢnh 1\\nNội dung.\\nTin khác\\nTai nạn")
    'Tiêu đề\\nẢnh 1\\nNội dung.'
    """
    lines = [line.strip() for line in text.split("\n")]
    total = sum(len(line) + 1 for line in lines)
    kept: list[str] = []
    seen = 0
    previous = None
    for line in lines:
        seen += len(line) + 1
        if _TRAILER.match(line) and seen > total * 0.3:
            break
        if not line:
            if kept and kept[-1]:
                kept.append("")
            continue
        if _BOILERPLATE.match(line) or line == previous:
            continue
        kept.append(line)
        previous = line
    return "\n".join(kept).strip()


# --- metadata -------------------------------------------------------------------------------

_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-]((?:19|20)\d\d)\b")
_DATELINE = re.compile(r"\d{1,2}:\d{2}|^\(?(thứ|cập nhật|ngày đăng|đăng ngày|ngày)\b", re.I)
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_TOPIC = re.compile(r"thông tin|truyền thông|cntt|chuyển đổi số|bưu chính|viễn thông", re.I)


def detect_metadata(
    text: str,
    title: str | None = None,
    published: str | None = None,
    source_url: str | None = None,
) -> dict:
    """Title, province, report year and period (:mod:`assistant.periods`), publication date
    (ISO) and source address of a text."""
    title = normalize(title).strip() if title else _guess_title(text)
    head = text[:3000]
    provinces = [p for p, _, _ in find_provinces(title, capitalised=True)]
    if not provinces:
        counts = Counter(p for p, _, _ in find_provinces(head, capitalised=True))
        provinces = [p for p, _ in counts.most_common(1)]
    period = document_period(text, title, published)
    return {
        "title": title,
        "province": provinces[0] if provinces else None,
        "year": period.year,
        "period_start": period.start,
        "period_end": period.end,
        "published": period.published,
        "source_url": source_url or _source_url(text),
    }


def _source_url(text: str) -> str | None:
    """ "Nguồn: http://..." anywhere, or an address opening one of the first lines."""
    m = re.search(r"(?:nguồn|source)\s*:?\s*(" + _URL.pattern + ")", text, re.I)
    if m:
        return m.group(1)
    for line in text.split("\n")[:3]:
        m = _URL.match(line.strip())
        if m:
            return m.group()
    return None


def _is_dateline(line: str) -> bool:
    """ "Thứ bảy, 23/01/2021 09:24 AM", "(Cập nhật lúc: 04/02/2020 16:32:33 )"."""
    return bool(_DATE.search(line) and _DATELINE.search(line))


def _guess_title(text: str) -> str:
    """The first short line near the top that names the topic or a province."""
    lines = [line for line in text.split("\n") if line.strip()][:10]
    candidates = [
        line
        for line in lines
        if 15 <= len(line) <= 200
        and not _is_dateline(line)
        and not line.endswith(".")
        and not _URL.match(line)
    ]
    for line in candidates:
        if _TOPIC.search(line) or find_provinces(line, capitalised=True):
            return line
    return (candidates or lines or [""])[0][:200]
