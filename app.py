"""The chat web app: Vietnamese questions over the indexed reports, cited answers a staff member
can check in one click.

    python app.py                      # http://127.0.0.1:7860, the bundled sample reports
    python app.py --host 0.0.0.0 --port 8080 --index /srv/ict/index --data /srv/ict \\
        --auth staff:secret

Settings also come from the environment (``ASSISTANT_HOST``, ``ASSISTANT_PORT``,
``ASSISTANT_INDEX_DIR``, ``ASSISTANT_DATA_DIR``, ``ASSISTANT_AUTH``...); the command line wins.
Programs call the ``/ask`` endpoint with ``gradio_client`` (same JSON as ``ask --json``), or
the plain HTTP routes of ``assistant/api.py``: ``POST /api/ask`` and the OpenAI-compatible
``POST /v1/embeddings``, behind the same login.

The UI only: conversation logic lives in ``assistant/chat.py``, retrieval in ``assistant``.
"""

import argparse
import contextlib
import logging
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import gradio as gr
from pydantic import ValidationError
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from assistant import api
from assistant.about import add_version
from assistant.chat import (
    SOURCE_HINT,
    STAGES_VI,
    AppSettings,
    ChatError,
    Engine,
    FeedbackLog,
    FileResult,
    Passage,
    answer_markdown,
    answer_stream,
    md_text,
    new_turn,
    passage,
    receive_uploads,
    source_html,
    sources_of,
    standalone_question,
    upload_markdown,
    vietnamese_error,
)
from assistant.config import Settings
from assistant.indicator_ui import CSS as INDICATOR_CSS
from assistant.indicator_ui import build_tab as build_indicator_tab

log = logging.getLogger("app")

ALL = "Tất cả"
EXAMPLES = [
    "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?",
    "Bình Dương đã cài đặt bao nhiêu dịch vụ công trực tuyến mức độ 4?",
    "Năm 2020 Bắc Giang đứng thứ mấy về xếp hạng ứng dụng CNTT?",
    "Quảng Bình có bao nhiêu tên miền .vn?",
    "Bắc Kạn có bao nhiêu hộ nghèo, cận nghèo được hỗ trợ đầu thu truyền hình số?",
    "So sánh số trạm BTS của các tỉnh",  # answered from the indicator table
]
WAIT_FOR_START_S = 900  # a question asked during the first start waits this long at most
JS_CITATIONS = """
window.__nguonTrigger = trigger;
if (!window.__nguonBound) {
  window.__nguonBound = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href*="#nguon-"]') : null;
    const m = link ? (link.getAttribute('href') || '').match(/#nguon-(\\d+)-(\\d+)$/) : null;
    if (!m) return;
    event.preventDefault();
    event.stopPropagation();
    window.__nguonTrigger('cite', {turn: Number(m[1]), n: Number(m[2])});
  }, true);
}
"""
CSS = """
#nguon .nguon-card { font-size: 0.95rem; }
#nguon .nguon-title { font-weight: 600; margin-bottom: .4rem; }
#nguon .nguon-n { color: var(--color-accent); }
#nguon dl.nguon-meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .6rem;
  margin: 0 0 .5rem 0; }
#nguon dl.nguon-meta dt { font-weight: 600; }
#nguon dl.nguon-meta dd { margin: 0; overflow-wrap: anywhere; }
#nguon .nguon-kind { font-size: .85rem; opacity: .8; }
#nguon blockquote.nguon-passage { white-space: pre-wrap; margin: .3rem 0; padding: .5rem .7rem;
  border-left: 3px solid var(--color-accent); max-height: 26rem; overflow-y: auto; }
#nguon mark.nguon-cited { background: #ffe58a; color: #000; padding: 0 .1rem; }
#nguon .nguon-empty { opacity: .75; }
"""


