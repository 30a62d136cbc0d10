import pytest

from assistant import Settings
from assistant.provinces import (
    MERGED_2025,
    PROVINCES_34,
    PROVINCES_63,
    find_provinces,
    province_2025,
)


def names(text: str, **kw) -> list[str]:
    return [p for p, _, _ in find_provinces(text, **kw)]


def test_counts_before_and_after_the_2025_merger():
    assert len(PROVINCES_63) == 63
    assert len(PROVINCES_34) == 34
    assert set(MERGED_2025) <= set(PROVINCES_63)
    assert province_2025("Bắc Giang") == "Bắc Ninh"
    assert province_2025("Bình Dương") == "Hồ Chí Minh"
    assert province_2025("Hà Nội") == "Hà Nội"


def test_variants_and_spans():
    text = "Sở TT&TT tỉnh Bắc Cạn, TP.HCM, TP. Hồ Chí Minh, thành phố Huế và Bà Rịa-Vũng Tàu"
    found = find_provinces(text)
    assert [p for p, _, _ in found] == [
        "Bắc Kạn",
        "Hồ Chí Minh",
        "Hồ Chí Minh",
        "Thừa Thiên Huế",
        "Bà Rịa - Vũng Tàu",
    ]
    assert [text[a:b] for _, a, b in found][:2] == ["Bắc Cạn", "TP.HCM"]


def test_queries_without_diacritics_match_but_wrong_marks_do_not():
    assert names("bac giang co bao nhieu tram bts") == ["Bắc Giang"]
    assert names("Bạc Liêu và Bắc Giang") == ["Bạc Liêu", "Bắc Giang"]
    assert names("Bác Giang") == []


def test_documents_require_capitals_so_common_words_are_not_provinces():
    assert names("vì hòa bình và Hòa Bình", capitalised=True) == ["Hòa Bình"]
    assert names("vì hòa bình") == ["Hòa Bình"]  # a typed question may be all lower case


def test_abbreviations_in_questions():
    assert names("BD có bao nhiêu trạm BTS?") == ["Bình Dương"]
    assert names("QB có bao nhiêu máy chủ vật lý?") == ["Quảng Bình"]
    assert names("Sở TT&TT BD có mấy cán bộ?") == ["Bình Dương"]
    assert names("So sánh BG, BN và BK") == ["Bắc Giang", "Bắc Ninh", "Bắc Kạn"]
    assert names("HN và TP.HCM, HCM, TPHCM") == [
        "Hà Nội",
        "Hồ Chí Minh",
        "Hồ Chí Minh",
        "Hồ Chí Minh",
    ]
    assert names("ĐN chuyển mã vùng năm 2017") == ["Đà Nẵng"]
    # in any case right after a place word; alone only in upper case, as a whole token
    assert names("tinh bd co bao nhieu tram bts") == ["Bình Dương"]
    assert names("TP DN và thành phố HP") == ["Đà Nẵng", "Hải Phòng"]
    assert names("bn có bao nhiêu, qb ở đâu, BDS, ABD") == []
    assert names("Các DN viễn thông dùng máy HP") == []  # doanh nghiệp, a brand
    # the place word and the short form apart: "TPHP" is a typo of "TCHP", not Hải Phòng
    assert names("TP.HP, tp. hp") == ["Hải Phòng", "Hải Phòng"]
    assert names("Học phí tính theo TPHP hay TCHP?") == []


def test_abbreviations_are_never_read_in_documents():
    assert names("Sở TT&TT BD và HN", capitalised=True) == []
    text = "Hỏi: QB có mấy laptop?"
    ((name, a, b),) = find_provinces(text)
    assert (name, text[a:b]) == ("Quảng Bình", "QB")


def test_2025_successors():
    from assistant.provinces import merged_into

    assert merged_into("Quảng Trị") == ["Quảng Trị", "Quảng Bình"]
    assert merged_into("Bắc Ninh") == ["Bắc Ninh", "Bắc Giang"]
    assert merged_into("Huế") == ["Thừa Thiên Huế"]
    assert set(merged_into("Hồ Chí Minh")) == {"Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu"}
    assert sorted(p for new in PROVINCES_34 for p in merged_into(new)) == sorted(PROVINCES_63)


