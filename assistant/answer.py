"""Extractive answers: pick the sentence (or clause) of the top hits that answers the question
and compose a short Vietnamese reply with numbered citations, or refuse honestly.

No language model: every number in a reply is quoted verbatim from a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.answer_weights import AnswerWeights
from assistant.answer_weights import weights as ranker_weights
from assistant.dates import years_in
from assistant.qtypes import MULTI, REQUIRED, names_value, which_noun
from assistant.question import QuestionInfo, analyse
from assistant.quotes import Unit, units
from assistant.ranker import Query, question_row, score_units, shorten
from assistant.text import fold, words
from assistant.types import Answer, Citation, Document, Hit

REFUSAL = "Không tìm thấy thông tin này trong các báo cáo đã nạp."

# the kinds of answer that are numbers: a quote without one cannot answer
NUMERIC = frozenset({"quantity", "percent", "money", "rank"})


def _other_year(q: QuestionInfo, doc: Document, sentence: str) -> bool:
    """A sentence of a report about another year, which does not name the year asked about:
    it cannot answer "Năm 2020 ...?" ("khảo sát 20 trạm" in a 2022 report is not a 2020 count).
    A report whose period includes the year asked about ("15 năm" 2008-2023) can answer it.
    """
    if not q.years:
        return False
    years = years_in(sentence)
    lead = years_in(sentence[:16])
    if (
        doc.province
        and years
        and (not any(y in q.years for y in years) or (lead and lead[0] not in q.years))
    ):
        return True  # "Năm 2021, Bắc Giang phấn đấu ... cao hơn năm 2020" answers 2021
    if (doc.year is None and doc.period_start is None) or any(doc.covers(y) for y in q.years):
        return False
    return not any(y in q.years for y in years)


@dataclass
class Ranked:
    """The candidates of one group of hits, best first, and the answer model's verdict."""

    query: Query
    units: list[Unit]
    row: dict[str, float]  # the answer model's inputs (empty without candidates)
    answer_prob: float
    reports: bool = False  # decided by the reports' answer model


def query_of(
    q: QuestionInfo, idf: Callable[[str], float] | None, vector: np.ndarray | None
) -> Query:
    """The features' view of a question: IDF weights, known two-syllable words, answer type."""
    weights = {w: (idf(w) if idf else 1.0) for w in q.content}
    phrases: list[tuple[str, str]] = []
    if idf is not None:
        unseen = idf("\u0000unseen\u0000")
        seq = q.sequence
        for a, b in zip(seq, seq[1:], strict=False):
            # a two-syllable word: the pair is about as frequent as its rarer syllable
            # ("giám đốc", "hành chính"), not two words that happen to meet ("trưởng kinh")
            pair = idf(f"{a}_{b}")
            if (
                a in weights
                and b in weights
                and pair < unseen
                and pair <= max(weights[a], weights[b]) + 0.7
            ):
                phrases.append((a, b))
    compound = None
    if idf is not None:

        def compound(a: str, b: str, w: str) -> bool:
            """Nearly every occurrence of ``w`` is in the word "a b" ("ảo" in "ảo hóa")."""
            if any(c.isdigit() for c in a + b):
                return False
            pair = idf(f"{a}_{b}")
            return pair < unseen and pair <= idf(w) + 0.3

    return Query(
        content=q.content,
        plain=q.plain,
        weights=weights,
        phrases=phrases,
        sequence=q.sequence,
        compound=compound,
        bigrams=q.bigrams,
        qtype=q.qtype,
        years=q.years,
        unit=q.unit,
        planned=q.planned,
        folded=[fold(x) for x in words(q.search)],
        vector=vector,
    )


