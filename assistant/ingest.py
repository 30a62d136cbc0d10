"""Files -> Documents: read txt/md/html/pdf/docx, decode, normalise, clean web boilerplate,
and detect metadata (title, province, year, publication date, source address).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.docx import docx_blocks
from assistant.errors import BadFileError
from assistant.formats import MAX_UNZIPPED_BYTES, html_text
from assistant.layout import Block, assemble, fix_legacy
from assistant.legacy import fix_text, looks_legacy_bytes
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
    "decode",
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


# --- decoding -------------------------------------------------------------------------------

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
# Letters of Vietnamese that Windows-1258 text decodes to (base letters + combining tones).
_VI_HINT = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323]")


def decode(raw: bytes) -> str:
    """Bytes -> str: BOMs, UTF-8 (mojibake repaired, a few corrupt bytes tolerated), UTF-16
    without BOM, then legacy Windows-1258. Stray NULs pass (normalize drops them); text with
    many control bytes is binary."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError as err:
                raise BadFileError(
                    f"invalid {enc} text at byte {err.start}", code="file_bad_text"
                ) from err
    sample = raw[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        with contextlib.suppress(UnicodeDecodeError):
            text = raw.decode("utf-16-le")
            if _looks_like_text(text):
                return text
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        with contextlib.suppress(UnicodeDecodeError):
            text = raw.decode("utf-16-be")
            if _looks_like_text(text):
                return text
    if _control_share(sample) > 0.05:
        raise BadFileError("binary content, not text", code="file_binary")
    try:
        return unmojibake(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(raw)
    if mostly is not None:
        return mostly
    if looks_legacy_bytes(raw):  # TCVN3 or VNI bytes: as Windows-1252, converted later
        return raw.decode("cp1252", "replace")
    try:
        text = raw.decode("cp1258")
    except UnicodeDecodeError as err:
        raise BadFileError(
            "cannot decode the text (not UTF-8, UTF-16 or Windows-1258)", code="file_encoding"
        ) from err
    if not _VI_HINT.search(text) and any(ch.isalpha() for ch in text):
        raise BadFileError(
            "cannot decode the text (not UTF-8, UTF-16 or Windows-1258)", code="file_encoding"
        )
    return text


def _mostly_utf8(raw: bytes, tolerance: float = 0.02) -> str | None:
    """UTF-8 with a few corrupt bytes (at most ``tolerance`` of its non-ASCII bytes), each
    replaced by U+FFFD; None when the bytes are not UTF-8 (e.g. Windows-1258, where almost
    every non-ASCII byte is invalid UTF-8)."""
    high = len(raw) - len(raw.translate(None, bytes(range(128))))
    text = raw.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    return text if high and bad <= high * tolerance else None


# Characters that Windows-1252 decodes bytes 0x80-0x9F to, back to those bytes (as latin-1).
_CP1252_BACK = {
    ord(bytes([b]).decode("cp1252")): b
    for b in range(0x80, 0xA0)
    if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
# UTF-8 lead bytes of Vietnamese letters read as Windows-1252/latin-1: "Ã¡", "Ä‘", "áº¯", "á»‡"
_MOJIBAKE = re.compile("[ÃÄÆ][\u0080-\u00bf\u0152-\u0192\u02c6-\u02dc\u2013-\u2122]|á[º»]")


def unmojibake(text: str) -> str:
    """Repair UTF-8 that was read as Windows-1252 or latin-1 and saved again as UTF-8
    (``"BÃ¡o cÃ¡o"`` -> ``"Báo cáo"``). The text is kept as it is unless all of it round-trips.

    >>> unmojibake("NÄƒm 2020, Báº¯c Giang")
    'Năm 2020, Bắc Giang'
    """
    if not _MOJIBAKE.search(text):
        return text
    try:
        return text.translate(_CP1252_BACK).encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _looks_like_text(text: str) -> bool:
    """Mostly letters, digits, punctuation and spaces: not binary decoded by chance."""
    sample = text[:2000]
    odd = sum(1 for ch in sample if unicodedata.category(ch)[0] == "C" and ch not in "\n\r\t")
    return odd <= len(sample) * 0.02


def _control_share(sample: bytes) -> float:
    bad = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return bad / max(len(sample), 1)


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
