"""DOCX -> blocks: paragraphs under their headings, tables as rows, and text typed in the legacy
Vietnamese fonts (``.VnTime``, ``.VnTimeH``, ``VNI-Times``) converted to Unicode run by run.

The main part is streamed with the limits of :mod:`assistant.formats` (zip sizes, element count,
no DTD). A run's font is its own ``w:rFonts``, else its character style's, else its paragraph
style's, else the document default (``word/styles.xml``); mixed documents convert only the
runs in legacy fonts.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from assistant.errors import BadFileError
from assistant.formats import (
    MAX_DOCX_ELEMENTS,
    MAX_DOCX_XML_BYTES,
    Meta,
    check_zip_sizes,
)
from assistant.layout import Block
from assistant.legacy import convert, font_encoding, is_upper_font
from assistant.types import MIB

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _R, _T, _TAB = (_W + t for t in ("p", "r", "t", "tab"))
_TC, _TR, _DOCUMENT = _W + "tc", _W + "tr", _W + "document"
_OFFICE_DOCUMENT = "/officeDocument"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_SMALL_PART = MIB  # .rels and core.xml larger than this are ignored
_TBL, _RPR, _PPR, _RFONTS, _PSTYLE, _RSTYLE, _VAL = (
    _W + t for t in ("tbl", "rPr", "pPr", "rFonts", "pStyle", "rStyle", "val")
)
_BR, _CR = _W + "br", _W + "cr"
_HEADING = re.compile(r"heading|title|tieude|tiêu đề|^h\d$|^\d$", re.IGNORECASE)
MAX_SECTION_LABEL = 80


def docx_blocks(raw: bytes) -> tuple[list[Block], Meta]:
    """Blocks of a DOCX in document order, and its title."""
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            check_zip_sizes(z)
            main = _main_part(z)
            styles = _styles(z)
            blocks = list(_merge(_read(z, main, styles)))
            title = _docx_title(z)
    except BadFileError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        KeyError,
        ValueError,
        OSError,
        EOFError,
        etree.LxmlError,
        zlib.error,
        NotImplementedError,
    ) as err:
        raise BadFileError(
            f"corrupt or unreadable DOCX ({type(err).__name__})", code="docx_unreadable"
        ) from err
    return blocks, {"title": title}


class _Styles:
    """Fonts and heading flags of the styles in ``word/styles.xml``."""

    def __init__(self) -> None:
        self.font: dict[str, str] = {}
        self.based_on: dict[str, str] = {}
        self.heading: set[str] = set()
        self.default_font: str | None = None

    def font_of(self, style: str | None) -> str | None:
        seen = set()
        while style and style not in seen:
            seen.add(style)
            if style in self.font:
                return self.font[style]
            style = self.based_on.get(style)
        return None


def _font(el: Any) -> str | None:
    fonts = el.find(_RFONTS) if el is not None else None
    if fonts is None:
        return None
    return fonts.get(_W + "ascii") or fonts.get(_W + "hAnsi") or fonts.get(_W + "cs")


def _styles(z: zipfile.ZipFile) -> _Styles:
    out = _Styles()
    root = _small_xml(z, "word/styles.xml")
    if root is None:
        return out
    defaults = root.find(f"{_W}docDefaults/{_W}rPrDefault/{_RPR}")
    out.default_font = _font(defaults)
    for style in root.iter(_W + "style"):
        sid = style.get(_W + "styleId")
        if not sid:
            continue
        font = _font(style.find(_RPR))
        if font:
            out.font[sid] = font
        based = style.find(_W + "basedOn")
        if based is not None and based.get(_VAL):
            out.based_on[sid] = based.get(_VAL)
        name = style.find(_W + "name")
        if _HEADING.search(sid) or (name is not None and _HEADING.search(name.get(_VAL, ""))):
            out.heading.add(sid)
    return out


def _val(parent: Any, tag: str) -> str | None:
    el = parent.find(tag) if parent is not None else None
    return el.get(_VAL) if el is not None else None


def _read(z: zipfile.ZipFile, info: zipfile.ZipInfo, styles: _Styles) -> Iterator[Block]:
    """Paragraph blocks (section set on headings) and table blocks, streamed."""
    from lxml import etree

    runs: list[tuple[str, str | None, str | None]] = []  # (text, run font, run style)
    run: list[str] = []
    cell: list[str] = []
    row: list[str] = []
    table: list[list[str]] = []
    depth = 0  # tables open
    pstyle: str | None = None  # of the paragraph being read (its w:pPr ends before its runs)
    with z.open(info) as fh:
        events = etree.iterparse(
            fh,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        for n, (event, el) in enumerate(events):
            if n >= 2 * MAX_DOCX_ELEMENTS:
                raise BadFileError(
                    f"DOCX has more than {MAX_DOCX_ELEMENTS:,} XML elements; split the document",
                    code="docx_too_complex",
                )
            tag = el.tag
            if event == "start":
                if tag == _TBL:
                    depth += 1
                continue
            if tag == _T:
                run.append(el.text or "")
            elif tag == _TAB:
                run.append("\t")
            elif tag in (_BR, _CR):
                run.append("\n")
            elif tag == _R:
                if run:
                    rpr = el.find(_RPR)
                    runs.append(("".join(run), _font(rpr), _val(rpr, _RSTYLE)))
                    run.clear()
                _free(el)
            elif tag == _PPR:
                pstyle = _val(el, _PSTYLE)
            elif tag == _P:
                text = _paragraph_text(runs, pstyle, styles)
                runs.clear()
                heading = pstyle in styles.heading
                pstyle = None
                parent = el.getparent()
                if depth and parent is not None and parent.tag == _TC:
                    cell.append(text)
                elif depth:
                    pass  # a paragraph of a table outside any cell: not valid WordprocessingML
                elif heading and text.strip():
                    yield Block(text=text, section=" ".join(text.split())[:MAX_SECTION_LABEL])
                else:
                    yield Block(text=text)
                _free(el)
            elif tag == _TC:
                row.append("\n".join(cell).strip())
                cell.clear()
            elif tag == _TR:
                table.append(row[:])
                row.clear()
                _free(el)
            elif tag == _TBL:
                depth -= 1
                if depth == 0:
                    if table:
                        yield Block(rows=table[:])
                    table.clear()
                    _free(el)
            elif tag == _DOCUMENT:
                return
    raise BadFileError(
        "not a Word document: the DOCX main part is not w:document", code="docx_not_word"
    )


def _paragraph_text(
    runs: list[tuple[str, str | None, str | None]], pstyle: str | None, styles: _Styles
) -> str:
    """The runs joined, each run in a legacy font converted to Unicode."""
    parts = []
    for text, font, rstyle in runs:
        font = font or styles.font_of(rstyle) or styles.font_of(pstyle) or styles.default_font
        encoding = font_encoding(font)
        parts.append(convert(text, encoding, upper=is_upper_font(font)) if encoding else text)
    return "".join(parts)


def _merge(blocks: Iterator[Block]) -> Iterator[Block]:
    """Consecutive paragraphs as one prose block (a heading starts a new one)."""
    prose: list[str] = []
    section: str | None = None
    for block in blocks:
        if block.is_table or block.section is not None:
            if prose:
                yield Block(text="\n\n".join(prose), section=section)
                prose, section = [], None
            if block.is_table:
                yield block
                continue
            section = block.section
        prose.append(block.text)
    if prose:
        yield Block(text="\n\n".join(prose), section=section)


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
        raise BadFileError(
            "not a Word document: the DOCX has no main document part", code="docx_not_word"
        ) from err
    if info.file_size > MAX_DOCX_XML_BYTES:
        raise BadFileError(
            f"DOCX text part inflates to {info.file_size / MIB:,.0f} MB, more "
            f"than the {MAX_DOCX_XML_BYTES // MIB} MB limit (zip bomb?)",
            code="docx_bomb",
        )
    with z.open(info) as fh:
        head = fh.read(4096)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise BadFileError(
            "DOCX part declares a DTD, which Word files never do (entity bomb?)", code="docx_dtd"
        )
    return info


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
