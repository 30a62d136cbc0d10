"""What the chat app does, without the UI: follow-up questions, answers and sources rendered as
escaped Markdown/HTML, uploads, the feedback log, and the assistant loaded in the background.

``app.py`` wires these into Gradio; everything here is plain Python and tested without a browser.

>>> complete_question("Còn Bình Dương thì sao?", "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?")
'Năm 2020 Bình Dương có bao nhiêu trạm BTS?'
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    BadFileError,
    EmptyQuestionError,
    IndexBusyError,
    IndexNotFoundError,
    QuestionTooLongError,
)
from assistant.ingest import SUPPORTED, load_document
from assistant.provinces import find_provinces
from assistant.text import fold, words
from assistant.types import Progress

log = logging.getLogger(__name__)



class AppSettings(BaseSettings):
    """Settings of the web app (same ``ASSISTANT_`` prefix as :class:`assistant.Settings`).

    >>> AppSettings(auth="staff:secret").credentials
    ('staff', 'secret')
    """

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth: str | None = Field(None, description="login as user:password; unset = no login")
    max_upload_mb: float = Field(20.0, gt=0, description="largest uploaded file")
    max_upload_files: int = Field(20, gt=0, description="files per upload")
    feedback_log: Path | None = None  # None: <data_dir>/feedback.jsonl

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise ValueError("auth must look like user:password (both non-empty)")
        return value

    @property
    def credentials(self) -> tuple[str, str] | None:
        if not self.auth:
            return None
        user, _, password = self.auth.partition(":")
        return user, password

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class ChatError(Exception):
    """An error whose message is short Vietnamese, safe to show in the page."""


# --- follow-up questions --------------------------------------------------------------------

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
        shift = next((d for pair, d in _RELATIVE_YEAR.items()
                      if any(tuple(folded[i:i + 2]) == pair for i in range(len(folded)))), 0)
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


def standalone_question(message: str, previous: str | None, settings: Settings,
                        client: Any = None) -> str:
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


# --- rendering: everything from a document is escaped ----------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def md_text(text: str) -> str:
    """Text shown literally inside Markdown: HTML characters as entities, Markdown escaped.

    >>> md_text("<script>alert(1)</script> *x*")
    '&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt; \\\\*x\\\\*'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def sources_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The passages an answer shows: its citations, or the related passages of a refusal."""
    return list(answer.get("related") or []) if answer.get("refused") else list(
        answer.get("citations") or [])


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
        from assistant.indicator_ui import table_body

        parts.append(table_body(turn, answer))
    else:
        parts.append(answer_body(turn, answer))
    parts += check_notes(answer)
    sources = sources_of(answer)
    if sources:
        head = "**Có thể liên quan:**" if answer.get("refused") else "**Nguồn:**"
        lines = [head]
        for c in sources:
            lines.append(f"- [\\[{c['n']}\\] {md_text(source_label(c))}]"
                         f"({cite_link(turn, c['n'])})")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


UNVERIFIED_MARK = "⚠️"


def check_notes(answer: dict[str, Any]) -> list[str]:
    """Warnings on a generated answer: sentences whose numbers the cited passages lack (marked
    ⚠️ in the text), no valid citation, citations to passages that do not exist."""
    found = answer.get("check") or {}
    notes = []
    if found.get("unverified"):
        notes.append(f"{UNVERIFIED_MARK} *Câu đánh dấu {UNVERIFIED_MARK} có số liệu không tìm "
                     "thấy trong đoạn được trích dẫn: cần kiểm tra lại với báo cáo gốc.*")
    if found.get("uncited") and not answer.get("refused"):
        notes.append(f"{UNVERIFIED_MARK} *Câu trả lời không dẫn được nguồn nào trong các báo "
                     "cáo: chưa được kiểm chứng.*")
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


def source_label(c: dict[str, Any]) -> str:
    """ "Title — Bắc Giang, 2020, trang 3" (the page of a PDF, the sheet or section)."""
    where = ", ".join(str(x) for x in (c.get("province"), c.get("year")) if x)
    label = f"{c.get('title') or Path(c.get('doc', '')).name} — {where}" if where else (
        c.get("title") or Path(c.get("doc", "")).name)
    place = ", ".join(x for x in (f"trang {c['page']}" if c.get("page") else None,
                                  c.get("location")) if x)
    return f"{label}, {place}" if place else label


@dataclass
class Passage:
    """A cited span with the text around it (the chunk it was found in)."""

    before: str
    cited: str
    after: str


def passage(documents: dict[str, Any], chunks: Callable[[str], Iterable[Any]],
            c: dict[str, Any]) -> Passage:
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
    for t_start, t_end, _ in getattr(doc, "tables", ()):  # a row is shown in its table
        if t_start <= start < t_end:
            a, b = min(a, t_start), max(b, t_end)
            break
    return Passage(doc.text[a:start], quote, doc.text[end:b])


def source_html(c: dict[str, Any], p: Passage, refused: bool = False) -> str:
    """The "Nguồn" panel for one citation; all document text is HTML-escaped."""
    e = html.escape
    rows = [("Tỉnh", c.get("province")), ("Năm", c.get("year")),
            ("Ngày đăng", c.get("published")), ("Tệp", Path(c.get("doc", "")).name),
            ("Trang", c.get("page")), ("Vị trí", c.get("location"))]
    meta = "".join(f"<dt>{k}</dt><dd>{e(str(v))}</dd>" for k, v in rows if v)
    url = c.get("source_url")
    if url:
        link = (f'<a href="{e(url)}" target="_blank" rel="noopener noreferrer">{e(url)}</a>'
                if re.match(r"https?://", url) else e(url))
        meta += f"<dt>Địa chỉ nguồn</dt><dd>{link}</dd>"
    kind = "Đoạn có thể liên quan" if refused else "Đoạn được trích dẫn"
    return (
        f'<div class="nguon-card" data-cite="{c["n"]}">'
        f'<div class="nguon-title"><span class="nguon-n">[{c["n"]}]</span> '
        f'{e(c.get("title") or "")}</div>'
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


SOURCE_HINT = ('<div class="nguon-empty">Nhấn vào một trích dẫn như <b>[1]</b> trong câu trả '
               "lời để xem đoạn báo cáo gốc, với câu được trích dẫn tô sáng.</div>")


# --- errors in Vietnamese -------------------------------------------------------------------

_REASONS = [
    (r"unsupported file type", "định dạng không được hỗ trợ (chỉ nhận txt, md, html, pdf, docx, "
                               "doc, odt, xlsx, xls, ods)"),
    (r"no OCR engine|no Vietnamese data", "PDF dạng ảnh nhưng máy chủ chưa cài công cụ nhận dạng "
                                          "chữ (tesseract-ocr, tesseract-ocr-vie)"),
    (r"OCR could not read", "PDF dạng ảnh: không nhận dạng được chữ trên các trang"),
    (r"pages without text, more than", "PDF dạng ảnh có quá nhiều trang cần nhận dạng; hãy tách "
                                       "tệp"),
    (r"needs Debian's antiword", "tệp .doc cần công cụ antiword hoặc catdoc trên máy chủ; hoặc "
                                 "lưu lại thành .docx"),
    (r"unreadable (DOC|ODT|XLSX|XLS|ODS)\b", "tệp văn phòng bị hỏng hoặc không đọc được"),
    (r"more than .* cells", "bảng tính quá lớn"),
    (r"file is too large", "tệp quá lớn"),
    (r"file is empty", "tệp rỗng"),
    (r"binary content", "nội dung nhị phân, không phải văn bản"),
    (r"cannot decode", "không giải mã được văn bản (cần UTF-8, UTF-16 hoặc Windows-1258)"),
    (r"invalid .* text", "văn bản bị lỗi mã hoá"),
    (r"PDF is encrypted", "PDF có mật khẩu"),
    (r"unreadable PDF", "PDF bị hỏng hoặc không đọc được"),
    (r"zip bomb|inflates", "DOCX giải nén quá lớn"),
    (r"unreadable DOCX", "DOCX bị hỏng hoặc không đọc được"),
    (r"no text found in the PDF", "không tìm thấy chữ trong tệp PDF (kể cả khi nhận dạng ảnh)"),
    (r"no text found", "không tìm thấy chữ trong tệp (chỉ có khoảng trắng hoặc thẻ định dạng)"),
    (r"cannot read file", "không đọc được tệp"),
]


def vietnamese_reason(reason: str) -> str:
    """A rejection reason of the core (English) as a short Vietnamese phrase."""
    for pattern, vi in _REASONS:
        if re.search(pattern, reason, re.IGNORECASE):
            return vi
    return "không đọc được tệp"


def vietnamese_error(err: BaseException) -> str:
    """One short Vietnamese line for any error reaching the UI (never a traceback)."""
    if isinstance(err, ChatError):
        return str(err)
    text = str(err)
    if isinstance(err, IndexBusyError):
        return "Kho tài liệu đang được cập nhật. Vui lòng thử lại sau ít phút."
    if isinstance(err, BadFileError):
        return f"Tệp không hợp lệ: {vietnamese_reason(text)}."
    if isinstance(err, EmptyQuestionError):
        return "Vui lòng nhập câu hỏi."
    if isinstance(err, QuestionTooLongError):
        return "Câu hỏi quá dài, vui lòng rút gọn."
    if isinstance(err, AssistantError) and ("rebuild" in text or "knowledge base" in text):
        return ("Không đọc được kho tài liệu. Quản trị viên cần dựng lại chỉ mục "
                "(python -m assistant index --rebuild).")
    return "Đã xảy ra lỗi khi xử lý yêu cầu. Vui lòng thử lại."


# --- uploads --------------------------------------------------------------------------------

UPLOAD_TYPES = tuple(sorted(SUPPORTED))  # .docx .htm .html .md .pdf .txt
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """A file name that is safe in the uploads folder: its last path part only, ASCII letters,
    digits, ``.``, ``_`` and ``-``, no leading dot, at most 120 characters.

    >>> safe_filename("../../etc/Báo cáo Bắc Giang 2020.PDF")
    'Bao-cao-Bac-Giang-2020.pdf'
    >>> safe_filename("..\\\\..\\\\x.txt")
    'x.txt'
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("-", fold(stem)).strip(".-_")
    stem = re.sub(r"\.{2,}", ".", stem)[:100].strip(".-_") or "tai-lieu"
    ext = _UNSAFE.sub("", fold(ext)).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


