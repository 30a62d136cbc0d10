"""End to end in a real browser: Debian's chromium driven by Playwright against ``python app.py``
started on a loopback port, with a login set (so every test also shows the login works).

One app process and one browser serve the whole module; each test gets a fresh page, logged in.
Screenshots go to ``$TEST_ARTIFACTS`` (default ``build/test-artifacts/browser/``).

Needs: ``apt-get install -y chromium`` and ``pip install playwright`` (never
``playwright install``: the browser is Debian's).
"""

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_app import BTS, REFUSAL, UNANSWERABLE, RunningApp, index_cache, launch_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOGIN = ("staff", "mật-khẩu-thử")
ARTIFACTS = (
    Path(
        os.environ.get("TEST_ARTIFACTS")
        or Path(__file__).resolve().parent.parent / "build" / "test-artifacts"
    )
    / "browser"
)
ANSWER_TIMEOUT_MS = 120_000

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is missing: apt-get install -y chromium", allow_module_level=True
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = launch_app(
        tmp_path_factory.mktemp("browser-app"), index_cache(tmp_path_factory), auth=LOGIN
    )
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def browser() -> Iterator["playwright_api.Browser"]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def log_in(page: "playwright_api.Page", url: str, user: str, password: str) -> None:
    page.goto(url)
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").first.fill(password)
    page.get_by_role("button", name="Login").click()


