"""Unit tests of the app's logic (assistant/web/): no model, no server, no browser."""

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import Document, IndexReport
from assistant.config import AppSettings, Settings
from assistant.errors import (
    AssistantError,
    BadFileError,
    EmptyQuestionError,
    IndexBusyError,
    NotReadyError,
    QuestionTooLongError,
    UploadError,
)
from assistant.ingest import Rejected
from assistant.web.engine import Engine
from assistant.web.feedback import FeedbackLog, new_turn
from assistant.web.followup import complete_question
from assistant.web.messages import vietnamese_error, vietnamese_reason
from assistant.web.render import Passage, answer_markdown, md_text, passage, source_html
from assistant.web.uploads import (
    FileResult,
    receive_uploads,
    safe_filename,
    upload_markdown,
    upload_path,
)

BTS = "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"


# --- follow-up questions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "completed"),
    [
        ("Còn Bình Dương thì sao?", "Năm 2020 Bình Dương có bao nhiêu trạm BTS?"),
        ("con binh duong thi sao", "Năm 2020 Bình Dương có bao nhiêu trạm BTS?"),
        ("Thế còn tỉnh Quảng Bình?", "Năm 2020 Quảng Bình có bao nhiêu trạm BTS?"),
        ("Bình Dương?", "Năm 2020 Bình Dương có bao nhiêu trạm BTS?"),
        ("Bình Dương có bao nhiêu?", "Năm 2020 Bình Dương có bao nhiêu trạm BTS?"),
        ("Vậy còn TP.HCM?", "Năm 2020 Hồ Chí Minh có bao nhiêu trạm BTS?"),
        ("Còn năm 2019?", "Năm 2019 Bắc Giang có bao nhiêu trạm BTS?"),
        ("Năm trước thì sao?", "Năm 2019 Bắc Giang có bao nhiêu trạm BTS?"),
        ("Còn Bắc Kạn năm 2019 thì sao?", "Năm 2019 Bắc Kạn có bao nhiêu trạm BTS?"),
    ],
)
def test_follow_up_replaces_province_or_year(message: str, completed: str) -> None:
    assert complete_question(message, BTS) == completed


@pytest.mark.parametrize(
    "message",
    [
        "Bình Dương có bao nhiêu doanh nghiệp CNTT?",  # a question of its own
        "Năm 2022 Bình Dương cài đặt bao nhiêu dịch vụ công mức độ 4?",
        "Thì sao?",  # nothing to put in
        "Cảm ơn",
    ],
)
def test_complete_questions_are_kept(message: str) -> None:
    assert complete_question(message, BTS) == message


def test_follow_up_inserts_what_the_previous_question_lacks() -> None:
    assert (
        complete_question("Còn Bình Dương?", "Có bao nhiêu trạm BTS?")
        == "Có bao nhiêu trạm BTS ở Bình Dương?"
    )
    assert (
        complete_question("Còn năm 2019?", "Bắc Kạn có bao nhiêu trạm BTS?")
        == "Bắc Kạn có bao nhiêu trạm BTS năm 2019?"
    )
    # no year to count from: "năm trước" alone says nothing
    assert (
        complete_question("Năm trước thì sao?", "Bắc Kạn có bao nhiêu trạm BTS?")
        == "Năm trước thì sao?"
    )


def test_follow_up_of_a_comparison_keeps_one_province() -> None:
    assert (
        complete_question("Còn Quảng Bình?", "Số trạm BTS của Bắc Giang và Bình Dương?")
        == "Số trạm BTS của Quảng Bình?"
    )


def test_no_previous_question() -> None:
    assert complete_question("Còn Bình Dương thì sao?", None) == "Còn Bình Dương thì sao?"
    assert complete_question("  Còn   Bình Dương  ", None) == "Còn Bình Dương"


