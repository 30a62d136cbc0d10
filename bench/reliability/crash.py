"""Crash safety: ``python -m assistant index`` killed with SIGKILL at random moments.

A knowledge base of the bundled reports is the "before" state; the same reports plus three
small extra reports make the "after" state. Each trial restores "before", starts the index
command that adds the extra reports, kills it (at a time drawn uniformly over an uninterrupted
run's duration, or, in two trials of five, while it writes the new version), then checks, in
this process (not the killed one; everything is read from disk anew, the model stays loaded):

* the knowledge base loads;
* every question's answer (text, refusal, cited chunk ids) is exactly the "before" one or
  exactly the "after" one, all from the same state, and that state is the one ``CURRENT`` names;
* the index command, run again, completes, leaves no half-written folder behind and gives the
  "after" answers.

>>> # from bench.reliability import crash
>>> # crash.run(trials=3)["corrupt"]
>>> # 0
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import BUNDLED_REPORTS, PROJECT_ROOT, Settings

QA_FILE = PROJECT_ROOT / "tests" / "data" / "reports_qa.jsonl"
QUICK_TRIALS = 10
WRITE_SHARE = 0.4  # trials forced into the write phase
POLL_S = 0.0005

EXTRA_REPORTS = {
    "lao-cai-2023.txt": (
        "Báo cáo ngành thông tin và truyền thông tỉnh Lào Cai năm 2023\n"
        "Năm 2023, toàn tỉnh Lào Cai có 1.357 trạm BTS, phủ sóng 4G đến 98% số thôn bản.\n"
        "Sở Thông tin và Truyền thông Lào Cai đưa nền tảng chuyển đổi số về 152 xã, phường.\n"
    ),
    "ha-giang-2023.txt": (
        "Ngành thông tin và truyền thông tỉnh Hà Giang năm 2023\n"
        "Năm 2023, Hà Giang có 96% hồ sơ thủ tục hành chính được xử lý trực tuyến.\n"
        "Toàn tỉnh có 1.108 trạm BTS; 100% xã có cáp quang đến trung tâm xã.\n"
    ),
    "dien-bien-2023.md": (
        "# Điện Biên: kết quả chuyển đổi số năm 2023\n\n"
        "Năm 2023, Điện Biên xếp hạng 48/63 về chỉ số chuyển đổi số cấp tỉnh.\n\n"
        "Tỉnh có 2.415 km cáp quang và 812 trạm BTS 4G.\n"
    ),
}
EXTRA_QUESTIONS = [
    "Năm 2023 Lào Cai có bao nhiêu trạm BTS?",
    "Hà Giang có bao nhiêu phần trăm hồ sơ được xử lý trực tuyến?",
    "Điện Biên xếp hạng bao nhiêu về chuyển đổi số năm 2023?",
]


@dataclass
class Workspace:
    """The folders of one benchmark run."""

    root: Path
    reports: Path = field(init=False)
    extra: Path = field(init=False)
    before: Path = field(init=False)  # pristine "before" index
    index: Path = field(init=False)  # the index the trials write

    def __post_init__(self) -> None:
        self.reports = self.root / "reports"
        self.extra = self.root / "extra"
        self.before = self.root / "before"
        self.index = self.root / "index"

    def command(self, paths: list[Path], index: Path) -> list[str]:
        return [sys.executable, "-m", "assistant", "index", *map(str, paths), "--index", str(index)]

    def restore(self) -> None:
        shutil.rmtree(self.index, ignore_errors=True)
        shutil.copytree(self.before, self.index)


@dataclass
class Timing:
    """An uninterrupted run of the index command: seconds from its start to the first sight
    of its new version folder, to ``CURRENT`` naming that version, and to its exit."""

    write_start: float
    swap: float
    total: float

    @property
    def write_window(self) -> float:
        return max(self.swap - self.write_start, 0.001)


def questions() -> list[str]:
    """The dev questions and three about the extra reports."""
    lines = QA_FILE.read_text("utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()] + EXTRA_QUESTIONS


def prepare(root: Path) -> Workspace:
    """Copy the reports, write the extra ones and build the "before" index with the CLI."""
    ws = Workspace(root)
    shutil.copytree(BUNDLED_REPORTS, ws.reports)
    ws.extra.mkdir()
    for name, text in EXTRA_REPORTS.items():
        (ws.extra / name).write_text(text, "utf-8")
    done = subprocess.run(
        ws.command([ws.reports], ws.before), capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the 'before' index failed: {done.stderr[-500:]}")
    return ws


def start(ws: Workspace) -> subprocess.Popen:
    """The index command adding the extra reports to ``ws.index`` (stderr to a log file: a
    full pipe would stall it)."""
    with open(ws.root / "index.log", "wb") as log:
        return subprocess.Popen(
            ws.command([ws.reports, ws.extra], ws.index),
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def writing(index: Path) -> bool:
    """A new version folder is being written."""
    try:
        return any(name.startswith(".tmp-v-") for name in os.listdir(index))
    except FileNotFoundError:
        return False


def measure(ws: Workspace) -> Timing:
    """Time an uninterrupted run from the "before" state (the slower of two)."""
    runs = []
    for _ in range(2):
        ws.restore()
        current = (ws.index / "CURRENT").read_bytes()
        t0 = time.perf_counter()
        proc = start(ws)
        write_start = swap = None
        while proc.poll() is None:
            now = time.perf_counter() - t0
            if write_start is None and writing(ws.index):
                write_start = now
            if swap is None and (ws.index / "CURRENT").read_bytes() != current:
                swap = now
            time.sleep(POLL_S)
        total = time.perf_counter() - t0
        if proc.returncode != 0:
            log = (ws.root / "index.log").read_text("utf-8", "replace")
            raise RuntimeError(f"the index command failed: {log[-500:]}")
        swap = swap if swap is not None else total
        runs.append(Timing(write_start if write_start is not None else swap, swap, total))
    return max(runs, key=lambda t: t.total)


def kill_run(ws: Workspace, in_write: bool, timing: Timing, rng: random.Random) -> str:
    """Start the command and SIGKILL it: at a uniform moment of its run, or (``in_write``)
    a random moment after the new version folder appears. Returns the phase it died in:
    ``before-write``, ``write`` or ``completed`` (it finished first)."""
    ws.restore()
    before = set(os.listdir(ws.index))
    current = (ws.index / "CURRENT").read_bytes()
    proc = start(ws)
    t0 = time.perf_counter()
    deadline = t0 + rng.uniform(0, timing.total)
    while proc.poll() is None:
        now = time.perf_counter()
        if in_write and writing(ws.index):  # some land just after the swap, in the clean-up
            time.sleep(rng.uniform(0, 1.2 * timing.write_window))
            break
        if not in_write and now >= deadline:
            break
        if in_write and now - t0 > 3 * timing.total:
            break  # never saw the write: kill anyway
        time.sleep(POLL_S)
    if proc.poll() is not None:
        return "completed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = set(os.listdir(ws.index))
    changed = (ws.index / "CURRENT").read_bytes() != current
    return "write" if changed or (after - before) - {".CURRENT.tmp"} else "before-write"


def answers(index: Path, encoder: Any) -> list[tuple[str, bool, tuple[str, ...]]]:
    """Each question's answer text, refusal and cited chunk ids, from the index on disk."""
    from assistant import Assistant

    bot = Assistant.open(Settings(index_dir=index), encoder=encoder)
    out = []
    for q in questions():
        a = bot.ask(q)
        out.append((a.answer, a.refused, tuple(c.chunk_id for c in a.citations)))
    return out


