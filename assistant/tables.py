"""Tables kept as tables: spreadsheet sheets (XLSX, XLS, ODS; python-calamine) and the ruled
tables of PDF pages (pdfplumber).

Each table becomes a :class:`~assistant.layout.Block` of rows, the header row first; the
chunker indexes every row with that header (``"Chỉ tiêu | 2020 | 2021"``), so a question about
one value finds its row. Numbers read from cells are written the Vietnamese way ("1.422",
"75,3").
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from assistant.errors import BadFileError
from assistant.formats import Meta, check_zip_sizes
from assistant.layout import Block

MAX_CELLS = 2_000_000  # cells of a workbook, all sheets together
PDF_TABLES_TIMEOUT_S = 10.0  # the table pass of a PDF: this plus ...
PDF_TABLES_TIMEOUT_PER_PAGE_S = 2.0  # ... this per page
PDF_TABLES_MEMORY_BYTES = 2 * 1024**3


def cell_text(value: Any) -> str:
    """A cell as text: ``1422.0 -> "1.422"``, ``75.3 -> "75,3"``, dates as dd/mm/yyyy.

    >>> [cell_text(v) for v in (1422.0, 75.3, 12, None, " Trạm BTS ", True)]
    ['1.422', '75,3', '12', '', 'Trạm BTS', 'TRUE']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            return f"{value:,.10g}".replace(",", " ").replace(".", ",").replace(" ", ".")
        return f"{int(value):,}".replace(",", ".")
    if isinstance(value, dt.datetime):
        return (
            value.strftime("%d/%m/%Y %H:%M")
            if value.time() != dt.time()
            else value.strftime("%d/%m/%Y")
        )
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return " ".join(str(value).split())


def sheet_blocks(raw: bytes, fmt: str) -> tuple[list[Block], Meta]:
    """One table per sheet of a workbook (xlsx, xls, ods), its section the sheet's name."""
    from python_calamine import CalamineError, CalamineWorkbook

    if fmt in ("xlsx", "ods"):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                check_zip_sizes(z)
        except zipfile.BadZipFile as err:
            raise BadFileError(
                f"corrupt or unreadable {fmt.upper()} (BadZipFile)", code="office_unreadable"
            ) from err
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        blocks: list[Block] = []
        cells = 0
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            cells += sheet.height * sheet.width
            if cells > MAX_CELLS:
                raise BadFileError(
                    f"workbook has more than {MAX_CELLS:,} cells; split it", code="sheet_too_large"
                )
            rows = [[cell_text(v) for v in row] for row in sheet.to_python(skip_empty_area=True)]
            rows = [r for r in rows if any(r)]
            if rows:
                blocks.append(Block(rows=rows, section=f"Trang tính {name}"))
    except BadFileError:
        raise
    except (CalamineError, ValueError, OSError, TypeError) as err:
        raise BadFileError(
            f"corrupt or unreadable {fmt.upper()} ({type(err).__name__})", code="office_unreadable"
        ) from err
    if not blocks:
        raise BadFileError(
            "no text found in the workbook (every sheet is empty)", code="file_no_text"
        )
    return blocks, {"title": None}


# --- PDF --------------------------------------------------------------------------------------

_PDF_TABLES = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
import pdfplumber
out = {}
with pdfplumber.open(sys.argv[1]) as pdf:
    for number in json.loads(sys.argv[2]):
        page = pdf.pages[number - 1]
        tables = page.find_tables()
        if not tables:
            continue
        boxes = [t.bbox for t in tables]
        first = min(b[1] for b in boxes)
        def outside(obj, boxes=boxes):
            x = (obj["x0"] + obj["x1"]) / 2
            y = (obj["top"] + obj["bottom"]) / 2
            return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)
        def above(obj):
            return outside(obj) and (obj["top"] + obj["bottom"]) / 2 < first
        def below(obj):
            return outside(obj) and (obj["top"] + obj["bottom"]) / 2 >= first
        order = sorted(range(len(tables)), key=lambda i: boxes[i][1])
        out[number] = {"above": page.filter(above).extract_text() or "",
                       "below": page.filter(below).extract_text() or "",
                       "tables": [tables[i].extract() for i in order]}
print(json.dumps(out, ensure_ascii=False))
"""


def pdf_tables(raw: bytes, pages: list[int]) -> dict[int, dict[str, Any]]:
    """The ruled tables of the given 1-based pages: page -> ``{"above": the page's text above
    its tables, "tables": [rows, ...], "below": the rest}``; pages without tables are left
    out.

    Runs pdfplumber in a child process bounded in time and memory; when it fails or runs out
    of time the pages keep their plain text (an empty result), never an error.
    """
    if not pages:
        return {}
    script = _PDF_TABLES.replace("MEMORY", str(PDF_TABLES_MEMORY_BYTES))
    timeout = PDF_TABLES_TIMEOUT_S + PDF_TABLES_TIMEOUT_PER_PAGE_S * len(pages)
    with tempfile.TemporaryDirectory(prefix="tables-") as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(raw)
        try:
            done = subprocess.run(
                [sys.executable, "-c", script, str(path), json.dumps(pages)],
                capture_output=True,
                timeout=timeout,
                check=True,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            )
            found = json.loads(done.stdout.decode("utf-8"))
        except (subprocess.SubprocessError, OSError, ValueError):
            return {}
    return {int(k): v for k, v in found.items()}


def pdf_page_blocks(page: int, found: dict[str, Any]) -> list[Block]:
    """A page with tables: its prose above them, the tables (top to bottom), the prose below,
    as blocks of that page."""
    blocks = [Block(text=found.get("above") or "", page=page)]
    for rows in found.get("tables") or []:
        rows = [[cell_text(c) for c in row] for row in rows]
        rows = [r for r in rows if any(r)]
        if rows:
            blocks.append(Block(rows=rows, page=page))
    blocks.append(Block(text=found.get("below") or "", page=page))
    return blocks