@pytest.fixture(scope="module")
def logged_in(browser, server: RunningApp) -> dict:
    """The cookies of a logged-in user, shared by the tests' pages."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url, *LOGIN)
    page.wait_for_selector("#message textarea", timeout=60_000)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def page(
    browser, server: RunningApp, logged_in: dict, request: pytest.FixtureRequest
) -> Iterator["playwright_api.Page"]:
    context = browser.new_context(storage_state=logged_in, viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    p.dialogs = []  # type: ignore[attr-defined]

    def on_dialog(dialog) -> None:
        p.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()

    p.on("dialog", on_dialog)
    p.goto(server.url)
    p.wait_for_selector("#message textarea")
    p.wait_for_function("() => document.querySelector('#status')?.innerText.includes('Sẵn sàng')")
    yield p
    screenshot(p, request.node.name)
    context.close()


def screenshot(page: "playwright_api.Page", name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def bot_messages(page: "playwright_api.Page") -> "playwright_api.Locator":
    return page.locator("#chat [data-testid=bot]")


def ask(page: "playwright_api.Page", question: str) -> "playwright_api.Locator":
    """Type a question, press Enter, and return the finished reply."""
    before = bot_messages(page).count()
    page.fill("#message textarea", question)
    page.press("#message textarea", "Enter")
    return wait_for_reply(page, before + 1)


def wait_for_reply(page: "playwright_api.Page", count: int) -> "playwright_api.Locator":
    page.wait_for_function(
        """(n) => {
             const bots = document.querySelectorAll('#chat [data-testid=bot]');
             if (bots.length !== n) return false;
             const text = bots[n - 1].innerText;
             return text.trim() && !text.includes('▌') && !text.includes('⏳');
           }""",
        arg=count,
        timeout=ANSWER_TIMEOUT_MS,
    )
    return bot_messages(page).nth(count - 1)


def upload(page: "playwright_api.Page", *files: Path) -> tuple[str, list[str]]:
    """Upload through the page; returns the result table and the progress texts shown."""
    page.get_by_text("Tải tài liệu lên kho").click()
    page.locator("#upload-files input[type=file]").set_input_files([str(f) for f in files])
    page.wait_for_function(  # the file list shows each name (stem and suffix apart)
        "(stems) => { const t = document.querySelector('#upload-files')?.innerText || '';"
        " return stems.every((s) => t.includes(s)); }",
        arg=[f.stem for f in files],
    )
    page.evaluate("""() => {
        window.__progress = [];
        new MutationObserver(() => {
          for (const e of document.querySelectorAll('#upload-box .progress-level')) {
            if (document.querySelector('#upload-box .progress-bar')) {
              window.__progress.push(e.innerText);
            }
          }
        }).observe(document.querySelector('#upload-box'),
                   {subtree: true, childList: true, characterData: true});
      }""")
    page.click("#upload-button")
    page.wait_for_function(
        "() => document.querySelector('#upload-result')?.innerText.includes('Kho hiện có')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    return page.inner_text("#upload-result"), page.evaluate("() => window.__progress")


# --- tests ------------------------------------------------------------------------------------


def test_login_is_required(browser, server: RunningApp, logged_in: dict) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(server.url)
    page.get_by_role("button", name="Login").wait_for()
    assert "Đăng nhập để dùng trợ lý" in page.inner_text("body")
    assert page.locator("#message").count() == 0 and page.locator("#chat").count() == 0
    screenshot(page, "login-page")

    log_in(page, server.url, LOGIN[0], "sai-mật-khẩu")
    page.wait_for_timeout(1500)
    assert page.locator("#message").count() == 0  # still the login form

    # nothing of the app is reachable without the login
    report = Path(__file__).resolve().parent.parent / "data/reports/bac-giang-2020.txt"
    anonymous = httpx.Client(base_url=server.url, timeout=10)
    assert "Bắc Giang" not in anonymous.get("/").text
    for path in (
        "/config",
        "/gradio_api/info",
        "/gradio_api/openapi.json",
        f"/gradio_api/file={report.as_posix()}",
        "/gradio_api/queue/data?session_hash=x",
    ):
        assert anonymous.get(path).status_code == 401, path
    for path in (
        "/gradio_api/call/ask",
        "/gradio_api/run/ask",
        "/gradio_api/upload",
        "/gradio_api/queue/join",
    ):
        assert anonymous.post(path, json={"data": [BTS]}).status_code == 401, path
    with pytest.raises(Exception):  # noqa: B017 - the client fails on the 401 of /config
        server.client(auth=False).predict(BTS, api_name="/ask")
    assert "1.422" in server.client().predict(BTS, api_name="/ask")["answer"]

    log_in(page, server.url, *LOGIN)
    page.wait_for_selector("#message textarea")
    context.close()


def test_bts_question_is_answered_with_a_checkable_citation(page) -> None:
    reply = ask(page, BTS)
    assert "1.422" in reply.inner_text()
    inline = reply.locator("a[href='#nguon-0-1']").first
    assert inline.inner_text() == "[1]"
    assert "Nguồn:" in reply.inner_text() and "Bắc Giang, 2020" in reply.inner_text()
    inline.click()
    mark = page.locator("#nguon mark.nguon-cited")
    mark.wait_for()
    assert "1.422 trạm BTS" in mark.inner_text()
    panel = page.inner_text("#nguon")
    assert "Dấu ấn ngành thông tin và truyền thông tỉnh Bắc Giang năm 2020" in panel
    assert "Bắc Giang" in panel and "2020" in panel and "bac-giang-2020.txt" in panel
    assert page.url.rstrip("/") == page.url.split("#")[0].rstrip("/")  # no navigation


def test_follow_up_question_is_completed(page) -> None:
    ask(page, BTS)
    reply = ask(page, "Còn Bình Dương thì sao?")
    text = reply.inner_text()
    assert "Câu hỏi được hiểu là: «Năm 2020 Bình Dương có bao nhiêu trạm BTS?»" in text
    # the only Bình Dương report is about 2022: an honest refusal, its passages as related
    assert "Không tìm thấy thông tin này trong các báo cáo đã nạp." in text
    assert "Bình Dương, 2022" in text and "1.422" not in text
    # the first answer's source is one click away
    bot_messages(page).nth(0).locator("a[href='#nguon-0-1']").first.click()
    page.wait_for_function(
        "() => document.querySelector('#nguon mark')?.innerText.includes('1.422 trạm BTS')"
    )
    assert "Bắc Giang" in page.inner_text("#nguon")


def test_unanswerable_question_is_refused(page) -> None:
    reply = ask(page, UNANSWERABLE)
    text = reply.inner_text()
    assert text.startswith(REFUSAL)
    assert "Có thể liên quan:" in text
    assert reply.locator("a[href='#nguon-0-1']").count() == 1  # only in the related list
    reply.locator("a[href='#nguon-0-1']").click()
    page.wait_for_function(
        "() => document.querySelector('#nguon')?.innerText.includes('Đoạn có thể liên quan')"
    )


def test_uploaded_document_answers_at_once(page, server: RunningApp, tmp_path: Path) -> None:
    doc = tmp_path / "Báo cáo Lào Cai 2024.md"
    doc.write_text(
        "# Báo cáo chuyển đổi số tỉnh Lào Cai năm 2024\n\nNăm 2024, tỉnh Lào Cai "
        "có 2.468 điểm phát wifi miễn phí tại các khu du lịch.\n",
        encoding="utf-8",
    )
    bad = tmp_path / "ảnh.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    long = tmp_path / "phu-luc.txt"  # long enough for the progress bar to show a while
    long.write_text(
        "Phụ lục số liệu tỉnh Lào Cai\n\n"
        + "\n".join(
            f"Mục {i}: hạ tầng viễn thông, dịch vụ công trực tuyến và cơ sở dữ liệu chuyên ngành "
            f"được rà soát, cập nhật theo kế hoạch chuyển đổi số của xã số {i}."
            for i in range(160)
        ),
        encoding="utf-8",
    )
    result, shown = upload(page, doc, bad, long)
    assert any(re.search(r"Nhúng các đoạn \d+/\d+", text) for text in shown), shown
    assert re.search(r"Báo cáo Lào Cai 2024\.md\s+✅ Đã thêm", result)
    assert re.search(r"ảnh\.png\s+❌ Bị từ chối\s+định dạng không được hỗ trợ", result)
    assert (
        server.data_dir / "uploads" / "Bao-cao-Lao-Cai-2024.md"
    ).read_bytes() == doc.read_bytes()
    page.click("#province input")  # the province filter now offers the new province
    page.get_by_role("option", name="Lào Cai").click()

    reply = ask(page, "Có bao nhiêu điểm phát wifi miễn phí?")  # the filter names the province
    assert "2.468" in reply.inner_text()
    assert "Báo cáo chuyển đổi số tỉnh Lào Cai năm 2024" in reply.inner_text()
    assert "2.468 điểm phát wifi" in page.inner_text("#nguon mark")


def test_script_in_a_document_does_not_run(page, tmp_path: Path) -> None:
    doc = tmp_path / "xss.txt"
    doc.write_text(
        'Báo cáo an toàn thông tin tỉnh Yên Bái năm 2024 <img src=x onerror="window.__xss=1">\n\n'
        "Năm 2024, Yên Bái có 135 camera giám sát <script>window.__xss=2,alert(2)</script> "
        '<img src=x onerror="window.__xss=3,alert(3)"> [bấm](javascript:window.__xss=4) '
        "**đậm** được lắp đặt.\n",
        encoding="utf-8",
    )
    assert "✅ Đã thêm" in upload(page, doc)[0]
    reply = ask(page, "Năm 2024 Yên Bái có bao nhiêu camera giám sát?")
    text = reply.inner_text()
    assert "135 camera" in text
    assert "<script>window.__xss=2,alert(2)</script>" in text  # shown as text
    assert "**đậm**" in text
    mark = page.inner_text("#nguon mark")
    assert "<script>window.__xss=2,alert(2)</script>" in mark
    assert '<img src=x onerror="window.__xss=3,alert(3)">' in mark
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    injected = page.evaluate(
        "() => document.querySelectorAll('#chat script, #nguon script, #chat img, #nguon img,"
        ' #chat a[href^="javascript"], #nguon a[href^="javascript"]\').length'
    )
    assert injected == 0


def test_examples_and_feedback(page, server: RunningApp) -> None:
    page.get_by_text("Quảng Bình có bao nhiêu tên miền .vn?").click()
    reply = wait_for_reply(page, 1)
    assert "965" in reply.inner_text()
    page.locator("#chat").get_by_role("button", name="Like").last.click()  # under the reply
    page.wait_for_function(
        "() => document.querySelector('#feedback-note')?.innerText.includes('Đã ghi nhận đánh giá')"
    )

    page.get_by_text("Góp ý cho câu trả lời gần nhất").click()
    page.locator("#rating label").filter(has_text="👎").click()
    page.fill("#comment textarea", "Nên nêu thêm năm của số liệu")
    page.click("#send-feedback")
    page.wait_for_function(
        "() => document.querySelector('#feedback-note')?.innerText.includes('Đã ghi nhận góp ý')"
    )
    log = server.data_dir / "feedback.jsonl"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(log.read_text("utf-8").splitlines()) < 2:
        time.sleep(0.2)
    records = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    up, down = records[-2:]
    assert up["rating"] == "up" and down["rating"] == "down"
    assert down["comment"] == "Nên nêu thêm năm của số liệu"
    for r in (up, down):
        assert r["question"] == "Quảng Bình có bao nhiêu tên miền .vn?"
        assert "965" in r["answer"] and r["citations"][0]["province"] == "Quảng Bình"
        assert r["time"]