@dataclass
class Trial:
    """What one trial found."""

    phase: str
    state: str = ""  # "before", "after", or the fault
    rerun_ok: bool = True
    detail: str = ""


def check(ws: Workspace, encoder: Any, expected: dict[str, list], new_current: bool) -> str:
    """``before`` or ``after`` when the knowledge base loads and answers exactly as one state
    (the one ``CURRENT`` names); else a short description of the fault."""
    try:
        got = answers(ws.index, encoder)
    except Exception as err:  # any load failure is the finding
        return f"load failed: {type(err).__name__}: {err}"[:300]
    state = next((name for name, ans in expected.items() if ans == got), None)
    if state is None:
        return "answers match neither state"
    if (state == "after") != new_current:
        return f"answers are the {state!r} ones but CURRENT says otherwise"
    return state


def rerun(ws: Workspace, encoder: Any, after: list) -> str:
    """Run the index command again: '' when it completes cleanly with the "after" answers."""
    done = subprocess.run(
        ws.command([ws.reports, ws.extra], ws.index),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    leftovers = [p.name for p in ws.index.iterdir() if p.name.startswith(".tmp-")]
    versions = [p.name for p in ws.index.glob("v-*")]
    if leftovers or len(versions) > 2:
        return f"left behind: {sorted(leftovers)} and {len(versions)} versions"
    try:
        if answers(ws.index, encoder) != after:
            return "answers after the re-run are not the 'after' ones"
    except Exception as err:
        return f"load after re-run failed: {type(err).__name__}: {err}"[:300]
    return ""


def trial(
    ws: Workspace,
    encoder: Any,
    expected: dict[str, list],
    timing: Timing,
    in_write: bool,
    rng: random.Random,
) -> Trial:
    current = (ws.before / "CURRENT").read_bytes()
    t = Trial(kill_run(ws, in_write, timing, rng))
    t.state = check(ws, encoder, expected, (ws.index / "CURRENT").read_bytes() != current)
    t.detail = rerun(ws, encoder, expected["after"])
    t.rerun_ok = not t.detail
    return t


def run(
    trials: int = 50, seed: int = 0, workdir: Path | None = None, quick: bool = False
) -> dict[str, Any]:
    """Kill the index command ``trials`` times (``quick``: at most 10) and check each time.

    Returns ``{"trials", "killed", "killed_in_write", "completed_before_kill", "corrupt",
    "rerun_failures", "seconds", "timing": {...}, "problems": [...]}``.
    """
    from assistant import load_encoder

    t0 = time.perf_counter()
    trials = min(trials, QUICK_TRIALS) if quick else trials
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="rel-crash-", dir=workdir) as tmp:
        ws = prepare(Path(tmp))
        timing = measure(ws)  # leaves the "after" state in ws.index
        encoder = load_encoder(Settings())
        expected = {"before": answers(ws.before, encoder), "after": answers(ws.index, encoder)}
        if expected["before"] == expected["after"]:
            raise RuntimeError("the extra reports change no answer: the check would prove nothing")
        forced = set(rng.sample(range(trials), round(trials * WRITE_SHARE)))
        results = [trial(ws, encoder, expected, timing, i in forced, rng) for i in range(trials)]
    return summarise(results, timing, time.perf_counter() - t0)


def summarise(results: list[Trial], timing: Timing, seconds: float) -> dict[str, Any]:
    corrupt = [r for r in results if r.state not in ("before", "after")]
    failed = [r for r in results if not r.rerun_ok]
    return {
        "trials": len(results),
        "killed": sum(r.phase != "completed" for r in results),
        "killed_in_write": sum(r.phase == "write" for r in results),
        "completed_before_kill": sum(r.phase == "completed" for r in results),
        "states": {s: sum(r.state == s for r in results) for s in ("before", "after")},
        "corrupt": len(corrupt),
        "rerun_failures": len(failed),
        "seconds": round(seconds, 1),
        "timing": {
            "run_s": round(timing.total, 2),
            "write_start_s": round(timing.write_start, 3),
            "swap_s": round(timing.swap, 3),
        },
        "problems": [f"{r.phase}: {r.state} {r.detail}".strip() for r in corrupt + failed][:10],
    }