# --- file names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\x.txt", "x.txt"),
        ("/abs/path/report.md", "report.md"),
        ("Báo cáo Bắc Giang 2020.PDF", "Bao-cao-Bac-Giang-2020.pdf"),
        (".bashrc", "tai-lieu.bashrc"),
        ("...", "tai-lieu"),
        ("a/b/.hidden.txt", "hidden.txt"),
        ("tệp<script>.md", "tep-script.md"),
        ("名前.docx", "tai-lieu.docx"),
        ("x" * 300 + ".txt", "x" * 100 + ".txt"),
        ("a..b....txt", "a.b.txt"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.mark.parametrize(
    "name",
    [
        "../../../../tmp/evil.txt",
        "..",
        "/",
        "\\\\server\\share\\x.md",
        "..\\..",
        "a/../../b.txt",
        "\x00.txt",
        "~/.ssh/id.txt",
    ],
)
def test_upload_path_stays_in_the_folder(tmp_path: Path, name: str) -> None:
    target = upload_path(tmp_path / "uploads", name)
    assert target.parent == (tmp_path / "uploads").resolve()
    assert not target.name.startswith(".")


# --- uploads --------------------------------------------------------------------------------


class FakeBot:
    """Records what it was asked to index; answers like ``Assistant.index``."""

    def __init__(self) -> None:
        self.indexed: list[list[Path]] = []
        self.known: dict[str, bytes] = {}

    def index(self, paths: list[Path], progress=None) -> IndexReport:
        self.indexed.append(list(paths))
        report = IndexReport()
        for p in paths:
            doc_id = Path(p).resolve().as_posix()
            data = Path(p).read_bytes()
            if doc_id not in self.known:
                report.added.append(doc_id)
            elif self.known[doc_id] == data:
                report.unchanged.append(doc_id)
            else:
                report.updated.append(doc_id)
            self.known[doc_id] = data
            if progress:
                progress("embed", 1, 1)
        return report


def _file(folder: Path, name: str, data: bytes | str) -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tmp-{len(list(folder.iterdir()))}"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path, name


REPORT = "Báo cáo tỉnh Quảng Bình năm 2023\n\nNăm 2023, Quảng Bình có 777 kỹ sư phần mềm.\n"


def test_receive_uploads_results_per_file(tmp_path: Path) -> None:
    inbox, uploads, bot = tmp_path / "in", tmp_path / "data" / "uploads", FakeBot()
    files = [
        _file(inbox, "Báo cáo mới.txt", REPORT),
        _file(inbox, "../../escape.md", REPORT.replace("777", "778")),
        _file(inbox, "virus.exe", b"MZ\x90\x00"),
        _file(inbox, "empty.txt", b"   \n"),
        _file(inbox, "binary.txt", bytes(range(256)) * 2),
        _file(inbox, "big.txt", "a" * 2000),
        _file(inbox, "broken.pdf", b"%PDF-1.4 not really"),
    ]
    seen: list[str] = []
    results = receive_uploads(
        bot,
        files,
        uploads,
        max_bytes=1000,
        max_files=10,
        progress=lambda stage, done, total: seen.append(stage),
    )
    by_name = {r.name: r for r in results}
    assert [r.name for r in results] == [name for _, name in files]
    assert by_name["Báo cáo mới.txt"].status == "added"
    assert by_name["Báo cáo mới.txt"].saved_as == "Bao-cao-moi.txt"
    assert by_name["../../escape.md"].status == "added"
    assert by_name["../../escape.md"].saved_as == "escape.md"
    assert by_name["virus.exe"].reason.startswith("định dạng không được hỗ trợ")
    assert by_name["empty.txt"].reason == "tệp rỗng"
    assert by_name["binary.txt"].reason == "nội dung nhị phân, không phải văn bản"
    assert by_name["big.txt"].reason == "tệp quá lớn (2 KB, giới hạn 1 KB)"
    assert by_name["broken.pdf"].reason == "PDF bị hỏng hoặc không đọc được"
    # only accepted originals are kept, under their safe names, inside the uploads folder
    assert sorted(p.name for p in uploads.iterdir()) == ["Bao-cao-moi.txt", "escape.md"]
    assert not (tmp_path / "escape.md").exists() and not (tmp_path / "data" / "escape.md").exists()
    assert bot.indexed == [[uploads.resolve() / "Bao-cao-moi.txt", uploads.resolve() / "escape.md"]]
    assert "check" in seen and "embed" in seen

    again = receive_uploads(
        bot,
        [
            _file(inbox, "Báo cáo mới.txt", REPORT),
            _file(inbox, "escape.md", REPORT + "Thêm một dòng.\n"),
        ],
        uploads,
        max_bytes=1000,
        max_files=10,
    )
    assert [r.status for r in again] == ["unchanged", "updated"]


def test_a_bad_new_version_keeps_the_old_original(tmp_path: Path) -> None:
    inbox, uploads, bot = tmp_path / "in", tmp_path / "uploads", FakeBot()
    receive_uploads(bot, [_file(inbox, "r.txt", REPORT)], uploads, 10_000, 5)
    [result] = receive_uploads(bot, [_file(inbox, "r.txt", b"")], uploads, 10_000, 5)
    assert result.status == "rejected" and result.reason == "tệp rỗng"
    assert (uploads / "r.txt").read_text() == REPORT
    assert [p.name for p in uploads.iterdir()] == ["r.txt"]  # no staged leftovers


def test_same_name_twice_in_one_upload(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    results = receive_uploads(
        FakeBot(),
        [_file(inbox, "a b.txt", REPORT), _file(inbox, "a-b.txt", REPORT)],
        tmp_path / "uploads",
        10_000,
        5,
    )
    assert [r.status for r in results] == ["added", "rejected"]
    assert "trùng tên" in results[1].reason


def test_upload_limits(tmp_path: Path) -> None:
    with pytest.raises(UploadError) as too_many:
        receive_uploads(
            FakeBot(),
            [_file(tmp_path, f"{i}.txt", REPORT) for i in range(3)],
            tmp_path / "uploads",
            10_000,
            max_files=2,
        )
    assert "tối đa 2 tệp" in vietnamese_error(too_many.value)
    with pytest.raises(UploadError) as none:
        receive_uploads(FakeBot(), [], tmp_path / "uploads", 10_000, 2)
    assert "Chưa chọn tệp" in vietnamese_error(none.value)


def test_core_rejection_is_reported_in_vietnamese(tmp_path: Path) -> None:
    class Rejecting(FakeBot):
        def index(self, paths, progress=None):
            return IndexReport(
                rejected=[Rejected(str(paths[0]), "cannot decode the text", "file_encoding")]
            )

    [result] = receive_uploads(
        Rejecting(), [_file(tmp_path, "x.txt", REPORT)], tmp_path / "uploads", 10_000, 5
    )
    assert result.status == "rejected"
    assert result.reason.startswith("không giải mã được")


def test_upload_markdown_escapes_names() -> None:
    table = upload_markdown(
        [
            FileResult(
                "<img src=x onerror=alert(1)>.txt", "rejected", "định dạng không được hỗ trợ"
            ),
            FileResult("Báo cáo.txt", "added", saved_as="Bao-cao.txt"),
        ],
        7,
    )
    assert "<img" not in table and "&lt;img" in table
    assert "❌ Bị từ chối" in table and "✅ Đã thêm" in table
    assert "lưu thành Bao\\-cao.txt" in table and "7 tài liệu" in table


# --- rendering ------------------------------------------------------------------------------

CITATION = {
    "n": 1,
    "doc": "/r/bac-giang-2020.txt",
    "title": "Báo cáo <b>Bắc Giang</b>",
    "province": "Bắc Giang",
    "year": 2020,
    "published": "2021-01-23",
    "source_url": "https://example.org/a?b=1&c=<x>",
    "chunk_id": "/r/bac-giang-2020.txt:10",
    "start": 20,
    "end": 46,
    "quote": "có 1.422 trạm <script>BTS",
    "score": 1.0,
}
ANSWER = {
    "question": BTS,
    "answer": "Theo báo cáo: có 1.422 trạm <script>BTS [1].",
    "refused": False,
    "citations": [CITATION],
    "related": [],
    "timings_ms": {},
}


def test_md_text_escapes_html_and_markdown() -> None:
    assert md_text("<script>alert('x')</script>") == "&lt;script&gt;alert\\('x'\\)&lt;/script&gt;"
    assert (
        md_text("**đậm** [a](javascript:x) $$x$$")
        == "\\*\\*đậm\\*\\* \\[a\\]\\(javascript:x\\) \\$\\$x\\$\\$"
    )
    assert md_text("1.422 trạm, 45,7%") == "1.422 trạm, 45,7%"


def test_answer_markdown_links_citations_and_lists_sources() -> None:
    md = answer_markdown(3, ANSWER, asked="Năm 2020 Bình Dương?")
    assert md.startswith("*Câu hỏi được hiểu là:* «Năm 2020 Bình Dương?»")
    assert "trạm &lt;script&gt;BTS [\\[1\\]](#nguon-3-1)." in md
    assert (
        "**Nguồn:**\n- [\\[1\\] Báo cáo &lt;b&gt;Bắc Giang&lt;/b&gt; — Bắc Giang, 2020]"
        "(#nguon-3-1)" in md
    )
    assert "<script>" not in md and "<b>" not in md


def test_answer_markdown_of_a_refusal_lists_related_passages() -> None:
    refusal = {
        **ANSWER,
        "answer": "Không tìm thấy thông tin này.",
        "refused": True,
        "citations": [],
        "related": [CITATION],
    }
    md = answer_markdown(0, refusal)
    assert md.startswith("Không tìm thấy thông tin này.")
    assert "**Có thể liên quan:**" in md and "(#nguon-0-1)" in md


def test_a_number_in_brackets_that_is_no_citation_stays_text() -> None:
    md = answer_markdown(0, {**ANSWER, "answer": "Xem [7] và [1]."})
    assert "\\[7\\] và [\\[1\\]](#nguon-0-1)" in md


def _doc(text: str) -> Document:
    return Document(
        id="/r/bac-giang-2020.txt",
        path="/r/bac-giang-2020.txt",
        title="t",
        text=text,
        sha256="0",
        format="txt",
    )


def test_passage_is_the_chunk_around_the_quote() -> None:
    text = "Mở đầu. " + "x" * 2 + " Hiện nay có 1.422 trạm <script>BTS; tiếp theo. Hết."
    start = text.index("có 1.422")
    c = {**CITATION, "start": start, "end": start + len(CITATION["quote"])}
    chunk = SimpleNamespace(id=c["chunk_id"], start=10, end=len(text) - 5)
    p = passage({c["doc"]: _doc(text)}, lambda doc_id: [chunk], c)
    assert p.cited == CITATION["quote"]
    assert p.before == text[10:start] and p.after == text[c["end"] : len(text) - 5]


def test_passage_of_a_changed_document_is_the_quote_only() -> None:
    p = passage(
        {CITATION["doc"]: _doc("another text entirely, much longer than before")},
        lambda doc_id: [],
        CITATION,
    )
    assert p == Passage("", CITATION["quote"], "")
    assert passage({}, lambda doc_id: [], CITATION) == Passage("", CITATION["quote"], "")


def test_source_html_escapes_everything_from_documents() -> None:
    html = source_html(
        CITATION,
        Passage(
            "<img src=x onerror=alert(1)> ",
            CITATION["quote"],
            " </blockquote><script>alert(2)</script>",
        ),
    )
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert '<mark class="nguon-cited">có 1.422 trạm &lt;script&gt;BTS</mark>' in html
    assert "Báo cáo &lt;b&gt;Bắc Giang&lt;/b&gt;" in html
    assert '<a href="https://example.org/a?b=1&amp;c=&lt;x&gt;" target="_blank"' in html
    assert "<dt>Tỉnh</dt><dd>Bắc Giang</dd><dt>Năm</dt><dd>2020</dd>" in html
    assert html.count("<blockquote") == 1 and html.count("</blockquote>") == 1


def test_source_html_links_only_web_addresses() -> None:
    html = source_html({**CITATION, "source_url": "javascript:alert(1)"}, Passage("", "q", ""))
    assert "<a href" not in html and "javascript:alert(1)" in html


# --- feedback -------------------------------------------------------------------------------


def test_feedback_log_appends_one_json_line_per_feedback(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "logs" / "feedback.jsonl")
    turn = new_turn("Còn Bình Dương thì sao?", "Năm 2020 Bình Dương có bao nhiêu trạm BTS?", ANSWER)
    log.append(turn, "up")
    log.append(turn, "down", "  Sai   số liệu\nnăm ")
    threads = [threading.Thread(target=log.append, args=(turn, None, f"c{i}")) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "logs" / "feedback.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 22
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert set(first) == {
        "time",
        "rating",
        "comment",
        "question",
        "asked",
        "answer",
        "refused",
        "citations",
    }
    assert first["rating"] == "up" and first["comment"] == ""
    assert first["question"] == "Còn Bình Dương thì sao?"
    assert first["asked"] == "Năm 2020 Bình Dương có bao nhiêu trạm BTS?"
    assert first["answer"] == ANSWER["answer"] and first["refused"] is False
    assert first["citations"] == [
        {
            k: CITATION[k]
            for k in ("n", "doc", "title", "province", "year", "chunk_id", "start", "end", "quote")
        }
    ]
    assert first["time"][:2] == "20" and "T" in first["time"]
    assert second["rating"] == "down" and second["comment"] == "Sai số liệu năm"
    assert "Bình Dương" in lines[0]  # readable UTF-8, not \\u escapes
    assert sorted(json.loads(x)["comment"] for x in lines[2:]) == sorted(f"c{i}" for i in range(20))


# --- settings, errors, engine ---------------------------------------------------------------


def test_app_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_HOST", "0.0.0.0")
    monkeypatch.setenv("ASSISTANT_PORT", "8080")
    monkeypatch.setenv("ASSISTANT_AUTH", "staff:p@ss:word")
    s = Settings()  # the one reader of the environment; AppSettings alone reads nothing
    assert (s.host, s.port, s.credentials) == ("0.0.0.0", 8080, ("staff", "p@ss:word"))
    assert AppSettings(auth="").credentials is None and Settings(auth="").credentials is None
    assert AppSettings(max_upload_mb=1).max_upload_bytes == 1024 * 1024
    for bad in ("staff", ":pw", "staff:"):
        with pytest.raises(ValueError, match="user:password"):
            AppSettings(auth=bad)
    with pytest.raises(ValueError):
        AppSettings(port=70000)


def test_errors_become_short_vietnamese_lines() -> None:
    assert (
        vietnamese_error(EmptyQuestionError("the question is empty; type a question"))
        == "Vui lòng nhập câu hỏi."
    )
    assert "quá dài" in vietnamese_error(QuestionTooLongError("the question is longer than 2000"))
    # the class decides, not the wording
    assert vietnamese_error(AssistantError("the file is empty")) != "Vui lòng nhập câu hỏi."
    assert "đang được cập nhật" in vietnamese_error(IndexBusyError("another process"))
    assert (
        vietnamese_error(BadFileError("file is empty", code="file_empty"))
        == "Tệp không hợp lệ: tệp rỗng."
    )
    # the code decides, not the English text
    assert (
        vietnamese_error(BadFileError("the file is empty", code="pdf_encrypted"))
        == "Tệp không hợp lệ: PDF có mật khẩu."
    )
    assert (
        vietnamese_error(UploadError("x", code="upload_too_many", limit=3))
        == "Mỗi lần chỉ tải lên tối đa 3 tệp."
    )
    generic = vietnamese_error(RuntimeError("Traceback (most recent call last): secret"))
    assert generic == "Đã xảy ra lỗi khi xử lý yêu cầu. Vui lòng thử lại."
    assert vietnamese_reason("something new") == "không đọc được tệp"
    assert vietnamese_reason("file_too_large") == "tệp quá lớn"


def test_engine_loads_in_the_background_and_reports_progress(tmp_path: Path) -> None:
    gate = threading.Event()

    def opener(settings: Settings, progress) -> object:
        progress("embed", 32, 110)
        gate.wait(5)
        return SimpleNamespace(kb=None)

    engine = Engine(Settings(index_dir=tmp_path / "i", data_dir=tmp_path), opener=opener)
    engine.start()
    for _ in range(100):
        if engine.stage == "embed":
            break
        threading.Event().wait(0.01)
    assert not engine.ready
    assert engine.status() == "⏳ Đang khởi động: nhúng các đoạn 32/110 (29%)…"
    with pytest.raises(NotReadyError) as starting:
        engine.wait(timeout=0.01)
    assert "đang khởi động" in vietnamese_error(starting.value)
    gate.set()
    assert engine.wait(timeout=5) is engine.bot and engine.ready
    assert engine.uploads_dir == tmp_path / "uploads"


def test_engine_failure_is_a_vietnamese_message(tmp_path: Path) -> None:
    def opener(settings: Settings, progress) -> object:
        raise IndexBusyError("another process is writing")

    engine = Engine(Settings(index_dir=tmp_path / "i", data_dir=tmp_path), opener=opener)
    engine.start().join(5)
    assert not engine.ready and engine.status().startswith("⚠️ Kho tài liệu đang được cập nhật")
    with pytest.raises(NotReadyError) as failed:
        engine.wait(timeout=1)
    assert "đang được cập nhật" in vietnamese_error(failed.value)


@pytest.mark.parametrize(
    "name",
    [
        "assistant.web.followup",
        "assistant.web.messages",
        "assistant.web.render",
        "assistant.web.uploads",
        "assistant.config",
    ],
)
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
