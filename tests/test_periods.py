"""Report periods and publication dates (assistant/periods.py), the year filters that use them,
and a 2017 news article answered for its own year (the last test with the real model)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import SHARED

from assistant import Assistant, Settings, index_paths
from assistant.config import BUNDLED_REPORTS
from assistant.ingest import detect_metadata, load_document
from assistant.kb import KnowledgeBase
from assistant.periods import document_period, publication_date
from assistant.storage import live_version
from assistant.types import Document, SearchFilter

# A news item with the shape of the news-2017 corpus: a source line "(..., c. 2017)", a title, a
# lead dated by day and month only, and a body naming the years before (the decision of
# 21/11/2016, work since 12/2016) that a "most mentioned year" guess took for the article's.
QUANG_NAM_2017 = """\
https://example.org/tin/quang-nam-chuyen-ma-vung (bài đăng trên báo điện tử, c. 2017)
Quảng Nam: Khoảng 48.300 thuê bao chuyển đổi từ mã vùng 510 sang 235
Ngày 9/2, Sở TT&TT tỉnh Quảng Nam cho biết việc chuyển đổi mã vùng điện thoại cố định trên địa bàn \
tỉnh sẽ bắt đầu từ 00 giờ 00 phút ngày 11/2.
Theo Quyết định số 2036/QĐ-BTTTT ngày 21/11/2016 của Bộ TT&TT, Quảng Nam thuộc nhóm 13 tỉnh thành \
chuyển đổi mã vùng giai đoạn 1. Trên địa bàn tỉnh có khoảng 48.300 thuê bao cố định (VNPT: \
41.250 thuê bao, Viettel: 7.050 thuê bao) thực hiện chuyển đổi. Việc chuyển đổi tương đối đơn \
giản, chỉ chuyển đổi từ mã vùng cũ 510 sang mã vùng mới 235. Từ đầu tháng 12/2016, Sở TT&TT \
đã tuyên truyền trên báo chí, hệ thống thông tin cơ sở và mạng xã hội. Trong 30 ngày đầu vẫn \
sử dụng song song mã vùng cũ và mã vùng mới; 30 ngày tiếp theo có lời nhắn hướng dẫn cho khách \
hàng gọi mã vùng cũ.
"""
DA_NANG_ARTICLE = "baomoi-21510071-da-nang-khoang-129-150-thue-bao-chuyen-doi-tu-ma-vung-511-sa.txt"


@pytest.mark.parametrize(
    ("text", "title", "published", "expected"),
    [
        # the official header is the publication date; a report of January is about the year before
        (
            "UBND TỈNH BẮC GIANG\nSỞ THÔNG TIN VÀ TRUYỀN THÔNG\n"
            "Bắc Giang, ngày 15 tháng 01 năm 2021\n"
            "BÁO CÁO\nKết quả công tác thông tin và truyền thông",
            None,
            None,
            (2020, 2020, 2020, "2021-01-15"),
        ),
        # ... also at the end of a document, typed without diacritics
        (
            "Bao cao ket qua cong tac\nNoi dung.\nBac Giang, ngay 02 thang 8 nam 2021\nGIAM DOC",
            None,
            None,
            (2021, 2021, 2021, "2021-08-02"),
        ),
        # the title names the year; a web page's dateline is the publication date
        (
            "Dấu ấn ngành TT&TT năm 2020\nThứ bảy, 23/01/2021 09:24 AM\nNăm 2020 ...",
            "Dấu ấn ngành TT&TT năm 2020",
            None,
            (2020, 2020, 2020, "2021-01-23"),
        ),
        # a plan named by its range; its horizon ("tầm nhìn đến năm 2030") is not its period
        (
            "Kế hoạch\n...",
            "Kết quả giai đoạn 2016 - 2020, tầm nhìn đến năm 2030",
            None,
            (2020, 2016, 2020, None),
        ),
        # a retrospective counted back from the publication date of the file's metadata
        (
            "Chặng đường 20 năm xây dựng và trưởng thành của ngành",
            None,
            "2019-08-28",
            (2019, 1999, 2019, "2019-08-28"),
        ),
        # ... or forward from the founding year the text gives
        (
            "Trải qua 10 năm hình thành và phát triển, Trung tâm được thành lập năm 2011 ...",
            None,
            None,
            (2021, 2011, 2021, None),
        ),
        # a date inside the body is not a publication date; the source note's year is the year
        (
            "https://x.org/a (crawled, c. 2017)\nTừ 1/4/2017, Hà Nội chấm dứt văn bản giấy\n"
            "Theo quyết định ngày 21/11/2016 ... tháng 12/2016 ...",
            None,
            None,
            (2017, 2017, 2017, None),
        ),
        # nothing but years in the text: the one named most often
        ("Tình hình năm 2019 và năm 2019, so với 2018", None, None, (2019, 2019, 2019, None)),
        ("Không có năm nào", None, None, (None, None, None, None)),
    ],
)
def test_document_period(text, title, published, expected):
    p = document_period(text, title, published)
    assert (p.year, p.start, p.end, p.published) == expected


def test_publication_date_forms():
    assert publication_date("Hà Nội, ngày 5 tháng 3 năm 2022\nBÁO CÁO") == "2022-03-05"
    assert publication_date("10:13, Thứ Ba, 7-2-2023\nNội dung") == "2023-02-07"
    assert publication_date("(Cập nhật lúc: 04/02/2020 16:32:33 )") == "2020-02-04"
    assert publication_date("Theo báo cáo ngày 25/9/2015 chính thức chạy thử") is None


def test_the_news_article_shape_is_2017(tmp_path):
    f = tmp_path / "quang-nam.txt"
    f.write_text(QUANG_NAM_2017, "utf-8")
    d = load_document(f)
    assert (d.province, d.year, d.period_start, d.period_end) == ("Quảng Nam", 2017, 2017, 2017)


@pytest.mark.skipif(
    not (SHARED / "corpus" / "news-2017" / DA_NANG_ARTICLE).exists(),
    reason="../shared/corpus/news-2017 is not here",
)
def test_the_da_nang_article_is_2017():
    d = load_document(SHARED / "corpus" / "news-2017" / DA_NANG_ARTICLE)
    assert (d.province, d.year, d.period_start, d.period_end) == ("Đà Nẵng", 2017, 2017, 2017)


def test_metadata_fields():
    meta = detect_metadata(
        "Kỷ niệm 15 năm xây dựng và phát triển Sở TT&TT tỉnh Bắc Ninh\n"
        "Bắc Ninh, ngày 20 tháng 8 năm 2023\nNội dung."
    )
    assert (
        meta["province"],
        meta["year"],
        meta["period_start"],
        meta["period_end"],
        meta["published"],
    ) == ("Bắc Ninh", 2023, 2008, 2023, "2023-08-20")


def _doc(doc_id: str, year: int | None, start: int | None, end: int | None) -> Document:
    return Document(
        id=doc_id,
        path=doc_id,
        title=doc_id,
        text="x",
        sha256="",
        format="txt",
        province="Bắc Ninh",
        year=year,
        period_start=start,
        period_end=end,
    )


def test_filters_use_the_period():
    review, report, old = (
        _doc("a", 2023, 2008, 2023),
        _doc("b", 2020, 2020, 2020),
        _doc("c", 2019, None, None),
    )
    where = SearchFilter(year=2015)
    assert [d.id for d in (review, report, old) if where.matches(d)] == ["a"]
    assert [d.id for d in (review, report, old) if SearchFilter(year=2019).matches(d)] == ["a", "c"]
    assert review.period() == "2008–2023" and report.period() == "2020" and old.period() == "2019"


def test_year_filter_and_question_year_reach_the_review(tmp_path, reports_copy, fake_encoder):
    """A question about 2015 reaches the Bắc Ninh review of 2008-2023; one about 2030 is refused
    for its year."""
    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    bot = Assistant(settings, kb, fake_encoder)
    bn = str((reports_copy / "bac-ninh-15-nam.txt").resolve())
    hits = bot.retriever.search("phim tài liệu quảng bá", 5, year=2015)
    assert hits and {h.doc.id for h in hits} == {bn}
    assert kb.doc_ids_about(["Bắc Ninh"], [2012]) == frozenset({bn})
    a = bot.ask("Năm 2012 Bắc Ninh phát sóng phim tài liệu quảng bá tại bao nhiêu quốc gia?")
    assert "không có số liệu năm" not in a.answer
    a = bot.ask("Năm 2031 Bắc Ninh có bao nhiêu trạm BTS?")
    assert a.refused and "không có số liệu năm 2031" in a.answer


def test_an_index_with_old_metadata_is_rebuilt(tmp_path, reports_copy, fake_encoder):
    """The manifest records the metadata version: an index built before periods existed no
    longer matches, and indexing again rebuilds it with the new metadata."""
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    folder = live_version(settings.index_dir)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["metadata"] >= 2
    manifest["metadata"] = 1
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    from assistant.errors import IndexMismatchError
    from assistant.storage import index_signature

    with pytest.raises(IndexMismatchError, match="metadata"):
        KnowledgeBase.load(settings.index_dir, index_signature(settings, fake_encoder))
    kb, report = index_paths(
        [reports_copy], settings.index_dir, settings, fake_encoder, rebuild=True
    )
    assert len(report.added) == 5
    bn = kb.documents[str((reports_copy / "bac-ninh-15-nam.txt").resolve())]
    assert (bn.year, bn.period_start, bn.period_end) == (2023, 2008, 2023)


@pytest.mark.model
def test_a_2017_question_is_answered_from_the_2017_article(real_encoder, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_REPORTS, corpus)
    (corpus / "quang-nam-2017.txt").write_text(QUANG_NAM_2017, "utf-8")
    shared = SHARED / "corpus" / "news-2017" / DA_NANG_ARTICLE
    if shared.exists():  # the real article, copied into the test's own folder only
        shutil.copy(shared, corpus / DA_NANG_ARTICLE)
    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([corpus], settings.index_dir, settings, real_encoder)
    bot = Assistant(settings, kb, real_encoder)
    a = bot.ask("Năm 2017 Quảng Nam chuyển mã vùng điện thoại cố định sang mã nào?")
    assert not a.refused and "235" in a.answer
    assert a.citations[0].doc.endswith("quang-nam-2017.txt")
    if shared.exists():
        a = bot.ask("Năm 2017 Đà Nẵng chuyển mã vùng điện thoại cố định sang mã nào?")
        assert not a.refused and "236" in a.answer
        assert a.citations[0].doc.endswith(DA_NANG_ARTICLE)
