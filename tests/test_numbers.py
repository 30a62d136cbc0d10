"""The Vietnamese number parser shared by the citation check, the answerer and the eval."""

import pytest

from assistant.numbers import canonical, numbers_equal, parse_digits, parse_number, parse_numbers


@pytest.mark.parametrize(
    "text, value, kind, total",
    [
        ("1.422", 1422, "number", None),
        ("14,22", 14.22, "number", None),
        ("4.540.026", 4540026, "number", None),
        ("45,7%", 45.7, "percent", None),
        ("45,7 %", 45.7, "percent", None),
        ("22/63", 22, "rank", 63),
        ("1,5 tỷ đồng", 1.5e9, "money", None),
        ("1,5 ty dong", 1.5e9, "money", None),
        ("3 triệu đồng", 3e6, "money", None),
        ("2,5 nghìn tỷ đồng", 2.5e12, "money", None),
        ("129.150", 129150, "number", None),
        ("1.422,5", 1422.5, "number", None),
        ("100%", 100, "percent", None),
    ],
)
def test_each_written_form_has_its_value(text, value, kind, total):
    n = parse_number(f"đạt {text} trong năm")
    assert n is not None
    assert n.value == pytest.approx(value)
    assert (n.kind, n.total) == (kind, total)
    assert n.text == text


def test_decimal_comma_never_equals_thousands_dot():
    assert not numbers_equal("14,22", "1.422")
    assert numbers_equal("1422", "1.422")
    assert numbers_equal("45,7%", "45,7 %")
    assert not numbers_equal("22/63", "22/64")


def test_spans_point_into_the_text():
    text = "Toàn tỉnh có 1.422 trạm BTS, 4G phủ 98,5% dân số, xếp 22/63."
    found = parse_numbers(text)
    assert [text[n.start : n.end] for n in found] == ["1.422", "4", "98,5%", "22/63"]


def test_dates_are_not_numbers():
    assert parse_numbers("ngày 15/01/2021 và tháng 7/2017") == []
    assert [n.value for n in parse_numbers("tháng 7/2017 có 12 trạm")] == [12]


def test_english_style_separators_are_read_as_written():
    assert parse_digits("1.5") == 1.5
    assert parse_digits("1,234,567") == 1234567
    assert parse_digits("abc") is None


def test_canonical_compares_numbers_by_value():
    assert canonical("1.422 trạm") == "1422 trạm"
    assert canonical("14,22 trạm") == "14_22 trạm"
    assert "1422" not in canonical("14,22")
