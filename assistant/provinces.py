"""Vietnam's provinces and cities: the 63 of 2008-2025 and the 34 after the 2025 merger.

:func:`find_provinces` spots them in text, accepting variants ("TP.HCM", "Sài Gòn",
"Bắc Cạn", "Huế") and text typed without diacritics ("bac giang").
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.text import fold

# canonical name -> extra spellings (the canonical name, with "tỉnh"/"thành phố" before it, is
# always accepted)
PROVINCES_63: dict[str, tuple[str, ...]] = {
    "An Giang": (), "Bà Rịa - Vũng Tàu": ("Bà Rịa-Vũng Tàu", "Bà Rịa – Vũng Tàu", "BR-VT",
                                          "Vũng Tàu"),
    "Bạc Liêu": (), "Bắc Giang": (), "Bắc Kạn": ("Bắc Cạn",), "Bắc Ninh": (), "Bến Tre": (),
    "Bình Dương": (), "Bình Định": (), "Bình Phước": (), "Bình Thuận": (), "Cà Mau": (),
    "Cao Bằng": (), "Cần Thơ": (), "Đà Nẵng": (), "Đắk Lắk": ("Đắc Lắc", "Dak Lak", "Đăk Lăk"),
    "Đắk Nông": ("Đăk Nông", "Dak Nong"), "Điện Biên": (), "Đồng Nai": (), "Đồng Tháp": (),
    "Gia Lai": (), "Hà Giang": (), "Hà Nam": (), "Hà Nội": (), "Hà Tĩnh": (), "Hải Dương": (),
    "Hải Phòng": (), "Hậu Giang": (), "Hòa Bình": ("Hoà Bình",),
    "Hồ Chí Minh": ("TP.HCM", "TP HCM", "TPHCM", "TP. HCM", "TP.Hồ Chí Minh", "Sài Gòn"),
    "Hưng Yên": (), "Khánh Hòa": ("Khánh Hoà",), "Kiên Giang": (), "Kon Tum": ("Kontum",),
    "Lai Châu": (), "Lạng Sơn": (), "Lào Cai": (), "Lâm Đồng": (), "Long An": (),
    "Nam Định": (), "Nghệ An": (), "Ninh Bình": (), "Ninh Thuận": (), "Phú Thọ": (),
    "Phú Yên": (), "Quảng Bình": (), "Quảng Nam": (), "Quảng Ngãi": (), "Quảng Ninh": (),
    "Quảng Trị": (), "Sóc Trăng": (), "Sơn La": (), "Tây Ninh": (), "Thái Bình": (),
    "Thái Nguyên": (), "Thanh Hóa": ("Thanh Hoá",), "Thừa Thiên Huế": ("Thừa Thiên - Huế", "Huế"),
    "Tiền Giang": (), "Trà Vinh": (), "Tuyên Quang": (), "Vĩnh Long": (), "Vĩnh Phúc": (),
    "Yên Bái": (),
}

# 2025 merger: each of the 63 -> the province or city it belongs to now (34 in all).
MERGED_2025: dict[str, str] = {
    "Hà Giang": "Tuyên Quang", "Yên Bái": "Lào Cai", "Bắc Kạn": "Thái Nguyên",
    "Vĩnh Phúc": "Phú Thọ", "Hòa Bình": "Phú Thọ", "Bắc Giang": "Bắc Ninh",
    "Hải Dương": "Hải Phòng", "Thái Bình": "Hưng Yên", "Hà Nam": "Ninh Bình",
    "Nam Định": "Ninh Bình", "Quảng Bình": "Quảng Trị", "Thừa Thiên Huế": "Huế",
    "Quảng Nam": "Đà Nẵng", "Kon Tum": "Quảng Ngãi", "Bình Định": "Gia Lai",
    "Ninh Thuận": "Khánh Hòa", "Đắk Nông": "Lâm Đồng", "Bình Thuận": "Lâm Đồng",
    "Phú Yên": "Đắk Lắk", "Bình Dương": "Hồ Chí Minh", "Bà Rịa - Vũng Tàu": "Hồ Chí Minh",
    "Bình Phước": "Đồng Nai", "Long An": "Tây Ninh", "Sóc Trăng": "Cần Thơ",
    "Hậu Giang": "Cần Thơ", "Bến Tre": "Vĩnh Long", "Trà Vinh": "Vĩnh Long",
    "Tiền Giang": "Đồng Tháp", "Bạc Liêu": "Cà Mau", "Kiên Giang": "An Giang",
}

PROVINCES_34: tuple[str, ...] = tuple(
    sorted({MERGED_2025.get(p, p) for p in PROVINCES_63}, key=fold)
)
ALL_PROVINCES: tuple[str, ...] = tuple(sorted(set(PROVINCES_63) | {"Huế"}, key=fold))


def province_2025(name: str) -> str:
    """The post-2025 province a (pre-2025) province belongs to."""
    return MERGED_2025.get(name, name)


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

    >>> [p for p, _, _ in find_provinces("Sở TT&TT tỉnh Bắc Cạn và TP.HCM, bac giang")]
    ['Bắc Kạn', 'Hồ Chí Minh', 'Bắc Giang']
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
    return out


def _diacritics_agree(original: str, name: str) -> bool:
    """True when the marks typed in ``original`` are those of one spelling of ``name``."""
    extra = ("Huế",) if name == "Thừa Thiên Huế" else ()
    o = re.sub(r"\s+", " ", original.lower())
    for s in (name, *PROVINCES_63.get(name, ()), *extra):
        s = s.lower()
        if len(s) == len(o) and all(y == fold(y) or x == y for x, y in zip(s, o, strict=True)):
            return True
    return False
