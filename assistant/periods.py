"""The period a document covers: the year of a year-end report ("... năm 2020"), the years of a
plan or review ("giai đoạn 2016 - 2020"), a retrospective's span ("15 năm xây dựng và phát
triển", written in 2023: 2008-2023), or unknown; and its publication date, from the official
header ("Bắc Giang, ngày 15 tháng 01 năm 2021"), a web page's dateline or a source note
("c. 2017").

Year filters and the "another year's report" rule ask :func:`doc_covers`, never ``doc.year``
alone, so a question whose year lies inside a document's period is never refused for its year.

>>> p = document_period("Kỷ niệm 15 năm xây dựng\\nBắc Ninh, ngày 20 tháng 8 năm 2023")
>>> (p.year, p.start, p.end, p.published)
(2023, 2008, 2023, '2023-08-20')
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from assistant.dates import parse_date, parse_dates
from assistant.text import fold, normalize
from assistant.types import Document

# Bump when documents' year, period or province are computed differently: an index built before
# holds the old metadata, so its manifest no longer matches and the index is rebuilt.
METADATA_VERSION = 2

# Vietnam's Departments of Information and Communications (Sở Thông tin và Truyền thông) were
# formed in 2008 from the Departments of Posts and Telecommunications (Sở Bưu chính, Viễn thông),
# under Decree 13/2008/NĐ-CP: a review that says so counts its years from 2008.
SO_TTTT_FOUNDED = 2008

# Patterns on folded, lower-cased text.
_OFFICIAL_HEADER = re.compile(  # "Bắc Giang, ngày 15 tháng 01 năm 2021"
    r"(?:^|\n)[^\n,]{2,60},\s*ngay\s+\d{1,2}\s+thang\s+\d{1,2}\s+nam\s+(?:19|20)\d\d"
)
# a web page's dateline: "Thứ bảy, 23/01/2021 09:24 AM", "(Cập nhật lúc: 04/02/2020 16:32:33 )",
# "10:13, Thứ Ba, 7-2-2023", "Cập nhật 05/03/2021"
_DATELINE = re.compile(r"\d{1,2}:\d\d|^\W*(?:thu\s|cap nhat|ngay dang|dang ngay|ngay\s)")
_CIRCA = re.compile(r"\b(?:c\.|circa)\s*((?:19|20)\d\d)\b")
# "15 năm xây dựng và phát triển", "chặng đường 20 năm hình thành", "10 năm ngày thành lập"
_RETROSPECTIVE = re.compile(
    r"\b(\d{1,2})\s+nam\s+(?:ngay\s+)?"
    r"(?:xay dung|thanh lap|hinh thanh|truong thanh|phat trien|hoat dong)\b"
)
_FOUNDED = re.compile(r"\bthanh lap\s+(?:tu\s+|vao\s+)?(?:nam\s+)?((?:19|20)\d\d)\b")
_FROM_POSTS = re.compile(
    r"\bso thong tin (?:va|&) truyen thong\b.{0,80}\bthanh lap\b.{0,80}"
    r"\bso buu chinh,? vien thong\b"
)
_PLAN = re.compile(r"\b(?:ke hoach|chien luoc|de an|tam nhin|dinh huong|phan dau|muc tieu)\b")
_BARE_YEAR = re.compile(r"(?<![\d/.,])((?:19|20)\d\d)(?!\d)")


@dataclass(frozen=True)
class Period:
    """What a document is about in time. ``year`` is the primary year (labels, old filters);
    ``start``..``end`` the years it covers (both None when unknown)."""

    year: int | None = None
    start: int | None = None
    end: int | None = None
    published: str | None = None  # ISO date YYYY-MM-DD, when the document gives one


def document_period(text: str, title: str | None = None, published: str | None = None) -> Period:
    """The period and publication date of a document (``published``: a date from the file's
    own metadata, e.g. an HTML ``<meta>``, in any form :func:`assistant.dates.parse_date`
    reads).

    In order: a year or range named in the title; a retrospective ("15 năm xây dựng ...")
    counted back from the publication year, or forward from the founding year; the
    publication date (a report published in January-March is about the year before); a
    source note's year ("c. 2017"); else the year the head of the text names most often.

    >>> p = document_period("Dấu ấn ngành TT&TT tỉnh Bắc Giang năm 2020\\nThứ bảy, 23/01/2021")
    >>> (p.year, p.start, p.end, p.published)
    (2020, 2020, 2020, '2021-01-23')
    """
    text = normalize(text)
    title = normalize(title or "")
    pub = (parse_date(published) if published else None) or publication_date(text)
    pub_year = int(pub[:4]) if pub else circa_year(text)

    named = _title_period(title)
    if named is not None:
        return Period(named[1], named[0], named[1], pub)
    span = _retrospective(f"{title}\n{text[:800]}", pub_year, text)
    if span is not None:
        return Period(span[1], span[0], span[1], pub)
    if pub:
        y, m = int(pub[:4]), int(pub[5:7])
        year = y - 1 if m <= 3 else y
        return Period(year, year, year, pub)
    if pub_year is not None:
        return Period(pub_year, pub_year, pub_year, None)
    counts = Counter(int(y) for y in _BARE_YEAR.findall(text[:3000]))
    if not counts:
        return Period()
    year = max(counts, key=lambda y: (counts[y], y))
    return Period(year, year, year, None)


def publication_date(text: str) -> str | None:
    """ISO date of publication: the official header ("Hà Nội, ngày 15 tháng 01 năm 2021") near
    the top or at the end, else a dateline among the first lines ("Thứ bảy, 23/01/2021 09:24
    AM"); a date inside the body ("Từ 1/4/2017, Hà Nội ...") is not a publication date.

    >>> publication_date("UBND TỈNH BẮC GIANG\\nBắc Giang, ngày 15 tháng 01 năm 2021\\nBÁO CÁO")
    '2021-01-15'
    >>> publication_date("Từ 1/4/2017, Hà Nội chấm dứt sử dụng văn bản giấy") is None
    True
    """
    text = normalize(text)
    folded = fold(text).lower()
    tail = max(len(folded) - 1500, 0)
    for part, offset in ((folded[:2000], 0), (folded[tail:], tail)):
        m = _OFFICIAL_HEADER.search(part)
        if m:
            found = parse_date(text[offset + m.start() : offset + m.end()])
            if found:
                return found
    for line in text[:600].split("\n"):
        if _DATELINE.search(fold(line.strip()).lower()):
            found = parse_date(line)
            if found:
                return found
    return None


def circa_year(text: str) -> int | None:
    """The year of a source note on the first line: "(crawled ..., c. 2017)"."""
    first = fold(normalize(text).split("\n", 1)[0]).lower()
    m = _CIRCA.search(first)
    return int(m.group(1)) if m else None


def _title_period(title: str) -> tuple[int, int] | None:
    """The years a title names: "... năm 2020" -> (2020, 2020); "giai đoạn 2016-2020" ->
    (2016, 2020); a plan's horizon ("tầm nhìn đến năm 2030") does not count."""
    folded = fold(title).lower()
    for d in parse_dates(title):
        if not _PLAN.search(folded[max(0, d.start - 30) : d.start]):
            return d.first[0], d.last[0]
    for m in _BARE_YEAR.finditer(title):
        if not _PLAN.search(folded[max(0, m.start() - 30) : m.start()]):
            return int(m.group(1)), int(m.group(1))
    return None


def _retrospective(head: str, pub_year: int | None, text: str) -> tuple[int, int] | None:
    """(first, last) year of a review of ``N`` years: counted back from the publication year,
    else forward from the founding year the text gives."""
    m = _RETROSPECTIVE.search(fold(head).lower())
    if not m:
        return None
    n = int(m.group(1))
    if not 2 <= n <= 80:
        return None
    if pub_year is not None:
        return pub_year - n, pub_year
    founded = _founded(fold(text).lower())
    if founded is not None:
        return founded, founded + n
    return None


def _founded(folded: str) -> int | None:
    m = _FOUNDED.search(folded)
    if m:
        return int(m.group(1))
    if _FROM_POSTS.search(folded):
        return SO_TTTT_FOUNDED
    return None


def doc_covers(doc: Document, year: int) -> bool:
    """True when ``doc``'s period (else its year) includes ``year``.

    >>> d = Document(id="a", path="a", title="t", text="x", sha256="", format="txt",
    ...              year=2023, period_start=2008, period_end=2023)
    >>> doc_covers(d, 2015), doc_covers(d, 2024)
    (True, False)
    """
    return doc.covers(year)
