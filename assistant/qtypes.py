"""What a question asks for, and whether a sentence holds an answer of that type.

Types: ``person`` (ai, người nào, đồng chí nào), ``date`` (khi nào, bao giờ, năm nào...),
``place`` (ở đâu, tại đâu), ``percent``, ``money``, ``rank`` (thứ mấy, xếp hạng), ``quantity``
(bao nhiêu, mấy), ``list`` (những ... nào, gồm những gì), ``reason`` (vì sao, tại sao), ``how``
(như thế nào, bằng cách nào), ``name`` (gì, nào, tên là gì) and ``other``. Questions are matched
folded, so they work typed with or without diacritics.

>>> question_type("Ai là Giám đốc Sở TT&TT Bắc Ninh?")
'person'
>>> question_type("bao gio da nang chuyen ma vung")
'date'
>>> question_type("Tỷ lệ hồ sơ trực tuyến đạt bao nhiêu phần trăm?")
'percent'
>>> [n.text for n in person_names("Nguyễn Việt Hùng\\nTỉnh ủy viên, Giám đốc Sở")]
['Nguyễn Việt Hùng']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.dates import parse_dates
from assistant.numbers import parse_numbers
from assistant.text import fold

TYPES = (
    "person",
    "date",
    "place",
    "percent",
    "money",
    "rank",
    "quantity",
    "list",
    "reason",
    "how",
    "name",
    "other",
)

# Order matters: the first pattern that matches the folded, lower-cased question wins.
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("reason", re.compile(r"\b(vi sao|tai sao|do dau|ly do|nguyen nhan|vi ly do gi)\b")),
    (
        "how",
        re.compile(
            r"\b(nhu the nao|the nao|bang cach nao|ra sao|lam sao|lam the nao|"
            r"cach nao|bang gi|thong qua gi)\b"
        ),
    ),
    ("percent", re.compile(r"\b(ty le|ti le|phan tram|bao nhieu %)|%")),
    (
        "rank",
        re.compile(
            r"\b(thu may|thu bao nhieu|xep hang|xep thu|dung thu|hang may|"
            r"vi tri thu)\b"
        ),
    ),
    (
        "date",
        re.compile(
            r"\b(khi nao|bao gio|nam nao|ngay nao|thang nao|thoi gian nao|"
            r"luc nao|thoi diem nao|nam bao nhieu|tu bao gio|vao nam|ngay bao nhieu|"
            r"thoi gian nao|dip nao|giai doan nao|thoi ky nao|the ky nao)\b"
        ),
    ),
    (
        "person",
        re.compile(
            r"(?:^|\s)(ai|nguoi nao|dong chi nao|ong nao|ba nao|vi nao|"
            r"nguoi dung dau|nhung ai|la ai|boi ai)(?=\s|\?|$|,)"
        ),
    ),
    (
        "money",
        re.compile(
            r"\b(bao nhieu tien|(?:so tien|kinh phi|tong von|von dau tu|chi phi|"
            r"hoc phi|gia|ngan sach|tien)\b.*\b(bao nhieu|may)\b|"
            r"bao nhieu (?:dong|trieu|ty|trieu dong|ty dong))"
        ),
    ),
    (
        "place",
        re.compile(
            r"\b(o dau|tai dau|noi nao|cho nao|dia diem nao|nuoc nao|"
            r"tinh nao|thanh pho nao|vung nao|khu vuc nao|dau\s*\?)"
        ),
    ),
    (
        "quantity",
        re.compile(
            r"\b(bao nhieu|so luong|dem duoc|tong so|"
            r"may(?!\s+(?:chu|tinh|tram|bay|moc|in|quet|phat|anh|lanh|thu)\b))\b"
        ),
    ),
    (
        "list",
        re.compile(
            r"\b(nhung \w+(?: \w+){0,5} nao|gom nhung|bao gom nhung|"
            r"cac \w+(?: \w+){0,5} nao|nhung gi|ke ten|liet ke|gom gi|"
            r"bao gom gi|nhung linh vuc|nhung noi dung)\b"
        ),
    ),
    ("name", re.compile(r"\b(la gi|ten la gi|ten gi|gi\b|nao\b|ten)")),
]


def question_type(question: str) -> str:
    """The kind of answer ``question`` asks for (one of :data:`TYPES`)."""
    q = " ".join(fold(question).lower().replace("?", " ?").split())
    for name, pattern in _RULES:
        if pattern.search(q):
            return name
    return "other"


# --- people ---------------------------------------------------------------------------------

_SURNAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Đào Trịnh Mai "
    "Lương Trương Cao Tạ Lâm Hà Chu Quách Tô Thái Vương Phùng Kiều Đoàn Lưu Nông La Triệu Khúc "
    "Hứa Thân Lại Giáp Âu Kim Từ Mạc Tăng Diệp Đồng Hàn Lục Văn Đàm Nghiêm Quan Lã Thạch Tống"
)
_SYL = r"[A-ZÀ-ỸĐ][a-zà-ỹđ]+"
_VN_NAME = re.compile(rf"\b(?:{'|'.join(_SURNAMES.split())})(?:[ \t]+{_SYL}){{1,3}}\b")
_HONORIFIC = re.compile(
    rf"\b(?:ông|bà|đồng chí|anh|chị|vua|tướng|TS\.|ThS\.|PGS\.|GS\.)\s+"
    rf"((?:{_SYL}[ \t]*){{1,4}})"
)
_CAPITALISED = re.compile(
    rf"(?<![\w.])(?:{_SYL}|[A-Z]{{2,}})(?:[ \t]+(?:{_SYL}|[A-Z]{{2,}})){{1,4}}"
)
# Titles that sit beside a name in a signature block or a byline.
_TITLE = re.compile(
    r"\b(giam doc|pho giam doc|chu tich|pho chu tich|bi thu|truong phong|"
    r"tong giam doc|tinh uy vien|thu truong|bo truong|chanh van phong|"
    r"truong ban|pho truong|dai bieu|giam doc so)\b"
)


@dataclass(frozen=True)
class Name:
    text: str
    start: int
    end: int
    vietnamese: bool  # a Vietnamese full name (surname first), not just capitalised words


def person_names(text: str) -> list[Name]:
    """Personal names in ``text``: Vietnamese full names, names after an honorific."""
    out = [Name(m.group(), m.start(), m.end(), True) for m in _VN_NAME.finditer(text)]
    for m in _HONORIFIC.finditer(text):
        a, b = m.start(1), m.start(1) + len(m.group(1).rstrip())
        if not any(n.start <= a < n.end for n in out):
            out.append(Name(text[a:b], a, b, False))
    return sorted(out, key=lambda n: n.start)


def is_name_line(line: str) -> bool:
    """A line that is a person's name alone ("Nguyễn Việt Hùng"), as in a signature block."""
    line = line.strip()
    m = _VN_NAME.fullmatch(line)
    return m is not None and len(line) <= 40


