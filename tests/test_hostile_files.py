"""Hostile and broken files, category by category: the exact outcome of each (indexed with the
right text, or refused with a one-line English reason), in bounded time and memory. The files
come from the reliability benchmark's generators (``bench/reliability/filegen.py``)."""

from __future__ import annotations

import random
import time
import unicodedata
from pathlib import Path

import pytest

from assistant import BadFileError, Settings, index_paths, load_document
from assistant.formats import MAX_DOCX_XML_BYTES, flat_html_text, too_complex
from bench.reliability import filegen
from bench.reliability.filegen import probe_word, report_text


def _case(cases: list[filegen.Case], name: str) -> Path:
    return next(c.path for c in cases if c.path.name == name)


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(BadFileError) as err:
        load_document(path)
    reason = str(err.value)
    assert "\n" not in reason and reason.isascii()
    assert any(w in reason for w in words), reason
    return reason


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> list[filegen.Case]:
    return filegen.zip_bomb(tmp_path_factory.mktemp("bombs"), random.Random(0))


def test_a_zip_bomb_is_refused_by_its_declared_size_without_inflating(bombs):
    t0 = time.perf_counter()
    reason = _refused(_case(bombs, "bomb-3gib.docx"), "zip bomb")
    assert reason == "DOCX inflates to 3,072 MB, more than the 200 MB limit (zip bomb?)"
    assert time.perf_counter() - t0 < 2  # inflating 3 GiB takes far longer


def test_overlapping_entries_are_counted_each_time(bombs):
    _refused(_case(bombs, "bomb-overlap.docx"), "zip bomb")


def test_a_member_that_lies_about_its_size_fails_its_check(bombs):
    t0 = time.perf_counter()
    assert _refused(_case(bombs, "bomb-lying-header.docx"), "DOCX") == (
        "corrupt or unreadable DOCX (BadZipFile)"
    )
    assert time.perf_counter() - t0 < 2


def test_an_entity_bomb_is_refused_before_parsing(bombs):
    """Regression: lxml's XMLSyntaxError escaped and stopped the whole batch."""
    assert "DTD" in _refused(_case(bombs, "bomb-billion-laughs.docx"), "DTD")


def test_a_docx_of_millions_of_empty_paragraphs_is_refused_by_count(bombs):
    """Regression: python-docx took 108 s and 1.3 GB for these 20 MiB of ``<w:p/>``."""
    t0 = time.perf_counter()
    assert _refused(_case(bombs, "dense-20mib-paragraphs.docx"), "elements") == (
        "DOCX has more than 3,000,000 XML elements; split the document"
    )
    assert time.perf_counter() - t0 < 60


def test_a_docx_of_many_empty_paragraphs_is_read_as_a_stream(tmp_path):
    xml = (
        filegen._DOC_HEAD
        + "mãsốdense"
        + "</w:t></w:r></w:p>"
        + "<w:p/>" * 300_000
        + "<w:p><w:r><w:t>cuối</w:t></w:r></w:p></w:body></w:document>"
    )
    path = tmp_path / "dense.docx"
    path.write_bytes(filegen._zip([filegen._named("word/document.xml", xml)]))
    t0 = time.perf_counter()
    assert load_document(path).text == "mãsốdense\n\ncuối"
    assert time.perf_counter() - t0 < 20


def test_a_too_large_docx_part_is_refused(tmp_path):
    member = filegen._spaces_bomb(MAX_DOCX_XML_BYTES + filegen.MIB)
    path = tmp_path / "big.docx"
    path.write_bytes(filegen._zip([member]))
    assert _refused(path, "text part") == (
        "DOCX text part inflates to 65 MB, more than the 64 MB limit (zip bomb?)"
    )


