"""Real report files made inside the tests (no binary fixtures): scanned PDFs (Vietnamese text
rendered with DejaVu by Pillow, put on PDF pages as images), PDFs with a text layer and ruled
tables (fpdf2), DOCX typed in TCVN3/VNI fonts or holding tables (python-docx), workbooks
(openpyxl), and Word 97-2003 .doc converted by LibreOffice when it is installed."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from assistant.legacy import encode

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU_SERIF = DEJAVU_DIR / "DejaVuSerif.ttf"
DEJAVU_SANS = DEJAVU_DIR / "DejaVuSans.ttf"
A4_PT = (595.28, 841.89)

BTS_LINES = [
    "BÁO CÁO TÌNH HÌNH PHÁT TRIỂN HẠ TẦNG VIỄN THÔNG TỈNH BẮC GIANG",
    "Năm 2020, toàn tỉnh Bắc Giang có 1.422 trạm BTS, tăng 86 trạm so với năm 2019.",
    "Tỷ lệ hộ gia đình có kết nối Internet cáp quang đạt 75,3%.",
    "Sở Thông tin và Truyền thông đã hướng dẫn các doanh nghiệp viễn thông",
    "dùng chung hạ tầng, chỉnh trang cáp treo tại các tuyến phố chính.",
]
INDICATORS = [
    ["Chỉ tiêu", "2020", "2021"],
    ["Số trạm BTS", "1.422", "1.536"],
    ["Thuê bao Internet băng rộng", "195.300", "211.450"],
    ["Điểm phục vụ bưu chính", "264", "271"],
]


def page_image(lines: list[str], dpi: int = 300, size: int = 44):
    """An A4 page image (grayscale) with ``lines`` typeset in DejaVu Serif."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = int(A4_PT[0] / 72 * dpi), int(A4_PT[1] / 72 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(DEJAVU_SERIF), size)
    y = int(h * 0.08)
    for line in lines:
        draw.text((int(w * 0.08), y), line, font=font, fill=0)
        y += int(size * 2)
    return img


def scanned_pdf(pages: list[list[str] | str]) -> bytes:
    """A PDF whose pages are images of text (a list of lines) or carry a text layer (a str)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("DejaVu", fname=str(DEJAVU_SANS))
    for page in pages:
        pdf.add_page()
        if isinstance(page, str):
            pdf.set_font("DejaVu", size=12)
            pdf.multi_cell(0, 16, page)
        else:
            buf = io.BytesIO()
            page_image(page).save(buf, "PNG")
            pdf.image(buf, 0, 0, w=A4_PT[0], h=A4_PT[1])
    return bytes(pdf.output())


def lines_pdf(lines: list[str]) -> bytes:
    """A one-page text PDF, each line placed as it is (``text()`` keeps every character, even
    U+00AD, which TCVN3 uses for "ư" and ``multi_cell`` would take for a soft hyphen)."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("DejaVu", fname=str(DEJAVU_SANS))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    for i, line in enumerate(lines):
        pdf.text(40, 60 + 18 * i, line)
    return bytes(pdf.output())


def table_pdf(before: str, rows: list[list[str]], after: str) -> bytes:
    """A text PDF with a ruled table between two paragraphs."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("DejaVu", fname=str(DEJAVU_SANS))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 15, before)
    pdf.ln(10)
    with pdf.table(first_row_as_headings=False) as table:
        for row in rows:
            r = table.row()
            for cell in row:
                r.cell(cell)
    pdf.ln(10)
    pdf.multi_cell(0, 15, after)
    return bytes(pdf.output())


def legacy_docx(
    paragraphs: list[str],
    encoding: str,
    heading: str | None = None,
    unicode_paragraph: str | None = None,
) -> bytes:
    """A DOCX whose runs are typed in a legacy font (.VnTime / VNI-Times) holding the
    ``encoding`` form of ``paragraphs``; the heading in the capitals font (.VnTimeH, codes of
    the small letters), and optionally one paragraph in Unicode Times New Roman (mixed)."""
    import docx

    font = ".VnTime" if encoding == "tcvn3" else "VNI-Times"
    d = docx.Document()
    if heading:
        p = d.add_paragraph(style="Heading 1")
        run = p.add_run(encode(heading.lower() if encoding == "tcvn3" else heading, encoding))
        run.font.name = ".VnTimeH" if encoding == "tcvn3" else font
    for text in paragraphs:
        run = d.add_paragraph().add_run(encode(text, encoding))
        run.font.name = font
    if unicode_paragraph:
        d.add_paragraph().add_run(unicode_paragraph).font.name = "Times New Roman"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def table_docx(before: str, rows: list[list[str]], after: str, heading: str | None = None) -> bytes:
    import docx

    d = docx.Document()
    if heading:
        d.add_heading(heading, level=1)
    d.add_paragraph(before)
    table = d.add_table(rows=len(rows), cols=len(rows[0]))
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            table.rows[i].cells[j].text = cell
    d.add_paragraph(after)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def word97(docx_bytes: bytes, folder: Path, name: str = "report") -> Path:
    """A real Word 97-2003 .doc: the DOCX converted by LibreOffice (headless)."""
    exe = soffice()
    if exe is None:
        raise RuntimeError(
            "LibreOffice is not installed: apt-get install "
            "libreoffice-writer-nogui (bash scripts/setup.sh --dev does)"
        )
    src = folder / f"{name}.docx"
    src.write_bytes(docx_bytes)
    subprocess.run(
        [
            exe,
            "--headless",
            f"-env:UserInstallation=file://{folder}/lo-profile",
            "--convert-to",
            "doc",
            "--outdir",
            str(folder),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    src.unlink()
    return folder / f"{name}.doc"
