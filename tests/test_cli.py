"""The command line, run as users run it: ``python -m assistant ...`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.model
def test_index_ask_info_round_trip(tmp_path, reports_copy):
    index = tmp_path / "kb"
    (reports_copy / "empty.txt").write_text("")
    r = run("index", str(reports_copy), "--index", str(index))
    assert r.returncode == 0, r.stderr
    assert "5 added, 0 updated, 0 unchanged, 0 removed, 1 rejected" in r.stdout
    assert "skipped" in r.stderr and "empty.txt: file is empty" in r.stderr
    assert "Traceback" not in r.stderr

    r = run("ask", "bac giang co bao nhieu tram bts", "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "timings_ms"}
    assert "1.422" in data["answer"] and not data["refused"]
    c = data["citations"][0]
    assert c["n"] == 1 and c["doc"].endswith("bac-giang-2020.txt")
    assert c["quote"] == "Hiện nay, toàn tỉnh có 1.422 trạm BTS"
    assert (c["province"], c["year"]) == ("Bắc Giang", 2020) and c["end"] > c["start"]

    r = run("ask", "Hà Giang có bao nhiêu trạm BTS?", "--index", str(index))
    assert r.returncode == 0 and "Không tìm thấy thông tin này" in r.stdout

    r = run("info", "--index", str(index), "--json")
    info = json.loads(r.stdout)
    assert (info["documents"], info["model"]) == (5, "multilingual-e5-small:onnx-int8")
    assert info["provinces"] == ["Bắc Giang", "Bắc Kạn", "Bắc Ninh", "Bình Dương", "Quảng Bình"]
    periods = {f["doc"].rsplit("/", 1)[-1]: (f["year"], f["period"]) for f in info["files"]}
    assert periods["bac-ninh-15-nam.txt"] == (2023, [2008, 2023])
    assert periods["bac-giang-2020.txt"] == (2020, [2020, 2020])
    r = run("info", "--index", str(index))
    assert "Bắc Ninh, 2008–2023  " in r.stdout
    assert "Bắc Giang, 2020 (published 2021-01-23)" in r.stdout

    r = run("index", str(reports_copy), "--index", str(index))
    assert "0 added, 0 updated, 5 unchanged" in r.stdout and "0 chunks embedded" in r.stdout


def test_errors_are_one_english_line_and_a_nonzero_exit(tmp_path, capsys):
    assert main(["info", "--index", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no knowledge base in") and err.count("\n") == 1
    assert main(["ask", "x", "--k", "0", "--index", str(tmp_path)]) == 1
    assert "--k must be a positive number" in capsys.readouterr().err


def test_bad_settings_from_the_environment_are_reported(tmp_path):
    r = run("info", "--index", str(tmp_path), env={"ASSISTANT_CHUNK_OVERLAP": "5000"})
    assert r.returncode == 2 and "invalid settings" in r.stderr and "Traceback" not in r.stderr
