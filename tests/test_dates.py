"""Vietnamese dates and periods (assistant/dates.py)."""

import pytest

from assistant.dates import parse_date, parse_dates, years_in


@pytest.mark.parametrize(
    "text, iso",
    [
        ("Bắc Giang, ngày 15 tháng 01 năm 2021", "2021-01-15"),
        ("Bac Giang, ngay 15 thang 01 nam 2021", "2021-01-15"),
        ("ngày 15/01/2021", "2021-01-15"),
        ("15-01-2021", "2021-01-15"),
        ("15.01.2021", "2021-01-15"),
        ("2021-01-15T08:00", "2021-01-15"),
        ("ngày 31/02/2021", None),
        ("Ngày 10/2, Sở TT&TT", None),
    ],
)
def test_full_dates(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    "text, kind, first, last",
    [
        ("tháng 7/2017", "month", (2017, 7), (2017, 7)),
        ("tháng 7 năm 2017", "month", (2017, 7), (2017, 7)),
        ("quý I/2017", "quarter", (2017, 1), (2017, 3)),
        ("quý 4 năm 2020", "quarter", (2020, 10), (2020, 12)),
        ("6 tháng đầu năm 2022", "months", (2022, 1), (2022, 6)),
        ("6 tháng cuối năm 2021", "months", (2021, 7), (2021, 12)),
        ("9 tháng năm 2022", "months", (2022, 1), (2022, 9)),
        ("giai đoạn 2016 - 2020", "range", (2016, 1), (2020, 12)),
        ("từ năm 2008 đến năm 2023", "range", (2008, 1), (2023, 12)),
        ("năm 2021", "year", (2021, 1), (2021, 12)),
    ],
)
def test_periods(text, kind, first, last):
    (d,) = parse_dates(f"Kết quả {text}, toàn tỉnh")
    assert (d.kind, d.first, d.last) == (kind, first, last)
    assert d.text == text


def test_spans_and_years_in_order():
    text = "Năm 2021, so với giai đoạn 2016-2020, tính đến tháng 7/2017; quyết định 2036/QĐ-BTTTT"
    assert years_in(text) == [2021, 2016, 2020, 2017]
    for d in parse_dates(text):
        assert text[d.start : d.end] == d.text


def test_a_day_and_month_take_the_documents_year():
    (d,) = parse_dates("Ngày 10/2, Sở TT&TT TP. Đà Nẵng", year=2017)
    assert (d.text, d.iso(), d.years) == ("Ngày 10/2", "2017-02-10", range(2017, 2018))
    assert [x.iso() for x in parse_dates("sáng 16/5 và chiều 21-6", year=2017)] == [
        "2017-05-16",
        "2017-06-21",
    ]
    assert parse_dates("Ngày 10/2, Sở TT&TT") == []  # no year known: not a date
    assert parse_dates("xếp thứ 10/2 và ngày 31/2", year=2017) == []
    # a full date is never read as a day and month of the document's year
    assert [x.iso() for x in parse_dates("ngày 21/11/2016", year=2017)] == ["2016-11-21"]
