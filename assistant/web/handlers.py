"""The page's event handlers: plain methods over the engine, the settings and the feedback log,
which ``app.py`` binds to its components. Each returns (or yields) the values of its outputs;
``gr.skip()`` leaves an output as it is."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import gradio as gr

from assistant.config import AppSettings
from assistant.errors import AssistantError, QuestionError
from assistant.web.engine import Engine
from assistant.web.feedback import FeedbackLog, new_turn
from assistant.web.followup import standalone_question
from assistant.web.messages import ALL, STAGES_VI, vietnamese_error
from assistant.web.render import (
    SOURCE_HINT,
    Passage,
    chat_messages,
    md_text,
    passage,
    source_html,
    sources_of,
)
from assistant.web.uploads import FileResult, receive_uploads, upload_markdown

log = logging.getLogger(__name__)

WAIT_FOR_START_S = 900  # a question asked during the first start waits this long at most
# the share of the progress bar each stage of an upload takes
UPLOAD_SHARES = {
    "check": (0.0, 0.1),
    "read": (0.1, 0.2),
    "ocr": (0.1, 0.2),
    "embed": (0.2, 0.95),
    "write": (0.95, 1.0),
}
Turns = list[dict[str, Any]]


def _filter(value: str | None) -> str | None:
    return None if value in (None, "", ALL) else value


def _failed(what: str, err: Exception) -> None:
    """Log an error a user will see as one Vietnamese line (unexpected ones with their trace)."""
    if isinstance(err, AssistantError):
        log.info("%s refused: %s", what, err)
    else:
        log.warning("%s failed: %s", what, err, exc_info=True)


class Handlers:
    """The handlers of one page, over ``engine`` (the assistant), ``settings`` (upload limits)
    and ``feedback`` (where ratings and comments go)."""

    def __init__(self, engine: Engine, settings: AppSettings, feedback: FeedbackLog) -> None:
        self.engine, self.settings, self.feedback = engine, settings, feedback

    # --- the chat ----------------------------------------------------------------------------

    def source_panel(self, turns: Turns, turn: int, n: int) -> str:
        """The "Nguồn" panel for citation [n] of answer ``turn``."""
        if not 0 <= turn < len(turns) or not turns[turn].get("answer"):
            return SOURCE_HINT
        answer = turns[turn]["answer"]
        cited = next((c for c in sources_of(answer) if c["n"] == n), None)
        if cited is None:
            return SOURCE_HINT
        if self.engine.ready:
            p = passage(self.engine.bot.kb.documents, self.engine.chunks_of, cited)
        else:
            p = Passage("", cited["quote"], "")
        return source_html(cited, p, refused=bool(answer.get("refused")))

    def respond(
        self, message: str, turns: Turns, province: str, year: str
    ) -> Iterator[tuple[Any, ...]]:
        """Answer a chat message: outputs (message box, chat, turns, sources panel)."""
        engine = self.engine
        message = " ".join((message or "").split())
        if not message:
            gr.Warning("Vui lòng nhập câu hỏi.")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        previous = next((t["asked"] for t in reversed(turns) if t.get("answer")), None)
        history = chat_messages(turns)
        asked, lead, generated = message, "", ""

        def pending(text: str) -> list[dict[str, str]]:
            return [
                *history,
                {"role": "user", "content": md_text(message)},
                {"role": "assistant", "content": lead + text},
            ]

        yield "", pending("⏳ Đang tìm trong các báo cáo…"), gr.skip(), gr.skip()
        try:
            # language-model mode: the model rewrites a follow-up; else the rules do
            asked = standalone_question(message, previous, engine.settings)
            lead = f"*Câu hỏi được hiểu là:* «{md_text(asked)}»\n\n" if asked != message else ""
            deadline = time.monotonic() + WAIT_FOR_START_S
            while not engine.ready and not engine.error and time.monotonic() < deadline:
                yield gr.skip(), pending(md_text(engine.status())), gr.skip(), gr.skip()
                time.sleep(0.5)
            bot = engine.wait(timeout=1)
            stream = bot.ask_stream(
                asked, province=_filter(province), year=int(y) if (y := _filter(year)) else None
            )
            shown_at = 0.0
            for piece in stream:  # tokens of the language model, shown as they come
                generated += piece
                if time.monotonic() - shown_at > 0.1:
                    shown_at = time.monotonic()
                    yield gr.skip(), pending(md_text(generated) + " ▌"), gr.skip(), gr.skip()
            answer = stream.answer.to_json_dict()
        except Exception as err:  # noqa: BLE001 - shown as one Vietnamese line
            _failed("question", err)
            turns = [
                *turns,
                {**new_turn(message, asked, {}), "answer": None, "error": vietnamese_error(err)},
            ]
            yield "", chat_messages(turns), turns, gr.skip()
            return
        words = [] if generated or answer.get("table") else md_text(answer["answer"]).split(" ")
        for i in range(3, len(words), 3):  # extractive: the reply appears progressively
            yield gr.skip(), pending(" ".join(words[:i]) + " ▌"), gr.skip(), gr.skip()
            time.sleep(0.03)
        turns = [*turns, new_turn(message, asked, answer)]
        first = sources_of(answer)
        panel = self.source_panel(turns, len(turns) - 1, first[0]["n"]) if first else SOURCE_HINT
        yield "", chat_messages(turns), turns, panel

    def show_source(self, turns: Turns, evt: gr.EventData) -> str:
        """A click on [n] in an answer (the ``cite`` event of ``static/citations.js``, whose
        data ``{turn, n}`` Gradio gives as attributes of the event)."""
        try:
            return self.source_panel(turns, int(evt.turn), int(evt.n))
        except (AttributeError, TypeError, ValueError):
            return SOURCE_HINT

    @staticmethod
    def clear() -> tuple[Turns, str]:
        """The chat box's own clear button: outputs (turns, panel)."""
        return [], SOURCE_HINT

    @staticmethod
    def new_chat() -> tuple[list[Any], Turns, str]:
        """Outputs (chat, turns, panel) of a new conversation."""
        return [], [], SOURCE_HINT

    # --- feedback ----------------------------------------------------------------------------

    def log_like(self, turns: Turns, data: gr.LikeData) -> str:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn = int(index) // 2
        if not 0 <= turn < len(turns):
            return ""
        self.feedback.append(
            turns[turn], "up" if data.liked is True else "down" if data.liked is False else None
        )
        return "Đã ghi nhận đánh giá. Cảm ơn bạn!"

    def send_feedback(self, turns: Turns, rating: str | None, comment: str) -> tuple[str, Any]:
        if not turns:
            return "Chưa có câu trả lời nào để góp ý.", gr.skip()
        if not rating and not (comment or "").strip():
            return "Chọn 👍 / 👎 hoặc viết góp ý trước khi gửi.", gr.skip()
        value: Literal["up", "down"] | None = (
            "up" if rating == "👍" else "down" if rating == "👎" else None
        )
        self.feedback.append(turns[-1], value, comment or "")
        return "Đã ghi nhận góp ý cho câu trả lời gần nhất. Cảm ơn bạn!", ""

    # --- uploads and status ------------------------------------------------------------------

    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> dict:  # noqa: B008 - Gradio's idiom
        """Add documents (txt, md, html, pdf, docx) to the knowledge base; per-file results."""

        def report(stage: str, done: int, total: int) -> None:
            a, b = UPLOAD_SHARES.get(stage, (0.0, 1.0))
            progress(
                a + (b - a) * (done / total if total else 1.0),
                desc=f"{STAGES_VI.get(stage, stage).capitalize()} {done}/{total}",
            )

        try:
            bot = self.engine.wait(timeout=WAIT_FOR_START_S)
            results = receive_uploads(
                bot,
                [(Path(f), Path(f).name) for f in files or []],
                self.engine.uploads_dir,
                self.settings.max_upload_bytes,
                self.settings.max_upload_files,
                lock=self.engine.write_lock,
                progress=report,
            )
        except Exception as err:  # noqa: BLE001
            _failed("upload", err)
            raise gr.Error(vietnamese_error(err)) from None
        return {"files": [r.to_json() for r in results], "documents": len(bot.kb.documents)}

    def show_upload(self, result: dict | None) -> tuple[Any, ...]:
        """Outputs (upload result, province filter, year filter, status)."""
        if not result:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        rows = [FileResult(**r) for r in result.get("files", [])]
        return (
            upload_markdown(rows, result.get("documents")),
            *self.filters(),
            self.engine.status(),
        )

    def filters(self) -> tuple[Any, Any]:
        """The province and year choices of the knowledge base."""
        if not self.engine.ready:
            return gr.skip(), gr.skip()
        kb = self.engine.bot.kb
        return (
            gr.update(choices=[ALL, *kb.provinces()]),
            gr.update(choices=[ALL, *map(str, kb.years())]),
        )

    def poll(self) -> tuple[Any, ...]:
        """Outputs (status, timer, province filter, year filter) while the assistant starts."""
        done = self.engine.ready or self.engine.error is not None
        return (self.engine.status(), gr.Timer(active=not done), *self.filters())

    # --- the programs' API (gr.api) ----------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int | None = None,
        province: str | None = None,
        year: int | None = None,
    ) -> dict:
        """Answer a Vietnamese question from the reports, with citations, or refuse.

        Returns the JSON of `python -m assistant ask --json`: question, answer (text with [n]
        markers), refused, citations, related, timings_ms; in language-model mode also
        answerer, check (unverified sentences, uncited, removed markers), notice, fallback.
        """
        try:
            if k is not None and not 1 <= int(k) <= 100:
                raise QuestionError(
                    f"k of {k} is outside 1-100; ask for 1 to 100 passages", code="k_invalid"
                )
            bot = self.engine.wait(timeout=WAIT_FOR_START_S)
            return bot.ask(
                question, k=k, province=province or None, year=year or None
            ).to_json_dict()
        except Exception as err:  # noqa: BLE001
            _failed("/ask", err)
            raise gr.Error(vietnamese_error(err)) from None

    def indicators(
        self,
        indicator: str | None = None,
        province: str | None = None,
        year: int | None = None,
        status: str | None = None,
    ) -> dict:
        """The indicator facts read from the reports, filtered: {"count", "facts": [{indicator,
        label, province, year, value, text, unit, status (result|target), doc, start, end,
        sentence}]} (same JSON as `python -m assistant indicators --format json`)."""
        from assistant.indicator_cli import facts_json

        try:
            bot = self.engine.wait(timeout=WAIT_FOR_START_S)
            return facts_json(
                bot.kb, indicator or None, province or None, year or None, status or None
            )
        except Exception as err:  # noqa: BLE001
            _failed("/indicators", err)
            raise gr.Error(vietnamese_error(err)) from None
