"""Follow-up questions: "Còn Bình Dương thì sao?" after a question about Bắc Giang stands for
the same question about Bình Dương.

>>> complete_question("Còn Bình Dương thì sao?", "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?")
'Năm 2020 Bình Dương có bao nhiêu trạm BTS?'
"""

from __future__ import annotations

import logging
import re
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.provinces import find_provinces
from assistant.text import fold, words

log = logging.getLogger(__name__)

# Words that carry no topic: a message made only of these (plus a province or a year) is a
# follow-up that reuses the previous question. Compared without diacritics.
_FILLER = (
    "còn thì sao thế vậy ở tại của tỉnh thành phố tp năm nhỉ ạ à ừ nào với cho về và đối "
    "như là có bao nhiêu mấy gì được không đó này kia hãy cũng trường hợp ra hỏi tiếp "
    "tương tự hơn trước ngoái sau tiếp theo"
)
_FOLLOW_UP_WORDS = {fold(w) for w in _FILLER.split()}
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_RELATIVE_YEAR = {("nam", "truoc"): -1, ("nam", "ngoai"): -1, ("nam", "sau"): 1}


def complete_question(message: str, previous: str | None) -> str:
    """The question a follow-up message stands for, or ``message`` itself when it is complete.

    A follow-up names a province and/or a year and nothing else of substance ("Còn Bình Dương
    thì sao?", "Năm 2019?", "còn năm trước"); the previous question is repeated with that
    province or year put in place of (or added to) its own.

    >>> complete_question("Còn năm 2019 thì sao?", "Bắc Kạn có bao nhiêu trạm BTS?")
    'Bắc Kạn có bao nhiêu trạm BTS năm 2019?'
    >>> complete_question("Bình Dương có bao nhiêu doanh nghiệp?", "Năm 2020 Bắc Giang ...?")
    'Bình Dương có bao nhiêu doanh nghiệp?'
    """
    message = " ".join(message.split())
    if not previous or not message:
        return message
    provinces = list(dict.fromkeys(p for p, _, _ in find_provinces(message)))
    masked = message
    for _, a, b in find_provinces(message):
        masked = masked[:a] + " " * (b - a) + masked[b:]
    years = [int(y) for y in _YEAR.findall(masked)]
    folded = [fold(w) for w in words(_YEAR.sub(" ", masked))]
    if any(w not in _FOLLOW_UP_WORDS for w in folded):
        return message  # it says something of its own
    if not years:
        shift = next(
            (
                d
                for pair, d in _RELATIVE_YEAR.items()
                if any(tuple(folded[i : i + 2]) == pair for i in range(len(folded)))
            ),
            0,
        )
        before = _YEAR.findall(previous)
        if shift and before:
            years = [int(before[0]) + shift]
    if not provinces and not years:
        return message
    question = previous.strip()
    if provinces:
        question = _put_provinces(question, provinces)
    if years:
        question = _put_year(question, years[0])
    return question


def standalone_question(
    message: str, previous: str | None, settings: Settings, client: Any = None
) -> str:
    """The question ``message`` stands for. In language-model mode the model rewrites a
    follow-up as a stand-alone question; when it fails or its reply does not look like one
    question, and in extractive mode, :func:`complete_question`'s rules decide."""
    message = " ".join(message.split())
    if settings.answerer == "llm" and previous and message:
        from assistant.llm import condense

        try:
            condensed = condense(message, previous, settings, client)
        except AssistantError as err:
            log.warning("follow-up not condensed by the language model: %s", err)
        else:
            if condensed:
                return condensed
    return complete_question(message, previous)


def _put_provinces(question: str, provinces: list[str]) -> str:
    name = " và ".join(provinces)
    spans = find_provinces(question)
    if not spans:
        return _append(question, f"ở {name}")
    out = question
    for i, (_, a, b) in reversed(list(enumerate(spans))):
        if i == 0:
            out = out[:a] + name + out[b:]
        else:  # drop other provinces of a comparison with their "và" / ","
            head = re.sub(r"\s*(?:,|\bvà|\bvới)?\s*$", "", out[:a])
            out = head + out[b:]
    return out


def _put_year(question: str, year: int) -> str:
    found = _YEAR.findall(question)
    if not found:
        return _append(question, f"năm {year}")
    return re.sub(rf"\b{found[0]}\b", str(year), question)


def _append(question: str, words_: str) -> str:
    """Add words before the final question mark: "... BTS?" -> "... BTS ở X?"."""
    m = re.search(r"[\s?.!]*$", question)
    end = m.start() if m else len(question)
    tail = question[end:].strip() or "?"
    return f"{question[:end]} {words_}{tail}"