def test_docx_reads_paragraphs_and_table_rows_in_document_order(tmp_path):
    path = tmp_path / "r.docx"
    path.write_bytes(filegen.make_docx("Dòng một.\nDòng hai."))
    doc = load_document(path)
    assert doc.text == "Dòng một.\n\nDòng hai.\n\nTrạm BTS | 1.357"
    assert doc.title == "Báo cáo Lào Cai năm 2023"


@pytest.mark.parametrize("fraction", [0.0005, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_a_truncated_file_is_read_or_refused_never_raised(tmp_path, kind, fraction):
    text = report_text("cut")
    raw = filegen.make_pdf(text) if kind == "pdf" else filegen.make_docx(text)
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(raw[: max(1, int(len(raw) * fraction))])
    try:
        doc = load_document(path)
    except BadFileError as err:
        assert kind.upper() in str(err) or "no text" in str(err)
    else:
        assert doc.text.strip()


def test_a_parser_failure_becomes_a_reason(tmp_path, monkeypatch):
    def broken(raw):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("assistant.ingest.pdf_text", broken)
    path = tmp_path / "r.pdf"
    path.write_bytes(b"%PDF-1.4 whatever")
    assert _refused(path, "PDF") == "unreadable PDF file (ZeroDivisionError)"


def test_a_pdf_compression_bomb_is_refused(tmp_path):
    case = filegen.pdf_bomb(tmp_path, random.Random(0))[0]
    t0 = time.perf_counter()
    _refused(case.path, "PDF")
    assert time.perf_counter() - t0 < 30


@pytest.mark.parametrize(
    ("name", "tag", "close"), [("div", "nestdiv", True), ("font", "nestfont", False)]
)
def test_html_nested_100k_levels_is_read_flat(tmp_path, name, tag, close):
    """Regression: 1M nested tags took 50 s and 717 MB in the tree parser."""
    n = 100_000
    html = f"<html><body>{f'<{name}>' * n}<p>{report_text(tag)}</p>"
    html += f"</{name}>" * n if close else ""
    assert too_complex(html)
    path = tmp_path / "deep.html"
    path.write_text(html)
    doc = load_document(path)
    assert probe_word(tag) in doc.text and "<" not in doc.text


def test_the_flat_html_reader_drops_scripts_and_decodes_entities():
    text, meta = flat_html_text(
        "<html><head><title>T&amp;T</title><script>x<y</script></head>"
        "<body><script>alert(1)</script><p>Bắc&nbsp;Giang</p>"
        "<style>p{}</style><div>hai</div></body>"
    )
    assert " ".join(text.split()) == "Bắc Giang hai" and "\u00a0" in text
    assert meta["title"] == "T&T"


def test_an_ordinary_page_still_goes_through_the_tree_parser():
    assert not too_complex("<html><body>" + "<p>đoạn</p>" * 1000 + "</body></html>")


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("cp1258.txt", "cpone"),
        ("utf16le-nobom.txt", "utfle"),
        ("utf16be-nobom.txt", "utfbe"),
        ("mojibake-cp1252.txt", "mojibake"),
        ("mojibake-latin1.txt", "mojilatin"),
    ],
)
def test_encodings_give_the_original_text(tmp_path, name, tag):
    cases = filegen.encodings(tmp_path, random.Random(0))
    assert load_document(_case(cases, name)).text == report_text(tag).strip()


def test_utf8_with_a_few_corrupt_bytes_keeps_the_rest(tmp_path):
    """Regression: one bad byte sent the whole file to Windows-1258 as mojibake."""
    doc = load_document(
        _case(filegen.encodings(tmp_path, random.Random(0)), "utf8-corrupt-bytes.txt")
    )
    assert doc.text.count("\ufffd") == 4  # the first bad byte orphans the next one
    assert probe_word("corrupt") in doc.text
    assert "Lào Cai" in doc.text


def test_latin1_french_is_refused(tmp_path):
    _refused(
        _case(filegen.encodings(tmp_path, random.Random(0)), "latin1-french.txt"), "cannot decode"
    )


