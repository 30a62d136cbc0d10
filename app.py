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

The page only: its handlers, texts and the assistant's loading live in ``assistant/web/``,
retrieval in ``assistant``.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from assistant import api
from assistant.about import add_version
from assistant.bot import load_encoder
from assistant.cli import print_error, settings_from_env
from assistant.config import AppSettings, Settings
from assistant.errors import AssistantError
from assistant.web import asset
from assistant.web.auth import LoginGate
from assistant.web.engine import Engine
from assistant.web.feedback import FeedbackLog
from assistant.web.handlers import Handlers
from assistant.web.indicators import build_tab as build_indicator_tab
from assistant.web.messages import ALL
from assistant.web.render import SOURCE_HINT

log = logging.getLogger("app")

EXAMPLES = [
    "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?",
    "Bình Dương đã cài đặt bao nhiêu dịch vụ công trực tuyến mức độ 4?",
    "Năm 2020 Bắc Giang đứng thứ mấy về xếp hạng ứng dụng CNTT?",
    "Quảng Bình có bao nhiêu tên miền .vn?",
    "Bắc Kạn có bao nhiêu hộ nghèo, cận nghèo được hỗ trợ đầu thu truyền hình số?",
    "So sánh số trạm BTS của các tỉnh",  # answered from the indicator table
]


def build(engine: Engine, app_settings: AppSettings, feedback: FeedbackLog) -> gr.Blocks:
    """The Gradio Blocks of the app (not launched)."""
    on = Handlers(engine, app_settings, feedback)
    with gr.Blocks(title="Trợ lý báo cáo CNTT-TT", analytics_enabled=False) as demo:
        gr.Markdown(
            "## Trợ lý hỏi đáp báo cáo CNTT-TT các tỉnh\nMọi con số trong câu trả lời "
            "được trích nguyên văn từ báo cáo; nhấn vào [1], [2]… để kiểm tra nguồn."
        )
        status = gr.Markdown(engine.status(), elem_id="status")
        turns = gr.State([])
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Hỏi đáp", id="hoi-dap", elem_id="tab-hoi-dap"), gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Hỏi đáp",
                        elem_id="chat",
                        height=520,
                        layout="bubble",
                        latex_delimiters=[],
                        buttons=["copy"],
                        sanitize_html=True,
                        allow_tags=False,
                        placeholder="Đặt câu hỏi về các báo cáo đã nạp.",
                    )
                    with gr.Row():
                        message = gr.Textbox(
                            placeholder="Nhập câu hỏi, ví dụ: Năm 2020 Bắc Giang "
                            "có bao nhiêu trạm BTS?",
                            show_label=False,
                            scale=5,
                            max_lines=4,
                            elem_id="message",
                            autofocus=True,
                        )
                        send = gr.Button("Gửi", variant="primary", scale=1, elem_id="send")
                    examples = gr.Examples(
                        [[q] for q in EXAMPLES],
                        inputs=[message],
                        label="Câu hỏi mẫu (nhấn để hỏi)",
                        api_visibility="private",
                    )
                    with gr.Accordion("Góp ý cho câu trả lời gần nhất", open=False):
                        with gr.Row():
                            rating = gr.Radio(["👍", "👎"], label="Đánh giá", elem_id="rating")
                            comment = gr.Textbox(
                                label="Góp ý (không bắt buộc)", scale=3, elem_id="comment"
                            )
                        send_comment = gr.Button("Gửi góp ý", elem_id="send-feedback")
                    feedback_note = gr.Markdown(elem_id="feedback-note")
                    new_chat = gr.Button("Cuộc hội thoại mới", size="sm", variant="secondary")
                with gr.Column(scale=2):
                    with gr.Row():
                        province = gr.Dropdown([ALL], value=ALL, label="Tỉnh", elem_id="province")
                        year = gr.Dropdown([ALL], value=ALL, label="Năm", elem_id="year")
                    gr.Markdown("### Nguồn")
                    panel = gr.HTML(
                        SOURCE_HINT,
                        elem_id="nguon",
                        js_on_load=asset("citations.js"),
                        container=True,
                        padding=True,
                    )
                    with gr.Accordion("Tải tài liệu lên kho", open=False, elem_id="upload-box"):
                        files = gr.File(
                            label="Tệp txt, md, html, pdf (cả bản quét), docx, doc, odt, xlsx, "
                            f"xls, ods (tối đa "
                            f"{app_settings.max_upload_mb:g} MB mỗi tệp, "
                            f"{app_settings.max_upload_files} tệp mỗi lần)",
                            file_count="multiple",
                            type="filepath",
                            elem_id="upload-files",
                        )
                        add = gr.Button("Nạp vào kho", variant="primary", elem_id="upload-button")
                        upload_result = gr.Markdown(elem_id="upload-result")
                        upload_json = gr.JSON(visible=False)
            with gr.Tab("Chỉ số", id="chi-so", elem_id="tab-chi-so") as indicators_page:
                indicators_tab = build_indicator_tab(engine)
        timer = gr.Timer(1.0)

        chat_io: dict[str, Any] = dict(  # the reply itself shows progress
            inputs=[message, turns, province, year],
            outputs=[message, chatbot, turns, panel],
            api_visibility="private",
            show_progress="hidden",
        )
        message.submit(on.respond, **chat_io)
        send.click(on.respond, **chat_io)
        examples.load_input_event.then(on.respond, **chat_io)
        panel.cite(
            on.show_source,
            inputs=[turns],
            outputs=[panel],
            api_visibility="private",
            show_progress="hidden",
        )
        chatbot.like(on.log_like, inputs=[turns], outputs=[feedback_note], api_visibility="private")
        send_comment.click(
            on.send_feedback,
            inputs=[turns, rating, comment],
            outputs=[feedback_note, comment],
            api_visibility="private",
        )
        new_chat.click(on.new_chat, outputs=[chatbot, turns, panel], api_visibility="private")
        chatbot.clear(on.clear, outputs=[turns, panel], api_visibility="private")
        add.click(
            on.upload,
            inputs=[files],
            outputs=[upload_json],
            api_name="upload",
            show_progress_on=[upload_result],
            concurrency_id="index",
            concurrency_limit=1,
        ).then(
            on.show_upload,
            inputs=[upload_json],
            outputs=[upload_result, province, year, status],
            api_visibility="private",
            show_progress="hidden",
        )
        timer.tick(
            on.poll,
            outputs=[status, timer, province, year],
            api_visibility="private",
            show_progress="hidden",
        )
        demo.load(
            on.poll,
            outputs=[status, timer, province, year],
            api_visibility="private",
            show_progress="hidden",
        )
        for event in (demo.load, indicators_page.select):  # the facts, once the index is up
            event(
                indicators_tab["refresh"],
                inputs=indicators_tab["inputs"],
                outputs=indicators_tab["outputs"],
                api_visibility="private",
                show_progress="hidden",
            )
        gr.api(on.ask, api_name="ask")
        gr.api(on.indicators, api_name="indicators")
    return demo