def upload_path(uploads_dir: Path, name: str) -> Path:
    """Where an uploaded file named ``name`` is kept; never outside ``uploads_dir``."""
    root = uploads_dir.resolve()
    target = (root / safe_filename(name)).resolve()
    if target.parent != root:  # cannot happen with safe_filename; checked all the same
        raise ChatError("Tên tệp không hợp lệ.")
    return target


@dataclass
class FileResult:
    """What happened to one uploaded file."""

    name: str  # as the user named it
    status: Literal["added", "updated", "unchanged", "rejected"]
    reason: str = ""  # Vietnamese, when rejected
    saved_as: str = ""  # file name in the uploads folder

    def to_json(self) -> dict[str, str]:
        return asdict(self)


STATUS_VI = {"added": "✅ Đã thêm", "updated": "🔄 Đã cập nhật", "unchanged": "⏸ Không đổi",
             "rejected": "❌ Bị từ chối"}


def receive_uploads(bot: Any, files: list[tuple[Path, str]], uploads_dir: Path,
                    max_bytes: int, max_files: int, lock: threading.Lock | None = None,
                    progress: Progress | None = None) -> list[FileResult]:
    """Check, keep and index uploaded files: ``files`` are (temporary path, original name).

    Each file is checked (type, size, readable text) before it replaces anything in
    ``uploads_dir``; accepted files are indexed at once and are searchable on return.
    """
    if not files:
        raise ChatError("Chưa chọn tệp nào để tải lên.")
    if len(files) > max_files:
        raise ChatError(f"Mỗi lần chỉ tải lên tối đa {max_files} tệp.")
    uploads_dir.mkdir(parents=True, exist_ok=True)
    results: list[FileResult] = []
    accepted: dict[Path, FileResult] = {}
    for i, (tmp, name) in enumerate(files):
        if progress:
            progress("check", i, len(files))
        result = FileResult(name=name, status="rejected")
        results.append(result)
        ext = Path(name).suffix.lower()
        if ext not in SUPPORTED:
            result.reason = vietnamese_reason("unsupported file type")
            continue
        try:
            size = Path(tmp).stat().st_size
        except OSError:
            result.reason = vietnamese_reason("cannot read file")
            continue
        if size > max_bytes:
            result.reason = f"tệp quá lớn ({_size(size)}, giới hạn {_size(max_bytes)})"
            continue
        target = upload_path(uploads_dir, name)
        result.saved_as = target.name
        if target in accepted:
            result.reason = "trùng tên với một tệp khác trong lần tải lên này"
            continue
        staged = target.with_name(f".incoming-{uuid.uuid4().hex[:8]}-{target.name}")
        try:
            staged.write_bytes(Path(tmp).read_bytes())
            # reject unreadable files before keeping them (a scanned PDF is OCR'd here, once)
            load_document(staged, max_bytes, progress=progress)
        except BadFileError as err:
            staged.unlink(missing_ok=True)
            result.reason = vietnamese_reason(str(err))
            continue
        except OSError:
            staged.unlink(missing_ok=True)
            result.reason = vietnamese_reason("cannot read file")
            continue
        os.replace(staged, target)
        accepted[target] = result
    if progress:
        progress("check", len(files), len(files))
    if not accepted:
        return results
    with lock or threading.Lock():
        report = bot.index(list(accepted), progress=progress)
    status: dict[str, Literal["added", "updated", "unchanged"]] = {}
    for key in ("added", "updated", "unchanged"):
        for doc_id in getattr(report, key):
            status[doc_id] = key  # type: ignore[assignment]
    rejected = {Path(r.path).resolve().as_posix(): r.reason for r in report.rejected}
    for target, result in accepted.items():
        doc_id = target.as_posix()
        if doc_id in status:
            result.status = status[doc_id]
        else:
            result.reason = vietnamese_reason(rejected.get(doc_id, ""))
    return results