def build(engine: Engine, app_settings: AppSettings, feedback: FeedbackLog) -> Any:
    """The Gradio Blocks of the app (not launched)."""

    def chat_messages(turns: list[dict]) -> list[dict]:
        messages = []
        for i, t in enumerate(turns):
            messages.append({"role": "user", "content": md_text(t["question"])})
            shown = t["asked"] if t["asked"] != t["question"] else None
            content = (answer_markdown(i, t["answer"], shown) if t.get("answer")
                       else f"⚠️ {md_text(t.get('error', ''))}")
            messages.append({"role": "assistant", "content": content})
        return messages

    def source_panel(turns: list[dict], turn: int, n: int) -> str:
        if not 0 <= turn < len(turns) or not turns[turn].get("answer"):
            return SOURCE_HINT
        answer = turns[turn]["answer"]
        cited = next((c for c in sources_of(answer) if c["n"] == n), None)
        if cited is None:
            return SOURCE_HINT
        if engine.ready:
            p = passage(engine.bot.kb.documents, engine.chunks_of, cited)
        else:
            p = Passage("", cited["quote"], "")
        return source_html(cited, p, refused=bool(answer.get("refused")))

    def respond(message: str, turns: list[dict], province: str,
                year: str) -> Iterator[tuple[Any, ...]]:
        message = " ".join((message or "").split())
        if not message:
            gr.Warning("Vui lòng nhập câu hỏi.")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        previous = next((t["asked"] for t in reversed(turns) if t.get("answer")), None)
        history = chat_messages(turns)
        asked, lead = message, ""

        def pending(text: str) -> list[dict]:
            return [*history, {"role": "user", "content": md_text(message)},
                    {"role": "assistant", "content": lead + text}]

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
            generated, shown_at = "", 0.0
            for event in answer_stream(
                    bot, asked, province=None if province in (None, "", ALL) else province,
                    year=None if year in (None, "", ALL) else int(year)):
                if isinstance(event, dict):
                    answer = event
                    break
                generated += event  # tokens of the language model, shown as they come
                if time.monotonic() - shown_at > 0.1:
                    shown_at = time.monotonic()
                    yield gr.skip(), pending(md_text(generated) + " ▌"), gr.skip(), gr.skip()
        except Exception as err:  # noqa: BLE001 - shown as one Vietnamese line
            if not isinstance(err, ChatError):
                log.warning("question failed: %s", err, exc_info=True)
            turns = [*turns, {**new_turn(message, asked, {}), "answer": None,
                              "error": vietnamese_error(err)}]
            yield "", chat_messages(turns), turns, gr.skip()
            return
        words = [] if generated or answer.get("table") else md_text(answer["answer"]).split(" ")
        for i in range(3, len(words), 3):  # extractive: the reply appears progressively
            yield gr.skip(), pending(" ".join(words[:i]) + " ▌"), gr.skip(), gr.skip()
            time.sleep(0.03)
        turns = [*turns, new_turn(message, asked, answer)]
        first = sources_of(answer)
        panel = source_panel(turns, len(turns) - 1, first[0]["n"]) if first else SOURCE_HINT
        yield "", chat_messages(turns), turns, panel

    def show_source(turns: list[dict], evt: gr.EventData) -> str:
        data = getattr(evt, "_data", None) or {}
        try:
            return source_panel(turns, int(data.get("turn", -1)), int(data.get("n", -1)))
        except (TypeError, ValueError):
            return SOURCE_HINT

    def log_like(turns: list[dict], data: gr.LikeData) -> str:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn = int(index) // 2
        if not 0 <= turn < len(turns):
            return ""
        feedback.append(turns[turn], "up" if data.liked is True else
                        "down" if data.liked is False else None)
        return "Đã ghi nhận đánh giá. Cảm ơn bạn!"

    def send_feedback(turns: list[dict], rating: str | None, comment: str) -> tuple[str, Any]:
        if not turns:
            return "Chưa có câu trả lời nào để góp ý.", gr.skip()
        if not rating and not (comment or "").strip():
            return "Chọn 👍 / 👎 hoặc viết góp ý trước khi gửi.", gr.skip()
        value: Literal["up", "down"] | None = ("up" if rating == "👍" else
                                                "down" if rating == "👎" else None)
        feedback.append(turns[-1], value, comment or "")
        return "Đã ghi nhận góp ý cho câu trả lời gần nhất. Cảm ơn bạn!", ""

    def upload(files: list[str] | None,
               progress: gr.Progress = gr.Progress()) -> dict:  # noqa: B008 - Gradio's idiom
        """Add documents (txt, md, html, pdf, docx) to the knowledge base; per-file results."""
        shares = {"check": (0.0, 0.1), "read": (0.1, 0.2), "ocr": (0.1, 0.2), "embed": (0.2, 0.95),
                  "write": (0.95, 1.0)}

        def report(stage: str, done: int, total: int) -> None:
            a, b = shares.get(stage, (0.0, 1.0))
            progress(a + (b - a) * (done / total if total else 1.0),
                     desc=f"{STAGES_VI.get(stage, stage).capitalize()} {done}/{total}")

        try:
            bot = engine.wait(timeout=WAIT_FOR_START_S)
            results = receive_uploads(
                bot, [(Path(f), Path(f).name) for f in files or []], engine.uploads_dir,
                app_settings.max_upload_bytes, app_settings.max_upload_files,
                lock=engine.write_lock, progress=report)
        except Exception as err:  # noqa: BLE001
            if not isinstance(err, ChatError):
                log.warning("upload failed: %s", err, exc_info=True)
            raise gr.Error(vietnamese_error(err)) from None
        return {"files": [r.to_json() for r in results], "documents": len(bot.kb.documents)}

    def show_upload(result: dict | None) -> tuple[Any, ...]:
        if not result:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        rows = [FileResult(**r) for r in result.get("files", [])]
        return (upload_markdown(rows, result.get("documents")), *filters(), engine.status())

    def filters() -> tuple[Any, Any]:
        if not engine.ready:
            return gr.skip(), gr.skip()
        kb = engine.bot.kb
        return (gr.update(choices=[ALL, *kb.provinces()]),
                gr.update(choices=[ALL, *map(str, kb.years())]))

    def poll() -> tuple[Any, ...]:
        done = engine.ready or engine.error is not None
        return (engine.status(), gr.Timer(active=not done), *filters())

    def ask(question: str, k: int | None = None, province: str | None = None,
            year: int | None = None) -> dict:
        """Answer a Vietnamese question from the reports, with citations, or refuse.

        Returns the JSON of `python -m assistant ask --json`: question, answer (text with [n]
        markers), refused, citations, related, timings_ms; in language-model mode also
        answerer, check (unverified sentences, uncited, removed markers), notice, fallback.
        """
        try:
            if k is not None and not 1 <= int(k) <= 100:
                raise ChatError("k phải nằm trong khoảng 1–100.")
            bot = engine.wait(timeout=WAIT_FOR_START_S)
            return bot.ask(question, k=k, province=province or None,
                           year=year or None).to_json_dict()
        except Exception as err:  # noqa: BLE001
            if not isinstance(err, ChatError):
                log.warning("/ask failed: %s", err, exc_info=True)
            raise gr.Error(vietnamese_error(err)) from None

    def indicators(indicator: str | None = None, province: str | None = None,
                   year: int | None = None, status: str | None = None) -> dict:
        """The indicator facts read from the reports, filtered: {"count", "facts": [{indicator,
        label, province, year, value, text, unit, status (result|target), doc, start, end,
        sentence}]} (same JSON as `python -m assistant indicators --format json`)."""
        from assistant.indicator_cli import facts_json

        try:
            bot = engine.wait(timeout=WAIT_FOR_START_S)
            return facts_json(bot.kb, indicator or None, province or None, year or None,
                              status or None)
        except Exception as err:  # noqa: BLE001
            if not isinstance(err, ChatError):
                log.warning("/indicators failed: %s", err, exc_info=True)
            raise gr.Error(vietnamese_error(err) if not str(err).startswith("unknown") else
                           "Không có chỉ số hoặc tỉnh này.") from None

    with gr.Blocks(title="Trợ lý báo cáo CNTT-TT", analytics_enabled=False) as demo:
        gr.Markdown("## Trợ lý hỏi đáp báo cáo CNTT-TT các tỉnh\nMọi con số trong câu trả lời "
                    "được trích nguyên văn từ báo cáo; nhấn vào [1], [2]… để kiểm tra nguồn.")
        status = gr.Markdown(engine.status(), elem_id="status")
        turns = gr.State([])
        # two tabs, the chat's content left at its indentation: "Hỏi đáp", then "Chỉ số"
        tabs, chat_tab = contextlib.ExitStack(), contextlib.ExitStack()
        tabs.enter_context(gr.Tabs(elem_id="tabs"))
        chat_tab.enter_context(gr.Tab("Hỏi đáp", id="hoi-dap", elem_id="tab-hoi-dap"))
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Hỏi đáp", elem_id="chat", height=520, layout="bubble",
                    latex_delimiters=[], buttons=["copy"], sanitize_html=True,
                    allow_tags=False, placeholder="Đặt câu hỏi về các báo cáo đã nạp.")
                with gr.Row():
                    message = gr.Textbox(placeholder="Nhập câu hỏi, ví dụ: Năm 2020 Bắc Giang "
                                         "có bao nhiêu trạm BTS?", show_label=False, scale=5,
                                         max_lines=4, elem_id="message", autofocus=True)
                    send = gr.Button("Gửi", variant="primary", scale=1, elem_id="send")
                examples = gr.Examples([[q] for q in EXAMPLES], inputs=[message],
                                       label="Câu hỏi mẫu (nhấn để hỏi)",
                                       api_visibility="private")
                with gr.Accordion("Góp ý cho câu trả lời gần nhất", open=False):
                    with gr.Row():
                        rating = gr.Radio(["👍", "👎"], label="Đánh giá", elem_id="rating")
                        comment = gr.Textbox(label="Góp ý (không bắt buộc)", scale=3,
                                             elem_id="comment")
                    send_comment = gr.Button("Gửi góp ý", elem_id="send-feedback")
                feedback_note = gr.Markdown(elem_id="feedback-note")
                new_chat = gr.Button("Cuộc hội thoại mới", size="sm", variant="secondary")
            with gr.Column(scale=2):
                with gr.Row():
                    province = gr.Dropdown([ALL], value=ALL, label="Tỉnh", elem_id="province")
                    year = gr.Dropdown([ALL], value=ALL, label="Năm", elem_id="year")
                gr.Markdown("### Nguồn")
                panel = gr.HTML(SOURCE_HINT, elem_id="nguon", js_on_load=JS_CITATIONS,
                                container=True, padding=True)
                with gr.Accordion("Tải tài liệu lên kho", open=False, elem_id="upload-box"):
                    files = gr.File(
                        label="Tệp txt, md, html, pdf (cả bản quét), docx, doc, odt, xlsx, xls, "
                              f"ods (tối đa "
                              f"{app_settings.max_upload_mb:g} MB mỗi tệp, "
                              f"{app_settings.max_upload_files} tệp mỗi lần)",
                        file_count="multiple", type="filepath", elem_id="upload-files")
                    add = gr.Button("Nạp vào kho", variant="primary", elem_id="upload-button")
                    upload_result = gr.Markdown(elem_id="upload-result")
                    upload_json = gr.JSON(visible=False)
        chat_tab.close()
        with gr.Tab("Chỉ số", id="chi-so", elem_id="tab-chi-so") as indicators_page:
            indicators_tab = build_indicator_tab(engine)
        tabs.close()
        timer = gr.Timer(1.0)

        chat_io: dict[str, Any] = dict(  # the reply itself shows progress
            inputs=[message, turns, province, year], outputs=[message, chatbot, turns, panel],
            api_visibility="private", show_progress="hidden")
        message.submit(respond, **chat_io)
        send.click(respond, **chat_io)
        examples.load_input_event.then(respond, **chat_io)
        panel.cite(show_source, inputs=[turns], outputs=[panel], api_visibility="private",
                   show_progress="hidden")
        chatbot.like(log_like, inputs=[turns], outputs=[feedback_note],
                     api_visibility="private")
        send_comment.click(send_feedback, inputs=[turns, rating, comment],
                           outputs=[feedback_note, comment], api_visibility="private")
        new_chat.click(lambda: ([], [], SOURCE_HINT), outputs=[chatbot, turns, panel],
                       api_visibility="private")
        chatbot.clear(lambda: ([], SOURCE_HINT), outputs=[turns, panel], api_visibility="private")
        add.click(upload, inputs=[files], outputs=[upload_json], api_name="upload",
                  show_progress_on=[upload_result], concurrency_id="index",
                  concurrency_limit=1).then(
            show_upload, inputs=[upload_json], outputs=[upload_result, province, year, status],
            api_visibility="private", show_progress="hidden")
        timer.tick(poll, outputs=[status, timer, province, year], api_visibility="private",
                   show_progress="hidden")
        demo.load(poll, outputs=[status, timer, province, year], api_visibility="private",
                  show_progress="hidden")
        for event in (demo.load, indicators_page.select):  # the facts, once the index is up
            event(indicators_tab["refresh"], inputs=indicators_tab["inputs"],
                  outputs=indicators_tab["outputs"], api_visibility="private",
                  show_progress="hidden")
        gr.api(ask, api_name="ask")
        gr.api(indicators, api_name="indicators")
    return demo


