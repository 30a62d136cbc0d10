"""Ingestion on the real sample reports and on files of every supported format made here."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from assistant import BadFileError, load_document, load_documents
from assistant.config import BUNDLED_REPORTS
from assistant.decoding import decode
from assistant.ingest import clean_text, detect_metadata
from bench.reliability.filegen import cp1258

VI = "Năm 2020, toàn tỉnh Bắc Giang có 1.422 trạm BTS; tỷ lệ đạt 45,7%."
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(scope="module")
def reports() -> dict[str, object]:
    docs, rejected = load_documents([BUNDLED_REPORTS])
    assert rejected == []
    return {Path(d.path).name: d for d in docs}


def test_bac_giang_report_ends_before_the_unrelated_news(reports):
    text = reports["bac-giang-2020.txt"].text
    assert "1.422 trạm BTS" in text
    assert text.endswith("Hoàng Dương– Thủy Tiên")
    for junk in ("Tin khác", "Quảng Ninh: Giông lốc", "thuyền nan", "Hưng Yên", "Đời sống"):
        assert junk not in text


def test_photo_captions_repeated_twice_are_kept_once(reports):
    text = reports["bac-giang-2020.txt"].text
    caption = "Bắc Giang hội tụ đầy đủ tiềm năng trở thành trung tâm kinh tế lớn Ảnh TL"
    assert text.count(caption) == 1


def test_site_widgets_and_menus_are_removed(reports):
    everything = "\n".join(d.text for d in reports.values())
    for junk in (
        "Skip Ribbon Commands",
        "Skip to main content",
        "Sign In",
        "Cỡ chữ",
        "Lượt xem",
        "Thống kê truy cập",
        "Đang online",
        "Xem với cỡ chữ",
        "kính chào quý khách",
        "Tin tức khác",
        "Các tin khác",
        "anh tin bai",
        "image banner",
    ):
        assert junk not in everything, junk
    assert "Trích nguồn: http://stttt.bacninh.gov.vn" in reports["bac-ninh-15-nam.txt"].text


def test_text_is_nfc_without_odd_spaces(reports):
    for d in reports.values():
        assert "\u00a0" not in d.text and "\u200b" not in d.text and "\r" not in d.text
    # the file has "72-75%\u00a0 số thuê bao"; the document has plain spaces
    assert (
        "72-75%  số thuê bao điện thoại di động là smartphone" in reports["bac-giang-2020.txt"].text
    )


@pytest.mark.parametrize(
    ("name", "title", "province", "year", "published"),
    [
        (
            "bac-giang-2020.txt",
            "Dấu ấn ngành thông tin và truyền thông tỉnh Bắc Giang năm 2020",
            "Bắc Giang",
            2020,
            "2021-01-23",
        ),
        (
            "bac-kan-2019.txt",
            "Phát triển sự nghiệp thông tin và truyền thông góp phần vào nhiệm vụ chính trị",
            "Bắc Kạn",
            2019,
            "2020-02-04",
        ),
        (
            "binh-duong-2022.txt",
            "Dấu ấn của ngành thông tin và truyền thông năm 2022",
            "Bình Dương",
            2022,
            None,
        ),
        (
            "quang-binh-2022.txt",
            "Ngành Thông tin -Truyền thông Quảng Bình chủ động đổi mới để đáp "
            "ứng nhu cầu, nhiệm vụ được giao",
            "Quảng Bình",
            2022,
            "2023-02-07",
        ),
        (
            "bac-ninh-15-nam.txt",
            "Kỷ niệm ngày thành lập Sở Thông tin và Truyền thông tỉnh Bắc Ninh",
            "Bắc Ninh",
            2023,
            None,
        ),
    ],
)
def test_metadata_of_the_sample_reports(reports, name, title, province, year, published):
    d = reports[name]
    assert (d.title, d.province, d.year, d.published) == (title, province, year, published)


@pytest.mark.parametrize(
    ("name", "period"),
    [
        ("bac-giang-2020.txt", (2020, 2020)),
        ("bac-kan-2019.txt", (2019, 2019)),
        ("binh-duong-2022.txt", (2022, 2022)),
        ("quang-binh-2022.txt", (2022, 2022)),
        # "15 năm xây dựng và phát triển" of the Sở formed in 2008 from the Sở Bưu chính Viễn thông
        ("bac-ninh-15-nam.txt", (2008, 2023)),
    ],
)
def test_period_of_the_sample_reports(reports, name, period):
    d = reports[name]
    assert (d.period_start, d.period_end) == period
    assert d.covers(period[0]) and d.covers(period[1]) and not d.covers(period[1] + 1)


def test_source_address_is_found(reports):
    assert reports["bac-ninh-15-nam.txt"].source_url == (
        "http://stttt.bacninh.gov.vn/news/-/details/57420/so-tt-tt-bac-ninh-15-nam-xay-dung-va-"
        "phat-trien"
    )


def test_metadata_variants():
    meta = detect_metadata("Báo cáo của Sở TT&TT TP.HCM năm 2024\nNội dung.")
    assert (meta["province"], meta["year"]) == ("Hồ Chí Minh", 2024)
    assert detect_metadata("Tin tỉnh Bắc Cạn\nCập nhật 05/03/2021")["province"] == "Bắc Kạn"


def test_clean_text_cuts_trailing_news_only_after_the_report_started():
    body = "Báo cáo năm 2020\n" + "Nội dung dài của báo cáo. " * 20
    assert clean_text(body + "\nTin khác\nTai nạn giao thông") == body.strip()
    assert clean_text("Tin khác\n" + body).startswith("Tin khác")


# --- formats -------------------------------------------------------------------------------


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1258"])
def test_text_encodings(tmp_path, encoding):
    raw = cp1258(VI) if encoding == "cp1258" else VI.encode(encoding)
    doc = load_document(_write(tmp_path / "r.txt", raw))
    assert doc.text == VI
    assert doc.province == "Bắc Giang" and doc.year == 2020


def test_markdown(tmp_path):
    doc = load_document(_write(tmp_path / "r.md", f"# Báo cáo Bắc Giang năm 2020\n\n{VI}\n"))
    assert VI in doc.text and doc.format == "md"


def test_html_drops_scripts_and_menus_and_reads_metadata(tmp_path):
    html = f"""<html><head><title>Trang</title>
    <meta property="og:title" content="Báo cáo ngành TT&amp;TT Bắc Giang năm 2020">
    <meta property="article:published_time" content="2021-01-23T09:24:00+07:00">
    <link rel="canonical" href="https://bacgiang.gov.vn/bao-cao"></head>
    <body><nav>Trang chủ | Liên hệ</nav><script>alert('x')</script>
    <p>{VI}</p><p>Đoạn&nbsp;hai.</p><footer>Bản quyền</footer></body></html>"""
    doc = load_document(_write(tmp_path / "r.html", html))
    assert VI in doc.text and "Đoạn hai." in doc.text
    assert "alert" not in doc.text and "Trang chủ" not in doc.text and "Bản quyền" not in doc.text
    assert doc.title == "Báo cáo ngành TT&TT Bắc Giang năm 2020"
    assert (doc.published, doc.source_url) == ("2021-01-23", "https://bacgiang.gov.vn/bao-cao")


def test_docx_paragraphs_and_tables(tmp_path):
    import docx

    d = docx.Document()
    d.core_properties.title = "Báo cáo Bắc Giang năm 2020"
    d.add_paragraph(VI)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Trạm BTS"
    table.rows[0].cells[1].text = "1.422"
    d.save(tmp_path / "r.docx")
    doc = load_document(tmp_path / "r.docx")
    assert VI in doc.text and "Trạm BTS | 1.422" in doc.text
    assert doc.title == "Báo cáo Bắc Giang năm 2020"


def test_pdf(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if DEJAVU.exists():
        pdf.add_font("DejaVu", fname=str(DEJAVU))
        pdf.set_font("DejaVu", size=12)
        expected = VI
    else:  # no Unicode font on this machine: an ASCII text still proves the extraction
        pdf.set_font("Helvetica", size=12)
        expected = "Nam 2020, toan tinh Bac Giang co 1.422 tram BTS."
    pdf.multi_cell(0, 8, expected)
    pdf.output(str(tmp_path / "r.pdf"))
    doc = load_document(tmp_path / "r.pdf")
    assert " ".join(doc.text.split()) == expected
    assert doc.format == "pdf"


def test_folder_is_read_recursively_and_hidden_or_unsupported_files_skipped(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "a" / "b" / "deep.txt", VI)
    _write(tmp_path / "top.md", VI)
    _write(tmp_path / ".git" / "x.txt", VI)
    _write(tmp_path / "image.png", b"\x89PNG")
    docs, rejected = load_documents([tmp_path])
    assert sorted(Path(d.path).name for d in docs) == ["deep.txt", "top.md"]
    assert rejected == []


# --- bad files -----------------------------------------------------------------------------


def _bad_docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a word document")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("spaces.txt", b"   \n\t  \n", "empty"),
        ("binary.txt", bytes(range(256)) * 8, "binary"),
        ("latin.txt", "caf\u00e9 na\u00efve r\u00e9sum\u00e9".encode("latin-1"), "decode"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "PDF"),
        ("broken.docx", b"PK\x03\x04 truncated", "DOCX"),
        ("other.docx", _bad_docx(), "DOCX"),
        ("table.xlsx", b"data", "XLSX"),
        ("slides.pptx", b"data", "unsupported"),
        (
            "only-menu.html",
            b"<html><body><nav>Menu</nav><script>x()</script></body></html>",
            "no text",
        ),
    ],
)
def test_bad_files_get_a_one_line_reason(tmp_path, name, data, reason):
    with pytest.raises(BadFileError) as err:
        load_document(_write(tmp_path / name, data))
    assert reason.lower() in str(err.value).lower()
    assert "\n" not in str(err.value)


def test_too_large_file_is_refused_before_reading(tmp_path):
    path = _write(tmp_path / "big.txt", VI * 1000)
    with pytest.raises(BadFileError, match="too large"):
        load_document(path, max_bytes=1000)


def test_bad_files_do_not_stop_the_good_ones(tmp_path):
    _write(tmp_path / "good.txt", VI)
    _write(tmp_path / "empty.txt", b"")
    _write(tmp_path / "broken.pdf", b"%PDF-1.4 junk")
    docs, rejected = load_documents([tmp_path])
    assert [Path(d.path).name for d in docs] == ["good.txt"]
    assert sorted(Path(r.path).name for r in rejected) == ["broken.pdf", "empty.txt"]


def test_decode_prefers_utf8_and_rejects_binary():
    assert decode("Bắc Giang".encode()) == "Bắc Giang"
    with pytest.raises(BadFileError, match="binary"):
        decode(b"\x00\x01\x02\x03" * 100 + b"\xff\xfe\xfd")
