"""Text out of HTML, and the limits every reader of a hostile file shares.

The HTML reader returns ``(text, metadata)`` or raises :class:`BadFileError` with a one-line
reason; PDF is read by :mod:`assistant.pdf`, DOCX by :mod:`assistant.docx`, workbooks by
:mod:`assistant.tables`, .doc/.odt by :mod:`assistant.office`.

* HTML: parsed into a tree (BeautifulSoup) unless it has more than ``MAX_HTML_TAGS`` tags or is
  nested deeper than ``MAX_HTML_DEPTH``; such pages are read by a linear tag stripper instead
  (a tree of a million nested tags takes minutes and gigabytes).
* Archives: refused when their members inflate beyond ``MAX_UNZIPPED_BYTES`` in all (read
  from the zip directory, nothing inflated); a DOCX main part beyond ``MAX_DOCX_XML_BYTES``.
"""

from __future__ import annotations

import html as htmllib
import re
import zipfile
from typing import Any

from assistant.errors import BadFileError
from assistant.types import MIB

MAX_HTML_TAGS = 100_000  # more: the linear tag stripper
MAX_HTML_DEPTH = 512  # deeper: the linear tag stripper
MAX_UNZIPPED_BYTES = 200 * MIB  # a DOCX whose members inflate beyond this in all is refused
MAX_DOCX_XML_BYTES = 64 * MIB  # ... or whose main document part inflates beyond this
MAX_DOCX_ELEMENTS = 3_000_000  # XML elements in the main document part (~300 MB)

Meta = dict[str, str | None]

# --- HTML ---------------------------------------------------------------------------------------

_DROPPED_TAGS = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "form",
    "iframe",
    "svg",
    "template",
    "head",
    "aside",
)
# Containers of site furniture by their class, id or role: sidebars, menus, breadcrumbs, widgets
# of other news ("sidebar", "menu-top", "role=navigation", "box-tin-lien-quan").
_FURNITURE = re.compile(
    r"(^|[\s_-])(sidebar|side-bar|menu|navbar|breadcrumbs?|widget|banner"
    r"|tin-?lien-?quan|related|quang-?cao|advert)s?($|[\s_-])",
    re.I,
)
_CONTENT = re.compile(r"content|article|detail|noi-?dung|post|entry|body", re.I)
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_IMPLIED_END = frozenset(
    {"p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot", "colgroup"}
)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "section",
        "article",
        "td",
        "th",
    }
)
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
            out.append(html[pos : m.start()])
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
    meta: Meta = {
        "title": htmllib.unescape(title.group(1)).strip() or None if title else None,
        "published": None,
        "url": None,
    }
    return htmllib.unescape("".join(out)), meta


def _tree_html_text(html: str) -> tuple[str, Meta]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    meta: Meta = {}

    def content(**attrs: Any) -> str | None:
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


# --- archives (DOCX, XLSX, ODT) ------------------------------------------------------


def check_zip_sizes(z: zipfile.ZipFile) -> None:
    """Refuse an archive by the sizes its directory declares, before inflating anything. (A
    member that inflates beyond its declared size fails its CRC check when read: zipfile stops
    at the declared size.)"""
    total = sum(i.file_size for i in z.infolist())
    if total > MAX_UNZIPPED_BYTES:
        raise BadFileError(
            f"DOCX inflates to {total / MIB:,.0f} MB, more than the "
            f"{MAX_UNZIPPED_BYTES // MIB} MB limit (zip bomb?)",
            code="docx_bomb",
        )
