"""Real report files, each made inside its test: scanned PDFs read by Tesseract, mixed PDFs,
DOCX and .txt typed in the legacy TCVN3 and VNI encodings, tables of DOCX and PDF files,
workbooks, Word 97-2003 .doc, OpenDocument text, HTML sidebars; cited answers with pages.

Needs Debian's tesseract-ocr + tesseract-ocr-vie, antiword and (for the .doc test)
libreoffice-writer-nogui: ``bash scripts/setup.sh --dev`` installs them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from makefiles import (
    BTS_LINES,
    INDICATORS,
    legacy_docx,
    lines_pdf,
    scanned_pdf,
    soffice,
    table_docx,
    table_pdf,
    word97,
    workbook,
)

from assistant import Assistant, Settings, index_paths
from assistant.chunking import chunk_document
from assistant.errors import BadFileError
from assistant.ingest import load_document
from assistant.legacy import convert, detect, encode, fix_text
from assistant.ocr import available
from assistant.web.messages import vietnamese_reason
from assistant.web.render import source_html, source_label

BTS = "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"
BROADBAND = "Năm 2021 có bao nhiêu thuê bao Internet băng rộng?"
BROADBAND_ROW = "Thuê bao Internet băng rộng | 195.300 | 211.450"
needs_ocr = pytest.mark.skipif(available() is not None, reason=str(available()))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: Levenshtein distance / reference length (spaces normalised)."""
    a, b = " ".join(reference.split()), " ".join(hypothesis.split())
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(a), 1)


def _assistant(folder: Path, encoder, tmp_path: Path) -> Assistant:
    settings = Settings(index_dir=tmp_path / "index")
    kb, report = index_paths([folder], settings.index_dir, settings, encoder)
    assert not report.rejected, report.rejected
    return Assistant(settings, kb, encoder)


# --- OCR ----------------------------------------------------------------------------------------


@needs_ocr
def test_a_scanned_page_is_recognised_with_a_low_error_rate(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf([BTS_LINES]))
    seen = []
    doc = load_document(path, progress=lambda *a: seen.append(a))
    assert cer("\n".join(BTS_LINES), doc.text) <= 0.03, doc.text
    assert "1.422 trạm BTS" in doc.text
    # a sentence wrapped over two lines comes back whole (one sentence to quote)
    assert "doanh nghiệp viễn thông dùng chung hạ tầng" in doc.text
    assert doc.pages == [(0, 1)] and doc.page_at(len(doc.text) - 1) == 1
    assert [p for p, _ in doc.ocr] == [1] and doc.ocr[0][1] > 80  # mean word confidence
    assert seen[-1] == ("ocr", 1, 1)
    assert doc.province == "Bắc Giang"


@needs_ocr
def test_a_mixed_pdf_keeps_its_text_layer_and_recognises_the_scanned_page(tmp_path):
    layer = "Trang hai có lớp chữ: năm 2020 tỉnh có 250 điểm phát wifi miễn phí."
    path = tmp_path / "mixed.pdf"
    path.write_bytes(scanned_pdf([BTS_LINES, layer]))
    doc = load_document(path)
    assert doc.text.endswith(layer)  # the text layer, exactly
    assert [p for p, _ in doc.ocr] == [1]  # only the scanned page went through OCR
    second = doc.text.index(layer)
    assert doc.pages == [(0, 1), (second, 2)]
    assert doc.page_at(doc.text.index("1.422")) == 1 and doc.page_at(second + 5) == 2
    for c in chunk_document(doc, size=120, overlap=20):
        assert doc.text[c.start : c.end] == c.text


@pytest.mark.model
@needs_ocr
def test_the_bts_question_is_answered_from_a_scanned_report_with_its_page(tmp_path, real_encoder):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "bao-cao-scan.pdf").write_bytes(scanned_pdf([BTS_LINES]))
    bot = _assistant(folder, real_encoder, tmp_path)
    answer = bot.ask(BTS)
    assert not answer.refused and "1.422" in answer.answer
    c = answer.citations[0]
    assert "1.422 trạm BTS" in c.quote and c.page == 1
    assert "trang 1" in source_label(c.model_dump())
    assert "<dt>Trang</dt><dd>1</dd>" in source_html(c.model_dump(), _passage(c))


