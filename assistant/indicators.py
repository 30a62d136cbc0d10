"""Indicators: the vocabulary of known indicators, the :class:`Fact` a report states about
one, and where a text mentions an indicator (:func:`find_mentions`).

The vocabulary (``assistant/data/indicators.json``) names each indicator with its aliases,
unit, kind (count, percent, rank, money, score) and which way is better. Reading the values a
document states is :mod:`assistant.indicator_extract`.

>>> [(m.indicator, m.start, m.end) for m in find_mentions("toàn tỉnh có 1.422 trạm BTS")]
[('bts_stations', 19, 27)]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel

from assistant.text import fold

Kind = Literal["count", "percent", "rank", "money", "score"]
VOCABULARY_FILE = "indicators.json"


@dataclass(frozen=True)
class Indicator:
    """One entry of the vocabulary."""

    id: str
    label: str
    unit: str
    kind: Kind
    better: Literal["higher", "lower"]
    aliases: tuple[str, ...]
    number: Literal["before", "after", "either"] = "either"
    window: int = 60  # characters between an alias and a value written after it
    not_after: tuple[str, ...] = ()  # an alias followed by these is something else
    resolve: dict[str, str] = field(default_factory=dict)  # by the previous mention's id
    unit_after: tuple[str, ...] = ()  # the value must be followed by one of these ("chỉ số")
    score: str | None = None  # the indicator of "N điểm" next to this rank ("dti_score")

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "unit": self.unit,
            "kind": self.kind,
            "better": self.better,
            "aliases": list(self.aliases),
        }


class Fact(BaseModel):
    """A value a report states about an indicator; ``doc.text[start:end] == text``."""

    indicator: str
    value: float  # in plain units: 1422.0 for "1.422", 45.7 for "45,7%", 22.0 for "22/63"
    value_max: float | None = None  # the top of a range "72-75%"
    total: float | None = None  # the denominator of a rank "22/63"
    unit: str
    text: str  # the number as written
    qualifier: str = ""  # "hơn", "gần", "trên", "khoảng" written before it
    province: str | None
    year: int | None  # the year the value is about
    target: bool = False  # a plan or target ("phấn đấu", "kế hoạch"), not a result
    measure: Literal["level", "change"] = "level"  # "change": newly built, added ("xây mới 17")
    doc_id: str
    start: int  # the number's span in the document
    end: int
    sentence_start: int
    sentence_end: int
    sentence: str

    def shown(self) -> str:
        """The value as written, with its qualifier: "gần 2 triệu"."""
        return f"{self.qualifier} {self.text}".strip()


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, Indicator]:
    """The indicators of the bundled vocabulary by id."""
    raw = json.loads(
        resources.files("assistant").joinpath("data", VOCABULARY_FILE).read_text("utf-8")
    )
    out: dict[str, Indicator] = {}
    for e in raw["indicators"]:
        out[e["id"]] = Indicator(
            id=e["id"],
            label=e["label"],
            unit=e["unit"],
            kind=e["kind"],
            better=e["better"],
            aliases=tuple(e["aliases"]),
            number=e.get("number", "either"),
            window=int(e.get("window", 60)),
            not_after=tuple(e.get("not", ())),
            resolve=dict(e.get("resolve", {})),
            unit_after=tuple(e.get("unit_after", ())),
            score=e.get("score"),
        )
    return out


def vocabulary_version() -> str:
    """Changes whenever the vocabulary file does: stored facts from another version are
    extracted again."""
    import hashlib

    data = resources.files("assistant").joinpath("data", VOCABULARY_FILE).read_bytes()
    return hashlib.sha256(data + EXTRACTOR_VERSION.encode()).hexdigest()[:16]


# bump when assistant/indicator_extract.py (or indicator_values.py) reads facts differently:
# stored facts are extracted again
EXTRACTOR_VERSION = "2"


def alias_key(text: str) -> str:
    """The form aliases are matched in: folded, lower case."""
    return fold(text).lower()


_ALIAS_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")


def _tokens(text: str) -> tuple[str, ...]:
    """Folded words and punctuation marks of an alias, or of a text an alias matched."""
    return tuple(_ALIAS_TOKEN.findall(alias_key(text).replace("–", "-")))


def _trie_pattern(node: dict[str, dict], prev: str | None) -> str:
    """A regex of the alias token trie below ``node``: common prefixes written once, so one
    pass over a sentence tries every alias at each position cheaply; a longer alias is tried
    before the shorter one it extends."""
    alts = []
    for tok, child in sorted(node.items(), key=lambda kv: kv[0]):
        if tok == "":
            continue
        if prev is None:
            sep = ""
        elif tok == "-" or prev == "-" or not tok[0].isalnum() or not prev[0].isalnum():
            sep = r"\s*"
        else:
            sep = r"\s+"
        piece = r"[-–]" if tok == "-" else re.escape(tok)
        rest = _trie_pattern(child, tok)
        alts.append(sep + piece + rest)
    if not alts:
        return ""
    body = "(?:" + "|".join(alts) + ")"
    return body + "?" if "" in node else body


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[tuple[str, ...], str]]:
    by_tokens: dict[tuple[str, ...], str] = {}
    for ind in vocabulary().values():
        for a in ind.aliases:
            by_tokens.setdefault(_tokens(a), ind.id)
    trie: dict[str, dict] = {}
    for toks in by_tokens:
        node = trie
        for t in toks:
            node = node.setdefault(t, {})
        node[""] = {}
    pattern = re.compile(rf"(?<![^\W_])(?:{_trie_pattern(trie, None)})(?![^\W_])")
    return pattern, by_tokens


@dataclass
class Mention:
    indicator: str
    start: int
    end: int


def find_mentions(text: str) -> list[Mention]:
    """Indicator aliases in ``text``, longest first, without overlaps, in order."""
    pattern, by_tokens = _matcher()
    folded = alias_key(text)
    vocab = vocabulary()
    out: list[Mention] = []
    for m in pattern.finditer(folded):
        name = by_tokens.get(_tokens(m.group()))
        if name is None:
            continue
        ind = vocab[name]
        rest = folded[m.end() : m.end() + 30].lstrip()
        if any(rest.startswith(alias_key(n).strip()) for n in ind.not_after):
            continue
        out.append(Mention(ind.id, m.start(), m.end()))
    return out
