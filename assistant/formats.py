"""Text out of HTML, PDF and DOCX, with bounded time and memory on hostile files.

Each reader returns ``(text, metadata)`` or raises :class:`BadFileError` with a one-line reason.

* HTML: parsed into a tree (BeautifulSoup) unless it has more than ``MAX_HTML_TAGS`` tags or is
  nested deeper than ``MAX_HTML_DEPTH``; such pages are read by a linear tag stripper instead
  (a tree of a million nested tags takes minutes and gigabytes).
* DOCX: refused when its members inflate beyond ``MAX_UNZIPPED_BYTES`` in all (read from the
  zip directory, nothing inflated) or its main part beyond ``MAX_DOCX_XML_BYTES``; the main
  part is streamed (``lxml.etree.iterparse``, entities and DTDs off) and freed as it goes.
* PDF: pypdf, whose own limits refuse decompression bombs.
"""

from __future__ import annotations

import html as htmllib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from assistant.errors import BadFileError

MIB = 1024 * 1024
MAX_HTML_TAGS = 100_000  # more: the linear tag stripper
MAX_HTML_DEPTH = 512  # deeper: the linear tag stripper
MAX_UNZIPPED_BYTES = 200 * MIB  # a DOCX whose members inflate beyond this in all is refused
MAX_DOCX_XML_BYTES = 64 * MIB  # ... or whose main document part inflates beyond this
MAX_DOCX_ELEMENTS = 3_000_000  # XML elements in the main document part (~300 MB)

Meta = dict[str, str | None]

# --- HTML ---------------------------------------------------------------------------------------

_DROPPED_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "form", "iframe",
                 "svg", "template", "head", "aside")
# Containers of site furniture by their class, id or role: sidebars, menus, breadcrumbs, widgets
# of other news ("sidebar", "menu-top", "role=navigation", "box-tin-lien-quan").
_FURNITURE = re.compile(r"(^|[\s_-])(sidebar|side-bar|menu|navbar|breadcrumbs?|widget|banner"
                        r"|tin-?lien-?quan|related|quang-?cao|advert)s?($|[\s_-])", re.I)
_CONTENT = re.compile(r"content|article|detail|noi-?dung|post|entry|body", re.I)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr"})
_IMPLIED_END = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody",
                          "tfoot", "colgroup"})
_BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                    "section", "article", "td", "th"})
# A tag, its name in group 2; [^<>]* keeps a scan from running past the next "<" (linear time).
_TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)[^<>]*>|<![^<>]*>")
_TITLE = re.compile(r"<title[^<>]*>([^<]{1,1000})</title", re.IGNORECASE)


def html_text(html: str) -> tuple[str, Meta]:
    """Visible text of a page and its title, publication date and canonical address."""
    if too_complex(html):
        return flat_html_text(html)
    return _tree_html_text(html)


def too_complex(html: str) -> bool:
    """More than ``MAX_HTML_TAGS`` tags, or nested deeper than ``MAX_HTML_DEPTH`` (elements
    closed implicitly, like ``<p>`` and ``<li>``, and void ones are not counted)."""
    depth = peak = 0
    for n, m in enumerate(_TAG.finditer(html)):
        if n >= MAX_HTML_TAGS:
            return True
        name = (m.group(2) or "").lower()
        if not name or name in _VOID or name in _IMPLIED_END or m.group(0).endswith("/>"):
            continue
        depth = max(depth - 1, 0) if m.group(1) else depth + 1
        peak = max(peak, depth)
    return peak > MAX_HTML_DEPTH


def flat_html_text(html: str) -> tuple[str, Meta]:
    """Text between tags, in one linear pass: script, style, head (...) contents dropped, a line
    break for block elements, entities decoded. Used for pages too big or deep for a tree."""
    out: list[str] = []
    pos, skipping = 0, ""
    for m in _TAG.finditer(html):
        closing, name = m.group(1), (m.group(2) or "").lower()
        if not skipping:
            out.append(html[pos:m.start()])
            if not closing and name in _DROPPED_TAGS:
                skipping = name
            elif name in _BLOCK:
                out.append("\n")
        elif (closing and name == skipping) or (skipping == "head" and name == "body"):
            skipping = ""
        pos = m.end()
    if not skipping:
        out.append(html[pos:])
    title = _TITLE.search(html)
    meta: Meta = {"title": htmllib.unescape(title.group(1)).strip() or None if title else None,
                  "published": None, "url": None}
    return htmllib.unescape("".join(out)), meta


def _tree_html_text(html: str) -> tuple[str, Meta]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    meta: Meta = {}

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
    for tag in soup(list(_DROPPED_TAGS)):
        tag.decompose()
    for tag in soup.find_all(_is_furniture):
        tag.decompose()
    body = soup.body or soup
    return body.get_text("\n"), meta


def _is_furniture(tag: Any) -> bool:
    """A sidebar, menu or widget container (never ``body``, ``main`` or ``article``)."""
    if tag.name in ("body", "main", "article", "html") or getattr(tag, "attrs", None) is None:
        return False
    if tag.get("role") in ("navigation", "complementary", "banner"):
        return True
    names = " ".join([*(tag.get("class") or []), tag.get("id") or ""])
    return bool(_FURNITURE.search(names)) and not _CONTENT.search(names)