def _passage(c):
    from assistant.web.render import Passage

    return Passage("", c.quote, "")


@needs_ocr
def test_a_page_past_its_time_limit_is_reported_not_waited_for(tmp_path, monkeypatch):
    from assistant import ocr

    monkeypatch.setattr(ocr, "PAGE_TIMEOUT_S", 0.02)
    monkeypatch.setattr(ocr, "_CACHE", type(ocr._CACHE)())
    path = tmp_path / "slow.pdf"
    path.write_bytes(scanned_pdf([BTS_LINES]))
    with pytest.raises(BadFileError) as err:
        load_document(path)
    assert str(err.value) == (
        "scanned PDF: OCR could not read its pages (page 1: took longer than 0 s)"
    )


@needs_ocr
def test_a_pdf_of_too_many_pages_without_text_is_refused_before_any_ocr(tmp_path):
    from fpdf import FPDF

    from assistant.ocr import MAX_PAGES

    pdf = FPDF()
    for _ in range(MAX_PAGES + 1):
        pdf.add_page()
    path = tmp_path / "blank.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(BadFileError) as err:
        load_document(path)
    assert str(err.value) == (
        f"scanned PDF has {MAX_PAGES + 1} pages without text, more than "
        f"the {MAX_PAGES} read by OCR per file; split the file"
    )


def test_without_the_engine_a_scanned_pdf_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf([["Một trang quét."]]))
    with pytest.raises(BadFileError) as err:
        load_document(path)
    assert "tesseract-ocr" in str(err.value) and "tesseract-ocr-vie" in str(err.value)
    assert "tesseract-ocr" in vietnamese_reason(err.value.code)


# --- legacy encodings -------------------------------------------------------------------------

PARAGRAPHS = [
    "Sở Thông tin và Truyền thông tỉnh Bắc Giang báo cáo kết quả năm 2020.",
    "Toàn tỉnh có 1.422 trạm BTS; tỷ lệ người dùng điện thoại thông minh đạt 78%.",
    "Hướng dẫn, đôn đốc việc ứng dụng chữ ký số, dịch vụ công trực tuyến mức độ 3, 4.",
]


def test_a_docx_typed_in_vntime_is_converted_exactly(tmp_path):
    path = tmp_path / "tcvn3.docx"
    path.write_bytes(
        legacy_docx(
            PARAGRAPHS,
            "tcvn3",
            heading="Báo cáo tổng kết năm 2020",
            unicode_paragraph="Đoạn gõ bằng Unicode: Sở Thông tin.",
        )
    )
    raw_runs = zipfile.ZipFile(io.BytesIO(path.read_bytes())).read("word/document.xml")
    assert "Së Th«ng tin vµ TruyÒn th«ng".encode() in raw_runs  # really TCVN3 in the file
    doc = load_document(path)
    assert doc.text == "\n\n".join(
        ["BÁO CÁO TỔNG KẾT NĂM 2020", *PARAGRAPHS, "Đoạn gõ bằng Unicode: Sở Thông tin."]
    )
    assert doc.section_at(doc.text.index("1.422")) == "BÁO CÁO TỔNG KẾT NĂM 2020"


def test_a_docx_typed_in_vni_times_is_converted_exactly(tmp_path):
    path = tmp_path / "vni.docx"
    path.write_bytes(legacy_docx(PARAGRAPHS, "vni"))
    assert load_document(path).text == "\n\n".join(PARAGRAPHS)


@pytest.mark.parametrize("as_utf8", [False, True])
def test_a_txt_in_vni_is_converted_exactly(tmp_path, as_utf8):
    text = "\n".join(PARAGRAPHS)
    vni = encode(text, "vni")
    assert vni.startswith("Sôû Thoâng tin vaø Truyeàn thoâng")
    path = tmp_path / "vni.txt"
    path.write_bytes(vni.encode("utf-8" if as_utf8 else "cp1252"))
    assert load_document(path).text == text


def test_a_pdf_made_from_a_vntime_document_is_converted(tmp_path):
    """A PDF printed from a .VnTime document extracts as the font's Latin-1 characters."""
    path = tmp_path / "tcvn3.pdf"
    path.write_bytes(lines_pdf([encode(p, "tcvn3") for p in PARAGRAPHS]))
    assert "Së Th«ng tin" in __import__("pypdf").PdfReader(path).pages[0].extract_text()
    assert load_document(path).text == "\n".join(PARAGRAPHS)


