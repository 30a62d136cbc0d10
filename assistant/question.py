"""What a question asks, read from its words: the content syllables that must be matched, the
counted thing ("bao nhiêu máy chủ ảo"), quantity, percent or plan, the provinces and years it
names and the kind of answer it expects (:mod:`assistant.qtypes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.dates import years_in
from assistant.filler import strip_filler
from assistant.provinces import find_provinces
from assistant.qtypes import question_type
from assistant.text import fold, has_diacritics, words

# Function words and question words: they say nothing about the topic. Matched as typed when
# the question has diacritics ("vệ tinh" keeps "vệ" and "tinh"), folded when it has none.
_STOP_WORDS = (
    "có bao nhiêu mấy là gì nào ai đâu sao không thì của ở và với các những một được đã đang "
    "sẽ cho tại trên trong về từ đến này đó thế như hay hoặc ra vào lên xuống bị bởi vì nếu khi "
    "rồi còn nữa cũng đều mỗi rất làm hơn nhất theo tỉnh thành phố năm hiện nay địa bàn toàn "
    "số lượng bằng chừng kia ấy à ư nhé vậy ạ người bao giờ tại sao hãy cho biết"
)
_STOP = set(_STOP_WORDS.split())
_STOP_FOLDED = {fold(w) for w in _STOP}
_QUANTITY = re.compile(r"\b(bao nhieu|may|ty le|phan tram|so luong|thu may|xep thu)\b")
_PERCENT = re.compile(r"\b(ty le|phan tram)\b")
# Targets and plans, not results: "phấn đấu đạt 14%" does not say what was achieved.
_PLAN = re.compile(r"\b(phan dau|muc tieu|chi tieu|ke hoach|du kien|dinh huong|se)\b")


@dataclass
class QuestionInfo:
    """A question as :func:`analyse` reads it."""

    text: str
    content: list[str]  # content syllables, lower-cased, as typed (with or without diacritics)
    bigrams: set[tuple[str, str]]
    unit: list[str]  # folded syllables right after "bao nhiêu" / "mấy"
    quantity: bool
    percent: bool
    provinces: list[str]
    years: list[int]
    planned: bool = False  # asks about targets or plans, not results
    plain: bool = False  # typed without any diacritics: match words by their folded form
    qtype: str = "other"  # what kind of answer it asks for (assistant.qtypes)
    search: str = ""  # the question without conversational padding
    sequence: tuple[str, ...] = ()  # every syllable, in order, in the form content is matched
    asked: tuple[str, ...] = ()  # the counted thing with its qualifier ("máy chủ ảo")


def analyse(question: str, restore: Callable[[str], str] | None = None) -> QuestionInfo:
    """Content words, the expected kind of answer, provinces and years named in a question.

    Conversational padding ("Chào bạn, ... cho mình hỏi ... vậy ạ?") is cut first. A question
    typed without diacritics is matched folded; ``restore`` (diacritics put back, see
    :mod:`assistant.restore`) then tells its stop words from content words that fold alike
    ("bằng" / "bảng", "về" / "vệ tinh", "số" / "hồ sơ").

    >>> q = analyse("Năm 2020 Bắc Giang có bao nhiêu máy chủ ảo?")
    >>> q.content, q.asked, q.provinces, q.years, q.qtype, q.quantity
    (['máy', 'chủ', 'ảo'], ('máy', 'chủ', 'ảo'), ['Bắc Giang'], [2020], 'quantity', True)
    >>> analyse("ty le ho gia dinh co internet la bao nhieu phan tram").plain
    True
    >>> analyse("Đà Nẵng có bao nhiêu thuê bao di động?").asked
    ('thuê', 'bao', 'di')
    >>> q = analyse("qb co may may chu?")
    >>> q.provinces, q.content, q.asked
    (['Quảng Bình'], ['may', 'chu'], ('may', 'chu'))
    """
    search = strip_filler(question)
    found = find_provinces(search)
    provinces = list(dict.fromkeys(p for p, _, _ in found))
    masked = search
    for _, a, b in found:
        masked = masked[:a] + " " * (b - a) + masked[b:]
    typed = words(masked)
    folded = [fold(w) for w in typed]
    years = years_in(search)
    joined = " ".join(folded)
    percent = bool(_PERCENT.search(joined))
    skip = {i for i in range(len(folded) - 1) if percent and folded[i : i + 2] == ["phan", "tram"]}
    skip |= {i + 1 for i in skip}
    plain = not has_diacritics(search)
    stop, forms = (_STOP_FOLDED, folded) if plain else (_STOP, typed)
    accented = words(restore(masked)) if plain and restore is not None else []
    if len(accented) != len(typed):
        accented = []
    # "bao" of "bao nhiêu" is padding, of "thuê bao" (a subscriber) it is the thing counted;
    # typed without diacritics "may" is "mấy" (how many) but "máy" before "chủ", "tính"
    kept = {i for i in range(1, len(folded)) if folded[i - 1 : i + 1] == ["thue", "bao"]}
    kept |= {
        i
        for i in range(len(folded) - 1)
        if plain and folded[i] == "may" and folded[i + 1] in ("chu", "tinh")
    }

    def is_stop(i: int, w: str) -> bool:
        if i in kept:
            return False
        return accented[i] in _STOP if accented else w in stop

    content = [
        w
        for i, w in enumerate(forms)
        if not is_stop(i, w) and not re.fullmatch(r"(?:19|20)\d\d", w) and i not in skip
    ]
    unit: list[str] = []
    m = re.search(r"\b(?:bao nhieu|may)\s+((?:\S+\s*){1,2})", joined)
    if m:
        unit = [w for w in m.group(1).split() if w not in _STOP_FOLDED][:2]
    return QuestionInfo(
        text=question,
        content=list(dict.fromkeys(content)),
        asked=_asked(forms, folded, set(content)),
        bigrams=set(zip(folded, folded[1:], strict=False))
        - {
            (a, b)
            for a, b in zip(folded, folded[1:], strict=False)
            if a in _STOP_FOLDED and b in _STOP_FOLDED
        },
        unit=unit,
        quantity=bool(_QUANTITY.search(joined)),
        percent=percent,
        planned=bool(_PLAN.search(joined)),
        plain=plain,
        provinces=provinces,
        years=years,
        qtype=question_type(search),
        search=search,
        sequence=tuple(forms),
    )


def _asked(forms: list[str], folded: list[str], content: set[str]) -> tuple[str, ...]:
    """Up to three content words right after "bao nhiêu" / "mấy": what is counted and how it
    is qualified ("bao nhiêu máy chủ ảo" -> máy, chủ, ảo)."""
    starts = [i for i, f in enumerate(folded) if f == "nhieu" and i and folded[i - 1] == "bao"]
    starts = starts or [
        i
        for i, f in enumerate(folded)
        if forms[i] == "mấy"
        or (f == "may" and forms[i] == "may" and folded[i + 1 : i + 2] not in (["chu"], ["tinh"]))
    ]
    if not starts:
        return ()
    out: list[str] = []
    for w in forms[starts[0] + 1 :]:
        if w not in content:
            if out:
                break
            continue
        out.append(w)
        if len(out) == 3:
            break
    return tuple(out)
