"""Indicator facts: the numbers a report states about a known indicator, read at index time.

:func:`extract_facts` reads every sentence of a document and returns one
:class:`~assistant.indicators.Fact` per value it states: the indicator, the parsed value, the
province and the year the value is about, whether it is a result or a target, and the exact
span of the number and of its sentence. Changing how facts are read bumps
:data:`assistant.indicators.EXTRACTOR_VERSION`.

>>> from assistant.types import Document
>>> doc = Document(id="d", path="d", title="t", text="Hiện nay, toàn tỉnh có 1.422 trạm BTS.",
...                sha256="", format="txt", province="Bắc Giang", year=2020)
>>> [(f.indicator, f.value, f.province, f.year) for f in extract_facts(doc)]
[('bts_stations', 1422.0, 'Bắc Giang', 2020)]
"""

from __future__ import annotations

import re

from assistant.indicator_values import Cue, Value, find_values, marked_text, value_year
from assistant.indicators import Fact, Indicator, Mention, alias_key, find_mentions, vocabulary
from assistant.provinces import find_provinces
from assistant.text import sentence_spans
from assistant.types import Document

_QUALIFIER = re.compile(r"(?:^|\s)(hon|gan|tren|khoang|duoi|toi thieu|it nhat|xap xi)\s*$")
_TARGET = Cue(
    r"\b(?:phấn đấu|kế hoạch|mục tiêu|dự kiến|định hướng|sẽ|nhiệm vụ năm|"
    r"(?:đảm bảo|bảo đảm|hoàn thành|giao|đạt) chỉ tiêu|"
    r"đến năm (?:19|20)\d\d(?: đạt)?)\b"
)
_RESULT_AFTER_TARGET = Cue(r"\b(?:đã|kết quả|hiện có|hiện nay|đến nay)\b")
_CHANGE_BEFORE = Cue(
    r"\b(?:xây dựng mới|xây dựng|lắp đặt mới|phát triển mới|mới|thêm|tăng thêm|"
    r"bổ sung)\s+(?:được\s+)?(?:hơn\s+|khoảng\s+)?$"
)
_RANK_CUE = Cue(r"\b(?:thứ|hạng)\s*$")


def _compatible(ind: Indicator, v: Value, folded: str) -> bool:
    kind = v.number.kind
    if ind.unit_after and not any(
        folded[v.end :].lstrip().startswith(alias_key(u)) for u in ind.unit_after
    ):
        return False
    if ind.kind == "percent":
        return kind == "percent"
    if ind.kind == "rank":
        text, plain = v.cue_text
        return kind == "rank" or (
            kind == "number"
            and bool(_RANK_CUE.pattern(plain).search(text[: v.start]))
            and v.number.value == int(v.number.value)
        )
    if ind.kind == "money":
        return kind == "money"
    return kind == "number"


def _bind(ind: Indicator, m: Mention, v: Value, sentence: str, folded: str) -> float | None:
    """How well value ``v`` reads as the value of mention ``m`` (lower is better), or None."""
    if v.end <= m.start:  # the value before the alias: "1.422 trạm BTS"
        gap = folded[v.end : m.start]
        if ind.kind == "rank" and len(gap) <= 70 and re.search(r"\bve\s+(?:tong the\s+)?$", gap):
            return 0.0  # "xếp thứ 26/63 ... về tổng thể mức độ ứng dụng CNTT"
        if ind.number == "after":
            return None
        if ind.kind == "percent":
            if len(gap) > ind.window + 10 or ";" in gap:
                return None
            return len(gap) * 1.5
        if len(gap) > 30 or re.search(r"[,;:()]", gap):
            return None
        return float(len(gap))
    if m.end <= v.start:  # the value after: "tỷ lệ ... là 62,2%"
        if ind.number == "before":
            return None
        gap = folded[m.end : v.start]
        if len(gap) > ind.window or ";" in gap:
            return None
        return float(len(gap)) + 2.0
    return None


def _clauses(sentence: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for m in re.finditer(r";", sentence):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(sentence)))
    return out


def report_year(doc: Document) -> int | None:
    """The year a report is about: the end of its period when known, else its year."""
    end = getattr(doc, "period_end", None)  # Document.period_end (assistant/periods.py)
    return end if isinstance(end, int) else doc.year


