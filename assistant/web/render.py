"""Answers as the page shows them: escaped Markdown with clickable [n], the list of sources,
a table answer of the indicator table, and the HTML of the "Nguồn" panel. Everything that
comes from a document is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.compare import NO_DATA
from assistant.types import Document

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def md_text(text: str) -> str:
    """Text shown literally inside Markdown: HTML characters as entities, Markdown escaped.

    >>> md_text("<script>alert(1)</script> *x*")
    '&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt; \\\\*x\\\\*'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def sources_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The passages an answer shows: its citations, or the related passages of a refusal."""
    return (
        list(answer.get("related") or [])
        if answer.get("refused")
        else list(answer.get("citations") or [])
    )


def cite_link(turn: int, n: int) -> str:
    return f"#nguon-{turn}-{n}"


def answer_markdown(turn: int, answer: dict[str, Any], asked: str | None = None) -> str:
    """The chat message of an answer: text with clickable [n] and the list of its sources.

    ``asked`` is the completed question, shown when a follow-up was completed.
    """
    parts = []
    if asked:
        parts.append(f"*Câu hỏi được hiểu là:* «{md_text(asked)}»")
    if answer.get("notice"):
        parts.append(f"ℹ️ *{md_text(answer['notice'])}*")
    if answer.get("table"):  # an answer from the indicator table
        parts.append(table_body(turn, answer))
    else:
        parts.append(answer_body(turn, answer))
    parts += check_notes(answer)
    sources = sources_of(answer)
    if sources:
        head = "**Có thể liên quan:**" if answer.get("refused") else "**Nguồn:**"
        lines = [head]
        for c in sources:
            lines.append(
                f"- [\\[{c['n']}\\] {md_text(source_label(c))}]({cite_link(turn, c['n'])})"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


UNVERIFIED_MARK = "⚠️"


def check_notes(answer: dict[str, Any]) -> list[str]:
    """Warnings on a generated answer: sentences whose numbers the cited passages lack (marked
    ⚠️ in the text), no valid citation, citations to passages that do not exist."""
    found = answer.get("check") or {}
    notes = []
    if found.get("unverified"):
        notes.append(
            f"{UNVERIFIED_MARK} *Câu đánh dấu {UNVERIFIED_MARK} có số liệu không tìm "
            "thấy trong đoạn được trích dẫn: cần kiểm tra lại với báo cáo gốc.*"
        )
    if found.get("uncited") and not answer.get("refused"):
        notes.append(
            f"{UNVERIFIED_MARK} *Câu trả lời không dẫn được nguồn nào trong các báo "
            "cáo: chưa được kiểm chứng.*"
        )
    if found.get("removed"):
        numbers = ", ".join(f"\\[{n}\\]" for n in found["removed"])
        notes.append(f"*Đã bỏ trích dẫn tới đoạn không tồn tại: {numbers}.*")
    return notes


def answer_body(turn: int, answer: dict[str, Any]) -> str:
    """The answer text, escaped, with each [n] of its citations a link to the source panel
    and each unverified sentence of a generated answer marked ⚠️."""
    raw = answer.get("answer", "")
    for sentence in (answer.get("check") or {}).get("unverified", []):
        raw = raw.replace(sentence, f"{sentence} {UNVERIFIED_MARK}", 1)
    text = md_text(raw)
    numbers = {c["n"] for c in answer.get("citations") or []}

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[\\[{n}\\]]({cite_link(turn, n)})" if n in numbers else m.group(0)

    return re.sub(r"\\\[(\d+)\\\]", link, text)


def table_body(turn: int, answer: dict[str, Any]) -> str:
    """The chat text of a table answer: the conclusion, the table with a link on each [n],
    the notes; every text from a report is escaped."""
    table = answer["table"]

    def linked(text: str) -> str:
        return answer_body(turn, {"answer": text, "citations": answer.get("citations")})

    label = md_text(f"{table['label']} ({table['unit']})" if table.get("unit") else table["label"])
    lines = [f"| Tỉnh | Năm | {label} | Nguồn |", "|---|---|---|---|"]
    for r in table["rows"]:
        value = md_text(r["value"]) if r.get("value") is not None else f"*{NO_DATA}*"
        source = linked(f"[{r['n']}]") if r.get("n") else "—"
        lines.append(
            f"| {md_text(r['province'] or '')} | {r.get('year') or '—'} | {value} | {source} |"
        )
    parts = [linked(table["conclusion"]), "\n".join(lines)]
    parts += [f"*{md_text(n)}*" for n in table.get("notes", [])]
    return "\n\n".join(parts)


def chat_messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The session's turns as the chat box's messages (a failed turn shows its error)."""
    messages = []
    for i, t in enumerate(turns):
        messages.append({"role": "user", "content": md_text(t["question"])})
        shown = t["asked"] if t["asked"] != t["question"] else None
        content = (
            answer_markdown(i, t["answer"], shown)
            if t.get("answer")
            else f"⚠️ {md_text(t.get('error', ''))}"
        )
        messages.append({"role": "assistant", "content": content})
    return messages