def rank(
    q: QuestionInfo,
    hits: list[Hit],
    idf: Callable[[str], float] | None = None,
    encoder: Any | None = None,
    vector: np.ndarray | None = None,
    weights: AnswerWeights | None = None,
) -> Ranked:
    """Score every candidate quote of ``hits`` for question ``q`` (see :mod:`assistant.ranker`).

    Candidates without an answer of the asked type (no number for "bao nhiêu", no name for
    "ai") and sentences of another year's report are left out.
    """
    w = weights or ranker_weights()
    if vector is None and encoder is not None:
        vector = np.asarray(encoder.embed([q.search], "query")[0], np.float32)
    query = query_of(q, idf, vector)
    cands = [
        u for u in units(hits, q.qtype, q.qtype in NUMERIC) if not _other_year(q, u.hit.doc, u.text)
    ]
    score_units(query, cands, encoder if vector is not None else None, w.choice)
    # an answer of the asked type must be in the quote: a number for "bao nhiêu" always; in
    # the provinces' reports also a name for "ai" and a date for "khi nào"
    reports = any(u.hit.doc.province for u in cands)
    if q.qtype in NUMERIC or (reports and q.qtype in REQUIRED):
        # a rate in a report is a percentage, an amount a sum of money: "tỷ lệ ... bao nhiêu",
        # "bao nhiêu tiền" are not answered by a count
        strict = q.qtype == "person" or (reports and q.qtype in ("percent", "money"))
        need = 1.0 if strict else 0.5
        cands = [u for u in cands if u.values["type"] >= need]
    # the counted thing and its qualifier, each as a word ("ảo"); "bao nhiêu tiền" is any
    # amount of money, which the type check above already asks for ("45 triệu đồng")
    asked = set(q.asked) - ({"tiền"} if q.qtype == "money" else set())
    if reports and asked:
        cands = [u for u in cands if asked <= u.covered]
    noun = which_noun(q.search) if reports and q.qtype == "name" else None
    if noun:  # "sang mã nào?": the quote must give the code ("mã vùng mới 236")
        cands = [u for u in cands if names_value(noun, u.text)]
    cands.sort(key=lambda u: (-u.prob, u.rank, u.start))
    if not cands:
        return Ranked(query, [], {}, 0.0, reports)
    row = question_row(cands[0], cands[1] if len(cands) > 1 else None, hits, q.qtype in REQUIRED)
    model = w.answer_reports if reports and w.answer_reports is not None else w.answer
    if model is None:
        p = 1.0 if cands[0].values["coverage"] >= 0.34 else 0.0
    else:
        p = float(model.prob(np.array([[row[f] for f in model.features]]))[0])
    return Ranked(query, cands, row, p, reports and w.answer_reports is not None)


def compose(
    question: str,
    hits: list[Hit],
    idf: Callable[[str], float] | None = None,
    encoder: Any | None = None,
    weights: AnswerWeights | None = None,
    threshold: float | None = None,
    vector: np.ndarray | None = None,
    restore: Callable[[str], str] | None = None,
) -> Answer:
    """The extractive answer to ``question`` from ``hits`` (already filtered and ranked).

    ``idf`` weighs question words by rarity in the knowledge base (rare words matter more);
    ``encoder`` gives the dense similarity of the question to each candidate sentence;
    ``threshold`` overrides the answer model's fitted one (``Settings.answer_threshold``);
    ``restore`` puts diacritics back into a question typed without them (:func:`analyse`).
    """
    q = analyse(question, restore)
    if not hits:
        return refusal(question, hits)
    w = weights or ranker_weights()
    groups = [[h for h in hits if h.doc.province == p] for p in q.provinces]
    groups = [g for g in groups if g] if len(q.provinces) > 1 else [hits]
    chosen: list[Unit] = []
    for group in groups or [hits]:
        ranked = rank(q, group, idf, encoder, vector, w)
        cut = (
            threshold
            if threshold is not None
            else (w.threshold_reports if ranked.reports else w.threshold)
        )
        if not ranked.units or ranked.answer_prob < cut:
            continue
        best = ranked.units[0]
        picked = [best]
        most = w.max_quotes
        for other in ranked.units[1:8]:
            if len(picked) >= most:
                break
            if other.prob < w.second * best.prob or any(_overlaps(other, u) for u in picked):
                continue
            # a further quote when the choice model finds it nearly as likely to hold the
            # answer (more items of a list, steps of a "how", the other half of a fact); in the
            # provinces' reports only when it adds question words the quotes so far miss
            if (
                ranked.reports
                and q.qtype not in MULTI
                and not other.covered - set().union(*(u.covered for u in picked))
            ):
                continue
            picked.append(other)
        chosen.extend(_join_adjacent([shorten(ranked.query, u) for u in picked]))
    if not chosen:
        return refusal(question, hits)
    citations: list[Citation] = []
    parts: list[str] = []
    for unit in chosen:
        n = len(citations) + 1
        citations.append(citation(n, unit.hit, unit.start, unit.end, unit.prob))
        quote = _one_line(unit.text).rstrip(" .;:,")
        source = _source(unit.hit.doc)
        if parts and chosen[len(citations) - 2].hit.doc.id == unit.hit.doc.id:
            parts.append(f"{quote[:1].upper()}{quote[1:]} [{n}].")
        else:
            parts.append(f"Theo báo cáo {source}: {quote} [{n}].")
    return Answer(
        question=question, answer=" ".join(parts), refused=False, citations=citations, hits=hits
    )