def test_unicode_text_and_foreign_words_are_never_converted():
    for text in (
        "Sở Thông tin và Truyền thông",
        "Tôi là ông bà có cá",
        "Nestlé, Zürich, café",
        "Müller ở München",
        "Giá 5°C, ±3%, ½ giờ",
    ):
        assert fix_text(text) == (text, None)
    assert detect(encode("Sở Thông tin và Truyền thông tỉnh Bắc Giang", "tcvn3")) == "tcvn3"
    assert convert("§¹i héi §¶ng", "tcvn3") == "Đại hội Đảng"


# --- tables -----------------------------------------------------------------------------------


def _check_table_doc(doc, rows=INDICATORS):
    header = " | ".join(rows[0])
    ((start, end, head),) = doc.tables
    assert head == header
    assert doc.text[start:end] == "\n".join(" | ".join(r) for r in rows)
    chunks = chunk_document(doc)
    row = next(c for c in chunks if c.text == BROADBAND_ROW)
    assert row.header.endswith("\n" + header)  # each row is indexed with its header
    assert BROADBAND_ROW in row.indexed_text() and header in row.indexed_text()
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text


def test_a_docx_table_is_kept_as_rows_under_its_header(tmp_path):
    path = tmp_path / "table.docx"
    path.write_bytes(
        table_docx(
            "Bảng chỉ tiêu viễn thông tỉnh Bắc Giang.",
            INDICATORS,
            "Nguồn: Sở TT&TT.",
            heading="Phần II. Hạ tầng viễn thông",
        )
    )
    doc = load_document(path)
    _check_table_doc(doc)
    assert doc.section_at(doc.text.index(BROADBAND_ROW)) == "Phần II. Hạ tầng viễn thông"


def test_a_pdf_table_is_kept_as_rows_under_its_header(tmp_path):
    path = tmp_path / "table.pdf"
    path.write_bytes(
        table_pdf("Bảng 1. Chỉ tiêu viễn thông tỉnh Bắc Giang.", INDICATORS, "Nguồn: Sở TT&TT.")
    )
    doc = load_document(path)
    _check_table_doc(doc)
    assert doc.text.startswith("Bảng 1.") and doc.text.endswith("Nguồn: Sở TT&TT.")
    assert doc.page_at(doc.text.index(BROADBAND_ROW)) == 1


@pytest.mark.model
@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_a_table_value_is_answered_with_a_citation_to_its_row(tmp_path, real_encoder, kind):
    folder = tmp_path / "reports"
    folder.mkdir()
    before = "Báo cáo hạ tầng viễn thông tỉnh Bắc Giang năm 2021. Bảng số liệu chính:"
    make = table_docx if kind == "docx" else table_pdf
    (folder / f"chi-tieu.{kind}").write_bytes(make(before, INDICATORS, "Nguồn: Sở TT&TT."))
    bot = _assistant(folder, real_encoder, tmp_path)
    answer = bot.ask(BROADBAND)
    assert not answer.refused
    c = answer.citations[0]
    assert c.quote == BROADBAND_ROW
    assert c.location == "bảng «Chỉ tiêu | 2020 | 2021»"  # the citation names the columns
    assert c.page == (1 if kind == "pdf" else None)
    # the source panel shows the row inside its table, header first
    from assistant.web.render import passage

    p = passage(
        bot.kb.documents, lambda d: [ch for ch in bot.kb.chunks if ch.doc_id == d], c.model_dump()
    )
    assert p.before.startswith("Chỉ tiêu | 2020 | 2021") and p.cited == BROADBAND_ROW


