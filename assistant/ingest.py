"""Files -> Documents: read txt/md/html/pdf/docx, decode, normalise, clean web boilerplate,
and detect metadata (title, province, year, publication date, source address).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.errors import BadFileError
from assistant.provinces import find_provinces
from assistant.text import normalize
from assistant.types import Document

log = logging.getLogger(__name__)

SUPPORTED = {".txt": "txt", ".md": "md", ".html": "html", ".htm": "html", ".pdf": "pdf",
             ".docx": "docx"}
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a DOCX that inflates beyond this is refused


@dataclass
class Rejected:
    path: str
    reason: str


def iter_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Supported files under the given files or folders (recursive, sorted, hidden skipped)."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and f.suffix.lower() in SUPPORTED and not any(
                    part.startswith(".") for part in rel
                ):
                    yield f
        else:
            yield p


def load_document(path: Path | str, max_bytes: int = 20 * 1024 * 1024) -> Document:
    """Read one file as a cleaned Document, or raise BadFileError with a one-line reason."""
    path = Path(path)
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise BadFileError(f"unsupported file type {path.suffix or '(none)'!r}; "
                           f"use one of {', '.join(sorted(SUPPORTED))}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadFileError(f"file is too large ({size / 1e6:.1f} MB, limit "
                               f"{max_bytes / 1e6:.1f} MB)")
        raw = path.read_bytes()
    except OSError as err:
        raise BadFileError(f"cannot read file: {err.strerror or err}") from err
    if not raw.strip():
        raise BadFileError("file is empty")
    meta: dict[str, str | None] = {}
    if fmt in ("txt", "md"):
        text = decode(raw)
    elif fmt == "html":
        text, meta = _html_text(decode(raw))
    elif fmt == "pdf":
        text, meta = _pdf_text(raw)
    else:
        text, meta = _docx_text(raw)
    text = clean_text(normalize(text))
    if not text.strip():
        raise BadFileError("no text found in the file")
    resolved = path.resolve().as_posix()
    return Document(
        id=resolved, path=resolved, text=text, format=fmt,
        sha256=hashlib.sha256(raw).hexdigest(),
        **detect_metadata(text, title=meta.get("title"), published=meta.get("published"),
                          source_url=meta.get("url")),
    )


def load_documents(
    paths: Iterable[Path | str], max_bytes: int = 20 * 1024 * 1024
) -> tuple[list[Document], list[Rejected]]:
    """Load every supported file under ``paths``; bad files are returned with their reason."""
    docs, rejected = [], []
    for f in iter_files(paths):
        try:
            docs.append(load_document(f, max_bytes))
        except BadFileError as err:
            log.warning("skipped %s: %s", f, err)
            rejected.append(Rejected(str(f), str(err)))
    return docs, rejected


# --- decoding -------------------------------------------------------------------------------

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
# Letters of Vietnamese that Windows-1258 text decodes to (base letters + combining tones).
_VI_HINT = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323]")


def decode(raw: bytes) -> str:
    """Bytes -> str: BOMs, UTF-8, UTF-16 without BOM, then legacy Windows-1258."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError as err:
                raise BadFileError(f"invalid {enc} text at byte {err.start}") from err
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
    if b"\x00" in sample or _control_share(sample) > 0.05:
        raise BadFileError("binary content, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1258")
    except UnicodeDecodeError as err:
        raise BadFileError("cannot decode the text (not UTF-8, UTF-16 or Windows-1258)") from err
    if not _VI_HINT.search(text):
        raise BadFileError("cannot decode the text (not UTF-8, UTF-16 or Windows-1258)")
    return text


def _looks_like_text(text: str) -> bool:
    """Mostly letters, digits, punctuation and spaces: not binary decoded by chance."""
    sample = text[:2000]
    odd = sum(1 for ch in sample if unicodedata.category(ch)[0] == "C" and ch not in "\n\r\t")
    return odd <= len(sample) * 0.02


def _control_share(sample: bytes) -> float:
    bad = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return bad / max(len(sample), 1)


# --- formats --------------------------------------------------------------------------------