def refusal(question: str, hits: list[Hit], reason: str | None = None) -> Answer:
    """The honest "not in the reports" reply, with the closest passages as possibly related."""
    related = [
        citation(i + 1, h, h.chunk.start, h.chunk.end, h.score) for i, h in enumerate(hits[:3])
    ]
    text = REFUSAL if reason is None else f"{reason} {REFUSAL}"
    if related:
        text += " Các đoạn dưới đây có thể liên quan."
    return Answer(question=question, answer=text, refused=True, related=related, hits=hits)


def citation(n: int, hit: Hit, start: int, end: int, score: float) -> Citation:
    d = hit.doc
    return Citation(
        n=n,
        doc=d.path,
        title=d.title,
        province=d.province,
        year=d.year,
        published=d.published,
        source_url=d.source_url,
        chunk_id=hit.chunk.id,
        start=start,
        end=end,
        quote=d.text[start:end],
        score=round(score, 4),
        page=d.page_at(start),
        location=d.location_at(start),
    )


def _source(doc: Document) -> str:
    if doc.province and doc.year:
        return f"về {doc.province} ({doc.year})"
    if doc.province:
        return f"về {doc.province}"
    return f"«{doc.title}»"


def _one_line(text: str) -> str:
    """A quote's lines on one line: joined by commas, or by a space after a line that ends
    its sentence ("...1 TCHP." then "Phần thực hành...")."""
    out = ""
    for line in (x.strip() for x in text.splitlines()):
        if line:
            out = f"{out}{' ' if out[-1:] in '.;:!?' else ', '}{line}" if out else line
    return out


def _join_adjacent(picked: list[Unit]) -> list[Unit]:
    """Quotes that follow each other in one document become one quote, in the document's
    order, with one citation: the two items of a list, a sentence and the one that goes on
    from it ("Phần lý thuyết: 15 tiết ... Phần thực hành: 15 tiết ...")."""
    out: list[Unit] = []
    for unit in picked:
        for i, other in enumerate(out):
            first, second = (other, unit) if other.start <= unit.start else (unit, other)
            gap = first.hit.doc.text[first.end : second.start]
            if (
                first.hit.doc.id == second.hit.doc.id
                and 0 <= len(gap) <= 3
                and not gap.strip(" .;:,\n")
            ):
                out[i] = Unit(
                    other.hit,
                    min(other.rank, unit.rank),
                    first.start,
                    second.end,
                    "sentence",
                    other.covered | unit.covered,
                    other.values,
                    max(other.prob, unit.prob),
                    max(other.score, unit.score),
                )
                break
        else:
            out.append(unit)
    return out


def _overlaps(a: Unit, b: Unit) -> bool:
    return a.hit.doc.id == b.hit.doc.id and a.start < b.end and b.start < a.end
