"""Vietnamese numbers as values: "1.422" is 1422, "14,22" is 14.22, "22/63" is rank 22 of 63.

One parser for the citation check, the answerer, the indicator table and the eval's matching, so
that a number is compared by what it means, never by its digits alone.

>>> [(n.text, n.value, n.kind) for n in parse_numbers("Có 1.422 trạm, đạt 45,7%, xếp 22/63")]
[('1.422', 1422.0, 'number'), ('45,7%', 45.7, 'percent'), ('22/63', 22.0, 'rank')]
>>> numbers_equal("14,22", "1.422")
False
>>> numbers_equal("1422", "1.422")
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from assistant.text import fold, normalize

Kind = Literal["number", "percent", "rank", "money"]

# Multiplier words after a number, folded ("tỷ" -> "ty"); "ngàn" is the southern "nghìn".
SCALES = {"nghin": 1e3, "ngan": 1e3, "trieu": 1e6, "ty": 1e9, "ti": 1e9}
_CURRENCY = re.compile(r"\s*(?:đồng|dong|vnđ|vnd|đ\b)", re.I)

# A number as written: digits with "." or "," groups, an optional "/denominator" and "%".
# Dates (15/01/2021, 7/2017) are not numbers: the caller's dates module finds those.
_NUMBER = re.compile(
    r"(?<![\w.,/])(\d+(?:[.,]\d+)*)"
    r"(?:\s*/\s*(\d+)(?![\w/]|[.,]\d))?"
    r"(\s*%)?"
    r"(?:\s+((?:nghìn|ngàn|triệu|tỷ|tỉ|nghin|ngan|trieu|ty|ti)(?:\s+(?:tỷ|tỉ|ty|ti))?)(?!\w))?"
)
_DATE_LIKE = re.compile(
    r"(?<!\d)\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{2,4}(?!\d)"  # 15/01/2021
    r"|(?<!\d)\d{1,2}/(?:19|20)\d\d(?!\d)"
)  # 7/2017


@dataclass(frozen=True)
class Number:
    """One number of a text: its span, what it says, and its value in plain units."""

    text: str
    start: int
    end: int
    value: float  # 1422.0 for "1.422"; 1.5e9 for "1,5 tỷ"; 22.0 for "22/63"
    kind: Kind = "number"
    total: float | None = None  # the denominator of a rank or ratio "22/63"
    scale: float = 1.0  # 1e9 for "tỷ"

    def same_value(self, other: Number) -> bool:
        return (
            (self.kind == other.kind or "number" in (self.kind, other.kind))
            and _close(self.value, other.value)
            and (self.total is None or other.total is None or _close(self.total, other.total))
        )


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def parse_digits(s: str) -> float | None:
    """The value of one run of digits with Vietnamese separators.

    "." groups of exactly three digits are thousands ("4.540.026"); "," is the decimal point
    ("14,22", "1.422,5"). A lone "." before one, two or four digits is read as a decimal point
    ("1.5", written by people and programs that use the English style), and "1,234,567"
    (several "," groups of three) as English thousands.

    >>> [parse_digits(x) for x in ("1.422", "14,22", "4.540.026", "1.422,5", "129.150", "2,5")]
    [1422.0, 14.22, 4540026.0, 1422.5, 129150.0, 2.5]
    """
    s = s.strip()
    if not re.fullmatch(r"\d+(?:[.,]\d+)*", s):
        return None
    if "," in s and "." in s:
        whole, _, frac = s.rpartition(",") if s.rfind(",") > s.rfind(".") else s.rpartition(".")
        sep = "," if s.rfind(",") > s.rfind(".") else "."
        whole = whole.replace("." if sep == "," else ",", "")
        if not whole.isdigit():
            return None
        return float(f"{whole}.{frac}")
    if "." in s:
        groups = s.split(".")
        if all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
            return float("".join(groups))
        if len(groups) == 2:
            return float(s)
        return float("".join(groups))
    if "," in s:
        groups = s.split(",")
        if len(groups) > 2 and all(len(g) == 3 for g in groups[1:]):
            return float("".join(groups))
        if len(groups) == 2:
            return float(".".join(groups))
        return None
    return float(s)


def parse_numbers(text: str) -> list[Number]:
    """Every number of ``text`` with its value; dates ("15/01/2021", "7/2017") are skipped.

    >>> [(n.text, n.value, n.kind) for n in parse_numbers("1,5 tỷ đồng và 4.540.026 lượt")]
    [('1,5 tỷ đồng', 1500000000.0, 'money'), ('4.540.026', 4540026.0, 'number')]
    """
    text = normalize(text)
    dates = [(m.start(), m.end()) for m in _DATE_LIKE.finditer(text)]
    out: list[Number] = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in dates):
            continue
        value = parse_digits(m.group(1))
        if value is None:
            continue
        end = m.end()
        kind: Kind = "number"
        total = None
        scale = 1.0
        if m.group(2):
            total = float(m.group(2))
            kind = "rank"
        if m.group(3):
            kind = "percent"
        if m.group(4):
            scale = math.prod(SCALES[w] for w in fold(m.group(4)).lower().split())
            value *= scale
        cur = _CURRENCY.match(text, end)
        if cur and kind == "number":
            kind = "money"
            end = cur.end()
        raw = text[m.start() : end].rstrip()
        out.append(Number(raw, m.start(), m.start() + len(raw), value, kind, total, scale))
    return out


def parse_number(text: str) -> Number | None:
    """The first number of ``text``, or None.

    >>> parse_number("45,7%").value, parse_number("22/63").total, parse_number("không có")
    (45.7, 63.0, None)
    """
    found = parse_numbers(text)
    return found[0] if found else None


def numbers_equal(a: str, b: str) -> bool:
    """Two written numbers have the same value ("1422" = "1.422"; "14,22" != "1.422")."""
    x, y = parse_number(a), parse_number(b)
    return x is not None and y is not None and x.same_value(y)


def canonical(text: str) -> str:
    """``text`` with every number written one way: digits, "_" for the decimal point, no
    thousands separator ("1.422" -> "1422", "14,22" -> "14_22"), so that a substring test on two
    canonical texts compares numbers by value.

    >>> canonical("có 1.422 trạm, 14,22% và 2,50 điểm")
    'có 1422 trạm, 14_22% và 2_5 điểm'
    """
    text = normalize(text)

    def digits(m: re.Match[str]) -> str:
        value = parse_digits(m.group())
        if value is None:
            return m.group()
        return _format(value)

    return re.sub(r"(?<![\d.,])\d+(?:[.,]\d+)*(?![\d])", digits, text)


def _format(value: float) -> str:
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    return repr(value).replace(".", "_")