def _html_text(html: str) -> tuple[str, dict[str, str | None]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    meta: dict[str, str | None] = {}

    def content(**attrs: str) -> str | None:
        tag = soup.find("meta", attrs=attrs)
        value = tag.get("content") if tag else None
        return value.strip() if isinstance(value, str) and value.strip() else None

    og_title = content(property="og:title")
    meta["title"] = og_title or (soup.title.get_text(" ", strip=True) if soup.title else None)
    meta["published"] = content(property="article:published_time") or content(name="pubdate")
    canonical = soup.find("link", rel="canonical")
    href = canonical.get("href") if canonical else None
    meta["url"] = content(property="og:url") or (href if isinstance(href, str) else None)
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "form", "iframe",
                     "svg", "template", "head"]):
        tag.decompose()
    body = soup.body or soup
    return body.get_text("\n"), meta


def _pdf_text(raw: bytes) -> tuple[str, dict[str, str | None]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise BadFileError("PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info and info.title else None
    except BadFileError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as err:
        raise BadFileError(f"corrupt or unreadable PDF ({type(err).__name__})") from err
    return "\n\n".join(pages), {"title": title}


def _docx_text(raw: bytes) -> tuple[str, dict[str, str | None]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED_BYTES:
                raise BadFileError("DOCX inflates to more than 200 MB (zip bomb?)")
        d = docx.Document(io.BytesIO(raw))
    except BadFileError:
        raise
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError) as err:
        raise BadFileError(f"corrupt or unreadable DOCX ({type(err).__name__})") from err
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    title = d.core_properties.title or None
    return "\n\n".join(parts), {"title": title}


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

_YEAR = re.compile(r"\b(?:năm|Năm|NĂM)\s+((?:19|20)\d\d)\b")
_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-]((?:19|20)\d\d)\b")
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)")
_DATELINE = re.compile(r"\d{1,2}:\d{2}|^\(?(thứ|cập nhật|ngày đăng|đăng ngày|ngày)\b", re.I)
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_TOPIC = re.compile(r"thông tin|truyền thông|cntt|chuyển đổi số|bưu chính|viễn thông", re.I)


def detect_metadata(
    text: str, title: str | None = None, published: str | None = None,
    source_url: str | None = None,
) -> dict:
    """Title, province, report year, publication date (ISO) and source address of a text."""
    title = normalize(title).strip() if title else _guess_title(text)
    head = text[:3000]
    provinces = [p for p, _, _ in find_provinces(title, capitalised=True)]
    if not provinces:
        counts = Counter(p for p, _, _ in find_provinces(head, capitalised=True))
        provinces = [p for p, _ in counts.most_common(1)]
    pub = _parse_date(published) if published else None
    pub = pub or _parse_date(text[:600])
    return {"title": title, "province": provinces[0] if provinces else None,
            "year": _guess_year(title, head, pub), "published": pub,
            "source_url": source_url or _source_url(text)}


def _guess_year(title: str, head: str, published: str | None) -> int | None:
    """The year a report is about: named in the title, else the publication year (a report
    published in January-March is about the year before), else the most mentioned year."""
    years = _YEAR.findall(title)
    if years:
        return int(years[0])
    if published:
        y, m = int(published[:4]), int(published[5:7])
        return y - 1 if m <= 3 else y
    counts = Counter(int(y) for y in re.findall(r"\b((?:19|20)\d\d)\b", head))
    return max(counts, key=lambda y: (counts[y], y)) if counts else None


def _source_url(text: str) -> str | None:
    """"Nguồn: http://..." anywhere, or an address opening one of the first lines."""
    m = re.search(r"(?:nguồn|source)\s*:?\s*(" + _URL.pattern + ")", text, re.I)
    if m:
        return m.group(1)
    for line in text.split("\n")[:3]:
        m = _URL.match(line.strip())
        if m:
            return m.group()
    return None
def _parse_date(s: str) -> str | None:
    m = _ISO_DATE.search(s)
    if m:
        y, mo, d = map(int, m.groups())
    else:
        m = _DATE.search(s)
        if not m:
            return None
        d, mo, y = map(int, m.groups())
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def _is_dateline(line: str) -> bool:
    """"Thứ bảy, 23/01/2021 09:24 AM", "(Cập nhật lúc: 04/02/2020 16:32:33 )"."""
    return bool(_DATE.search(line) and _DATELINE.search(line))


def _guess_title(text: str) -> str:
    """The first short line near the top that names the topic or a province."""
    lines = [line for line in text.split("\n") if line.strip()][:10]
    candidates = [
        line for line in lines
        if 15 <= len(line) <= 200 and not _is_dateline(line) and not line.endswith(".")
        and not _URL.match(line)
    ]
    for line in candidates:
        if _TOPIC.search(line) or find_provinces(line, capitalised=True):
            return line
    return (candidates or lines or [""])[0][:200]
