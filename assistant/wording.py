"""The reports' wording for what people type: "laptop" is "máy tính xách tay" in the reports,
"smartphone" is "điện thoại thông minh". Applied to a question before its words are read
(:meth:`assistant.bot.Assistant.ask`), so the search, the answer type and the counted thing
("mấy laptop" -> "mấy máy tính xách tay") all see the reports' words.

A loanword the loaded documents use themselves ("email" in a university's rules) is kept as
typed: the knowledge base says which words it has.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.text import fold, has_diacritics, normalize

# a loanword or short form people type (lowercase) -> the reports' wording
REPORT_WORDS: dict[str, str] = {
    "laptop": "máy tính xách tay",
    "notebook": "máy tính xách tay",
    "pc": "máy tính để bàn",
    "desktop": "máy tính để bàn",
    "server": "máy chủ",
    "smartphone": "điện thoại thông minh",
    "email": "thư điện tử",
    "e-mail": "thư điện tử",
    "dvctt": "dịch vụ công trực tuyến",
}
# the loanword with the head noun people put before it ("máy tính laptop", "máy server")
_PATTERN = re.compile(
    r"(?<!\w)(?:(?:máy tính|may tinh|máy|may|điện thoại|dien thoai)\s+)?("
    + "|".join(re.escape(w) for w in REPORT_WORDS)
    + r")s?(?!\w)",
    re.IGNORECASE,
)

# "người đứng đầu" an organisation -> its head's title, as the reports name the person
_HEAD_TITLES: dict[str, str] = {
    "sở": "giám đốc",
    "ubnd": "chủ tịch",
    "ủy ban": "chủ tịch",
    "tỉnh ủy": "bí thư",
}
# typed without diacritics, "so" is also "số" (số lượng) and "so" (so với): a Sở only before
# the department's name
_HEAD = re.compile(
    r"(?<!\w)(?:người\s+|nguoi\s+)?(?:đứng đầu|dung dau)\s+"
    r"(?=(sở|so(?=\s+(?:tt&tt|tttt|tt|thong tin)(?!\w))|ubnd|(?:ủy|uỷ|uy) ban"
    r"|(?:tỉnh|tinh) (?:ủy|uỷ|uy))(?!\w))",
    re.IGNORECASE,
)


def report_wording(question: str, known: Callable[[str], bool] | None = None) -> str:
    """``question`` with the loanwords of :data:`REPORT_WORDS` written as the reports write
    them (without diacritics in a question typed without them), and "người đứng đầu" a Sở,
    an Ủy ban or a Tỉnh ủy as its head's title (giám đốc, chủ tịch, bí thư); except the
    loanwords that ``known`` (the knowledge base's words) says the documents use; a capitalised
    one inside a name ("SQL Server", "Windows Server") is a name and stays.

    >>> report_wording("QB có mấy laptop?")
    'QB có mấy máy tính xách tay?'
    >>> report_wording("qb co bao nhieu may tinh laptop")
    'qb co bao nhieu may tinh xach tay'
    >>> report_wording("Cú pháp email của SV?", known=lambda w: w == "email")
    'Cú pháp email của SV?'
    >>> report_wording("Trường dùng Microsoft SQL Server không?")
    'Trường dùng Microsoft SQL Server không?'
    >>> report_wording("Ai đứng đầu Sở TT&TT Quảng Bình?")
    'Ai giám đốc Sở TT&TT Quảng Bình?'
    >>> report_wording("nguoi dung dau UBND tinh la ai")
    'chu tich UBND tinh la ai'
    >>> report_wording("Ai đứng đầu Tỉnh uỷ?")
    'Ai bí thư Tỉnh uỷ?'
    >>> report_wording("Tỉnh nào đứng đầu cả nước về DTI?")
    'Tỉnh nào đứng đầu cả nước về DTI?'
    >>> report_wording("tinh nao dung dau so voi ca nuoc")
    'tinh nao dung dau so voi ca nuoc'
    >>> report_wording("tinh nao dung dau so luong tram bts")
    'tinh nao dung dau so luong tram bts'
    >>> report_wording("ai dung dau so tttt quang binh")
    'ai giam doc so tttt quang binh'
    """
    text = normalize(question)
    plain = not has_diacritics(text)

    def replace(m: re.Match[str]) -> str:
        word = m.group(1)
        before = text[: m.start()].rstrip()
        if known is not None and known(word.lower()):
            return m.group()
        if word[:1].isupper() and before[-1:].isalnum() and before.split()[-1][:1].isupper():
            return m.group()  # part of a name
        wording = REPORT_WORDS[word.lower()]
        return fold(wording) if plain else wording

    def title(m: re.Match[str]) -> str:
        org = next(o for o in _HEAD_TITLES if fold(o) == fold(m.group(1).lower()))
        return (fold(_HEAD_TITLES[org]) if plain else _HEAD_TITLES[org]) + " "

    return _HEAD.sub(title, _PATTERN.sub(replace, text))
