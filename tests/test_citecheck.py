"""The citation check compares numbers and dates by value (assistant/citecheck.py)."""

import pytest

from assistant.citecheck import check, numbers_in, supported


@pytest.mark.parametrize(
    ("claimed", "passage", "expected"),
    [
        ("1422", "1.422", True),
        ("1.422", "1422", True),
        ("14,22", "1.422", False),  # a decimal comma is not a thousands dot
        ("1.422", "14,22", False),
        ("45,7%", "45,7 %", True),
        ("45,7%", "45,7", True),
        ("22/63", "22/63", True),
        ("22/63", "22/64", False),
        ("1,5 tỷ đồng", "1.500 triệu đồng", True),
        ("1,5 tỷ đồng", "1,5 triệu đồng", False),
        ("15/01/2021", "ngày 15 tháng 01 năm 2021", True),
        ("15/01/2021", "16/01/2021", False),
        ("tháng 7 năm 2017", "tháng 7/2017", True),
        ("2020", "năm 2020", True),
    ],
)
def test_supported_by_value(claimed, passage, expected):
    (number,) = numbers_in(claimed)
    assert supported(number, numbers_in(passage)) is expected


def test_the_issue_example():
    assert supported("14,22", {"1.422"}) is False
    assert supported("1422", {"1.422"}) is True


def test_a_wrong_number_makes_the_sentence_unverified():
    passages = ["Toàn tỉnh có 1.422 trạm BTS, tăng 12,5% so với năm 2019."]
    ok = check("Toàn tỉnh có 1422 trạm BTS [1], tăng 12,5% [1].", passages)
    assert ok.unverified == []
    bad = check("Toàn tỉnh có 14,22 trạm BTS [1].", passages)
    assert bad.unverified == ["Toàn tỉnh có 14,22 trạm BTS [1]."]
