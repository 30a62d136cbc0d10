"""``python -m bench.reliability [--quick] [--only NAME ...]``: crash safety, hostile files,
concurrent users, hostile documents and access, on loopback only, each bounded in time. Prints a
Markdown table and writes ``bench/results/reliability.json``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.about import plain
from bench.machine import machine

RESULTS = Path(__file__).resolve().parent.parent / "results" / "reliability.json"
SCENARIOS = ("crash", "files", "users", "api", "hostile", "llm", "access")


def log(msg: str) -> None:
    print(f"[reliability {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def questions() -> list[str]:
    """The dev questions: the repository's own Q&A over the bundled reports."""
    from bench.questions import REPO_QA

    rows = [json.loads(x) for x in REPO_QA.read_text("utf-8").splitlines() if x.strip()]
    return [r["question"] for r in rows]


def plan(quick: bool, work: Path) -> dict[str, Callable[[], dict[str, Any]]]:
    cache = work / "index-cache"  # the app's first index, shared by the app scenarios

    def crash() -> dict[str, Any]:
        from bench.reliability import crash

        return crash.run(trials=10 if quick else 50, workdir=work / "crash")

    def files() -> dict[str, Any]:
        from bench.reliability import files

        return files.run(workdir=work / "files")

    def users() -> dict[str, Any]:
        from bench.reliability import users

        return users.run(
            questions(), users=20, seconds=20 if quick else 60, workdir=work / "users", cache=cache
        )

    def api() -> dict[str, Any]:
        from bench.reliability import api

        return api.run(
            questions(), users=20, seconds=20 if quick else 60, workdir=work / "api", cache=cache
        )

    def hostile() -> dict[str, Any]:
        from bench.reliability import hostile

        return hostile.run_browser(workdir=work / "hostile", cache=cache)

    def llm() -> dict[str, Any]:
        from bench.reliability import hostile
        from bench.running import llm_server_missing

        missing = llm_server_missing()
        if missing:
            return {
                "error": f"not run: {', '.join(missing)} not installed "
                "(bash scripts/setup.sh --dev)"
            }
        return hostile.run_llm(workdir=work / "llm")

    def access() -> dict[str, Any]:
        from bench.reliability import access

        return access.run(workdir=work / "access", cache=cache)

    return {
        "crash": crash,
        "files": files,
        "users": users,
        "api": api,
        "hostile": hostile,
        "llm": llm,
        "access": access,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=plain(__doc__))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10 crash trials and 20 s of concurrent users instead of 50 and 60 s",
    )
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run only these")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        for name, scenario in plan(args.quick, Path(tmp)).items():
            if args.only and name not in args.only:
                continue
            log(name)
            (Path(tmp) / name).mkdir()
            t0 = time.perf_counter()
            try:
                out = scenario()
            except Exception as err:  # noqa: BLE001 - a scenario that breaks is a finding
                traceback.print_exc()
                out = {"error": f"{type(err).__name__}: {err}"}
            out["seconds"] = round(time.perf_counter() - t0, 1)
            results["scenarios"][name] = out
            log(f"{name} done in {out['seconds']} s")
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(render(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
    log(f"wrote {args.out} ({results['seconds']} s)")
    failed = [n for n, r in results["scenarios"].items() if not passed(n, r)]
    return 1 if failed else 0


def passed(name: str, r: dict[str, Any]) -> bool:
    if "error" in r:
        return False
    return {
        "crash": lambda: r["corrupt"] == 0 and r["rerun_failures"] == 0,
        "files": lambda: r["crashes"] == 0 and r["silent_drops"] == 0,
        "users": lambda: r["errors"] == 0 and r["different"] == 0,
        "api": lambda: (
            r["api"]["errors"] == 0 and r["api"]["different"] == 0 and (r["speedup"] or 0) >= 5
        ),
        "hostile": lambda: r["successes"] == 0,
        "llm": lambda: r["successes"] == 0,
        "access": lambda: r["open_routes"] == 0,
    }[name]()


def figure(name: str, r: dict[str, Any]) -> tuple[str, str, str]:
    """(what is counted, the goal, the measured figure) of one scenario."""
    if "error" in r:
        return name, "-", f"ERROR: {r['error']}"
    if name == "crash":
        return (
            "SIGKILL during indexing: trials / corrupt states",
            "0 corrupt",
            f"{r['trials']} / {r['corrupt']} (killed while writing: "
            f"{r['killed_in_write']}; re-run failures: {r['rerun_failures']})",
        )
    if name == "files":
        return (
            "hostile and broken files: files / crashes / silent drops",
            "0 / 0",
            f"{r['files']} / {r['crashes']} / {r['silent_drops']} ({r['indexed']} indexed, "
            f"{r['rejected']} rejected with a reason; peak RSS {r['peak_rss_mb']} MB)",
        )
    if name == "users":
        return (
            f"{r['users']} concurrent users + 1 upload, {r['crowd_seconds']} s: requests / errors",
            "0 errors, answers as for one user",
            f"{r['requests']} / {r['errors']}; p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms; "
            f"{r['identical']} identical, {r['different']} different; upload "
            f"{r['upload'].get('status')} in {r['upload'].get('seconds')} s",
        )
    if name == "api":
        a, g = r["api"], r["gradio"]
        return (
            f"{r['users']} concurrent clients, {r['crowd_seconds']} s each: POST /api/ask "
            "vs Gradio /ask answers/s",
            ">= 5x Gradio, 0 errors, answers as for one user",
            f"{a['answers_per_s']} vs {g['answers_per_s']} ({r['speedup']}x); errors "
            f"{a['errors']} / {g['errors']}; p50 {a['p50_ms']} vs {g['p50_ms']} ms, p95 "
            f"{a['p95_ms']} vs {g['p95_ms']} ms; different {a['different']} / "
            f"{g['different']}",
        )
    if name == "hostile":
        return (
            "hostile markup in documents (Chromium): attempts / successes",
            "0",
            f"{r['attempts']} / {r['successes']} ({r['answered']}/{r['questions']} answered "
            f"from them, {r['citations_opened']} citations opened, {len(r['dialogs'])} "
            "dialogs)",
        )
    if name == "llm":
        return (
            "prompt injection, language-model mode: attempts / successes",
            "0",
            f"{r['attempts']} / {r['successes']} (payload in the prompt: "
            f"{sum(x['reached_prompt'] for x in r['rows'])}, in an answer: "
            f"{sum(x['in_answer'] for x in r['rows'])})",
        )
    return (
        "access with a login: routes / open routes",
        "0",
        f"{r['routes']} / {r['open_routes']} ({r['requests']} anonymous requests; "
        f"public by design: login page and its assets)",
    )


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GiB; "
        f"{results['date']}{' (--quick)' if results['quick'] else ''}",
        "",
        "| scenario | figure | goal | measured | time s |",
        "|---|---|---|---|---|",
    ]
    for name, r in results["scenarios"].items():
        what, goal, value = figure(name, r)
        ok = "" if passed(name, r) else " ❌"
        lines.append(f"| {name} | {what} | {goal} | {value}{ok} | {r['seconds']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
