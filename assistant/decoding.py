"""Bytes -> str for text files: byte-order marks, UTF-8 (mojibake repaired, a few corrupt
bytes tolerated), UTF-16 without BOM, legacy TCVN3/VNI bytes, then Windows-1258.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata

from assistant.errors import BadFileError
from assistant.legacy import looks_legacy_bytes

__all__ = ["decode", "unmojibake"]

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
# Letters of Vietnamese that Windows-1258 text decodes to (base letters + combining tones).
_VI_HINT = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323]")


def decode(raw: bytes) -> str:
    """Bytes -> str: BOMs, UTF-8 (mojibake repaired, a few corrupt bytes tolerated), UTF-16
    without BOM, then legacy Windows-1258. Stray NULs pass (normalize drops them); text with
    many control bytes is binary."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError as err:
                raise BadFileError(
                    f"invalid {enc} text at byte {err.start}", code="file_bad_text"
                ) from err
    sample = raw[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        with contextlib.suppress(UnicodeDecodeError):
            text = raw.decode("utf-16-le")
            if _looks_like_text(text):
                return text
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        with contextlib.suppress(UnicodeDecodeError):
            text = raw.decode("utf-16-be")
            if _looks_like_text(text):
                return text
    if _control_share(sample) > 0.05:
        raise BadFileError("binary content, not text", code="file_binary")
    try:
        return unmojibake(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(raw)
    if mostly is not None:
        return mostly
    if looks_legacy_bytes(raw):  # TCVN3 or VNI bytes: as Windows-1252, converted later
        return raw.decode("cp1252", "replace")
    try:
        text = raw.decode("cp1258")
    except UnicodeDecodeError as err:
        raise BadFileError(
            "cannot decode the text (not UTF-8, UTF-16 or Windows-1258)", code="file_encoding"
        ) from err
    if not _VI_HINT.search(text) and any(ch.isalpha() for ch in text):
        raise BadFileError(
            "cannot decode the text (not UTF-8, UTF-16 or Windows-1258)", code="file_encoding"
        )
    return text


def _mostly_utf8(raw: bytes, tolerance: float = 0.02) -> str | None:
    """UTF-8 with a few corrupt bytes (at most ``tolerance`` of its non-ASCII bytes), each
    replaced by U+FFFD; None when the bytes are not UTF-8 (e.g. Windows-1258, where almost
    every non-ASCII byte is invalid UTF-8)."""
    high = len(raw) - len(raw.translate(None, bytes(range(128))))
    text = raw.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    return text if high and bad <= high * tolerance else None


# Characters that Windows-1252 decodes bytes 0x80-0x9F to, back to those bytes (as latin-1).
_CP1252_BACK = {
    ord(bytes([b]).decode("cp1252")): b
    for b in range(0x80, 0xA0)
    if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
# UTF-8 lead bytes of Vietnamese letters read as Windows-1252/latin-1: "Ã¡", "Ä‘", "áº¯", "á»‡"
_MOJIBAKE = re.compile("[ÃÄÆ][\u0080-\u00bf\u0152-\u0192\u02c6-\u02dc\u2013-\u2122]|á[º»]")


def unmojibake(text: str) -> str:
    """Repair UTF-8 that was read as Windows-1252 or latin-1 and saved again as UTF-8
    (``"BÃ¡o cÃ¡o"`` -> ``"Báo cáo"``). The text is kept as it is unless all of it round-trips.

    >>> unmojibake("NÄƒm 2020, Báº¯c Giang")
    'Năm 2020, Bắc Giang'
    """
    if not _MOJIBAKE.search(text):
        return text
    try:
        return text.translate(_CP1252_BACK).encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _looks_like_text(text: str) -> bool:
    """Mostly letters, digits, punctuation and spaces: not binary decoded by chance."""
    sample = text[:2000]
    odd = sum(1 for ch in sample if unicodedata.category(ch)[0] == "C" and ch not in "\n\r\t")
    return odd <= len(sample) * 0.02


def _control_share(sample: bytes) -> float:
    bad = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return bad / max(len(sample), 1)
