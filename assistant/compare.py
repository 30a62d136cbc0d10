"""Questions across reports, answered from the indicator table: comparisons ("So sánh số trạm BTS
của các tỉnh"), rankings ("Tỉnh nào có tỷ lệ hồ sơ trực tuyến cao nhất?"), trends ("Xếp hạng
DTI của Bình Dương qua các năm") and "which province" questions, typed with or without
diacritics.

The reply is a one-line conclusion and a table province | year | value | source [n] in which
every value cites the sentence it was read from; provinces or years asked about with no fact
are listed as "không có số liệu trong các báo cáo đã nạp". Targets and increments are never
shown as results, and values on different scales are not ranked.
A question naming two or more provinces that the table cannot answer is answered per province.
What a question asks is read by :mod:`assistant.table_question`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from assistant.facts import FactTable
from assistant.indicators import Fact, Indicator, vocabulary
from assistant.provinces import find_provinces
from assistant.table_question import TableQuestion, read_question
from assistant.text import fold
from assistant.types import Answer, Citation, Document

NO_DATA = "không có số liệu trong các báo cáo đã nạp"


def _label(ind: Indicator) -> str:
    return ind.label[0].lower() + ind.label[1:] if not ind.label[:3].isupper() else ind.label


def answer_from_facts(
    question: str,
    table: FactTable,
    documents: dict[str, Document],
    chunk_of: Callable[[str, int], str] | None = None,
    province: str | None = None,
    year: int | None = None,
) -> Answer | None:
    """The table answer to a comparison ``question``, or None when it is not one or no fact of
    the table answers it (the normal answer is given then). ``province``/``year`` are the
    page's filters."""
    q = read_question(question)
    if q is None or q.indicator is None:
        return None
    ind = vocabulary()[q.indicator]
    facts = table.query(indicator=ind.id)
    if province:
        facts = [f for f in facts if f.province == province]
    if year:
        facts = [f for f in facts if f.year == year]
    results = [f for f in facts if not f.target and f.measure == "level"]
    if not results:
        return None
    provinces = q.provinces
    if province:
        provinces = [province]
    elif q.all_provinces:
        known = {d.province for d in documents.values() if d.province}
        known |= {f.province for f in facts if f.province}
        provinces = sorted(set(provinces) | known, key=fold)
    if not provinces:
        return None
    years = [year] if year else q.years
    rows: list[dict[str, Any]] = []
    chosen: list[Fact] = []
    for p in provinces:
        mine = [f for f in results if f.province == p]
        if years:
            for y in years:
                picked = [f for f in mine if f.year == y]
                chosen += picked
                rows += [_row(f) for f in picked] or [_empty(p, y)]
            continue
        if q.kind == "trend":
            picked = sorted(mine, key=lambda f: (f.year or 0, f.start))
        else:
            latest = max((f.year or 0 for f in mine), default=None)
            picked = [f for f in mine if (f.year or 0) == latest]
        chosen += picked
        rows += [_row(f) for f in picked] or [_empty(p, None)]
    if not chosen:
        return None
    notes = _notes(ind, facts, chosen, trend=q.kind == "trend")
    comparable = len({f.total for f in chosen}) == 1
    if q.kind != "trend":
        rows.sort(
            key=lambda r: (
                r["number"] is None,
                _order(ind, r, q.lowest) if comparable else 0,
                fold(r["province"]),
                r["year"] or 0,
            )
        )
    else:
        rows.sort(key=lambda r: (fold(r["province"]), r["year"] or 0))
    citations: list[Citation] = []
    by_fact: dict[int, int] = {}
    for r in rows:
        f = r.pop("fact", None)
        if f is None:
            continue
        if id(f) not in by_fact:
            doc = documents.get(f.doc_id)
            n = len(citations) + 1
            citations.append(_citation(n, f, doc, chunk_of))
            by_fact[id(f)] = n
        r["n"] = by_fact[id(f)]
    conclusion = _conclusion(q, ind, rows, comparable)
    text = "\n\n".join([conclusion, table_markdown(ind, rows), *notes])
    return Answer(
        question=question,
        answer=text,
        refused=False,
        citations=citations,
        table={
            "indicator": ind.id,
            "label": ind.label,
            "unit": ind.unit,
            "kind": q.kind,
            "conclusion": conclusion,
            "rows": rows,
            "notes": notes,
        },
    )


