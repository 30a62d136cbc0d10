"""Check the [n] citations of a generated answer against the numbered passages it was given.

- markers to passages that do not exist are removed (``[7]`` with five passages);
- a sentence whose numbers do not all appear in the passages it cites is *unverified*
  (a sentence with numbers and no citation too);
- an answer that cites no passage at all is *uncited*.

>>> c = check("Bắc Giang có 1.422 trạm BTS [1]. Có 99 trạm mới [1][7].",
...           ["Bắc Giang có 1.422 trạm BTS."])
>>> c.text, c.cited, c.removed, c.unverified
('Bắc Giang có 1.422 trạm BTS [1]. Có 99 trạm mới [1].', [1], [7], ['Có 99 trạm mới [1].'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.dates import DateMention, parse_dates
from assistant.numbers import parse_number, parse_numbers
from assistant.text import normalize, sentence_spans

# [1]  [1, 2]  [1;2]  [1-3]  [1–3]; full-width brackets too
_MARKER = re.compile(r"[\[［]\s*(\d{1,4}(?:\s*[-–,;]\s*\d{1,4})*)\s*[\]］]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+\])+")
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])(?:\s+|$)")
MAX_RANGE = 20  # "[1-9999]" is not a citation


@dataclass
class Checked:
    """A generated answer after the check."""

    text: str  # markers to unknown passages removed; every marker written as [n]
    cited: list[int] = field(default_factory=list)  # passage numbers, in order of first use
    removed: list[int] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    claims: dict[int, list[str]] = field(default_factory=dict)  # passage -> sentences citing it

    @property
    def uncited(self) -> bool:
        return not self.cited


def parse_markers(text: str) -> list[tuple[int, int, list[int]]]:
    """Every citation marker as (start, end, numbers).

    >>> parse_markers("a [1, 3] b [2-4] c [x]")
    [(2, 8, [1, 3]), (11, 16, [2, 3, 4])]
    """
    out = []
    for m in _MARKER.finditer(text):
        numbers: list[int] = []
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part)]
            if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] < MAX_RANGE:
                numbers += range(bounds[0], bounds[1] + 1)
            else:  # one number, or a range too odd to expand: its ends
                numbers += bounds
        out.append((m.start(), m.end(), numbers))
    return out


def clean_markers(text: str, k: int) -> tuple[str, list[int]]:
    """``text`` with markers to passages outside 1..k removed and the rest written ``[n]``;
    returns the text and the removed numbers.

    >>> clean_markers("Có 5 trạm [1, 9]. Có 7 [0].", 2)
    ('Có 5 trạm [1]. Có 7.', [9, 0])
    """
    removed: list[int] = []
    parts: list[str] = []
    pos = 0
    for a, b, numbers in parse_markers(text):
        good = list(dict.fromkeys(n for n in numbers if 1 <= n <= k))
        removed += [n for n in numbers if not 1 <= n <= k]
        head = text[pos:a]
        if good:
            parts.append(head + "".join(f"[{n}]" for n in good))
        else:
            parts.append(head.rstrip(" \t"))
        pos = b
    parts.append(text[pos:])
    return "".join(parts), removed


def numbers_in(text: str) -> set[str]:
    """The numbers and dates of ``text`` (citation markers and list enumerators excluded), as
    written (see :mod:`assistant.numbers` and :mod:`assistant.dates`); the numbers inside a
    date ("15/01/2021", "tháng 7 năm 2017") count as that date, a year alone as a number.

    >>> sorted(numbers_in("1. Có 1.422 trạm (tăng 12,5%) năm 2020 [3]"))
    ['1.422', '12,5%', '2020']
    >>> sorted(numbers_in("ngày 15/01/2021 chi 1,5 tỷ đồng"))
    ['1,5 tỷ đồng', '15/01/2021']
    """
    text = normalize(_MARKER.sub(" ", _ENUMERATOR.sub(" ", text)))
    dates = [d for d in parse_dates(text) if d.kind != "year"]
    found = {d.text for d in dates}
    found |= {
        n.text for n in parse_numbers(text) if not any(d.start <= n.start < d.end for d in dates)
    }
    return found


def supported(number: str, passage_numbers: set[str]) -> bool:
    """``number`` (one of :func:`numbers_in`) appears in a passage with the same value,
    whatever its separators ("1422" = "1.422"; "14,22" is not "1.422"); a date is the same
    day, month or period however it is written.

    >>> supported("1422", {"1.422"}), supported("14,22", {"1.422"}), supported("45,7%", {"45,7"})
    (True, False, True)
    """
    if number in passage_numbers:
        return True
    dates = [d for d in parse_dates(number) if d.kind != "year"]
    if dates:
        key = _date_key(dates[0])
        return any(_date_key(d) == key for p in passage_numbers for d in parse_dates(p))
    claimed = parse_number(number)
    if claimed is None:
        return False
    return any(claimed.same_value(n) for p in passage_numbers for n in parse_numbers(p))


def _date_key(d: DateMention) -> tuple[tuple[int, int], tuple[int, int], int | None]:
    return d.first, d.last, d.day


def sentences(text: str) -> list[str]:
    """The sentences of an answer, a citation that follows a full stop kept with its sentence.

    >>> sentences("Có 5 trạm. [1] Có 7 xã [2].")
    ['Có 5 trạm. [1]', 'Có 7 xã [2].']
    """
    out: list[str] = []
    for a, b in sentence_spans(text):
        s = text[a:b]
        m = _LEADING_MARKERS.match(s)
        if m and out:
            out[-1] += " " + m.group().strip()
            s = s[m.end() :].strip()
        if s:
            out.append(s)
    return out


def check(text: str, passages: Sequence[str]) -> Checked:
    """Check ``text`` (an answer citing passages [1]..[k]) against the passages' text."""
    cleaned, removed = clean_markers(text, len(passages))
    cleaned = cleaned.strip()
    numbers = [numbers_in(p) for p in passages]
    out = Checked(text=cleaned, removed=removed)
    for sentence in sentences(cleaned):
        cites = list(dict.fromkeys(n for _, _, ns in parse_markers(sentence) for n in ns))
        for n in cites:
            if n not in out.cited:
                out.cited.append(n)
            out.claims.setdefault(n, []).append(sentence)
        claimed = numbers_in(sentence)
        if not claimed:
            continue
        pool = set().union(*(numbers[n - 1] for n in cites)) if cites else set()
        if not all(supported(x, pool) for x in claimed):
            out.unverified.append(sentence)
    return out
