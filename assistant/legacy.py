"""Vietnamese typed in the legacy 8-bit fonts, TCVN3 (ABC: ``.VnTime``) and VNI (``VNI-Times``),
back to Unicode NFC.

Such text reaches us as Windows-1252 characters: "Së Th«ng tin vµ TruyÒn th«ng" (TCVN3) or
"Sôû Thoâng tin vaø Truyeàn thoâng" (VNI) for "Sở Thông tin và Truyền thông".

* :func:`convert` turns text known to be in one encoding (a DOCX run whose font is ``.VnTime``)
  into Unicode; :func:`font_encoding` tells the encoding from a font name.
* :func:`fix_text` finds legacy text without a font: it converts only when the converted words
  are real Vietnamese syllables and the original ones are not (decided for the whole text, then
  line by line), and never touches a line that holds a letter only Unicode Vietnamese has
  (ư, ơ, đ, ạ ...). ``bench/legacy_false_positives.py`` counts its false conversions on every
  real text we have.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Encoding = Literal["tcvn3", "vni"]

# --- tables ---------------------------------------------------------------------------------

_UNI = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂĐÊÔƠƯ"
_TCVN3 = "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô\u00adõøö÷ùúýûüþ¡¢§£¤¥¦"
assert len(_UNI) == len(_TCVN3)
TCVN3_TABLE = dict(zip(_TCVN3, _UNI, strict=True))
_TCVN3_TRANS = str.maketrans(TCVN3_TABLE)

# VNI for Windows: a base letter followed by a mark character ("aø" = "à"), and a few letters
# of their own ("ñ" = "đ", "ô" = "ơ", "ö" = "ư", "æ" = "ỉ", "ó" = "ĩ", "ò" = "ị", "î" = "ỵ").
_VNI_LOWER = [
    ("a", "", "aøaùaûaõaï", "àáảãạ"),
    ("a", "ê", "aêaèaéaúaüaë", "ăằắẳẵặ"),
    ("a", "â", "aâaàaáaåaãaä", "âầấẩẫậ"),
    ("e", "", "eøeùeûeõeï", "èéẻẽẹ"),
    ("e", "â", "eâeàeáeåeãeä", "êềếểễệ"),
    ("o", "", "oøoùoûoõoï", "òóỏõọ"),
    ("o", "â", "oâoàoáoåoãoä", "ôồốổỗộ"),
    ("ô", "", "ôøôùôûôõôï", "ờớởỡợ"),
    ("u", "", "uøuùuûuõuï", "ùúủũụ"),
    ("ö", "", "öøöùöûöõöï", "ừứửữự"),
    ("y", "", "yøyùyûyõ", "ỳýỷỹ"),
]
_VNI_SINGLE = {
    "ñ": "đ",
    "ô": "ơ",
    "ö": "ư",
    "æ": "ỉ",
    "ó": "ĩ",
    "ò": "ị",
    "î": "ỵ",
    "Ñ": "Đ",
    "Ô": "Ơ",
    "Ö": "Ư",
    "Æ": "Ỉ",
    "Ó": "Ĩ",
    "Ò": "Ị",
    "Î": "Ỵ",
}


def _vni_pairs() -> dict[str, str]:
    pairs: dict[str, str] = {}
    for _, _, src, dst in _VNI_LOWER:
        for i, uni in enumerate(dst):
            two = src[2 * i : 2 * i + 2]
            base, mark = two[0], two[1]
            for b in (base, base.upper()):
                for m in (mark, mark.upper()):
                    pairs[b + m] = uni.upper() if b.isupper() else uni
    return pairs


VNI_PAIRS = _vni_pairs()
_VNI_RE = re.compile(
    "|".join(sorted(map(re.escape, VNI_PAIRS), key=len, reverse=True))
    + "|["
    + "".join(_VNI_SINGLE)
    + "]"
)

# Characters that legacy text shows and Unicode Vietnamese never needs (a Unicode text holds
# them only in foreign words): one of them must be present for a line to be a candidate.
_TCVN3_MARKERS = frozenset(_TCVN3) - frozenset("àáãâèéêìíòóõôùúýăđ")
_VNI_MARKERS = frozenset("øûõïëåäüæîñöÕØÛÏËÅÄÜÆÎÑÖ")
_TCVN3_CHARS = frozenset(_TCVN3)
_VNI_CHARS = frozenset("".join(VNI_PAIRS) + "".join(_VNI_SINGLE)) - frozenset("aeouyAEOUY")
# Letters only Unicode Vietnamese has (outside Windows-1252), and the combining tone marks.
_UNICODE_VI = re.compile("[ăĂđĐĩĨũŨơƠưƯ\u1ea0-\u1ef9\u0300\u0301\u0303\u0309\u0323]")


def font_encoding(font: str | None) -> Encoding | None:
    """The legacy encoding a font name implies: ``.VnTime`` -> tcvn3, ``VNI-Times`` -> vni."""
    if not font:
        return None
    name = font.strip().lower()
    if name.startswith(".vn") or name.startswith("vn3"):
        return "tcvn3"
    if name.startswith("vni-") or name.startswith("vni "):
        return "vni"
    return None


def is_upper_font(font: str | None) -> bool:
    """TCVN3 capitals fonts (``.VnTimeH``, ``.VnArialH``) show the small letters' codes as
    capitals."""
    return font is not None and font_encoding(font) == "tcvn3" and font.strip().endswith("H")


def convert(text: str, encoding: Encoding, upper: bool = False) -> str:
    """Legacy ``text`` in ``encoding`` -> Unicode NFC. Text already holding Unicode-only
    Vietnamese letters is returned unchanged.

    >>> convert("Së Th«ng tin vµ TruyÒn th«ng", "tcvn3")
    'Sở Thông tin và Truyền thông'
    >>> convert("Sôû Thoâng tin vaø Truyeàn thoâng", "vni")
    'Sở Thông tin và Truyền thông'
    """
    if _UNICODE_VI.search(text):
        return text
    if encoding == "tcvn3":
        out = text.translate(_TCVN3_TRANS)
    else:
        out = _VNI_RE.sub(lambda m: VNI_PAIRS.get(m.group()) or _VNI_SINGLE[m.group()], text)
    if upper:
        out = out.upper()
    return unicodedata.normalize("NFC", out)


# --- detection ------------------------------------------------------------------------------

_ONSET = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
# nuclei ending in a glide take no final consonant ("khauc" is no syllable); the others may
_OPEN = (
    "(?:uya|uyu|uây|uôi|ươi|ươu|oai|oay|oeo|iêu|yêu|ai|ao|au|ay|âu|ây|eo|êu|ia|iu|oi|ôi"
    "|ơi|ua|ui|ưa|ưi|ưu)"
)
_CLOSABLE = "(?:uyê|oa|oă|oe|iê|uâ|uê|uô|uơ|uy|ươ|yê|[aăâeêioôơuưy])"
_SYLLABLE = re.compile(f"^{_ONSET}(?:{_OPEN}|{_CLOSABLE}(?:ch|ng|nh|[cmnpt])?)$")
_TONES = dict.fromkeys(map(ord, "\u0300\u0301\u0303\u0309\u0323"), None)
_LETTERS = frozenset("abcdeghiklmnopqrstuvxy" + _UNI.lower())
# a word: letters, and in legacy text also the symbols TCVN3 uses for letters ("§ang", "­u")
_WORD = re.compile("(?:[^\\W\\d_]|[¡¢£¤¥¦§¨©ª«¬\u00ad®µ¶·¸¹»¼½¾×÷])+")


def is_syllable(word: str) -> bool:
    """A Vietnamese syllable (one tone mark at most): ``is_syllable("Truyền") is True``."""
    word = unicodedata.normalize("NFC", word.lower())
    if not word or not set(word) <= _LETTERS:
        return False
    nfd = unicodedata.normalize("NFD", word)
    if sum(1 for ch in nfd if ord(ch) in _TONES) > 1:
        return False
    return bool(_SYLLABLE.match(unicodedata.normalize("NFC", nfd.translate(_TONES))))


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if not w.isascii()]


def _votes(text: str, encoding: Encoding) -> tuple[int, int, int]:
    """(non-ASCII words, valid syllables as they are, valid syllables once converted)."""
    words = _words(text)
    before = sum(1 for w in words if is_syllable(w))
    after = sum(1 for w in words if is_syllable(convert(w, encoding)))
    return len(words), before, after


def detect(text: str) -> Encoding | None:
    """The legacy encoding ``text`` is typed in, or None (Unicode, or not Vietnamese).

    Decided on the lines free of Unicode-only Vietnamese letters: at least three words become
    Vietnamese syllables once converted, most of the words do, and more than twice as many as
    are syllables already.
    """
    best: Encoding | None = None
    best_after = 0
    for encoding in ("tcvn3", "vni"):
        total = before = after = 0
        for line in text.split("\n"):
            if _UNICODE_VI.search(line) or not (set(line) & _markers(encoding)):
                continue
            n, b, a = _votes(line, encoding)
            total, before, after = total + n, before + b, after + a
        if after >= 3 and after >= 0.6 * total and after > 2 * before and after > best_after:
            best, best_after = encoding, after
    return best


def _markers(encoding: Encoding) -> frozenset[str]:
    return _TCVN3_MARKERS if encoding == "tcvn3" else _VNI_MARKERS


def fix_text(text: str, encoding: Encoding | None = None) -> tuple[str, Encoding | None]:
    """Convert the legacy-encoded lines of ``text``; Unicode lines are kept as they are.

    Returns the text and the encoding found (None: nothing converted). ``encoding``, when
    already detected on the whole document, skips the detection on this part.

    >>> fix_text("Së Th«ng tin vµ TruyÒn th«ng\\nSở Thông tin")
    ('Sở Thông tin và Truyền thông\\nSở Thông tin', 'tcvn3')
    """
    encoding = encoding or detect(text)
    if encoding is None:
        return text, None
    # once the text is known to be legacy, any line with a character of the table is a candidate
    # ("Tin khaùc" holds no marker), converted only if more of its words become syllables
    chars = _TCVN3_CHARS if encoding == "tcvn3" else _VNI_CHARS
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _UNICODE_VI.search(line) or not (set(line) & chars):
            continue
        _, before, after = _votes(line, encoding)
        if after > before:
            lines[i] = convert(line, encoding)
    return "\n".join(lines), encoding


def encode(text: str, encoding: Encoding) -> str:
    """Unicode -> the characters a legacy font shows (the inverse of :func:`convert`, to make
    test files and measure conversions). TCVN3 has no toned capitals: they are written with the
    small letters' codes, as a ``.VnTimeH`` capitals font does.

    >>> encode("Sở Thông tin", "tcvn3"), encode("Sở Thông tin", "vni")
    ('Së Th«ng tin', 'Sôû Thoâng tin')
    """
    text = unicodedata.normalize("NFC", text)
    if encoding == "tcvn3":
        back = {u: t for t, u in TCVN3_TABLE.items()}
        return "".join(back.get(ch) or back.get(ch.lower(), ch) for ch in text)
    back = {u: v for v, u in VNI_PAIRS.items() if v[0].isupper() == v[1].isupper()}
    back.update({u: v for v, u in _VNI_SINGLE.items()})
    return "".join(back.get(ch, ch) for ch in text)


def looks_legacy_bytes(raw: bytes) -> bool:
    """Bytes (not UTF-8) that read as Windows-1252 are TCVN3 or VNI Vietnamese."""
    return detect(raw.decode("cp1252", "replace")) is not None