# --- PDF ----------------------------------------------------------------------------------------


def pdf_text(raw: bytes) -> tuple[str, Meta]:
    """Text of every page and the document title."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise BadFileError("PDF is encrypted; remove the password and try again")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info and info.title else None
    except BadFileError:
        raise
    except LimitReachedError as err:
        raise BadFileError("PDF stream inflates beyond the safety limit (compression bomb?)"
                           ) from err
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError,
            RecursionError, zlib.error) as err:
        raise BadFileError(f"corrupt or unreadable PDF ({type(err).__name__})") from err
    return "\n\n".join(pages), {"title": title}


# --- DOCX ---------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _R, _T, _TAB, _BR, _CR = (_W + t for t in ("p", "r", "t", "tab", "br", "cr"))
_TC, _TR, _DOCUMENT = _W + "tc", _W + "tr", _W + "document"
_OFFICE_DOCUMENT = "/officeDocument"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_SMALL_PART = MIB  # .rels and core.xml larger than this are ignored


def docx_text(raw: bytes) -> tuple[str, Meta]:
    """Paragraphs and table rows (``cell | cell``) in document order, and the title."""
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            check_zip_sizes(z)
            main = _main_part(z)
            text = "\n\n".join(_docx_blocks(z, main))
            title = _docx_title(z)
    except BadFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, OSError, EOFError,
            etree.LxmlError, zlib.error, NotImplementedError) as err:
        raise BadFileError(f"corrupt or unreadable DOCX ({type(err).__name__})") from err
    return text, {"title": title}


def check_zip_sizes(z: zipfile.ZipFile) -> None:
    """Refuse an archive by the sizes its directory declares, before inflating anything. (A
    member that inflates beyond its declared size fails its CRC check when read: zipfile stops
    at the declared size.)"""
    total = sum(i.file_size for i in z.infolist())
    if total > MAX_UNZIPPED_BYTES:
        raise BadFileError(f"DOCX inflates to {total / MIB:,.0f} MB, more than the "
                           f"{MAX_UNZIPPED_BYTES // MIB} MB limit (zip bomb?)")


def _main_part(z: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The main document part named by ``_rels/.rels`` (usually ``word/document.xml``)."""
    name = "word/document.xml"
    rels = _small_xml(z, "_rels/.rels")
    if rels is not None:
        for rel in rels.iter("{*}Relationship"):
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT) and rel.get("Target"):
                name = rel.get("Target", "").lstrip("/")
                break
    try:
        info = z.getinfo(name)
    except KeyError as err:
        raise BadFileError("not a Word document: the DOCX has no main document part") from err
    if info.file_size > MAX_DOCX_XML_BYTES:
        raise BadFileError(f"DOCX text part inflates to {info.file_size / MIB:,.0f} MB, more "
                           f"than the {MAX_DOCX_XML_BYTES // MIB} MB limit (zip bomb?)")
    with z.open(info) as fh:
        head = fh.read(4096)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise BadFileError("DOCX part declares a DTD, which Word files never do (entity bomb?)")
    return info


def _docx_blocks(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[str]:
    """Paragraph texts and table rows of the main part, streamed: each run, paragraph and
    row is freed once read, and the element count is capped, so memory stays bounded
    whatever the document holds."""
    from lxml import etree

    para: list[str] = []
    cell: list[str] = []
    row: list[str] = []
    with z.open(info) as fh:
        events = etree.iterparse(fh, events=("end",), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False)
        for n, (_, el) in enumerate(events):
            if n >= MAX_DOCX_ELEMENTS:
                raise BadFileError(f"DOCX has more than {MAX_DOCX_ELEMENTS:,} XML elements; "
                                   "split the document")
            tag = el.tag
            if tag == _T:
                para.append(el.text or "")
            elif tag == _R:
                _free(el)
            elif tag == _TAB:
                para.append("\t")
            elif tag in (_BR, _CR):
                para.append("\n")
            elif tag == _P:
                text = "".join(para)
                para.clear()
                parent = el.getparent()
                if parent is not None and parent.tag == _TC:
                    cell.append(text)
                else:
                    yield text
                _free(el)
            elif tag == _TC:
                row.append("\n".join(cell).strip())
                cell.clear()
            elif tag == _TR:
                yield " | ".join(row)
                row.clear()
                _free(el)
            elif tag == _DOCUMENT:
                return
    raise BadFileError("not a Word document: the DOCX main part is not w:document")


def _free(el: Any) -> None:
    """Drop an element already read, and its earlier siblings (the lxml iterparse idiom)."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _small_xml(z: zipfile.ZipFile, name: str) -> Any:
    """A small XML part (``_rels/.rels``, ``docProps/core.xml``) parsed safely, or None."""
    from lxml import etree

    try:
        info = z.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _SMALL_PART:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(z.read(info), parser)
    except etree.XMLSyntaxError:
        return None


def _docx_title(z: zipfile.ZipFile) -> str | None:
    core = _small_xml(z, "docProps/core.xml")
    if core is None:
        return None
    title = core.find(_DC_TITLE)
    return title.text.strip() or None if title is not None and title.text else None