def parse_args(argv: list[str] | None = None) -> Settings:
    """The settings: the environment's, then the command line's (the app's among them)."""
    parser = argparse.ArgumentParser(
        description="Chat web app over the indexed ICT reports (settings also from "
        "ASSISTANT_* environment variables)."
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--index", type=Path, help="knowledge base folder")
    parser.add_argument(
        "--data", type=Path, help="data folder: reports/, uploads/ and feedback.jsonl live here"
    )
    add_version(parser)
    parser.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require this login (prefer ASSISTANT_AUTH: the command line is "
        "visible to other users)",
    )
    args = parser.parse_args(argv)
    given = {
        "index_dir": args.index,
        "data_dir": args.data,
        "host": args.host,
        "port": args.port,
        "auth": args.auth,
    }
    return settings_from_env(**given)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:  # the model first: a wrong one is one line here, not a page that never gets ready
        settings = parse_args(argv)
        encoder = load_encoder(settings)
    except AssistantError as err:
        return print_error(err)
    engine = Engine(settings, encoder=encoder)
    engine.start()  # loads the index (building it on the first start)
    feedback = FeedbackLog(settings.feedback_log or Path(settings.data_dir) / "feedback.jsonl")
    demo = build(engine, settings, feedback)
    demo.queue(default_concurrency_limit=4)
    theme = gr.themes.Soft(
        font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    try:
        demo.launch(
            server_name=settings.host,
            server_port=settings.port,
            auth=settings.credentials,
            auth_message="Đăng nhập để dùng trợ lý báo cáo CNTT-TT.",
            # a hard cap for the transfer itself: files over the per-file limit but under the cap
            # get a Vietnamese per-file reason; Gradio's own refusal above it is in English
            max_file_size=5 * settings.max_upload_bytes,
            footer_links=["api"],
            run_history=False,
            enable_monitoring=False,
            mcp_server=False,
            ssr_mode=False,
            show_error=False,
            theme=theme,
            css=asset("app.css"),
            # no OpenAPI schema or docs pages; anonymous requests stop at the login page
            app_kwargs={
                "openapi_url": None,
                "docs_url": None,
                "redoc_url": None,
                "middleware": [Middleware(LoginGate)],
                # /api/ask and /v1/embeddings, matched before Gradio's own routes
                "routes": api.routes(engine),
            },
        )
    except OSError as err:
        print(f"error: cannot listen on {settings.host}:{settings.port} ({err})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
