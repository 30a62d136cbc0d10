"""The indicator table in a real browser (Debian's chromium, Playwright) against ``python
app.py``: a comparison question answered with a table whose [n] open the cited sentence, and
the "Chỉ số" tab with its filter, chart and CSV download. Same app fixtures as
test_browser.py; ``SAVE_SCREENSHOTS_TO=docs`` also saves the README's pictures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import test_browser
from test_browser import ask, pytestmark, screenshot  # noqa: F401 - pytestmark: browser, model

# the app, the browser and a logged-in page of test_browser.py (pytest finds fixtures by name)
server, browser, logged_in, page = (
    test_browser.server,
    test_browser.browser,
    test_browser.logged_in,
    test_browser.page,
)

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "So sánh số trạm BTS của các tỉnh"


def _save_for_docs(page, name: str) -> None:
    folder = os.environ.get("SAVE_SCREENSHOTS_TO")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def test_comparison_is_a_table_with_checkable_citations(page) -> None:
    reply = ask(page, QUESTION)
    table = reply.locator("table")
    table.wait_for()
    rows = [r.inner_text() for r in table.locator("tbody tr").all()]
    assert len(rows) == 5
    assert rows[0].split("\t")[:3] == ["Bắc Giang", "2020", "1.422"]
    assert all("không có số liệu trong các báo cáo đã nạp" in r for r in rows[1:])
    assert reply.inner_text().startswith("Chỉ có số liệu về số trạm BTS của Bắc Giang")
    _save_for_docs(page, "indicators-chat.png")
    link = table.locator("a[href='#nguon-0-1']")
    assert link.inner_text() == "[1]"
    link.click()
    mark = page.locator("#nguon mark.nguon-cited")
    mark.wait_for()
    assert "toàn tỉnh có 1.422 trạm BTS" in mark.inner_text()
    assert "bac-giang-2020.txt" in page.inner_text("#nguon")


def test_indicator_tab_filters_charts_and_downloads(page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Chỉ số").click()
    page.locator("#cs-table").wait_for()
    page.wait_for_function(
        "() => (document.querySelector('#cs-summary')?.innerText || '').includes('số liệu')"
    )
    page.locator("#cs-indicator input").click()
    page.get_by_role("option", name="Số máy chủ", exact=True).click()
    page.wait_for_function(
        "() => (document.querySelector('#cs-summary')?.innerText || '').startsWith('2 ')"
    )
    cells = page.inner_text("#cs-table")
    assert "Quảng Bình" in cells and "116" in cells and "33" in cells
    page.locator("#cs-chart canvas, #cs-chart svg").first.wait_for()
    assert "Số máy chủ (máy chủ)" in page.inner_text("#cs-chart")
    bars = page.locator("#cs-chart [aria-roledescription=bar]")
    bars.nth(1).wait_for()
    assert [bars.nth(i).get_attribute("aria-label") for i in range(bars.count())] == [
        "Tỉnh, năm: Bắc Giang, 2020; Giá trị: 33",
        "Tỉnh, năm: Quảng Bình, 2022; Giá trị: 116",
    ]
    assert all(
        bars.nth(i).get_attribute("fill") not in (None, "none", "transparent") for i in range(2)
    )
    _save_for_docs(page, "indicators-tab.png")
    screenshot(page, "indicator-tab-chart")
    with page.expect_download() as info:
        page.click("#cs-csv")
    path = tmp_path / "chi-so.csv"
    info.value.save_as(path)
    text = path.read_text("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("indicator,label,province,year,value")
    assert len(lines) == 3 and all(line.startswith("servers,") for line in lines[1:])
    assert ",Quảng Bình,2022,116.0," in text and ",Bắc Giang,2020,33.0," in text


def test_api_indicators_is_the_json_of_the_cli_and_of_gradio(server) -> None:
    import httpx

    user, password = test_browser.LOGIN  # not ASCII: logged in by the form, not a header
    http = httpx.Client(base_url=server.url, timeout=60)
    assert http.post("/login", data={"username": user, "password": password}).status_code in (
        200,
        302,
        303,
    )
    r = http.get("/api/indicators", params={"indicator": "dti_rank"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert [(f["province"], f["year"], f["text"]) for f in data["facts"]] == [
        ("Bình Dương", 2020, "31/63"),
        ("Bình Dương", 2021, "22/63"),
    ]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "indicators",
            "--indicator",
            "dti_rank",
            "--format",
            "json",
            "--index",
            str(server.index_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(cli.stdout) == data
    assert server.client().predict("dti_rank", api_name="/indicators") == data
    bad = http.get("/api/indicators", params={"indicator": "không có"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "indicator"
    assert httpx.get(server.url + "/api/indicators", timeout=60).status_code == 401
