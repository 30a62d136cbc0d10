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
        "Bắc Kạn", "Hồ Chí Minh", "Hồ Chí Minh", "Thừa Thiên Huế", "Bà Rịa - Vũng Tàu"]
    assert [text[a:b] for _, a, b in found][:2] == ["Bắc Cạn", "TP.HCM"]


def test_queries_without_diacritics_match_but_wrong_marks_do_not():
    assert names("bac giang co bao nhieu tram bts") == ["Bắc Giang"]
    assert names("Bạc Liêu và Bắc Giang") == ["Bạc Liêu", "Bắc Giang"]
    assert names("Bác Giang") == []


def test_documents_require_capitals_so_common_words_are_not_provinces():
    assert names("vì hòa bình và Hòa Bình", capitalised=True) == ["Hòa Bình"]
    assert names("vì hòa bình") == ["Hòa Bình"]  # a typed question may be all lower case
