"""Extractive answers: pick the sentence (or clause) of the top hits that answers the question
and compose a short Vietnamese reply with numbered citations, or refuse honestly.

No language model: every number in a reply is quoted verbatim from a report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from assistant.provinces import find_provinces
from assistant.text import clause_spans, fold, has_diacritics, sentence_spans, words
from assistant.types import Answer, Citation, Document, Hit

REFUSAL = "Không tìm thấy thông tin này trong các báo cáo đã nạp."

# Function words and question words: they say nothing about the topic. Matched as typed when
# the question has diacritics ("vệ tinh" keeps "vệ" and "tinh"), folded when it has none.
_STOP_WORDS = (
    "có bao nhiêu mấy là gì nào ai đâu sao không thì của ở và với các những một được đã đang "
    "sẽ cho tại trên trong về từ đến này đó thế như hay hoặc ra vào lên xuống bị bởi vì nếu khi "
    "rồi còn nữa cũng đều mỗi rất làm hơn nhất theo tỉnh thành phố năm hiện nay địa bàn toàn "
    "số lượng bằng chừng kia ấy à ư nhé vậy"
)
_STOP = set(_STOP_WORDS.split())
_STOP_FOLDED = {fold(w) for w in _STOP}
_QUANTITY = re.compile(r"\b(bao nhieu|may|ty le|phan tram|so luong|thu may|xep thu)\b")
_PERCENT = re.compile(r"\b(ty le|phan tram)\b")
_NUMBER = re.compile(r"\d+(?:[.,/]\d+)*%?")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# Targets and plans, not results: "phấn đấu đạt 14%" does not say what was achieved.
_PLAN = re.compile(r"\b(phan dau|muc tieu|chi tieu|ke hoach|du kien|dinh huong|se)\b")


@dataclass
class QuestionInfo:
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


def analyse(question: str) -> QuestionInfo:
    """Content words, the expected kind of answer, provinces and years named in a question."""
    provinces = list(dict.fromkeys(p for p, _, _ in find_provinces(question)))
    masked = question
    for _, a, b in find_provinces(question):
        masked = masked[:a] + " " * (b - a) + masked[b:]
    typed = words(masked)
    folded = [fold(w) for w in typed]
    years = [int(y) for y in _YEAR.findall(question)]
    joined = " ".join(folded)
    percent = bool(_PERCENT.search(joined))
    skip = {i for i in range(len(folded) - 1) if percent and folded[i : i + 2] == ["phan", "tram"]}
    skip |= {i + 1 for i in skip}
    plain = not has_diacritics(question)
    stop, forms = (_STOP_FOLDED, folded) if plain else (_STOP, typed)
    content = [w for i, (w, f) in enumerate(zip(forms, folded, strict=True))
               if w not in stop and not _YEAR.fullmatch(w) and i not in skip]
    unit: list[str] = []
    m = re.search(r"\b(?:bao nhieu|may)\s+((?:\S+\s*){1,2})", joined)
    if m:
        unit = [w for w in m.group(1).split() if w not in _STOP_FOLDED][:2]
    return QuestionInfo(
        text=question, content=list(dict.fromkeys(content)),
        bigrams=set(zip(folded, folded[1:], strict=False)) - {(a, b) for a, b in zip(
            folded, folded[1:], strict=False) if a in _STOP and b in _STOP},
        unit=unit, quantity=bool(_QUANTITY.search(joined)), percent=percent,
        planned=bool(_PLAN.search(joined)), plain=plain,
        provinces=provinces, years=years,
    )


@dataclass
class Candidate:
    hit: Hit
    start: int
    end: int
    score: float
    covered: set[str]


@lru_cache(maxsize=256)
def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(sentence_spans(text))


def _score(q: QuestionInfo, text: str, doc_year: int | None,
           weights: dict[str, float]) -> tuple[float, set[str]]:
    typed = words(text)
    folded = [fold(w) for w in typed]
    # a question typed with diacritics matches words exactly ("phần" is not "phấn", "tinh" is
    # not "tỉnh"); one typed without any matches words whatever their marks
    present = set(folded) if q.plain else set(typed)
    covered = {w for w in q.content if w in present}
    coverage = _coverage(covered, weights)
    pairs = set(zip(folded, folded[1:], strict=False))
    bigram = len(q.bigrams & pairs) / max(len(q.bigrams), 1)
    score = coverage + 0.5 * bigram
    if q.years:
        # a sentence led by another year answers another question ("Năm 2021 phấn đấu ...")
        years = [int(y) for y in _YEAR.findall(text)]
        if years:
            score += 0.2 if years[0] in q.years else -0.3
        elif doc_year in q.years:
            score += 0.1
    if not q.planned and _PLAN.search(" ".join(folded)):
        score -= 0.2
    if q.quantity:
        numbers = [n for n in _NUMBER.findall(text) if not _YEAR.fullmatch(n)]
        if not numbers:
            return 0.0, covered
        score += 0.2
        if q.percent and any(n.endswith("%") for n in numbers):
            score += 0.5
        elif q.unit and _number_before_unit(folded, q.unit):
            score += 0.4
    return score, covered


def _other_year(q: QuestionInfo, doc_year: int | None, sentence: str) -> bool:
    """A sentence of a report about another year, which does not name the year asked about:
    it cannot answer "Năm 2020 ...?" ("khảo sát 20 trạm" in a 2022 report is not a 2020 count).
    """
    if not q.years or doc_year is None or doc_year in q.years:
        return False
    return not any(int(y) in q.years for y in _YEAR.findall(sentence))


def _coverage(covered: set[str], weights: dict[str, float]) -> float:
    """Share of the question's content words present, each weighted by its rarity (IDF)."""
    total = sum(weights.values())
    return sum(weights[w] for w in covered) / total if total else 0.0


