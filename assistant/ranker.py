"""Learned sentence choice: the features of the candidate quotes of :mod:`assistant.quotes`,
scored by the models of :mod:`assistant.answer_weights`.

- the *choice* model scores each candidate: does it hold the answer?
- the *answer* model scores the question given its best candidate: answer or refuse?

Both are fitted on training data only by ``python -m eval.fit_answer`` (see that module); the
features are named in :data:`FEATURES` and :data:`QUESTION_FEATURES`.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.answer_weights import Model
from assistant.dates import years_in
from assistant.numbers import parse_numbers
from assistant.qtypes import matches_type
from assistant.quotes import Unit, all_clauses, comma_clauses
from assistant.text import clause_spans, fold, words
from assistant.types import Hit

FEATURES = (
    "dense",
    "dense_gap",
    "coverage",
    "coverage_gap",
    "bigrams",
    "missing",
    "type",
    "type_missing",
    "type_strict",
    "rank",
    "fused",
    "clause",
    "block",
    "length",
    "position",
    "year",
    "plan",
    "unit",
    "ngram",
    "ngram_gap",
    "context",
    "same_doc",
    "after",
)
QUESTION_FEATURES = (
    "choice",
    "share",
    "dense",
    "coverage",
    "missing",
    "type",
    "hit_dense",
    "bigrams",
    "required",
    "margin",
    "ngram",
    "context",
)

_NUMERIC = frozenset({"percent", "money", "rank", "quantity"})
_ITEMS = frozenset({"place", "date", "person"})  # answers that come as lists of names
_STRICT = frozenset({"person", "date", "place", "percent", "money", "rank", "quantity"})
# The reports' answer model: few questions to fit it, so few inputs.
REPORT_FEATURES = ("choice", "coverage", "missing", "type", "dense", "bigrams", "context")
_PLAN = re.compile(r"\b(phan dau|muc tieu|chi tieu|ke hoach|du kien|dinh huong)\b")


# --- features -------------------------------------------------------------------------------


@dataclass
class Query:
    """What the features need to know about the question."""

    content: list[str]  # content syllables as matched (folded when the question is plain)
    plain: bool
    weights: dict[str, float]  # IDF of each content syllable
    phrases: list[tuple[str, str]]  # neighbouring content syllables that form a known word
    bigrams: set[tuple[str, str]]  # folded
    qtype: str
    years: list[int]
    unit: list[str]
    planned: bool
    folded: list[str] = field(default_factory=list)  # every syllable of the question, folded
    sequence: tuple[str, ...] = ()  # every syllable of the question, as content is matched
    # (a, b, w) -> True when nearly every occurrence of the syllable w in the knowledge base is
    # in the word "a b" ("ảo" in "ảo hóa")
    compound: Callable[[str, str, str], bool] | None = None
    vector: np.ndarray | None = None


def featurise(q: Query, cands: list[Unit], vectors: np.ndarray | None) -> None:
    """Fill ``values`` and ``covered`` of every candidate (in place)."""
    total = sum(q.weights.values()) or 1.0
    top_w = max(q.weights.values(), default=1.0) or 1.0
    # the hit's fused score as a z-score among the question's hits: the scales of score fusion,
    # reciprocal rank, BM25 and cosine differ
    scores = np.array([h.score for h in {id(u.hit): u.hit for u in cands}.values()], np.float64)
    fused_mean = float(scores.mean()) if len(scores) else 0.0
    fused_sd = float(scores.std()) if len(scores) > 1 and scores.std() > 1e-9 else 1.0
    for i, u in enumerate(cands):
        text = u.text
        typed = words(text)
        folded = [fold(w) for w in typed]
        forms = folded if q.plain else typed
        present = set(forms)
        pairs = set(zip(forms, forms[1:], strict=False))
        got: dict[str, float] = {w: 1.0 for w in q.content if w in present}
        # "giám đốc" is not covered by "giám sát": a syllable of the question's words counts
        # only inside one of them ("tin" of "phát tán tin nhắn" in "526.376 tin nhắn")
        inside = {w for a, b in q.phrases if (a, b) in pairs for w in (a, b)}
        for a, b in q.phrases:
            for w in (a, b):
                if w in got and w not in inside:
                    got[w] = min(got[w], 0.25)
        if q.compound is not None:  # "ảo" of "máy chủ ảo" is not the "ảo" of "ảo hóa"
            for w in list(got):
                if _only_in_compounds(w, forms, q, q.compound):
                    got[w] = min(got[w], 0.25)
        u.covered = {w for w, g in got.items() if g >= 1.0}
        coverage = sum(q.weights[w] * g for w, g in got.items()) / total
        missing = [q.weights[w] for w in q.content if got.get(w, 0.0) < 1.0]
        fpairs = set(zip(folded, folded[1:], strict=False))
        t = matches_type(q.qtype, text)
        years = years_in(text)
        year = 0.0
        if q.years:
            year = 1.0 if any(y in q.years for y in years) else (-1.0 if years else 0.0)
        doc_len = max(len(u.hit.doc.text), 1)
        around = u.hit.doc.text[max(u.start - 150, 0) : u.end + 150]
        near = {fold(w) for w in words(around)} if q.plain else set(words(around))
        context = sum(q.weights[w] for w in q.content if w in near) / total
        after = u.hit.doc.text[u.end : u.end + 150]
        later = {fold(w) for w in words(after)} if q.plain else set(words(after))
        u.values = {
            "dense": float(vectors[i] @ q.vector)
            if vectors is not None and q.vector is not None
            else math.nan,
            "coverage": coverage,
            "bigrams": len(q.bigrams & fpairs) / max(len(q.bigrams), 1),
            "missing": max(missing, default=0.0) / top_w,
            "type": t,
            "type_missing": float(t == 0.0),
            "type_strict": t if q.qtype in _STRICT else 0.0,
            "ngram": _longest_run(q.folded, folded) / max(len(q.folded), 1),
            "context": context,
            # the question's words in what follows: the answer often comes just before the
            # sentence that repeats the question ("X là Y. X được ...")
            "after": sum(q.weights[w] for w in q.content if w in later) / total,
            "same_doc": float(u.hit.doc.id == cands[0].hit.doc.id) if u.rank else 1.0,
            "rank": 1.0 / (1 + u.rank),
            "fused": (float(u.hit.score) - fused_mean) / fused_sd,
            "clause": float(u.kind == "clause"),
            "block": float(u.kind == "block"),
            "length": math.log1p(len(text)) / 6.0,
            "position": u.start / doc_len,
            "year": year,
            "plan": float(not q.planned and bool(_PLAN.search(" ".join(folded)))),
            "unit": float(bool(q.unit) and _number_before_unit(folded, q.unit)),
        }
    if cands:
        best_dense = max(u.values["dense"] for u in cands)  # nan without an encoder
        best_cov = max(u.values["coverage"] for u in cands)
        best_run = max(u.values["ngram"] for u in cands)
        top_doc = min(cands, key=lambda u: u.rank).hit.doc.id
        for u in cands:
            u.values["dense_gap"] = u.values["dense"] - best_dense
            u.values["coverage_gap"] = u.values["coverage"] - best_cov
            u.values["ngram_gap"] = u.values["ngram"] - best_run
            u.values["same_doc"] = float(u.hit.doc.id == top_doc)


def _only_in_compounds(
    w: str, forms: list[str], q: Query, compound: Callable[[str, str, str], bool]
) -> bool:
    """Every occurrence of ``w`` in the sentence is part of a word the question does not use."""
    asked = set(q.phrases) | set(zip(q.sequence, q.sequence[1:], strict=False))
    seen = False
    for i, x in enumerate(forms):
        if x != w:
            continue
        seen = True
        pairs = [
            p
            for p in (
                (forms[i - 1], w) if i else None,
                (w, forms[i + 1]) if i + 1 < len(forms) else None,
            )
            if p
        ]
        if any(p in asked for p in pairs) or not any(
            p not in asked and compound(*p, w) for p in pairs
        ):
            return False
    return seen


def _longest_run(question: list[str], sentence: list[str], longest: int = 8) -> int:
    """Length of the longest run of the question's syllables found in a row in the sentence."""
    if not question or not sentence:
        return 0
    for n in range(min(longest, len(question), len(sentence)), 1, -1):
        grams = {tuple(sentence[i : i + n]) for i in range(len(sentence) - n + 1)}
        if any(tuple(question[i : i + n]) in grams for i in range(len(question) - n + 1)):
            return n
    return int(bool(set(question) & set(sentence)))