def _size(n: int) -> str:
    """ "1,5 MB", "980 KB" (Vietnamese decimal comma)."""
    if n >= 1024 * 1024:
        return f"{n / 1048576:.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


def upload_markdown(results: list[FileResult], documents: int | None = None) -> str:
    """The per-file result table shown after an upload."""
    if not results:
        return ""
    lines = ["| Tệp | Kết quả | Ghi chú |", "|---|---|---|"]
    for r in results:
        note = r.reason if r.status == "rejected" else (
            f"lưu thành {r.saved_as}" if r.saved_as and r.saved_as != r.name else "")
        lines.append(f"| {md_text(r.name)} | {STATUS_VI[r.status]} | {md_text(note)} |")
    if documents is not None:
        lines.append(f"\nKho hiện có {documents} tài liệu; tài liệu mới tra cứu được ngay.")
    return "\n".join(lines)


# --- feedback -------------------------------------------------------------------------------


class FeedbackLog:
    """Feedback appended to a JSONL file, one object a line (UTF-8, readable Vietnamese)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, turn: dict[str, Any], rating: Literal["up", "down"] | None,
               comment: str = "") -> dict[str, Any]:
        """Log feedback on one answered turn (see :func:`new_turn`); returns the record."""
        answer = turn.get("answer") or {}
        record = {
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "rating": rating,
            "comment": " ".join((comment or "").split())[:2000],
            "question": turn.get("question", ""),
            "asked": turn.get("asked", ""),
            "answer": answer.get("answer", ""),
            "refused": bool(answer.get("refused")),
            "citations": [
                {k: c.get(k) for k in ("n", "doc", "title", "province", "year", "chunk_id",
                                       "start", "end", "quote")}
                for c in sources_of(answer)
            ],
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        return record


def answer_stream(bot: Any, question: str, province: str | None = None,
                  year: int | None = None) -> Iterator[str | dict[str, Any]]:
    """The text of the answer as it is generated (language-model mode), then the answer's
    JSON dict (see :meth:`assistant.Assistant.ask_stream`)."""
    stream = bot.ask_stream(question, province=province, year=year)
    yield from stream
    yield stream.answer.to_json_dict()


def new_turn(question: str, asked: str, answer: dict[str, Any]) -> dict[str, Any]:
    """One question and its answer as kept in the session (plain JSON)."""
    return {"question": question, "asked": asked, "answer": answer}


# --- the assistant, loaded in the background ------------------------------------------------

STAGES_VI = {"model": "nạp mô hình nhúng", "read": "đọc tài liệu", "embed": "nhúng các đoạn",
             "write": "ghi chỉ mục", "check": "kiểm tra tệp", "load": "nạp chỉ mục",
             "ocr": "nhận dạng chữ (OCR), trang"}


class Engine:
    """The assistant behind the app. :meth:`start` loads it (building the index on the first
    start) in a thread, so the page is up at once and shows the progress."""

    def __init__(self, settings: Settings, opener: Callable[..., Any] | None = None) -> None:
        self.settings = settings
        self.bot: Any = None
        self.error: str | None = None
        self.stage, self.done, self.total = "model", 0, 0
        self.started = time.perf_counter()
        self.ready_after: float | None = None
        self.write_lock = threading.Lock()
        self._ready = threading.Event()
        self._opener = opener or self._open

    @property
    def uploads_dir(self) -> Path:
        return Path(self.settings.data_dir) / "uploads"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="assistant-loader", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            self.bot = self._opener(self.settings, self.progress)
        except AssistantError as err:
            log.error("cannot open the knowledge base: %s", err)
            self.error = vietnamese_error(err)
        except Exception as err:  # noqa: BLE001 - the page must say something, not hang
            log.exception("cannot start the assistant")
            self.error = f"Không khởi động được trợ lý ({type(err).__name__}). Xem nhật ký máy chủ."
        else:
            self.ready_after = time.perf_counter() - self.started
            log.info("assistant ready in %.1f s", self.ready_after)
        finally:
            self._ready.set()

    def _open(self, settings: Settings, progress: Progress) -> Any:
        from assistant.core import Assistant, default_sources, load_encoder
        from assistant.store import index_paths

        encoder = load_encoder(settings)
        progress("load", 0, 1)
        try:
            bot = Assistant.open(settings, encoder=encoder, progress=progress)
        except IndexNotFoundError:
            log.info("building a new index in %s", settings.index_dir)
            index_paths(list[Path | str](default_sources(settings)), Path(settings.index_dir),
                        settings, encoder, progress=progress)
            bot = Assistant.open(settings, encoder=encoder)
        missing = [p for p in self._kept_uploads() if p.as_posix() not in bot.kb.documents]
        if missing:  # kept uploads the index lacks (e.g. after a rebuild): index them again
            bot.index([self.uploads_dir], progress=progress)
        return bot

    def _kept_uploads(self) -> list[Path]:
        if not self.uploads_dir.is_dir():
            return []
        return [p.resolve() for p in self.uploads_dir.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED]

    def progress(self, stage: str, done: int, total: int) -> None:
        """Progress of the start-up (``stage`` as in :data:`STAGES_VI`), also logged."""
        if stage != self.stage or done == total:
            log.info("start-up: %s %d/%d", STAGES_VI.get(stage, stage), done, total)
        self.stage, self.done, self.total = stage, done, total

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.bot is not None

    def status(self) -> str:
        """One Vietnamese line: what the assistant is doing, or what it holds."""
        if self.error:
            return f"⚠️ {self.error}"
        if self.ready:
            kb = self.bot.kb
            return f"✅ Sẵn sàng: {len(kb.documents)} tài liệu, {len(kb)} đoạn."
        step = STAGES_VI.get(self.stage, self.stage)
        count = (f" {self.done}/{self.total} ({100 * self.done // self.total}%)"
                 if self.total > 1 else "")
        return f"⏳ Đang khởi động: {step}{count}…"

    def wait(self, timeout: float | None = None) -> Any:
        """The assistant, once loaded; :class:`ChatError` if loading failed or takes longer."""
        if not self._ready.wait(timeout):
            raise ChatError("Trợ lý đang khởi động (" + self.status().split(": ", 1)[-1]
                            + "). Vui lòng thử lại sau ít phút.")
        if self.bot is None:
            raise ChatError(self.error or "Trợ lý chưa sẵn sàng.")
        return self.bot

    def chunks_of(self, doc_id: str) -> list[Any]:
        kb = self.bot.kb
        return [kb.chunks[int(r)] for r in kb.rows_for([doc_id])]