def source_label(c: dict[str, Any]) -> str:
    """ "Title — Bắc Giang, 2020, trang 3" (the page of a PDF, the sheet or section)."""
    where = ", ".join(str(x) for x in (c.get("province"), c.get("year")) if x)
    label = (
        f"{c.get('title') or Path(c.get('doc', '')).name} — {where}"
        if where
        else (c.get("title") or Path(c.get("doc", "")).name)
    )
    place = ", ".join(
        x for x in (f"trang {c['page']}" if c.get("page") else None, c.get("location")) if x
    )
    return f"{label}, {place}" if place else label


@dataclass
class Passage:
    """A cited span with the text around it (the chunk it was found in)."""

    before: str
    cited: str
    after: str


def passage(
    documents: dict[str, Document], chunks: Callable[[str], Iterable[Any]], c: dict[str, Any]
) -> Passage:
    """The chunk around citation ``c`` with the cited span cut out for highlighting.

    ``documents`` maps document ids to Documents; ``chunks(doc_id)`` lists a document's chunks.
    When the document changed since the answer (offsets no longer match), only the quote is
    returned.
    """
    doc = documents.get(c["doc"])
    start, end, quote = c["start"], c["end"], c["quote"]
    if doc is None or doc.text[start:end] != quote:
        return Passage("", quote, "")
    a, b = start, end
    for chunk in chunks(doc.id):
        if chunk.id == c.get("chunk_id"):
            a, b = min(a, chunk.start), max(b, chunk.end)
            break
    for t_start, t_end, _ in doc.tables:  # a row is shown in its table
        if t_start <= start < t_end:
            a, b = min(a, t_start), max(b, t_end)
            break
    return Passage(doc.text[a:start], quote, doc.text[end:b])


def source_html(c: dict[str, Any], p: Passage, refused: bool = False) -> str:
    """The "Nguồn" panel for one citation; all document text is HTML-escaped."""
    e = html.escape
    rows = [
        ("Tỉnh", c.get("province")),
        ("Năm", c.get("year")),
        ("Ngày đăng", c.get("published")),
        ("Tệp", Path(c.get("doc", "")).name),
        ("Trang", c.get("page")),
        ("Vị trí", c.get("location")),
    ]
    meta = "".join(f"<dt>{k}</dt><dd>{e(str(v))}</dd>" for k, v in rows if v)
    url = c.get("source_url")
    if url:
        link = (
            f'<a href="{e(url)}" target="_blank" rel="noopener noreferrer">{e(url)}</a>'
            if re.match(r"https?://", url)
            else e(url)
        )
        meta += f"<dt>Địa chỉ nguồn</dt><dd>{link}</dd>"
    kind = "Đoạn có thể liên quan" if refused else "Đoạn được trích dẫn"
    return (
        f'<div class="nguon-card" data-cite="{c["n"]}">'
        f'<div class="nguon-title"><span class="nguon-n">[{c["n"]}]</span> '
        f"{e(c.get('title') or '')}</div>"
        f'<dl class="nguon-meta">{meta}</dl>'
        f'<div class="nguon-kind">{kind}</div>'
        f'<blockquote class="nguon-passage">{_context(p.before, left=True)}'
        f'<mark class="nguon-cited">{e(p.cited)}</mark>{_context(p.after, left=False)}'
        f"</blockquote></div>"
    )


def _context(text: str, left: bool, limit: int = 600) -> str:
    if len(text) > limit:
        text = "…" + text[-limit:] if left else text[:limit] + "…"
    return html.escape(text)


SOURCE_HINT = (
    '<div class="nguon-empty">Nhấn vào một trích dẫn như <b>[1]</b> trong câu trả '
    "lời để xem đoạn báo cáo gốc, với câu được trích dẫn tô sáng.</div>"
)
