"""The web app as programs see it: command line and settings, and the ``/ask`` and ``/upload``
endpoints through ``gradio_client`` against ``python app.py`` on a loopback port.

``launch_app`` is shared with test_browser.py. The first app started in a test session builds
its index from the bundled reports; later ones start from a copy of it.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.running import BTS, RunningApp, free_port, launch_app, stop_app

ROOT = Path(__file__).resolve().parent.parent
UNANSWERABLE = "Năm 2020 Bắc Giang có bao nhiêu sân bay vũ trụ?"
REFUSAL = "Không tìm thấy thông tin này trong các báo cáo đã nạp."


def index_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "index-cache"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = launch_app(tmp_path_factory.mktemp("app"), index_cache(tmp_path_factory))
    yield running
    stop_app(running)


# --- command line and settings (no model) ---------------------------------------------------


def test_command_line_wins_over_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import app as webapp

    monkeypatch.setenv("ASSISTANT_PORT", "9000")
    monkeypatch.setenv("ASSISTANT_HOST", "0.0.0.0")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "env-index"))
    settings = webapp.parse_args(
        ["--port", "8123", "--data", str(tmp_path / "d"), "--auth", "staff:secret"]
    )
    assert (settings.host, settings.port) == ("0.0.0.0", 8123)
    assert settings.credentials == ("staff", "secret")
    assert settings.index_dir == tmp_path / "env-index"
    assert settings.data_dir == tmp_path / "d"
    settings = webapp.parse_args(["--index", str(tmp_path / "i")])
    assert settings.index_dir == tmp_path / "i" and settings.credentials is None


def test_bad_settings_exit_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app as webapp

    assert webapp.main(["--auth", "no-password"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid settings: auth") and "Traceback" not in err
    monkeypatch.setenv("ASSISTANT_PORT", "http")
    assert webapp.main([]) == 2
    assert capsys.readouterr().err.startswith("error: invalid settings: port")


def test_missing_model_exits_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_MODEL=str(tmp_path / "nonexistent"),
        ASSISTANT_INDEX_DIR=str(tmp_path / "index"),
        ASSISTANT_DATA_DIR=str(tmp_path / "data"),
        ASSISTANT_PORT=str(free_port()),
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nonexistent" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "index").exists()


# --- the app's wiring, with a fake assistant (no model) -------------------------------------


class FakeKB:
    documents: dict = {}
    chunks: list = []

    def __len__(self) -> int:
        return 0

    def provinces(self) -> list[str]:
        return ["Bắc Giang"]

    def years(self) -> list[int]:
        return [2020]


class FakeBot:
    kb = FakeKB()

    def ask(self, question: str, k=None, province=None, year=None):
        return self.ask_stream(question, k, province, year).answer

    def ask_stream(self, question: str, k=None, province=None, year=None):
        from assistant import Answer, Citation, EmptyQuestionError
        from assistant.streaming import AnswerStream

        if not question.strip():
            raise EmptyQuestionError("the question is empty; type a question about the reports")
        c = Citation(
            n=1,
            doc="/r/bg.txt",
            title="Báo cáo",
            province=province or "Bắc Giang",
            year=year or 2020,
            chunk_id="/r/bg.txt:0",
            start=0,
            end=5,
            quote="1.422",
            score=1.0,
        )
        return AnswerStream.done(
            Answer(
                question=question,
                answer=f"{question} k={k} [1].",
                refused=False,
                citations=[c],
                timings_ms={"total": 1.0},
            )
        )


@pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")
def test_ask_endpoint_wiring_without_model(tmp_path: Path) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    import app as webapp
    from assistant.config import AppSettings, Settings
    from assistant.web.engine import Engine
    from assistant.web.feedback import FeedbackLog

    engine = Engine(
        Settings(index_dir=tmp_path / "i", data_dir=tmp_path),
        opener=lambda settings, progress: FakeBot(),
    )
    engine.start().join(5)
    demo = webapp.build(engine, AppSettings(), FeedbackLog(tmp_path / "f.jsonl"))
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
        ssr_mode=False,
    )
    try:
        client = Client(f"http://127.0.0.1:{port}", verbose=False, analytics_enabled=False)
        answer = client.predict("Câu hỏi?", 3, "Bình Dương", 2022, api_name="/ask")
        assert answer == FakeBot().ask("Câu hỏi?", 3, "Bình Dương", 2022).to_json_dict()
        assert client.predict("Câu hỏi?", api_name="/ask")["answer"] == "Câu hỏi? k=None [1]."
        with pytest.raises(AppError, match="Vui lòng nhập câu hỏi"):
            client.predict("", api_name="/ask")
    finally:
        demo.close()


# --- the API, with the real model -----------------------------------------------------------


@pytest.mark.model
def test_ask_returns_the_json_of_the_cli(app: RunningApp) -> None:
    answer = app.client().predict(BTS, api_name="/ask")
    cli = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", BTS, "--json", "--index", str(app.index_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    expected = json.loads(cli.stdout)
    assert set(answer) == {"question", "answer", "refused", "citations", "related", "timings_ms"}
    assert set(answer["timings_ms"]) == set(expected["timings_ms"])
    answer.pop("timings_ms"), expected.pop("timings_ms")
    assert answer == expected


@pytest.mark.model
def test_ask_bts_question(app: RunningApp) -> None:
    answer = app.client().predict(BTS, api_name="/ask")
    assert answer["refused"] is False
    assert "1.422" in answer["answer"] and "[1]" in answer["answer"]
    [c] = answer["citations"]
    assert c["n"] == 1 and c["doc"].endswith("data/reports/bac-giang-2020.txt")
    assert (c["province"], c["year"]) == ("Bắc Giang", 2020)
    assert "1.422 trạm BTS" in c["quote"] and c["end"] - c["start"] == len(c["quote"])


@pytest.mark.model
def test_ask_with_filters_and_k(app: RunningApp) -> None:
    client = app.client()
    answer = client.predict(
        "Có bao nhiêu dịch vụ công trực tuyến mức độ 4?", 3, "Bình Dương", None, api_name="/ask"
    )
    assert answer["citations"]
    assert {c["province"] for c in answer["citations"]} == {"Bình Dương"}
    answer = client.predict(question=BTS, year=2020, api_name="/ask")
    assert "1.422" in answer["answer"]


@pytest.mark.model
def test_ask_refuses_honestly(app: RunningApp) -> None:
    answer = app.client().predict(UNANSWERABLE, api_name="/ask")
    assert answer["refused"] is True and answer["citations"] == []
    assert REFUSAL in answer["answer"]


@pytest.mark.model
def test_ask_errors_are_short_vietnamese(app: RunningApp) -> None:
    from gradio_client.exceptions import AppError

    client = app.client()
    with pytest.raises(AppError, match="Vui lòng nhập câu hỏi"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="k phải nằm trong khoảng"):
        client.predict(BTS, 0, api_name="/ask")
    with pytest.raises(AppError, match="Câu hỏi quá dài"):
        client.predict("trạm BTS " * 400, api_name="/ask")


@pytest.mark.model
def test_only_ask_and_upload_are_public(app: RunningApp) -> None:
    api = app.client().view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask", "/upload", "/indicators"}
    assert not api["unnamed_endpoints"]


@pytest.mark.model
def test_upload_via_api_then_answer_from_it(app: RunningApp, tmp_path: Path) -> None:
    from gradio_client import handle_file

    good = tmp_path / "Báo cáo Quảng Bình 2023.txt"
    good.write_text(
        "Báo cáo tình hình CNTT tỉnh Quảng Bình năm 2023\n\nNăm 2023, tỉnh Quảng "
        "Bình có 777 kỹ sư phần mềm làm việc tại khu công nghệ thông tin tập trung.\n",
        encoding="utf-8",
    )
    sneaky = tmp_path / "..\\..\\..\\escape.md"  # one file name on Linux
    sneaky.write_text("# Ghi chú\n\nTài liệu thử nghiệm đường dẫn, có 12 trang.\n", "utf-8")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00\x03")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    client = app.client()
    result = client.predict(
        [handle_file(p) for p in (good, sneaky, exe, empty)], api_name="/upload"
    )
    good_r, sneaky_r, exe_r, empty_r = result["files"]  # in the order sent
    assert good_r == {
        "name": good.name,
        "status": "added",
        "reason": "",
        "saved_as": "Bao-cao-Quang-Binh-2023.txt",
    }
    assert sneaky_r["status"] == "added" and sneaky_r["saved_as"] == "escape.md"
    assert exe_r["status"] == "rejected"
    assert exe_r["reason"].startswith("định dạng không được hỗ trợ")
    assert empty_r["status"] == "rejected" and empty_r["reason"] == "tệp rỗng"
    assert result["documents"] == 7
    uploads = app.data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["Bao-cao-Quang-Binh-2023.txt", "escape.md"]
    assert sorted(p.name for p in app.data_dir.parent.iterdir()) == ["app.log", "data", "index"]

    answer = client.predict("Năm 2023 Quảng Bình có bao nhiêu kỹ sư phần mềm?", api_name="/ask")
    assert "777" in answer["answer"]
    kept = (uploads / "Bao-cao-Quang-Binh-2023.txt").resolve()
    assert answer["citations"][0]["doc"] == kept.as_posix()

    again = client.predict([handle_file(good)], api_name="/upload")
    assert [r["status"] for r in again["files"]] == ["unchanged"]


def test_reply_handler_streams_then_shows_the_answer_and_its_source(tmp_path: Path) -> None:
    """The chat box's handler with a fake assistant: progressive text, then the answer with
    its sources and the first source in the panel; a failed start is one Vietnamese line."""
    from assistant.config import AppSettings, Settings
    from assistant.errors import IndexBusyError
    from assistant.web.engine import Engine
    from assistant.web.feedback import FeedbackLog
    from assistant.web.handlers import Handlers
    from assistant.web.messages import ALL

    settings = Settings(index_dir=tmp_path / "i", data_dir=tmp_path)
    engine = Engine(settings, opener=lambda settings, progress: FakeBot())
    engine.start().join(5)
    on = Handlers(engine, AppSettings(), FeedbackLog(tmp_path / "f.jsonl"))
    updates = list(on.respond("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?", [], ALL, ALL))
    assert updates[0][1][-1]["content"] == "⏳ Đang tìm trong các báo cáo…"
    assert any(u[1][-1]["content"].endswith(" ▌") for u in updates[1:-1])
    message, chat, turns, panel = updates[-1]
    assert message == "" and len(chat) == 2 and len(turns) == 1
    assert "[\\[1\\]](#nguon-0-1)" in chat[1]["content"] and "**Nguồn:**" in chat[1]["content"]
    assert '<mark class="nguon-cited">1.422</mark>' in panel

    def busy(settings: Settings, progress: object) -> object:
        raise IndexBusyError("another process is writing")

    failed = Engine(settings, opener=busy)
    failed.start().join(5)
    on = Handlers(failed, AppSettings(), FeedbackLog(tmp_path / "f.jsonl"))
    *_, (_, chat, turns, _) = on.respond("Câu hỏi?", [], ALL, ALL)
    assert turns[0]["answer"] is None
    assert chat[1]["content"] == "⚠️ Kho tài liệu đang được cập nhật. Vui lòng thử lại sau ít phút."