@pytest.mark.parametrize("name", ["nul-near-start.txt", "nul-far.txt"])
def test_stray_nul_bytes_are_dropped(tmp_path, name):
    """Regression: one NUL in the first 4 KB refused the file as binary, one after it did
    not."""
    doc = load_document(_case(filegen.nul_bytes(tmp_path, random.Random(0)), name))
    assert "\x00" not in doc.text and "trạm BTS" in doc.text


@pytest.mark.parametrize(
    "name",
    ["spaces.txt", "nbsp.txt", "ideographic.md", "nbsp.html", "bom-spaces.txt", "cp1258-nbsp.txt"],
)
def test_whitespace_only_files_are_empty(tmp_path, name):
    cases = filegen.whitespace(tmp_path, random.Random(0))
    _refused(_case(cases, name), "file is empty", "no text found in the file")


def test_random_bytes_are_refused_under_every_extension(tmp_path):
    for case in filegen.binary(tmp_path, random.Random(1)):
        _refused(case.path, "binary", "PDF", "DOCX", "decode")


def test_too_large_says_the_limit_in_the_same_unit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * (2 * filegen.MIB + 1))
    with pytest.raises(BadFileError) as err:
        load_document(path, max_bytes=filegen.MIB)
    assert str(err.value) == "file is too large (2.0 MB, limit 1.0 MB)"


def test_a_file_name_that_is_not_utf8_is_refused(tmp_path):
    """Regression: the name reached chunks.jsonl and the save failed for the whole batch."""
    cases = filegen.odd_names(tmp_path / "odd", random.Random(0))
    bad = next(c.path for c in cases if c.probe == probe_word("badutf8"))
    assert _refused(bad, "name") == "the file name is not valid UTF-8; rename the file"


def test_odd_names_and_twice_named_files_index_once(tmp_path, fake_encoder):
    """Regression: a file given twice ("x.txt", "sub/../x.txt") was chunked twice."""
    cases = filegen.odd_names(tmp_path / "odd", random.Random(0))
    settings = Settings(index_dir=tmp_path / "index")
    paths = [tmp_path / "odd", *(p for c in cases for p in c.extra_paths)]
    kb, report = index_paths(paths, settings.index_dir, settings, fake_encoder)
    assert len({c.id for c in kb.chunks}) == len(kb.chunks)
    hidden = [c for c in cases if c.expect == "hidden"]  # "..txt": skipped like .git
    assert [c.path.name for c in hidden] == ["..txt", "..\\..\\evil.txt"]
    assert len(report.added) == len(cases) - 3 and len(report.rejected) == 1
    for case in cases:
        indexed = case.path.resolve().as_posix() in kb.documents
        assert indexed == (case not in hidden and case.probe != probe_word("badutf8"))


def test_nfd_text_is_stored_nfc_and_found_by_an_nfc_query(tmp_path, fake_encoder):
    cases = filegen.nfc_nfd(tmp_path / "nfd", random.Random(0))
    settings = Settings(index_dir=tmp_path / "index", fusion="bm25")
    kb, _ = index_paths([tmp_path / "nfd"], settings.index_dir, settings, fake_encoder)
    from assistant.retrieve import Retriever

    retriever = Retriever(kb, fake_encoder, settings)
    for case in cases:
        doc = kb.documents[case.path.resolve().as_posix()]
        assert doc.text == unicodedata.normalize("NFC", doc.text)
        hits = retriever.search(unicodedata.normalize("NFC", case.probe or ""), 3)
        assert hits[0].chunk.doc_id == doc.id


def test_a_5mb_single_line_is_indexed_and_found(tmp_path, fake_encoder):
    case = filegen.long_line(tmp_path / "long", random.Random(0))[0]
    assert case.path.stat().st_size >= 5 * filegen.MIB
    doc = load_document(case.path)
    assert probe_word("longline") in doc.text and "\n" not in doc.text