@pytest.mark.model
def test_an_abbreviated_province_is_answered_from_its_own_report(real_assistant):
    a = real_assistant.ask("BD có bao nhiêu trạm BTS?")
    assert "1.422" not in a.answer  # Bắc Giang's count
    assert all(c.province == "Bình Dương" for c in a.citations)
    a = real_assistant.ask("QB có bao nhiêu máy chủ?")
    assert not a.refused and "116" in a.answer
    assert {c.province for c in a.citations} == {"Quảng Bình"}
    a = real_assistant.ask("QB có bao nhiêu máy chủ vật lý?")
    assert a.refused or {c.province for c in a.citations} == {"Quảng Bình"}
    assert "33" not in a.answer  # Bắc Giang's servers


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("Cà Mau có bao nhiêu trạm BTS?", "Các báo cáo đã nạp không có số liệu về Cà Mau."),
        ("HN có bao nhiêu trạm BTS?", "Các báo cáo đã nạp không có số liệu về Hà Nội."),
        ("Ai là Giám đốc Sở TT&TT Đồng Nai?", "Các báo cáo đã nạp không có số liệu về Đồng Nai."),
        # the 2025 province that took in Quảng Bình: refused, with the old name to ask about
        ("Quảng Trị có bao nhiêu máy chủ?", "Có báo cáo về Quảng Bình (nay thuộc Quảng Trị)"),
    ],
)
def test_a_province_no_report_covers_is_refused_with_the_reason(real_assistant, question, reason):
    a = real_assistant.ask(question)
    assert a.refused and not a.citations
    assert reason in a.answer


def test_a_follow_up_may_use_a_short_form():
    from assistant.web.followup import complete_question

    assert (
        complete_question("Còn BD thì sao?", "Bắc Giang có bao nhiêu trạm BTS?")
        == "Bình Dương có bao nhiêu trạm BTS?"
    )


def test_a_document_about_no_province_may_answer_about_a_province_it_names(tmp_path, fake_encoder):
    """Encyclopedia passages have no province: a question that names Điện Biên is answered from
    the passage that names it, not refused as if it asked for a provincial report; a province
    no passage names is still refused."""
    from assistant import Assistant
    from eval.corpus import open_pool_kb
    from eval.datasets import Passage

    passages = [
        Passage(
            id="dbp",
            title="Trận Điện Biên Phủ",
            text="Trận Điện Biên Phủ diễn ra tại lòng chảo Mường Thanh, châu Điện Biên, tỉnh "
            "Lai Châu (nay thuộc tỉnh Điện Biên). Trận đánh kéo dài 56 ngày đêm.",
        ),
        Passage(id="hue", title="Huế", text="Kinh thành Huế được xây dựng từ năm 1805."),
        Passage(id="hn", title="Thủ đô", text="Hà Nội là thủ đô của Việt Nam."),
        Passage(id="quan", title="Thủ đô", text="Thủ đô có 30 đơn vị hành chính cấp quận huyện."),
    ]
    settings = Settings(index_dir=tmp_path / "index")
    kb = open_pool_kb(passages, tmp_path / "pool.jsonl", settings, fake_encoder, tmp_path / "c")
    assert all(d.province is None for d in kb.documents.values())
    assert kb.doc_ids_about(["Điện Biên"]) == frozenset({"dbp"})
    assert kb.doc_ids_about(["Thừa Thiên Huế"]) == frozenset({"hue"})
    assert kb.doc_ids_about(["Cà Mau"]) == frozenset()
    bot = Assistant(settings, kb, fake_encoder)
    # with the fake encoder the answerer may still refuse; the province rule must not
    a = bot.ask("Trận Điện Biên Phủ ở Điện Biên kéo dài bao nhiêu ngày đêm?")
    assert "không có số liệu về" not in a.answer
    assert [h.doc.id for h in a.hits][:1] == ["dbp"]
    # a passage that does not name the province is still searched: names decide refusals only
    assert kb.doc_ids_about(["Hà Nội"]) == frozenset({"hn"})
    a = bot.ask("Hà Nội có bao nhiêu đơn vị hành chính cấp quận huyện?")
    assert "quan" in [h.doc.id for h in a.hits]
    a = bot.ask("Cà Mau có bao nhiêu ngày đêm?")
    assert a.refused and "không có số liệu về Cà Mau" in a.answer


def test_a_report_never_answers_about_a_province_it_only_names(
    reports_copy, tmp_path, fake_encoder
):
    """A provincial report that mentions another province stays that province's report."""
    from assistant import index_paths

    report = reports_copy / "bac-giang-2020.txt"
    report.write_text(
        report.read_text("utf-8") + "\nSở đã trao đổi kinh nghiệm với Sở TT&TT tỉnh Lạng Sơn.\n",
        "utf-8",
    )
    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    bg = str(report.resolve())
    assert kb.documents[bg].province == "Bắc Giang"
    assert kb.doc_ids_about(["Lạng Sơn"]) == frozenset()
    assert kb.doc_ids_about(["Bắc Giang"]) == frozenset({bg})