def _row(f: Fact) -> dict[str, Any]:
    return {
        "province": f.province,
        "year": f.year,
        "value": f.shown(),
        "number": f.value,
        "total": f.total,
        "n": None,
        "fact": f,
    }


def _empty(province: str, year: int | None) -> dict[str, Any]:
    return {
        "province": province,
        "year": year,
        "value": None,
        "number": None,
        "total": None,
        "n": None,
    }


def _order(ind: Indicator, r: dict[str, Any], lowest: bool) -> float:
    """Sort key: the best first (the lowest first when asked "thấp nhất" / "ít nhất")."""
    v = r["number"] or 0.0
    high_first = ind.kind != "rank"
    if lowest:
        high_first = not high_first
    return -v if high_first else v


def _conclusion(
    q: TableQuestion, ind: Indicator, rows: list[dict[str, Any]], comparable: bool
) -> str:
    valued = [r for r in rows if r["value"] is not None]
    label = _label(ind)
    unit = "" if ind.unit in ("%", "hạng") else f" {ind.unit}"
    if q.kind == "trend":
        parts = []
        for p in dict.fromkeys(r["province"] for r in valued):
            seq = [r for r in valued if r["province"] == p]
            steps = " → ".join(
                f"{r['value']} ({r['year'] or 'không rõ năm'}) [{r['n']}]" for r in seq
            )
            parts.append(f"{p}: {steps}")
        return f"{ind.label} qua các năm trong các báo cáo đã nạp — " + "; ".join(parts) + "."
    provinces = list(dict.fromkeys(r["province"] for r in valued))
    missing = [r["province"] for r in rows if r["value"] is None]
    if len(provinces) == 1:
        r = valued[0]
        tail = f"; {', '.join(dict.fromkeys(missing))}: {NO_DATA}" if missing else ""
        return (
            f"Chỉ có số liệu về {label} của {r['province']}: {r['value']}{unit} "
            f"({r['year'] or 'không rõ năm'}) [{r['n']}]{tail}."
        )
    if not comparable:
        return (
            f"Các báo cáo nêu {label} theo những thang khác nhau, không so sánh trực tiếp "
            "được; xem từng giá trị trong bảng."
        )
    best = valued[0]
    if ind.kind == "rank":
        word = "thấp nhất" if q.lowest else "cao nhất"
        return (
            f"{best['province']} có thứ hạng {label.replace('xếp hạng ', '')} {word} "
            f"trong các báo cáo đã nạp: {best['value']} [{best['n']}]."
        )
    word = "thấp nhất" if q.lowest else "cao nhất"
    if ind.kind == "count" and ind.unit not in ("km",):
        word = "ít nhất" if q.lowest else "nhiều nhất"
    return (
        f"{best['province']} có {label} {word} trong các báo cáo đã nạp: "
        f"{best['value']}{unit} [{best['n']}]."
    )


def _notes(ind: Indicator, facts: list[Fact], chosen: list[Fact], trend: bool = False) -> list[str]:
    notes = []
    targets = [f for f in facts if f.target]
    if targets:
        notes.append(
            f"Không tính {len(targets)} số liệu là mục tiêu, kế hoạch (chưa phải kết quả)."
        )
    changes = [f for f in facts if f.measure == "change" and not f.target]
    if changes:
        notes.append(
            f"Không tính {len(changes)} số liệu về phần xây mới, tăng thêm (không phải tổng số)."
        )
    if len({f.year for f in chosen}) > 1 and not trend:
        notes.append("Các số liệu thuộc những năm khác nhau: so sánh cần lưu ý thời điểm.")
    if len({f.total for f in chosen}) > 1:
        notes.append("Các thứ hạng tính trên số tỉnh khác nhau: không xếp chung được.")
    seen: dict[tuple[str | None, int | None], set[float]] = {}
    for f in chosen:
        seen.setdefault((f.province, f.year), set()).add(f.value)
    for (p, y), values in seen.items():
        if len(values) > 1:
            notes.append(
                f"Báo cáo về {p} ({y}) nêu nhiều giá trị khác nhau cho {_label(ind)}; "
                "mỗi giá trị dẫn đúng câu của nó."
            )
    return notes


