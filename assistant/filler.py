"""Conversational padding around a question: greetings, "cho mình hỏi", "vậy ạ", context about
the asker. It carries no topic, so it is cut before searching and matching.

>>> strip_filler("Chào bạn, mình đang làm báo cáo tổng kết, cho mình hỏi Bắc Giang có bao "
...              "nhiêu trạm BTS vậy ạ?")
'Bắc Giang có bao nhiêu trạm BTS?'
>>> strip_filler("cho minh hoi QB co may laptop nhe")
'QB co may laptop'
>>> strip_filler("Dạ cho em hỏi Đà Nẵng có bao nhiêu thuê bao?")
'Đà Nẵng có bao nhiêu thuê bao?'
>>> strip_filler("Đà Nẵng có bao nhiêu thuê bao?"), strip_filler("da nang co bao nhieu thue bao")
('Đà Nẵng có bao nhiêu thuê bao?', 'da nang co bao nhieu thue bao')
"""

from __future__ import annotations

import re

from assistant.text import fold

_WHO = r"(?:minh|toi|em|tui|chung toi|chung minh|anh|chi|ban|bon minh)"
# Patterns on the folded, lower-cased question (same length as the original).
_FILLER = [
    re.compile(
        r"^\s*(?:(?:ban|anh|chi|em|ad|admin|tro ly)\s+oi\b|"
        r"(?:xin\s+)?(?:chao|hello|hi|alo|kinh gui)\b(?:\s+(?:ban|anh|chi|em|"
        r"ad|admin|tro ly|moi nguoi|ca nha|assistant))?(?:\s+oi)?)\s*[,.!:]*\s*"
    ),
    # "Dạ, ..." -- folded it is also "Đà" of Đà Nẵng, so typed without diacritics only before a
    # comma or the asker ("da, cho em hoi", "da em muon hoi")
    re.compile(rf"^\s*da(?=\s*[,.!:]|\s+(?:cho|xin|vang|{_WHO})\b)\b\s*[,.!:]*\s*"),
    re.compile(
        rf"(?:^|(?<=[,.!;]))\s*{_WHO}\s+(?:dang|can|muon|phai|se)\s+(?:lam|viet|tong hop|"
        rf"soan|chuan bi|tim hieu|nghien cuu|bao cao|hoan thien)\b[^,.!?;]*[,.!;]\s*"
    ),
    re.compile(
        rf"\b(?:{_WHO}\s+)?(?:cho|giup|nho)\s+{_WHO}\s+(?:hoi|biet|xin|tra cuu|kiem tra)"
        r"(?:\s+(?:chut|mot chut|voi|la|thong tin|mot cau|xem))*\s*[,:]?\s*"
    ),
    re.compile(
        rf"\b(?:xin hoi|cho hoi|hoi chut|lam on|vui long|{_WHO}\s+(?:muon|can)\s+"
        rf"(?:hoi|biet)(?:\s+(?:la|xem))?)\b\s*[,:]?\s*"
    ),
    re.compile(
        r"\s*[,.]?\s*\b(?:cam on|thanks|thank you)\b(?:\s+(?:ban|nhieu|nhe|a))*\s*[.!]*"
        r"\s*$"
    ),
    re.compile(
        r"\s*,?\s*\b(?:vay a|the a|nhi|nhe|vay|a|voi a|voi|khong a|duoc khong|ha|"
        r"vay nhi|the nhi|the)\b\s*(?=[?.!]*\s*$)"
    ),
]


# "Dạ" typed with its diacritics is always the polite opening
_DA = re.compile(r"^\s*dạ\b\s*[,.!:]*\s*")


def strip_filler(question: str) -> str:
    """``question`` without its conversational padding; unchanged when nothing is left."""
    text = question
    for _ in range(3):  # padding can nest: "Chào bạn, cho mình hỏi ... vậy ạ?"
        before = text
        for pattern in (_DA, *_FILLER):
            m = pattern.search(text.lower() if pattern is _DA else fold(text).lower())
            if m and m.end() > m.start():
                text = (
                    text[: m.start()]
                    + (" " if m.start() > 0 and m.end() < len(text) else "")
                    + text[m.end() :]
                )
        if text == before:
            break
    text = re.sub(r"\s+([?.!,])", r"\1", " ".join(text.split())).strip(" ,;:")
    text = re.sub(r"^[,.;:!]+\s*", "", text)
    if len(text.strip(" ?.!")) < 4:
        return question
    return text[0].upper() + text[1:] if question[:1].isupper() else text