def test_a_workbook_of_two_sheets_is_two_tables_named_by_sheet(tmp_path):
    path = tmp_path / "so-lieu.xlsx"
    path.write_bytes(
        workbook(
            {
                "Viễn thông": [
                    ["Chỉ tiêu", "2020", "2021"],
                    ["Số trạm BTS", 1422, 1536],
                    ["Tỷ lệ phủ sóng 4G (%)", 98.5, 99.2],
                ],
                "Bưu chính": [["Chỉ tiêu", "2021"], ["Điểm phục vụ bưu chính", 271], [None, None]],
            }
        )
    )
    doc = load_document(path)
    assert doc.text == (
        "Chỉ tiêu | 2020 | 2021\nSố trạm BTS | 1.422 | 1.536\n"
        "Tỷ lệ phủ sóng 4G (%) | 98,5 | 99,2\n\n"
        "Chỉ tiêu | 2021\nĐiểm phục vụ bưu chính | 271"
    )
    assert doc.section_at(doc.text.index("1.536")) == "Trang tính Viễn thông"
    assert doc.section_at(doc.text.index("271")) == "Trang tính Bưu chính"
    assert [h for _, _, h in doc.tables] == ["Chỉ tiêu | 2020 | 2021", "Chỉ tiêu | 2021"]
    rows = [c for c in chunk_document(doc) if "271" in c.text]
    assert [c.text for c in rows] == ["Điểm phục vụ bưu chính | 271"]


def test_a_broken_workbook_gets_a_reason(tmp_path):
    path = tmp_path / "hong.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(BadFileError, match="XLSX"):
        load_document(path)


# --- old formats ------------------------------------------------------------------------------


@pytest.mark.skipif(
    soffice() is None,
    reason="LibreOffice makes the .doc: apt-get install "
    "libreoffice-writer-nogui (bash scripts/setup.sh --dev)",
)
def test_a_word_97_doc_is_read(tmp_path):
    path = word97(
        table_docx("Năm 2020 toàn tỉnh có 1.422 trạm BTS.", INDICATORS, "Hết."),
        tmp_path,
        "bao-cao-cu",
    )
    assert path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # an OLE2 Word 97-2003 file
    doc = load_document(path)
    assert doc.format == "doc"
    assert doc.text == (
        "Năm 2020 toàn tỉnh có 1.422 trạm BTS.\n\n"
        + "\n".join(" | ".join(r) for r in INDICATORS)
        + "\n\nHết."
    )


def test_a_doc_that_is_not_word_97_gets_a_reason(tmp_path):
    path = tmp_path / "rtf.doc"
    path.write_bytes(b"{\\rtf1\\ansi Hello}")
    with pytest.raises(BadFileError, match="RTF"):
        load_document(path)


def test_an_odt_is_read_with_headings_and_tables(tmp_path):
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body>'
        "<office:text><text:h>Phần I. Hạ tầng</text:h><text:p>Năm 2021 có 1.536 trạm BTS.</text:p>"
        "<table:table><table:table-row><table:table-cell><text:p>Chỉ tiêu</text:p>"
        "</table:table-cell><table:table-cell><text:p>2021</text:p></table:table-cell>"
        "</table:table-row><table:table-row><table:table-cell><text:p>Điểm bưu chính</text:p>"
        "</table:table-cell><table:table-cell><text:p>271</text:p></table:table-cell>"
        "</table:table-row></table:table></office:text></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    path = tmp_path / "r.odt"
    path.write_bytes(buf.getvalue())
    doc = load_document(path)
    assert doc.text == (
        "Phần I. Hạ tầng\n\nNăm 2021 có 1.536 trạm BTS.\n\nChỉ tiêu | 2021\nĐiểm bưu chính | 271"
    )
    assert doc.tables == [(doc.text.index("Chỉ tiêu"), len(doc.text), "Chỉ tiêu | 2021")]
    assert doc.section_at(0) == "Phần I. Hạ tầng"


# --- HTML -------------------------------------------------------------------------------------


def test_html_sidebars_and_asides_are_dropped_not_the_content(tmp_path):
    path = tmp_path / "tin.html"
    path.write_text(
        "<html><body><div class='menu-top'>Trang chủ | Giới thiệu</div><main>"
        "<article><p>Năm 2020, Bắc Giang có 1.422 trạm BTS.</p>"
        "<div class='article-content related-note'>Đoạn nội dung thứ hai.</div></article>"
        "<aside>Tin khác: Hội nghị tổng kết</aside>"
        "<div id='sidebar-right'>Liên kết website</div>"
        "<div role='navigation'>Về đầu trang</div></main></body></html>",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.text == "Năm 2020, Bắc Giang có 1.422 trạm BTS.\nĐoạn nội dung thứ hai."
