"""Values and years read from a sentence for the indicator facts: which of its numbers can be
values (a range "72-75%" is one), the text cue words are matched in, and the year a value is
about. :mod:`assistant.indicator_extract` binds these values to the indicators mentioned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.dates import parse_dates
from assistant.indicators import Mention
from assistant.numbers import Number, parse_numbers
from assistant.text import fold

# numbers that are not values: "4 cấp", "tăng 07 bậc", "15 lần", "3G", document numbers
_NOT_VALUE_AFTER = re.compile(r"\s*(?:cap|bac|lan|tuoi|lop|nam|thang|ngay|gio|phut|ky)\b")
_DOC_NUMBER_BEFORE = re.compile(
    r"(?:dinh|tu|chi|van|ban|hoach|bao|lenh|hieu|tieu chi|so hieu)\s+so\s*$"
)


class Cue:
    """Cue words matched with their diacritics ("phấn đấu" is not "phần đầu"), folded only in a
    text typed without any."""

    def __init__(self, source: str) -> None:
        self.marked = re.compile(source)
        self.plain = re.compile(fold(source))

    def pattern(self, plain: bool) -> re.Pattern[str]:
        return self.plain if plain else self.marked


@dataclass
class Value:
    """A number of a sentence that can be an indicator's value (a range "72-75%" is one)."""

    number: Number
    start: int  # in the sentence
    end: int
    value_max: float | None = None
    text: str = ""
    cue_text: tuple[str, bool] = ("", False)  # see marked_text


def find_values(sentence: str, folded: str, mentions: list[Mention]) -> list[Value]:
    """The numbers of ``sentence`` that can be values: not dates, years, codes ("3G",
    "45/QĐ-TTg"), document numbers, counts of levels or times ("07 bậc"), nor part of an
    indicator's alias (``mentions``); ``folded`` is ``alias_key(sentence)``.

    >>> from assistant.indicators import alias_key
    >>> s = "Năm 2020 có 1.422 trạm BTS, tăng 07 bậc; tỷ lệ đạt 72-75%."
    >>> [(v.text, v.number.value, v.value_max) for v in find_values(s, alias_key(s), [])]
    [('1.422', 1422.0, None), ('72-75%', 72.0, 75.0)]
    """
    dates = [(d.start, d.end) for d in parse_dates(sentence)]
    found = parse_numbers(sentence)
    out: list[Value] = []
    cue_text = marked_text(sentence, folded)
    skip_next = False
    for i, n in enumerate(found):
        if skip_next:
            skip_next = False
            continue
        after = folded[n.end : n.end + 12]
        if any(a <= n.start < b for a, b in dates):
            continue
        if n.end < len(sentence) and (sentence[n.end].isalpha() or sentence[n.end] == "/"):
            continue  # "3G", "45/QĐ-TTg"
        if n.kind == "number" and n.scale == 1 and re.fullmatch(r"(?:19|20)\d\d", n.text):
            continue  # a year
        if any(m.start <= n.start < m.end for m in mentions):
            continue  # part of an alias: "mức độ 4"
        if _NOT_VALUE_AFTER.match(after) or _DOC_NUMBER_BEFORE.search(folded[: n.start]):
            continue
        v = Value(n, n.start, n.end, text=n.text, cue_text=cue_text)
        nxt = found[i + 1] if i + 1 < len(found) else None
        if (
            nxt is not None
            and re.fullmatch(r"\s*[-–]\s*", sentence[n.end : nxt.start])
            and nxt.kind != "rank"
            and n.kind == "number"
        ):
            # a range "72-75%": one value, kind of its end
            v = Value(
                Number(
                    sentence[n.start : nxt.end],
                    n.start,
                    nxt.end,
                    n.value * (nxt.scale if n.scale == 1 else 1),
                    nxt.kind,
                    nxt.total,
                    nxt.scale,
                ),
                n.start,
                nxt.end,
                value_max=nxt.value,
                text=sentence[n.start : nxt.end],
                cue_text=cue_text,
            )
            skip_next = True
        out.append(v)
    return out


def marked_text(sentence: str, folded: str) -> tuple[str, bool]:
    """The text cue words are matched in (lower-cased, same length) and whether it is plain."""
    plain = folded == sentence.lower() or fold(sentence) == sentence
    return (folded if plain else sentence.lower()), plain


_PUBLISHED_BEFORE = re.compile(r"\b(?:cong bo|ban hanh)\s+(?:trong|vao)?\s*$")
_AS_OF_BEFORE = re.compile(r"\b(?:den|toi|tinh den|tinh toi)\s*(?:ngay)?\s*$")


def value_year(
    sentence: str, folded: str, at: int, clause: tuple[int, int], fallback: int | None
) -> int | None:
    """The year the value at ``at`` is about: the last date before it, else the first after it
    in its ``clause`` (dates of publication and of decisions skipped), else ``fallback``.

    >>> from assistant.indicators import alias_key
    >>> s = "Đến ngày 31/12/2020, toàn tỉnh có 1.422 trạm BTS (công bố năm 2021)."
    >>> value_year(s, alias_key(s), s.index("1.422"), (0, len(s)), 2019)
    2020
    >>> s = "Toàn tỉnh có 1.422 trạm BTS."
    >>> value_year(s, alias_key(s), s.index("1.422"), (0, len(s)), 2019)
    2019
    """
    best_before: tuple[int, int] | None = None
    best_after: tuple[int, int] | None = None
    for d in parse_dates(sentence):
        head = folded[max(0, d.start - 20) : d.start]
        if _PUBLISHED_BEFORE.search(head):
            continue
        if d.kind == "day" and not _AS_OF_BEFORE.search(head):
            continue  # the date of a decision, a meeting: not what a count is about
        if d.end <= at:
            if best_before is None or d.end > best_before[0]:
                best_before = (d.end, d.year)
        elif (
            d.start >= at
            and clause[0] <= d.start < clause[1]
            and (best_after is None or d.start < best_after[0])
        ):
            best_after = (d.start, d.year)
    if best_before:
        return best_before[1]
    if best_after:
        return best_after[1]
    return fallback