def extract_sentence(doc: Document, a: int, b: int) -> list[Fact]:
    """The facts of the sentence ``doc.text[a:b]``."""
    sentence = doc.text[a:b]
    if not any(c.isdigit() for c in sentence):
        return []
    mentions = find_mentions(sentence)
    if not mentions:
        return []
    vocab = vocabulary()
    for i, m in enumerate(mentions):  # "mật độ đạt 142 thuê bao/100 dân" after "thuê bao di động"
        ind = vocab[m.indicator]
        if ind.resolve:
            prev = next(
                (p.indicator for p in reversed(mentions[:i]) if p.indicator in ind.resolve), None
            )
            if prev:
                m.indicator = ind.resolve[prev]
    folded = alias_key(sentence)
    values = find_values(sentence, folded, mentions)
    if not values:
        return []
    fallback = report_year(doc)
    places = find_provinces(sentence, capitalised=True)
    facts: list[Fact] = []
    for clause in _clauses(sentence):
        in_m = [m for m in mentions if clause[0] <= m.start < clause[1]]
        in_v = [v for v in values if clause[0] <= v.start < clause[1]]
        pairs: list[tuple[float, int, int]] = []
        for mi, m in enumerate(in_m):
            ind = vocab[m.indicator]
            for vi, v in enumerate(in_v):
                if not _compatible(ind, v, folded):
                    continue
                score = _bind(ind, m, v, sentence, folded)
                if score is None:
                    continue
                lo, hi = (v.end, m.start) if v.end <= m.start else (m.end, v.start)
                if any(
                    lo <= o.start < hi for o in in_v if o is not v and _compatible(ind, o, folded)
                ):
                    continue  # another value of this kind stands between them
                pairs.append((score, mi, vi))
        taken_m: dict[int, int] = {}
        taken_v: set[int] = set()
        for _, mi, vi in sorted(pairs):
            if mi in taken_m or vi in taken_v:
                continue
            taken_m[mi] = vi
            taken_v.add(vi)
        # a list after one value: "cấp tỉnh là 95%, cấp huyện là 88%, cấp xã là 65%"
        for mi, vi in list(taken_m.items()):
            ind = vocab[in_m[mi].indicator]
            if ind.kind not in ("percent", "rank"):
                continue
            last = in_v[vi]
            for wi in range(vi + 1, len(in_v)):
                w = in_v[wi]
                if wi in taken_v or not _compatible(ind, w, folded):
                    break
                gap = folded[last.end : w.start]
                limit = 70 if ind.kind == "rank" else 45
                if len(gap) > limit or any(last.end <= o.start < w.start for o in in_m):
                    break
                taken_v.add(wi)
                facts.append(_fact(doc, a, sentence, folded, in_m[mi], w, clause, fallback, places))
                last = w
        # "xếp thứ 9/63 về Chỉ số chuyển đổi số (DTI) với 0,4312 điểm": the score of that rank
        for vi, v in enumerate(in_v):
            if (
                vi in taken_v
                or v.number.kind != "number"
                or not re.match(r"\s*diem\b", folded[v.end :])
            ):
                continue
            rank = next(
                (m for m in in_m if vocab[m.indicator].score and abs(m.start - v.start) <= 120),
                None,
            )
            if rank is not None:
                taken_v.add(vi)
                facts.append(
                    _fact(
                        doc,
                        a,
                        sentence,
                        folded,
                        Mention(vocab[rank.indicator].score or "", rank.start, rank.end),
                        v,
                        clause,
                        fallback,
                        places,
                    )
                )
        for mi, vi in taken_m.items():
            facts.append(
                _fact(doc, a, sentence, folded, in_m[mi], in_v[vi], clause, fallback, places)
            )
    facts.sort(key=lambda f: f.start)
    return facts


def _fact(
    doc: Document,
    a: int,
    sentence: str,
    folded: str,
    m: Mention,
    v: Value,
    clause: tuple[int, int],
    fallback: int | None,
    places: list[tuple[str, int, int]],
) -> Fact:
    ind = vocabulary()[m.indicator]
    text, plain = marked_text(sentence, folded)
    head = text[: v.start]  # a plan named earlier in the sentence covers its clauses
    cues = list(_TARGET.pattern(plain).finditer(head))
    cue = cues[-1] if cues else None
    target = cue is not None and not _RESULT_AFTER_TARGET.pattern(plain).search(head[cue.end() :])
    before = [p for p, _, e in places if e <= v.start]
    province = before[-1] if before else doc.province
    q = _QUALIFIER.search(folded[max(0, v.start - 14) : v.start])
    qualifier = (
        sentence[
            v.start - (len(folded[max(0, v.start - 14) : v.start]) - q.start(1)) : v.start
        ].strip()
        if q
        else ""
    )
    n = v.number
    return Fact(
        indicator=ind.id,
        value=n.value,
        value_max=v.value_max,
        total=n.total,
        unit=ind.unit,
        text=v.text,
        qualifier=qualifier,
        province=province,
        year=value_year(sentence, folded, v.start, clause, fallback),
        target=target,
        measure="change"
        if _CHANGE_BEFORE.pattern(plain).search(text[max(0, v.start - 30) : v.start])
        else "level",
        doc_id=doc.id,
        start=a + v.start,
        end=a + v.end,
        sentence_start=a,
        sentence_end=a + len(sentence),
        sentence=sentence,
    )


def extract_facts(doc: Document) -> list[Fact]:
    """Every fact of ``doc``, in document order."""
    out: list[Fact] = []
    for a, b in sentence_spans(doc.text):
        out.extend(extract_sentence(doc, a, b))
    return out
