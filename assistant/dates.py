"""Vietnamese dates and periods: "ngày 15 tháng 01 năm 2021", "15/01/2021", "tháng 7/2017",
"quý I/2017", "6 tháng đầu năm 2022", "giai đoạn 2016 - 2020", typed with or without diacritics.

A mention knows its span and the months it covers, so the answerer can tell the year a sentence
is about, and ingestion the period of a report.

>>> [(d.text, d.year, d.month, d.day) for d in parse_dates("Bắc Giang, ngày 15 tháng 01 năm 2021")]
[('ngày 15 tháng 01 năm 2021', 2021, 1, 15)]
>>> parse_date("Bắc Giang, ngày 15 tháng 01 năm 2021")
'2021-01-15'
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from assistant.text import fold, normalize

Kind = Literal["day", "month", "quarter", "months", "year", "range"]

_Y = r"((?:19|20)\d\d)"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_SEP = r"\s*[/.-]\s*"

# Patterns on the folded, lower-cased text (same length as the original, so spans carry over).
# Order matters: the longest forms first; a later pattern never takes a span already taken.
_PATTERNS: list[tuple[Kind, re.Pattern[str]]] = [
    ("day", re.compile(rf"\bngay\s+(\d{{1,2}})\s+thang\s+(\d{{1,2}})\s+nam\s+{_Y}\b")),
    ("day", re.compile(rf"\b(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}{_Y}\b")),
    ("day", re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")),  # ISO: y, m, d
    (
        "range",
        re.compile(
            rf"\b(?:giai doan|thoi ky|tu nam|nam)?\s*{_Y}\s*(?:-|–|den|toi)\s*"
            rf"(?:nam\s+)?{_Y}\b"
        ),
    ),
    ("months", re.compile(rf"\b(\d{{1,2}})\s+thang\s+(dau|cuoi)\s+nam\s+{_Y}\b")),
    ("months", re.compile(rf"\b(\d{{1,2}})\s+thang\s+(?:nam\s+)?{_Y}\b")),
    ("quarter", re.compile(rf"\bquy\s+(i{{1,3}}|iv|[1-4])\s*(?:/|nam|-)\s*(?:nam\s+)?{_Y}\b")),
    ("month", re.compile(rf"\bthang\s+(\d{{1,2}})\s*(?:/|-|nam|\.)\s*(?:nam\s+)?{_Y}\b")),
    ("month", re.compile(rf"(?<![\d/.])(\d{{1,2}})/{_Y}\b")),
    ("year", re.compile(rf"\b(?:nam|cuoi nam|dau nam|trong nam|tu nam|den nam)\s+{_Y}\b")),
]


@dataclass(frozen=True)
class DateMention:
    """A date or period named in a text; ``first``..``last`` are the months it covers."""

    text: str
    start: int
    end: int
    kind: Kind
    year: int  # the (last) year
    month: int | None = None
    day: int | None = None
    first: tuple[int, int] = (0, 1)  # (year, month)
    last: tuple[int, int] = (0, 12)

    @property
    def years(self) -> range:
        return range(self.first[0], self.last[0] + 1)

    def iso(self) -> str | None:
        if self.kind != "day" or self.month is None or self.day is None:
            return None
        return date(self.year, self.month, self.day).isoformat()


def _mention(kind: Kind, m: re.Match[str], text: str) -> DateMention | None:
    g = m.groups()
    raw = text[m.start() : m.end()].strip()
    lead = len(text[m.start() : m.end()]) - len(text[m.start() : m.end()].lstrip())
    start = m.start() + lead
    end = start + len(raw)
    try:
        if kind == "day":
            if len(g[0]) == 4:  # ISO
                y, mo, d = int(g[0]), int(g[1]), int(g[2])
            else:
                d, mo, y = int(g[0]), int(g[1]), int(g[2])
            date(y, mo, d)
            return DateMention(raw, start, end, kind, y, mo, d, (y, mo), (y, mo))
        if kind == "range":
            a, b = int(g[0]), int(g[1])
            if not a < b <= a + 50:
                return None
            return DateMention(raw, start, end, kind, b, first=(a, 1), last=(b, 12))
        if kind == "months":
            n = int(g[0])
            if not 1 <= n <= 12:
                return None
            if len(g) == 3:
                y = int(g[2])
                first, last = ((y, 1), (y, n)) if g[1] == "dau" else ((y, 13 - n), (y, 12))
            else:
                y = int(g[1])
                first, last = (y, 1), (y, n)
            return DateMention(raw, start, end, kind, y, first=first, last=last)
        if kind == "quarter":
            q = _ROMAN.get(g[0]) or int(g[0])
            y = int(g[1])
            return DateMention(raw, start, end, kind, y, first=(y, 3 * q - 2), last=(y, 3 * q))
        if kind == "month":
            mo, y = int(g[0]), int(g[1])
            if not 1 <= mo <= 12:
                return None
            return DateMention(raw, start, end, kind, y, mo, None, (y, mo), (y, mo))
        y = int(g[0])
        return DateMention(raw, start, end, kind, y, first=(y, 1), last=(y, 12))
    except ValueError:
        return None


# A day and month without a year, after a word that says it is a day: "Ngày 10/2", "sáng 16/5",
# "chiều 21-6". Read only when the caller knows the year (the document's).
_DAY_MONTH = re.compile(
    r"\b(?:ngay|sang|chieu|toi|trua|dem)\s+(\d{1,2})\s*[/-]\s*(\d{1,2})"
    r"(?![\d/.-]|\s*[/-]\s*\d)"
)


def parse_dates(text: str, year: int | None = None) -> list[DateMention]:
    """Every date or period in ``text``, in order of position; spans point into ``text``.
    With ``year`` (the document's), a day and month without a year ("Ngày 10/2") is a day of
    that year.

    >>> [(d.kind, d.first, d.last) for d in parse_dates("quý I/2017 và 6 tháng đầu năm 2022")]
    [('quarter', (2017, 1), (2017, 3)), ('months', (2022, 1), (2022, 6))]
    >>> [(d.text, d.iso()) for d in parse_dates("Ngày 10/2, Sở TT&TT ... từ ngày 11/2", 2017)]
    [('Ngày 10/2', '2017-02-10'), ('ngày 11/2', '2017-02-11')]
    """
    text = normalize(text)
    folded = fold(text).lower()
    taken: list[tuple[int, int]] = []
    out: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(folded):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            mention = _mention(kind, m, text)
            if mention is not None:
                taken.append((m.start(), m.end()))
                out.append(mention)
    if year is not None:
        for m in _DAY_MONTH.finditer(folded):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            d, mo = int(m.group(1)), int(m.group(2))
            try:
                date(year, mo, d)
            except ValueError:
                continue
            out.append(
                DateMention(
                    text[m.start() : m.end()],
                    m.start(),
                    m.end(),
                    "day",
                    year,
                    mo,
                    d,
                    (year, mo),
                    (year, mo),
                )
            )
    return sorted(out, key=lambda d: d.start)


def parse_date(text: str) -> str | None:
    """The first full date of ``text`` as ISO ``YYYY-MM-DD``, or None."""
    for d in parse_dates(text):
        if d.kind == "day":
            return d.iso()
    return None


_BARE_YEAR = re.compile(r"(?<![\d/.,-])((?:19|20)\d\d)(?![\d/]|[.,]\d)")


def years_in(text: str, bare: bool = True) -> list[int]:
    """The years ``text`` is about, in order, without repeats: from its dates and periods, and
    (``bare``) from four-digit years standing alone ("đến 2020"). A range gives its end points.

    >>> years_in("Năm 2021, so với giai đoạn 2016-2020, tính đến tháng 7/2017")
    [2021, 2016, 2020, 2017]
    """
    if len(text) <= 400:  # sentences, met again and again by the answerer
        return list(_years_short(text, bare))
    return _years(text, bare)


@functools.lru_cache(maxsize=16384)
def _years_short(text: str, bare: bool) -> tuple[int, ...]:
    return tuple(_years(text, bare))


def _years(text: str, bare: bool) -> list[int]:
    text = normalize(text)
    mentions = parse_dates(text)
    found: list[tuple[int, int]] = []
    for d in mentions:
        if d.kind == "range":
            found += [(d.start, d.first[0]), (d.start + 1, d.last[0])]
        else:
            found.append((d.start, d.year))
    if bare:
        for m in _BARE_YEAR.finditer(text):
            if not any(d.start <= m.start() < d.end for d in mentions):
                found.append((m.start(), int(m.group(1))))
    return list(dict.fromkeys(y for _, y in sorted(found)))
