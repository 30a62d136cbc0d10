"""Candidate quotes: every sentence of the hits' chunks, its clauses, and name-and-title
blocks, each a :class:`Unit` spanning ``hit.doc.text[start:end]``.

:mod:`assistant.ranker` computes their features and scores them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.numbers import parse_numbers
from assistant.qtypes import has_title, is_name_line, question_type
from assistant.text import clause_spans, sentence_spans
from assistant.types import Hit

_LIST_CLAUSE = re.compile(r"[,;]\s+")


@dataclass
class Unit:
    """One candidate quote: ``hit.doc.text[start:end]``."""

    hit: Hit
    rank: int  # 0-based rank of the best hit it came from
    start: int
    end: int
    kind: str  # "sentence", "clause" (part of a sentence), "block" (name line + title line)
    covered: set[str] = field(default_factory=set)
    values: dict[str, float] = field(default_factory=dict)
    prob: float = 0.0  # share of the question's candidates (softmax), or probability
    score: float = 0.0  # the choice model's raw score

    @property
    def text(self) -> str:
        return self.hit.doc.text[self.start : self.end]


def units(hits: Sequence[Hit], qtype: str, numeric: bool) -> list[Unit]:
    """Every sentence of the hits' chunks, with its clauses and name-and-title blocks."""
    out: list[Unit] = []
    seen: set[tuple[str, int, int]] = set()
    for rank, hit in enumerate(hits):
        text = hit.doc.text
        spans = _sentences(text)
        for i, (a, b) in enumerate(spans):
            if b <= hit.chunk.start or a >= hit.chunk.end or (hit.doc.id, a, b) in seen:
                continue
            seen.add((hit.doc.id, a, b))
            if _asks(text[a:b], qtype):
                continue
            out.append(Unit(hit, rank, a, b, "sentence"))
            clauses = clause_spans(text, a, b)
            if numeric and len(clauses) == 1 and len(parse_numbers(text[a:b])) >= 3:
                clauses = comma_clauses(text, a, b)
            if len(clauses) > 1:
                out.extend(Unit(hit, rank, ca, cb, "clause") for ca, cb in clauses if cb - ca >= 12)
            if qtype == "person":
                block = _name_block(text, spans, i)
                if block and (hit.doc.id, *block) not in seen:
                    seen.add((hit.doc.id, *block))
                    out.append(Unit(hit, rank, block[0], block[1], "block"))
    return out


def _asks(sentence: str, qtype: str) -> bool:
    """A sentence that asks what the question asks restates it and answers nothing (a
    headline "Vì sao Hà Nội muốn 'dẹp' loa phường?" for "Vì sao Hà Nội muốn dẹp loa phường?");
    a question of another type may hold the answer ("Ai là người cảm thấy rằng ...?").

    >>> _asks("Vì sao Hà Nội muốn 'dẹp' loa phường?", "reason")
    True
    >>> _asks("Ai là người cảm thấy như ông rằng mọi người Ấn là máu mủ của mình?", "name")
    False
    """
    return sentence.rstrip().endswith("?") and question_type(sentence) == qtype


def all_clauses(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Parts of a sentence between commas and semicolons; a part of one or two words ("Hiện
    nay,", "Năm 2020,") stays with the next one, unless it closes a parenthesis."""
    parts, pos = [], a
    for m in _LIST_CLAUSE.finditer(text, a, b):
        piece = text[pos : m.start()]
        if len(piece.split()) >= 3 or piece.endswith(")"):  # "(... Indonesia)" ends a part
            parts.append((pos, m.start()))
            pos = m.end()
    parts.append((pos, b))
    return parts


def comma_clauses(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """A sentence carrying many figures, cut at commas: each part with a number is a quote."""
    return [(x, y) for x, y in all_clauses(text, a, b) if parse_numbers(text[x:y])]


def _name_block(text: str, spans: tuple[tuple[int, int], ...], i: int) -> tuple[int, int] | None:
    """A name line with the title line beside it ("Nguyễn Việt Hùng\\nTỉnh ủy viên, Giám đốc
    Sở..."), either way round."""
    a, b = spans[i]
    if is_name_line(text[a:b]):
        for j in (i + 1, i - 1):
            if (
                0 <= j < len(spans)
                and has_title(text[spans[j][0] : spans[j][1]])
                and spans[j][1] - spans[j][0] < 120
            ):
                return min(a, spans[j][0]), max(b, spans[j][1])
    return None


_SENT_CACHE: OrderedDict[str, tuple[tuple[int, int], ...]] = OrderedDict()


def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    key = str(hash(text))
    found = _SENT_CACHE.get(key)
    if found is None:
        found = _SENT_CACHE[key] = tuple(sentence_spans(text))
        if len(_SENT_CACHE) > 4096:
            _SENT_CACHE.popitem(last=False)
    return found
