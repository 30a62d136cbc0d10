"""Older and other office formats: Word 97-2003 ``.doc`` (Debian's ``antiword``, else
``catdoc``) and OpenDocument text ``.odt`` (its ``content.xml``, streamed like a DOCX).

Spreadsheets (``.xls``, ``.ods``) are read by :mod:`assistant.tables`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from assistant.errors import BadFileError
from assistant.formats import MAX_DOCX_ELEMENTS, MAX_DOCX_XML_BYTES, Meta, check_zip_sizes
from assistant.layout import Block

DOC_TIMEOUT_S = 60.0
DOC_MEMORY_BYTES = 1024**3
MISSING_DOC_TOOL = (
    "a Word 97-2003 .doc needs Debian's antiword or catdoc "
    "(bash scripts/setup.sh installs them); or save it as .docx"
)
_LIMITED = (
    "import os, resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({DOC_MEMORY_BYTES}, {DOC_MEMORY_BYTES})); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def doc_text(raw: bytes) -> tuple[str, Meta]:
    """Text of a Word 97-2003 document (UTF-8 from antiword, else catdoc), bounded in time
    and memory."""
    if not raw.startswith(b"\xd0\xcf\x11\xe0"):
        if raw.lstrip()[:5].lower() == b"{\\rtf":
            raise BadFileError("this .doc is an RTF file; save it as .docx", code="office_rtf")
        raise BadFileError(
            "corrupt or unreadable DOC (not a Word 97-2003 file)", code="office_unreadable"
        )
    tools = [
        [exe, "-w", "0", "-m", "UTF-8.txt"] for exe in filter(None, [shutil.which("antiword")])
    ] + [[exe, "-d", "utf-8", "-w"] for exe in filter(None, [shutil.which("catdoc")])]
    if not tools:
        raise BadFileError(MISSING_DOC_TOOL, code="office_needs_tool")
    errors = []
    with tempfile.TemporaryDirectory(prefix="doc-") as tmp:
        path = Path(tmp) / "in.doc"
        path.write_bytes(raw)
        for cmd in tools:
            try:
                done = subprocess.run(
                    [sys.executable, "-c", _LIMITED, *cmd, str(path)],
                    capture_output=True,
                    timeout=DOC_TIMEOUT_S,
                    env={**os.environ, "LANG": "C.UTF-8"},
                )
            except subprocess.TimeoutExpired:
                errors.append(f"{cmd[0]} took longer than {DOC_TIMEOUT_S:.0f} s")
                continue
            text = done.stdout.decode("utf-8", "replace")
            if done.returncode == 0 and text.strip():
                return _unwrap(text), {"title": None}
            errors.append(
                done.stderr.decode("utf-8", "replace").strip()[:200]
                or f"{Path(cmd[0]).name} exit {done.returncode}"
            )
    raise BadFileError(
        f"corrupt or unreadable DOC ({errors[0] if errors else 'no text'})",
        code="office_unreadable",
    )


def _unwrap(text: str) -> str:
    """antiword marks table cells with ``|``: keep rows as ``cell | cell``."""
    lines = []
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            s = " | ".join(c.strip() for c in s.strip("|").split("|"))
        lines.append(s)
    return "\n".join(lines)


# --- ODT --------------------------------------------------------------------------------------

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def odt_blocks(raw: bytes) -> tuple[list[Block], Meta]:
    """Paragraphs (headings start sections) and tables of an OpenDocument text."""
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            check_zip_sizes(z)
            info = z.getinfo("content.xml")
            if info.file_size > MAX_DOCX_XML_BYTES:
                raise BadFileError(
                    "ODT text part is larger than the limit (zip bomb?)", code="docx_bomb"
                )
            with z.open(info) as fh:
                blocks = list(_odt(fh))
    except BadFileError:
        raise
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
        EOFError,
        etree.LxmlError,
        zlib.error,
    ) as err:
        raise BadFileError(
            f"corrupt or unreadable ODT ({type(err).__name__})", code="office_unreadable"
        ) from err
    return blocks, {"title": None}


def _odt(fh: IO[bytes]) -> Iterator[Block]:
    from lxml import etree

    prose: list[str] = []
    section: str | None = None
    table: list[list[str]] = []
    row: list[str] = []
    depth = 0
    events = etree.iterparse(
        fh, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
    )
    for n, (event, el) in enumerate(events):
        if n >= 2 * MAX_DOCX_ELEMENTS:
            raise BadFileError(
                f"ODT has more than {MAX_DOCX_ELEMENTS:,} XML elements", code="office_too_complex"
            )
        if event == "start":
            if el.tag == _TABLE + "table":
                depth += 1
                if depth == 1 and prose:
                    yield Block(text="\n\n".join(prose), section=section)
                    prose = []
            continue
        tag = el.tag
        if tag in (_TEXT + "p", _TEXT + "h"):
            if depth:
                continue  # read with its table cell
            text = "".join(el.itertext())
            if tag == _TEXT + "h" and text.strip():
                if prose:
                    yield Block(text="\n\n".join(prose), section=section)
                prose, section = [text], " ".join(text.split())[:80]
            else:
                prose.append(text)
            el.clear()
        elif tag == _TABLE + "table-cell" and depth == 1:
            row.append("\n".join("".join(p.itertext()) for p in el.iter(_TEXT + "p")).strip())
        elif tag == _TABLE + "table-row" and depth == 1:
            table.append(row)
            row = []
        elif tag == _TABLE + "table":
            depth -= 1
            if depth == 0:
                if table:
                    yield Block(rows=table)
                table = []
                el.clear()
    if prose:
        yield Block(text="\n\n".join(prose), section=section)