def _number_before_unit(folded: list[str], unit: list[str]) -> bool:
    return any(w[:1].isdigit() and unit[0] in folded[i + 1 : i + 4] for i, w in enumerate(folded))


def matrix(cands: list[Unit], names: Sequence[str]) -> np.ndarray:
    return np.array([[u.values.get(n, 0.0) for n in names] for u in cands], np.float64)


def question_row(
    best: Unit, runner_up: Unit | None, hits: Sequence[Hit], required: bool
) -> dict[str, float]:
    """The answer model's inputs: how good the best candidate is, and the retrieval behind it."""
    dense = [h.dense_score for h in hits[:3] if h.dense_score is not None]
    return {
        "choice": best.score,
        "share": best.prob,
        "dense": best.values["dense"],
        "coverage": best.values["coverage"],
        "missing": best.values["missing"],
        "type": best.values["type"],
        "hit_dense": max(dense, default=math.nan),
        "bigrams": best.values["bigrams"],
        "required": float(required),
        "margin": best.score - (runner_up.score if runner_up else best.score - 5.0),
        "ngram": best.values["ngram"],
        "context": best.values["context"],
    }


# --- shorter quotes -----------------------------------------------------------------------


def shorten(q: Query, unit: Unit) -> Unit:
    """The shortest part of a chosen sentence that still answers: the clause holding the asked
    figure, name or date, alone or with the sentence's opening ("Tỷ lệ văn bản..., cấp tỉnh là
    95%" without "cấp huyện là 88%, cấp xã là 65%"), when it keeps the question words the
    sentence covers."""
    if unit.kind != "sentence" or q.qtype not in _STRICT:
        return unit
    text = unit.hit.doc.text
    parts = (
        comma_clauses(text, unit.start, unit.end)
        if q.qtype in {"percent", "money", "rank", "quantity"}
        else all_clauses(text, unit.start, unit.end)
    )
    if len(parts) < 2:
        return unit
    starts = [unit.start, *(a for a, _ in clause_spans(text, unit.start, unit.end))]
    spans = {(a, b) for a, b in parts} | {(a, b) for a in starts for _, b in parts if a < b}
    trial = [
        Unit(unit.hit, unit.rank, a, b, "clause")
        for a, b in spans
        if (a, b) != (unit.start, unit.end)
    ]
    featurise(q, [unit, *trial], None)
    anchor = _answer_number(q, text, unit) if q.qtype in _NUMERIC else None
    keep = [
        u
        for u in trial
        if u.values["type"] >= 1.0
        and u.values["coverage"] >= 0.9 * unit.values["coverage"]
        and u.values["unit"] >= unit.values["unit"]
        and u.values["year"] >= unit.values["year"]
        and (anchor is None or u.start <= anchor[0] and anchor[1] <= u.end)
    ]
    if not keep:
        return unit
    best = min(keep, key=lambda u: (u.end - u.start, u.start))
    best = _whole_items(q, text, unit, best)
    best.prob, best.score = unit.prob, unit.score
    return best


