"""Vietnam's provinces and cities: the 63 of 2008-2025 and the 34 after the 2025 merger.

:func:`find_provinces` spots them in text, accepting variants ("TP.HCM", "Sài Gòn",
"Bắc Cạn", "Huế") and text typed without diacritics ("bac giang").
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.text import fold, has_diacritics

# canonical name -> extra spellings (the canonical name, with "tỉnh"/"thành phố" before it, is
# always accepted)
PROVINCES_63: dict[str, tuple[str, ...]] = {
    "An Giang": (),
    "Bà Rịa - Vũng Tàu": ("Bà Rịa-Vũng Tàu", "Bà Rịa – Vũng Tàu", "BR-VT", "Vũng Tàu"),
    "Bạc Liêu": (),
    "Bắc Giang": (),
    "Bắc Kạn": ("Bắc Cạn",),
    "Bắc Ninh": (),
    "Bến Tre": (),
    "Bình Dương": (),
    "Bình Định": (),
    "Bình Phước": (),
    "Bình Thuận": (),
    "Cà Mau": (),
    "Cao Bằng": (),
    "Cần Thơ": (),
    "Đà Nẵng": (),
    "Đắk Lắk": ("Đắc Lắc", "Dak Lak", "Đăk Lăk"),
    "Đắk Nông": ("Đăk Nông", "Dak Nong"),
    "Điện Biên": (),
    "Đồng Nai": (),
    "Đồng Tháp": (),
    "Gia Lai": (),
    "Hà Giang": (),
    "Hà Nam": (),
    "Hà Nội": (),
    "Hà Tĩnh": (),
    "Hải Dương": (),
    "Hải Phòng": (),
    "Hậu Giang": (),
    "Hòa Bình": ("Hoà Bình",),
    "Hồ Chí Minh": ("TP.HCM", "TP HCM", "TPHCM", "TP. HCM", "TP.Hồ Chí Minh", "Sài Gòn"),
    "Hưng Yên": (),
    "Khánh Hòa": ("Khánh Hoà",),
    "Kiên Giang": (),
    "Kon Tum": ("Kontum",),
    "Lai Châu": (),
    "Lạng Sơn": (),
    "Lào Cai": (),
    "Lâm Đồng": (),
    "Long An": (),
    "Nam Định": (),
    "Nghệ An": (),
    "Ninh Bình": (),
    "Ninh Thuận": (),
    "Phú Thọ": (),
    "Phú Yên": (),
    "Quảng Bình": (),
    "Quảng Nam": (),
    "Quảng Ngãi": (),
    "Quảng Ninh": (),
    "Quảng Trị": (),
    "Sóc Trăng": (),
    "Sơn La": (),
    "Tây Ninh": (),
    "Thái Bình": (),
    "Thái Nguyên": (),
    "Thanh Hóa": ("Thanh Hoá",),
    "Thừa Thiên Huế": ("Thừa Thiên - Huế", "Huế"),
    "Tiền Giang": (),
    "Trà Vinh": (),
    "Tuyên Quang": (),
    "Vĩnh Long": (),
    "Vĩnh Phúc": (),
    "Yên Bái": (),
}

# 2025 merger: each of the 63 -> the province or city it belongs to now (34 in all).
MERGED_2025: dict[str, str] = {
    "Hà Giang": "Tuyên Quang",
    "Yên Bái": "Lào Cai",
    "Bắc Kạn": "Thái Nguyên",
    "Vĩnh Phúc": "Phú Thọ",
    "Hòa Bình": "Phú Thọ",
    "Bắc Giang": "Bắc Ninh",
    "Hải Dương": "Hải Phòng",
    "Thái Bình": "Hưng Yên",
    "Hà Nam": "Ninh Bình",
    "Nam Định": "Ninh Bình",
    "Quảng Bình": "Quảng Trị",
    "Thừa Thiên Huế": "Huế",
    "Quảng Nam": "Đà Nẵng",
    "Kon Tum": "Quảng Ngãi",
    "Bình Định": "Gia Lai",
    "Ninh Thuận": "Khánh Hòa",
    "Đắk Nông": "Lâm Đồng",
    "Bình Thuận": "Lâm Đồng",
    "Phú Yên": "Đắk Lắk",
    "Bình Dương": "Hồ Chí Minh",
    "Bà Rịa - Vũng Tàu": "Hồ Chí Minh",
    "Bình Phước": "Đồng Nai",
    "Long An": "Tây Ninh",
    "Sóc Trăng": "Cần Thơ",
    "Hậu Giang": "Cần Thơ",
    "Bến Tre": "Vĩnh Long",
    "Trà Vinh": "Vĩnh Long",
    "Tiền Giang": "Đồng Tháp",
    "Bạc Liêu": "Cà Mau",
    "Kiên Giang": "An Giang",
}

PROVINCES_34: tuple[str, ...] = tuple(
    sorted({MERGED_2025.get(p, p) for p in PROVINCES_63}, key=fold)
)
ALL_PROVINCES: tuple[str, ...] = tuple(sorted(set(PROVINCES_63) | {"Huế"}, key=fold))


# Short forms people type in questions. Read only in questions (``capitalised=False``), never in
# documents, and only as a whole upper-case token ("BD có bao nhiêu trạm BTS?", "Sở TT&TT BD") or,
# in any case, right after "tỉnh", "TP", "thành phố" or "Sở TT&TT" ("tinh bd"): "bn" inside a
# sentence is a word, not Bắc Ninh. "ĐN" is Đà Nẵng (Đồng Nai is written out); "DN" alone is
# "doanh nghiệp" and "HP" a brand, so they name Đà Nẵng, Hải Phòng only after such a word.
ABBREVIATIONS: dict[str, str] = {
    "HN": "Hà Nội",
    "HCM": "Hồ Chí Minh",
    "ĐN": "Đà Nẵng",
    "BG": "Bắc Giang",
    "BN": "Bắc Ninh",
    "BK": "Bắc Kạn",
    "BD": "Bình Dương",
    "QB": "Quảng Bình",
    "TTH": "Thừa Thiên Huế",
    "BRVT": "Bà Rịa - Vũng Tàu",
}
_AFTER_PLACE_ONLY = {"DN": "Đà Nẵng", "HP": "Hải Phòng"}  # alone: "doanh nghiệp", "máy HP"
# A question typed without diacritics is often typed in lower case too ("qb co bao nhieu may
# chu"): there these name a province alone as well; "bn" (bao nhiêu, bạn) and "bk" (Bách Khoa)
# do not.
_LOWER_ALONE = frozenset({"HN", "HCM", "BG", "BD", "QB", "TTH", "BRVT"})
_PLACE_WORD = (
    r"(?:tỉnh|tinh|tp|thành\s+phố|thanh\s+pho|"
    r"sở\s+tt\s*&\s*tt|so\s+tt\s*&\s*tt|sở\s+tttt|so\s+tttt)"
)


def province_2025(name: str) -> str:
    """The post-2025 province a (pre-2025) province belongs to."""
    return MERGED_2025.get(name, name)


def merged_into(name: str) -> list[str]:
    """The pre-2025 provinces that form the post-2025 province ``name``, itself first when it
    was one of them.

    >>> merged_into("Quảng Trị"), merged_into("Hà Nội")
    (['Quảng Trị', 'Quảng Bình'], ['Hà Nội'])
    """
    others = sorted((p for p, to in MERGED_2025.items() if to == name and p != name), key=fold)
    return ([name] if name in PROVINCES_63 else []) + others


@lru_cache(maxsize=1)
def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    variants: dict[str, str] = {}
    for name, extra in PROVINCES_63.items():
        for v in (name, *extra):
            variants[_key(v)] = name
    variants[_key("Huế")] = "Thừa Thiên Huế"
    alts = sorted(variants, key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"\s*") for a in alts)
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])", re.IGNORECASE), variants


def _key(s: str) -> str:
    return re.sub(r"\s+", " ", fold(s).lower().replace("–", "-")).strip()


def find_provinces(text: str, capitalised: bool = False) -> list[tuple[str, int, int]]:
    """``(canonical name, start, end)`` of each province mention, in order.

    Matching ignores case and diacritics, so "bac giang" counts; a match whose diacritics
    contradict the name ("Bạc Liêu" is not "Bắc Giang") is rejected. With ``capitalised``
    (for documents), every syllable must start with a capital, so "hòa bình" (peace) is not
    the province Hòa Bình.

    A question (not ``capitalised``) may also use the short forms of :data:`ABBREVIATIONS`.

    >>> [p for p, _, _ in find_provinces("Sở TT&TT tỉnh Bắc Cạn và TP.HCM, bac giang")]
    ['Bắc Kạn', 'Hồ Chí Minh', 'Bắc Giang']
    >>> [p for p, _, _ in find_provinces("BD và QB có mấy trạm BTS? (bn bệnh nhân)")]
    ['Bình Dương', 'Quảng Bình']
    """
    pattern, variants = _pattern()
    folded = fold(text).replace("–", "-")
    out = []
    for m in pattern.finditer(folded):
        name = variants.get(_key(m.group()))
        if name is None:
            continue
        original = text[m.start() : m.end()]
        if capitalised and not all(w[0].isupper() for w in original.split()):
            continue
        if original != fold(original) and not _diacritics_agree(original, name):
            continue
        out.append((name, m.start(), m.end()))
    if not capitalised:
        taken = [(a, b) for _, a, b in out]
        out += [
            hit
            for hit in _abbreviations(text)
            if not any(a < hit[2] and hit[1] < b for a, b in taken)
        ]
        out.sort(key=lambda hit: hit[1])
    return out


@lru_cache(maxsize=1)
def _abbreviation_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    alone = "|".join(sorted(map(re.escape, ABBREVIATIONS), key=len, reverse=True))
    placed = "|".join(
        sorted(map(re.escape, {**ABBREVIATIONS, **_AFTER_PLACE_ONLY}), key=len, reverse=True)
    )
    lower = "|".join(sorted((a.lower() for a in _LOWER_ALONE), key=len, reverse=True))
    return (
        re.compile(rf"(?<![^\W_])(?:{alone})(?![^\W_])"),
        re.compile(rf"(?<![^\W_])(?:{lower})(?![^\W_])"),
        # a space or a dot after the place word: "TP.HP", "tỉnh BD", not "TPHP" (a typo of
        # "TCHP" in a question about tuition credits)
        re.compile(rf"(?<![^\W_]){_PLACE_WORD}(?:\.\s*|\s+)({placed})(?![^\W_])", re.IGNORECASE),
    )


def _abbreviations(text: str) -> list[tuple[str, int, int]]:
    """Short forms: upper case and whole, or in any case after a place word; in a question
    without diacritics, those of :data:`_LOWER_ALONE` also whole in lower case.

    >>> [p for p, _, _ in _abbreviations("qb co bao nhieu may chu, bn co bao nhieu")]
    ['Quảng Bình']
    >>> _abbreviations("Quảng Bình có qb không")
    []
    """
    alone, lower, placed = _abbreviation_patterns()
    every = {**ABBREVIATIONS, **_AFTER_PLACE_ONLY}
    found = {
        m.start(): (ABBREVIATIONS[m.group()], m.start(), m.end()) for m in alone.finditer(text)
    }
    if not has_diacritics(text):
        for m in lower.finditer(text):
            found.setdefault(m.start(), (ABBREVIATIONS[m.group().upper()], m.start(), m.end()))
    for m in placed.finditer(text):
        key = m.group(1).upper()
        if key in every:
            found.setdefault(m.start(1), (every[key], m.start(1), m.end(1)))
    return list(found.values())


def _diacritics_agree(original: str, name: str) -> bool:
    """True when the marks typed in ``original`` are those of one spelling of ``name``."""
    extra = ("Huế",) if name == "Thừa Thiên Huế" else ()
    o = re.sub(r"\s+", " ", original.lower())
    for s in (name, *PROVINCES_63.get(name, ()), *extra):
        s = s.lower()
        if len(s) == len(o) and all(y == fold(y) or x == y for x, y in zip(s, o, strict=True)):
            return True
    return False