def table_markdown(ind: Indicator, rows: list[dict[str, Any]]) -> str:
    """The table as Markdown text (the answer's text; the app renders it with links)."""
    unit = f" ({ind.unit})" if ind.unit else ""
    lines = [f"| Tỉnh | Năm | {ind.label}{unit} | Nguồn |", "|---|---|---|---|"]
    for r in rows:
        value = r["value"] if r["value"] is not None else NO_DATA
        source = f"[{r['n']}]" if r.get("n") else "—"
        lines.append(f"| {r['province']} | {r['year'] or '—'} | {value} | {source} |")
    return "\n".join(lines)


def _citation(
    n: int, f: Fact, doc: Document | None, chunk_of: Callable[[str, int], str] | None
) -> Citation:
    chunk_id = chunk_of(f.doc_id, f.start) if chunk_of else f"{f.doc_id}:{f.sentence_start}"
    return Citation(
        n=n,
        doc=doc.path if doc else f.doc_id,
        title=doc.title if doc else "",
        province=doc.province if doc else f.province,
        year=doc.year if doc else f.year,
        published=doc.published if doc else None,
        source_url=doc.source_url if doc else None,
        chunk_id=chunk_id,
        start=f.sentence_start,
        end=f.sentence_end,
        quote=f.sentence,
        score=1.0,
    )


def _shifted(m: re.Match[str], shift: int) -> str:
    """A citation marker ``[n]`` renumbered by ``shift``."""
    return f"[{int(m.group(1)) + shift}]"


def per_province(
    ask: Callable[[str, str], Answer], question: str, provinces: list[str]
) -> Answer | None:
    """Answer ``question`` for each province on its own (``ask(question, province)``), then
    put the replies together with their citations renumbered; None when none is answered."""
    parts: list[str] = []
    citations: list[Citation] = []
    answered = False
    for p in provinces:
        a = ask(question, p)
        if a.refused or not a.citations:
            parts.append(f"**{p}:** {NO_DATA}.")
            continue
        answered = True
        shift = len(citations)
        text = re.sub(r"\[(\d+)\]", partial(_shifted, shift=shift), a.answer)
        citations += [c.model_copy(update={"n": c.n + shift}) for c in a.citations]
        parts.append(f"**{p}:** {text}")
    if not answered:
        return None
    return Answer(question=question, answer="\n\n".join(parts), refused=False, citations=citations)


def answer_question(
    bot: Any,
    question: str,
    k: int | None = None,
    province: str | None = None,
    year: int | None = None,
) -> Answer | None:
    """The answer of :class:`assistant.Assistant` to a question across reports, or None for
    the normal answerer."""
    kb = bot.kb
    q = read_question(question)
    provinces = list(dict.fromkeys(p for p, _, _ in find_provinces(question)))
    if q is None and len(provinces) < 2:
        return None  # a question about one value: the table is not touched

    def chunk_of(doc_id: str, start: int) -> str:
        for r in kb.rows_for([doc_id]):
            c = kb.chunks[int(r)]
            if c.start <= start < c.end:
                return c.id
        return f"{doc_id}:0"

    if q is not None and q.indicator is not None:
        answer = answer_from_facts(question, kb.facts, kb.documents, chunk_of, province, year)
        if answer is not None:
            return answer
    if province is None and len(provinces) >= 2:
        return per_province(
            lambda q, p: bot.ask(q, k=k, province=p, year=year), question, provinces
        )
    return None