def has_title(text: str) -> bool:
    return bool(_TITLE.search(fold(text).lower()))


# --- answers of each type -------------------------------------------------------------------

_PLACE = re.compile(r"\b(tai|o|tren dia ban|thuoc|nam o|nam tai|den)\s+[A-ZÀ-ỸĐ]")
_PLACE_WORD = re.compile(
    r"\b(tinh|thanh pho|huyen|xa|phuong|quan|thi xa|nuoc|vung|khu|"
    r"dao|song|nui)\s+[A-ZÀ-ỸĐ]"
)
_REASON = re.compile(r"\b(do|vi|boi vi|nho|nham|de|nguyen nhan|ly do|bởi)\b")
_HOW = re.compile(
    r"\b(bang|thong qua|qua|bang cach|thuc hien|trien khai|theo|su dung|"
    r"ap dung)\b"
)
_LIST = re.compile(r":\s*\S|(?:[^,;]+[,;]){2,}")
# a currency or a scale word within two words after a number ("5 triệu USD", "200 USD"), not
# anywhere in the sentence ("15 lần ... hoạt động": folded, "động" is "dong")
_MONEY_WORD = re.compile(
    r"\d[\d.,]*\s*(?:\S+\s+){0,2}?(?:dong|vnd|trieu|(?<!cong )ty|usd)\b|\$\s*\d"
)