def _whole_items(q: Query, text: str, unit: Unit, best: Unit) -> Unit:
    """The cut moved past what belongs to the answer: an open parenthesis ("(cụ thể là
    Myanma, Thái Lan...)") and, for a place, date or person, the rest of a list of them
    ("tại làng Đan Nhiễm, xã Nam Hòa, huyện Nam Đàn, tỉnh Nghệ An", "2010, 2011 và 2015")."""
    end = best.end
    for a, b in all_clauses(text, unit.start, unit.end):
        if a < end:
            continue
        quoted, piece = text[best.start : end], text[a:b]
        item = len(piece.split()) <= 5 and (
            matches_type(q.qtype, piece) >= 1.0 or piece[:1].isupper() or piece[:1].isdigit()
        )
        if not (quoted.count("(") > quoted.count(")") or q.qtype in _ITEMS and item):
            break
        end = b
    if end == best.end:
        return best
    return Unit(best.hit, best.rank, best.start, end, best.kind)


def _answer_number(q: Query, text: str, unit: Unit) -> tuple[int, int] | None:
    """The span of the sentence's number nearest the question's words (the asked figure)."""
    found = parse_numbers(text[unit.start : unit.end])
    if not found:
        return None
    spots = [
        m.start()
        for w in unit.covered
        for m in re.finditer(
            rf"(?<!\w){re.escape(w)}(?!\w)",
            (fold(text[unit.start : unit.end]) if q.plain else text[unit.start : unit.end]).lower(),
        )
    ]
    if not spots:
        return None
    best = min(
        found, key=lambda n: (sum(min(abs(n.start - x), abs(n.end - x)) for x in spots), n.start)
    )
    return unit.start + best.start, unit.start + best.end


# --- sentence vectors -----------------------------------------------------------------------

_VEC_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_VEC_CACHE_SIZE = 50_000


def unit_vectors(encoder: Any, texts: list[str]) -> np.ndarray:
    """Passage vectors of ``texts``, computed once per process per text (a few per question)."""
    name = getattr(encoder, "name", "")
    todo = list(dict.fromkeys(t for t in texts if (name, t) not in _VEC_CACHE))
    if todo:
        for t, v in zip(todo, encoder.embed(todo, "passage"), strict=True):
            _VEC_CACHE[(name, t)] = np.asarray(v, np.float32)
        while len(_VEC_CACHE) > _VEC_CACHE_SIZE:
            _VEC_CACHE.popitem(last=False)
    return np.stack([_VEC_CACHE[(name, t)] for t in texts]) if texts else np.zeros((0, 1))


def score_units(q: Query, cands: list[Unit], encoder: Any | None, model: Model | None) -> None:
    """Features and choice probability of every candidate (in place)."""
    vectors = None
    if encoder is not None and q.vector is not None and cands:
        vectors = unit_vectors(encoder, [u.text for u in cands])
    featurise(q, cands, vectors)
    if not cands:
        return
    if model is None:  # no fitted weights: coverage and dense similarity alone
        for u in cands:
            dense = u.values["dense"]
            u.prob = 0.5 * u.values["coverage"] + (0.0 if math.isnan(dense) else 0.5 * dense)
        return
    rows = matrix(cands, model.features)
    scores, probs = model.score(rows), model.prob(rows)
    for u, z, p in zip(cands, scores, probs, strict=True):
        u.score, u.prob = float(z), float(p)


IdfFn = Callable[[str], float]
