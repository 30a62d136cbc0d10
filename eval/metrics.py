"""Pure metric functions: answer matching, retrieval ranks, hit@k, MRR, nDCG, percentiles.

A question's evidence is a list of *items*; each item is a list of alternative spans
``(doc_id, start, end)``, any one of which satisfies it. Report Q&A: one item per evidence quote
(its occurrences in the document). Passage pools: one item whose alternatives are the gold
passages (any gold passage answers the question).

>>> contains_answer("Toàn tỉnh có 1422 trạm BTS.", ["1.422"])
True
>>> retrieved_rank([set(), {0}, {1}], n_items=2)
3
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from assistant.numbers import canonical
from assistant.text import normalize

Span = tuple[str, int, int]  # (doc_id, start, end): end exclusive
Item = list[Span]  # alternatives: covering any one covers the item

# --- answers --------------------------------------------------------------------------------


# every punctuation or symbol character but "%" and "_", the canonical decimal point
_PUNCTUATION = re.compile(r"[^\w\s%]|(?<!\d)_|_(?!\d)")


def normalise_answer(text: str) -> str:
    """NFC, case-folded; every number written by its value (:func:`assistant.numbers.canonical`:
    "1.422" -> "1422", "14,22" -> "14_22"); then punctuation dropped and spaces folded, as
    SQuAD's answer matching does, so that a gold answer "Bộ GD&ĐT." is found in a reply
    "... của Bộ GD&ĐT [1]." and a quote whose lines the reply joins with commas still matches.

    >>> normalise_answer("Tổng  cộng\\u00a01.422,5 TRẠM.")
    'tổng cộng 1422_5 trạm'
    >>> normalise_answer('"Phó giáo sư". (PGS), 45,7%')
    'phó giáo sư pgs 45_7%'
    """
    canon = canonical(" ".join(normalize(text).casefold().split()))
    return " ".join(_PUNCTUATION.sub(" ", canon).split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True when ``text`` contains one of ``answers`` after :func:`normalise_answer`.

    Numbers are compared by value and match whole: "72" is in "72-75%" but not in "1722" or
    "72,5"; "14,22" is not "1.422".

    >>> contains_answer("đạt 14,22%", ["1.422"]), contains_answer("đạt 72-75%", ["72"])
    (False, True)
    """
    hay = normalise_answer(text)
    for answer in answers:
        needle = normalise_answer(answer)
        if not needle:
            continue
        pattern = re.escape(needle)
        if needle[0].isdigit():
            pattern = r"(?<![\d_])" + pattern  # "_" is a canonical decimal point
        if needle[-1].isdigit():
            pattern += r"(?![\d_])"
        if re.search(pattern, hay):
            return True
    return False


# --- spans ----------------------------------------------------------------------------------


def overlaps(a: Span, b: Span) -> bool:
    """Same document and the character ranges share at least one character."""
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def covered_items(span: Span, items: Sequence[Item]) -> set[int]:
    """Indices of the items that ``span`` overlaps (through any alternative)."""
    return {i for i, item in enumerate(items) if any(overlaps(span, alt) for alt in item)}


# --- retrieval ------------------------------------------------------------------------------


def retrieved_rank(hits_cover: Sequence[set[int]], n_items: int) -> int | None:
    """1-based rank at which every item is covered by some hit so far; None if never.

    ``hits_cover[i]`` is the set of items the hit at rank ``i + 1`` covers.
    """
    if n_items <= 0:
        return None
    seen: set[int] = set()
    for rank, cover in enumerate(hits_cover, start=1):
        seen |= cover
        if len(seen) >= n_items:
            return rank
    return None


def hit_at(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of questions retrieved within the top ``k``; None for no questions."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr(ranks: Sequence[int | None], k: int = 10) -> float | None:
    """Mean reciprocal rank, counting ranks beyond ``k`` as 0."""
    if not ranks:
        return None
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks)


def ndcg(hits_cover: Sequence[set[int]], n_items: int, k: int = 10) -> float:
    """nDCG@k of one question: a hit gains the number of items it covers first.

    Ideal: one new item per rank. Capped at 1 (one chunk may cover two items at once).
    """
    if n_items <= 0:
        return 0.0
    seen: set[int] = set()
    dcg = 0.0
    for rank, cover in enumerate(hits_cover[:k], start=1):
        new = cover - seen
        seen |= cover
        dcg += len(new) / math.log2(rank + 1)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(n_items, k) + 1))
    return min(dcg / ideal, 1.0)


# --- aggregates -----------------------------------------------------------------------------


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def share(flags: Sequence[bool]) -> float | None:
    """Share of True; None when there is nothing to count."""
    return sum(1 for f in flags if f) / len(flags) if flags else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (numpy's default): ``percentile([1, 2, 3, 4], 50) == 2.5``."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
