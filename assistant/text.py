"""Vietnamese text handling: normalisation, diacritic folding, BM25 tokens, sentence spans.

Everything that enters the pipeline goes through :func:`normalize` once; all offsets refer to
the normalised text. :func:`fold` keeps the length of its input, so offsets found in a folded
string are valid in the original.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Bump when normalize() or tokens() change: indexes built with another version must be rebuilt.
NORMALISER_VERSION = "2"

_ODD_SPACES = dict.fromkeys(
    map(
        ord,
        "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000\t\v\f",
    ),
    " ",
)
_DROPPED = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def normalize(text: str) -> str:
    """NFC, plain spaces for NBSP and other odd spaces, no zero-width characters, ``\\n`` lines.

    >>> normalize("Bắc\\u00a0Giang\\u200b")
    'Bắc Giang'
    """
    if len(text) <= _CACHED_CHARS:  # sentences and questions: met again and again
        return _normalize_short(text)
    return _normalize(text)


_CACHED_CHARS = 400  # a cache of 16k such strings stays under ~30 MB


@functools.lru_cache(maxsize=16384)
def _normalize_short(text: str) -> str:
    return _normalize(text)


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.translate(_ODD_SPACES).translate(_DROPPED)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})


class _FoldTable(dict):
    """Code point -> its letter without diacritics, worked out the first time it is met."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0]
        folded = base.translate(_FOLD_EXTRA) if unicodedata.combining(base) == 0 else ch
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable((c, chr(c)) for c in range(128))


def fold(text: str) -> str:
    """Remove Vietnamese diacritics, keeping length: ``fold("Bắc Giang") == "Bac Giang"``.

    One ``str.translate`` over a table filled character by character as they are met (each
    character of the text maps to exactly one, so offsets carry over)."""
    return text.translate(_FOLD_TABLE)


def has_diacritics(text: str) -> bool:
    return fold(text) != text


# Old-style tone placement at the end of a syllable ("hoà", "thuỷ") -> new style ("hòa", "thủy").
_OLD_TONES = {
    "oà": "òa",
    "oá": "óa",
    "oả": "ỏa",
    "oã": "õa",
    "oạ": "ọa",
    "oè": "òe",
    "oé": "óe",
    "oẻ": "ỏe",
    "oẽ": "õe",
    "oẹ": "ọe",
    "uỳ": "ùy",
    "uý": "úy",
    "uỷ": "ủy",
    "uỹ": "ũy",
    "uỵ": "ụy",
}

# Numbers stay whole ("1.422", "45,7%", "31/63"); words are runs of letters and digits.
_TOKEN = re.compile(r"\d+(?:[.,/]\d+)+%?|\d+%|[^\W_]+")


def _canon(token: str) -> str:
    tail = token[-2:]
    return token[:-2] + _OLD_TONES[tail] if tail in _OLD_TONES else token


def words(text: str) -> list[str]:
    """Lower-cased syllables and whole numbers, diacritics kept.

    >>> words("Toàn tỉnh có 1.422 trạm BTS, đạt 45,7%")
    ['toàn', 'tỉnh', 'có', '1.422', 'trạm', 'bts', 'đạt', '45,7%']
    """
    if len(text) <= _CACHED_CHARS:
        return list(_words_short(text))
    return _words(text)


@functools.lru_cache(maxsize=16384)
def _words_short(text: str) -> tuple[str, ...]:
    return tuple(_words(text))


def _words(text: str) -> list[str]:
    return [_canon(t) for t in _TOKEN.findall(normalize(text).lower())]


def tokens(text: str) -> list[str]:
    """BM25 tokens: each syllable or whole number (a number with a percent sign also bare),
    then each pair of neighbouring syllables, so that a phrase ("trạm bts", "bắc giang") ranks
    above the same syllables scattered. Diacritics are kept: fold the text first for the
    folded index.

    >>> tokens("Bắc Giang có 45,7%")
    ['bắc', 'giang', 'có', '45,7%', '45,7', 'bắc_giang', 'giang_có', 'có_45,7%']
    """
    ws = words(text)
    out: list[str] = []
    for w in ws:
        out.append(w)
        if w.endswith("%") and len(w) > 1:
            out.append(w[:-1])
    out.extend(f"{a}_{b}" for a, b in zip(ws, ws[1:], strict=False))
    return out


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“(\[]?[A-ZÀ-Ỹ0-9Đ])|\n+")
# Titles and place prefixes written with a period ("TP. Đồng Hới", "ThS. Nguyễn"), initials.
_ABBREV_BEFORE = re.compile(r"\b(?:TP|Tp|TX|ThS|Ths|TS|PGS|GS|BS|KS|Th|St|Q|P|[A-ZĐ])\.$")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of sentences in ``text[start:end]``, trimmed of surrounding spaces.

    Splits after ``. ! ? …`` followed by a capital or digit and at line breaks, but not after
    abbreviations such as "TP." or "ThS.".
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        if not m.group().startswith("\n") and _ABBREV_BEFORE.search(text, pos, m.start()):
            continue
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, end))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[1] > s[0]]


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a sentence span at semicolons: each clause is a candidate short quote."""
    spans, pos = [], start
    for m in re.finditer(r";\s*", text[start:end]):
        spans.append((pos, start + m.start()))
        pos = start + m.end()
    spans.append((pos, end))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[1] > s[0]]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