class LoginGate:
    """With a login configured, anonymous requests reach only the login page and the files it
    needs. Gradio checks the login on its data routes itself but leaves a few others open
    (``/gradio_api/app_id``, ``/token``, ``/user``, ``/openapi.json``);
    this closes every route not listed in :attr:`OPEN` (``python -m bench.reliability --only
    access`` enumerates them all)."""

    # gradio_client asks /gradio_api/startup-events (true or false, nothing else) without its
    # login cookie
    OPEN = re.compile(r"^/(?:login/?|logout|gradio_api/(?:login_check/?|startup-events)|"
                      r"favicon\.ico|"
                      r"theme\.css|gradio_api/theme\.css|robots\.txt|manifest\.json|pwa_icon.*|"
                      r"(?:static|assets|svelte)/.*)?$")

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        gradio_app = scope.get("app")
        if scope["type"] in ("http", "websocket") and getattr(gradio_app, "auth", None):
            page = scope["type"] == "http" and scope["path"] == "/"  # the login page
            if ((page or not self.OPEN.match(scope["path"]))
                    and not self._logged_in(scope, gradio_app)
                    and not api.header_login(scope, gradio_app.auth)):
                if page:
                    await self._login_page(scope, receive, send)
                elif scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await JSONResponse({"detail": "Not authenticated"}, status_code=401)(
                        scope, receive, send)
                return
        await self.app(scope, receive, send)

    API_INFO = re.compile(rb"<script>\s*window\.gradio_api_info\s*=.*?</script>", re.DOTALL)

    async def _login_page(self, scope: dict, receive: Any, send: Any) -> None:
        """The login page without the description of the API that Gradio puts in every page."""
        start: dict = {}
        body = bytearray()

        async def buffered(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            page = self.API_INFO.sub(b"", bytes(body))
            headers = [(k, v) for k, v in start.get("headers", [])
                       if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, buffered)

    @staticmethod
    def _logged_in(scope: dict, gradio_app: Any) -> bool:
        cookies = HTTPConnection(scope).cookies
        cookie_id = getattr(gradio_app, "cookie_id", "")
        tokens = getattr(gradio_app, "tokens", {})
        return any(cookies.get(f"{name}-{cookie_id}") in tokens
                   for name in ("access-token", "access-token-unsecure"))


def parse_args(argv: list[str] | None = None) -> tuple[Settings, AppSettings]:
    parser = argparse.ArgumentParser(
        description="Chat web app over the indexed ICT reports (settings also from "
                    "ASSISTANT_* environment variables).")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--index", type=Path, help="knowledge base folder")
    parser.add_argument("--data", type=Path,
                        help="data folder: reports/, uploads/ and feedback.jsonl live here")
    add_version(parser)
    parser.add_argument("--auth", metavar="USER:PASSWORD",
                        help="require this login (prefer ASSISTANT_AUTH: the command line is "
                             "visible to other users)")
    args = parser.parse_args(argv)
    core = {k: v for k, v in {"index_dir": args.index, "data_dir": args.data}.items() if v}
    app = {k: v for k, v in {"host": args.host, "port": args.port, "auth": args.auth}.items()
           if v is not None}
    return Settings(**core), AppSettings(**app)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings, app_settings = parse_args(argv)
    except ValidationError as err:
        first = err.errors()[0]
        print(f"error: invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}",
              file=sys.stderr)
        return 2
    engine = Engine(settings)
    engine.start()  # loads the model and the index (building it on the first start)
    feedback = FeedbackLog(app_settings.feedback_log or Path(settings.data_dir) / "feedback.jsonl")
    demo = build(engine, app_settings, feedback)
    demo.queue(default_concurrency_limit=4)
    theme = gr.themes.Soft(font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial",
                                 "sans-serif"], font_mono=["ui-monospace", "monospace"])
    try:
        demo.launch(
            server_name=app_settings.host, server_port=app_settings.port,
            auth=app_settings.credentials,
            auth_message="Đăng nhập để dùng trợ lý báo cáo CNTT-TT.",
            # a hard cap for the transfer itself: files over the per-file limit but under the cap
            # get a Vietnamese per-file reason; Gradio's own refusal above it is in English
            max_file_size=5 * app_settings.max_upload_bytes, footer_links=["api"],
            run_history=False, enable_monitoring=False, mcp_server=False, ssr_mode=False,
            show_error=False, theme=theme, css=CSS + INDICATOR_CSS,
            # no OpenAPI schema or docs pages; anonymous requests stop at the login page
            app_kwargs={"openapi_url": None, "docs_url": None, "redoc_url": None,
                        "middleware": [Middleware(LoginGate)],
                        # /api/ask and /v1/embeddings, matched before Gradio's own routes
                        "routes": api.routes(engine)})
    except OSError as err:
        print(f"error: cannot listen on {app_settings.host}:{app_settings.port} ({err})",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