def matches_type(qtype: str, text: str) -> float:
    """How well ``text`` holds an answer of type ``qtype``: 1 (it does), 0.5 (weakly), 0."""
    folded = fold(text).lower()
    if qtype == "person":
        names = person_names(text)
        if any(n.vietnamese for n in names):
            return 1.0
        return 0.5 if names or _CAPITALISED.search(text[1:]) else 0.0
    if qtype == "date":
        if parse_dates(text):
            return 1.0
        return 0.5 if re.search(r"\b(1[5-9]|20)\d\d\b|\bthe ky\b|\bngay\b", folded) else 0.0
    if qtype == "place":
        if _PLACE.search(fold(text)) or _PLACE_WORD.search(fold(text)):
            return 1.0
        return 0.5 if _CAPITALISED.search(text[1:]) else 0.0
    numbers = [n for n in parse_numbers(text) if not _looks_like_year(n.text)]
    if qtype == "percent":
        if any(n.kind == "percent" for n in numbers) or "phan tram" in folded:
            return 1.0
        return 0.5 if numbers else 0.0
    if qtype == "money":
        if any(n.kind == "money" for n in numbers):
            return 1.0
        if numbers and _MONEY_WORD.search(folded):
            return 1.0
        return 0.5 if numbers else 0.0
    if qtype == "rank":
        if any(n.kind == "rank" for n in numbers) or re.search(r"\b(thu|hang)\s+\d", folded):
            return 1.0
        return 0.5 if numbers or "xep hang" in folded else 0.0
    if qtype == "quantity":
        if numbers:
            return 1.0
        words = r"(mot|hai|ba|bon|sau|bay|tam|chin|muoi|tram|nghin|trieu|ty)"  # not "năm" (year)
        return 0.5 if re.search(rf"\b{words}\b", folded) else 0.0
    if qtype == "list":
        return 1.0 if _LIST.search(text) else 0.0
    if qtype == "reason":
        return 1.0 if _REASON.search(folded) else 0.0
    if qtype == "how":
        return 1.0 if _HOW.search(folded) else 0.5
    return 1.0


def _looks_like_year(s: str) -> bool:
    return bool(re.fullmatch(r"(?:1[5-9]|20)\d\d", s))


_WHICH = re.compile(r"(?:^|\s)(\w+)\s+nao\s*\??\s*$")


def which_noun(question: str) -> str | None:
    """The folded noun of a "<noun> nào?" question ("sang mã nào?" -> "ma"), else None."""
    m = _WHICH.search(" ".join(fold(question).lower().split()))
    return m.group(1) if m and m.group(1) not in ("la", "cai", "nhung", "cac") else None


def names_value(noun: str, text: str) -> bool:
    """``text`` gives the noun a value within three words: "mã vùng mới 236", "ứng dụng Zalo".
    A code ("mã", "số") needs a number; anything else a number or a capitalised name."""
    tokens = text.split()
    folded = [fold(t).lower().strip(".,;:()\"'") for t in tokens]
    for i, f in enumerate(folded):
        if f != noun:
            continue
        for t in tokens[i + 1 : i + 4]:
            if re.match(r"\(?\d", t) or (noun not in ("ma", "so") and t[:1].isupper()):
                return True
    return False


# Types whose answer must be in the quoted text: without it, there is no answer to quote.
REQUIRED = frozenset({"person", "date", "percent", "money", "rank", "quantity"})
# Types whose answer may take several sentences, each cited.
MULTI = frozenset({"list", "how", "reason"})
