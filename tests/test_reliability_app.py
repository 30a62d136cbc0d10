"""Regression tests from ``python -m bench.reliability``'s app scenarios, on smaller runs: a
login closes every route (Gradio left informational ones and the OpenAPI schema open), a crowd
gets the lone user's answers, hostile markup never runs in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import index_cache

from bench.reliability import access, hostile, users

pytestmark = pytest.mark.model


def test_every_route_is_enumerated() -> None:
    listed = access.routes()
    paths = {p for _, p in listed}
    assert {
        "/",
        "/gradio_api/info",
        "/gradio_api/app_id",
        "/gradio_api/upload",
        "/gradio_api/queue/join",
        "/gradio_api/file={path_or_url:path}",
    } <= paths
    assert len(listed) >= 80


def test_with_a_login_no_route_answers_anonymous_requests(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = access.run(workdir=tmp_path, cache=index_cache(tmp_path_factory))
    assert result["open"] == [] and result["open_routes"] == 0
    assert result["routes"] >= 80 and result["requests"] >= result["routes"]
    assert result["logged_in_ask_works"]  # the login still opens them
    # the formerly open ones now refuse
    assert "/gradio_api/app_id" not in result["public_by_design"]


def test_a_crowd_gets_the_answers_one_user_gets(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    questions = [
        "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?",
        "Quảng Bình có bao nhiêu tên miền .vn?",
        "Năm 2020 Bắc Giang có bao nhiêu sân bay vũ trụ?",
    ]
    result = users.run(
        questions, users=6, seconds=8, workdir=tmp_path, cache=index_cache(tmp_path_factory)
    )
    assert result["errors"] == 0, result["error_examples"]
    assert result["different"] == 0, result["different_examples"]
    assert result["requests"] >= 6
    assert result["upload"]["status"] == "added"
    assert result["uploaded_document_answers"]


@pytest.mark.browser
def test_hostile_markup_never_runs(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not hostile.CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium")
    result = hostile.run_browser(workdir=tmp_path, cache=index_cache(tmp_path_factory))
    assert result["attempts"] == 15
    assert result["successes"] == 0, result
    assert result["dialogs"] == [] and result["live_elements"] == []
    assert result["answered"] == 3  # each hostile document was found and cited
    assert result["citations_opened"] >= 3
    assert result["uploaded"] == ["added", "added", "added"]
