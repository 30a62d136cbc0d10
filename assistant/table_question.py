"""What a question across reports asks: a comparison ("So sánh số trạm BTS của các tỉnh"), a
ranking ("Tỉnh nào có tỷ lệ hồ sơ trực tuyến cao nhất?") or a trend ("Xếp hạng DTI của Bình
Dương qua các năm"), with its indicator, provinces and years, typed with or without diacritics.

:mod:`assistant.compare` answers it from the fact table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.dates import years_in
from assistant.indicators import find_mentions
from assistant.provinces import find_provinces
from assistant.text import fold

_MAX = re.compile(r"\b(?:cao nhat|nhieu nhat|lon nhat|tot nhat|dan dau|dung dau|top dau)\b")
_MIN = re.compile(r"\b(?:thap nhat|it nhat|nho nhat|kem nhat|cuoi bang|xep cuoi)\b")
_TREND = re.compile(
    r"\b(?:qua cac nam|cac nam|theo nam|tung nam|hang nam|qua tung nam|nam nao|"
    r"bien dong|xu huong|dien bien|thay doi the nao|tang giam)\b"
)
_COMPARE = re.compile(
    r"\b(?:so sanh|tinh nao|noi nao|dia phuong nao|thanh pho nao|"
    r"cac tinh|tung tinh|moi tinh|cac dia phuong|tat ca cac tinh|"
    r"xep hang cac tinh|bang so lieu|bang tong hop)\b"
)
_ALL = re.compile(
    r"\b(?:cac tinh|tung tinh|moi tinh|cac dia phuong|tat ca|tinh nao|noi nao|"
    r"dia phuong nao|thanh pho nao)\b"
)
_MORE = re.compile(r"\b(?:hay|hoac)\b.*\bhon\b|\bhon\b")


@dataclass
class TableQuestion:
    """What a comparison question asks."""

    kind: str  # "compare", "rank" (a superlative) or "trend"
    indicator: str | None
    provinces: list[str]
    years: list[int]
    all_provinces: bool
    lowest: bool  # "thấp nhất", "ít nhất"


def read_question(question: str) -> TableQuestion | None:
    """The comparison a question asks, or None for a question about one value.

    >>> q = read_question("so sanh so tram BTS cua cac tinh")
    >>> q.kind, q.indicator, q.all_provinces
    ('compare', 'bts_stations', True)
    >>> read_question("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?") is None
    True
    """
    folded = " ".join(fold(question).lower().split())
    provinces = list(dict.fromkeys(p for p, _, _ in find_provinces(question)))
    years = years_in(question)
    mentions = find_mentions(question)
    indicator = mentions[0].indicator if mentions else None
    lowest = bool(_MIN.search(folded))
    if _TREND.search(folded) or (len(years) >= 2 and len(provinces) <= 1):
        kind = "trend"
    elif _MAX.search(folded) or lowest:
        kind = "rank"
    elif (
        _COMPARE.search(folded)
        or len(provinces) >= 2
        or (_MORE.search(folded) and len(provinces) >= 2)
    ):
        kind = "compare"
    else:
        return None
    if kind == "rank" and len(provinces) == 1 and not _ALL.search(folded):
        return None  # "Bắc Giang đứng thứ mấy ... cao nhất năm nào": one province's value
    return TableQuestion(
        kind,
        indicator,
        provinces,
        years,
        all_provinces=not provinces or bool(_ALL.search(folded)),
        lowest=lowest,
    )