def _number_before_unit(folded: list[str], unit: list[str]) -> bool:
    """A number followed (within three words) by the unit the question asks about."""
    for i, w in enumerate(folded):
        if _NUMBER.fullmatch(w) and unit[0] in folded[i + 1 : i + 4]:
            return True
    return False


def candidates(q: QuestionInfo, hits: list[Hit],
               weights: dict[str, float] | None = None) -> list[Candidate]:
    """Score every sentence and ``;``-clause of the hits, best first."""
    weights = weights or dict.fromkeys(q.content, 1.0)
    out: list[Candidate] = []
    seen: set[tuple[str, int, int]] = set()
    for rank, hit in enumerate(hits):
        text = hit.doc.text
        for a, b in _sentences(text):
            if b <= hit.chunk.start or a >= hit.chunk.end or (hit.doc.id, a, b) in seen:
                continue
            seen.add((hit.doc.id, a, b))
            if _other_year(q, hit.doc.year, text[a:b]):
                continue
            s_score, s_cov = _score(q, text[a:b], hit.doc.year, weights)
            units = [(a, b, s_score, s_cov)]
            clauses = clause_spans(text, a, b)
            if len(clauses) > 1:
                for ca, cb in clauses:
                    c_score, c_cov = _score(q, text[ca:cb], hit.doc.year, weights)
                    # a clause wins when it keeps the answer and loses little context
                    units.append((ca, cb, c_score + 0.05, c_cov))
            ua, ub, u_score, u_cov = max(units, key=lambda u: u[2])
            out.append(Candidate(hit, ua, ub, u_score - 0.02 * rank, u_cov))
    out.sort(key=lambda c: -c.score)
    return out


def compose(question: str, hits: list[Hit], min_overlap: float = 0.34,
            idf: Callable[[str], float] | None = None) -> Answer:
    """The extractive answer to ``question`` from ``hits`` (already filtered and ranked).

    ``idf`` weighs question words by rarity in the knowledge base (rare words matter more).
    """
    q = analyse(question)
    weights = {w: (idf(w) if idf else 1.0) for w in q.content}
    if not hits:
        return refusal(question, hits)
    groups = [[h for h in hits if h.doc.province == p] for p in q.provinces]
    groups = [g for g in groups if g] if len(q.provinces) > 1 else [hits]
    chosen: list[Candidate] = []
    for group in groups or [hits]:
        ranked = candidates(q, group, weights)
        if not ranked:
            continue
        best = ranked[0]
        coverage = _coverage(best.covered, weights)
        if coverage < min_overlap or best.score <= 0:
            continue
        chosen.append(best)
        # a second sentence when it covers what the first misses (multi-part questions)
        for other in ranked[1:4]:
            if (other.score >= 0.8 * best.score and other.covered - best.covered
                    and not _overlaps(other, best)):
                chosen.append(other)
                break
    if not chosen:
        return refusal(question, hits)
    citations: list[Citation] = []
    parts: list[str] = []
    for cand in chosen:
        n = len(citations) + 1
        citations.append(citation(n, cand.hit, cand.start, cand.end, cand.score))
        quote = cand.hit.doc.text[cand.start : cand.end].rstrip(" .;:,")
        parts.append(f"Theo báo cáo {_source(cand.hit.doc)}: {quote} [{n}].")
    return Answer(question=question, answer=" ".join(parts), refused=False,
                  citations=citations, hits=hits)


def refusal(question: str, hits: list[Hit], reason: str | None = None) -> Answer:
    """The honest "not in the reports" reply, with the closest passages as possibly related."""
    related = [citation(i + 1, h, h.chunk.start, h.chunk.end, h.score)
               for i, h in enumerate(hits[:3])]
    text = REFUSAL if reason is None else f"{reason} {REFUSAL}"
    if related:
        text += " Các đoạn dưới đây có thể liên quan."
    return Answer(question=question, answer=text, refused=True, related=related, hits=hits)


def citation(n: int, hit: Hit, start: int, end: int, score: float) -> Citation:
    d = hit.doc
    return Citation(n=n, doc=d.path, title=d.title, province=d.province, year=d.year,
                    published=d.published, source_url=d.source_url, chunk_id=hit.chunk.id,
                    start=start, end=end, quote=d.text[start:end], score=round(score, 4))


def _source(doc: Document) -> str:
    if doc.province and doc.year:
        return f"về {doc.province} ({doc.year})"
    if doc.province:
        return f"về {doc.province}"
    return f"«{doc.title}»"


def _overlaps(a: Candidate, b: Candidate) -> bool:
    return a.hit.doc.id == b.hit.doc.id and a.start < b.end and b.start < a.end
