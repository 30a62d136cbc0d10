"""The plain HTTP route against Gradio's queue: N concurrent clients ask the dev questions for a
fixed time through ``gradio_client`` on ``/ask``, then as many ``httpx`` clients through
``POST /api/ask``, against the same ``python app.py`` on loopback. Answers per second of each,
errors, and every reply compared with the lone user's reply to the same question."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.reliability.users import _percentile, answer_key
from bench.running import RunningApp, launch_app, stop_app


def run(
    questions: list[str],
    users: int = 20,
    seconds: float = 30.0,
    workdir: Path | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Start the app; record each question's lone-user reply (both routes must agree), then
    one crowd of ``users`` for ``seconds`` on each route. Returns both crowds' figures and the
    ratio of their answers per second."""
    with tempfile.TemporaryDirectory(prefix="rel-api-") as tmp:
        base = Path(workdir or tmp)
        app = launch_app(base / "app", cache or base / "index-cache")
        try:
            return _compare(app, questions, users, seconds)
        finally:
            stop_app(app)


def _compare(app: RunningApp, questions: list[str], users: int, seconds: float) -> dict[str, Any]:
    import httpx

    lone: dict[str, str] = {}
    client = app.client()
    with httpx.Client(base_url=app.url, timeout=120) as http:
        for q in questions:
            lone[q] = answer_key(client.predict(q, api_name="/ask"))
            reply = http.post("/api/ask", json={"question": q})
            reply.raise_for_status()
            if answer_key(reply.json()) != lone[q]:
                raise RuntimeError(f"/api/ask and /ask answer {q!r} differently")

    def gradio_user() -> Callable[[str], dict[str, Any]]:
        me = app.client()
        return lambda q: me.predict(q, api_name="/ask")

    def http_user() -> Callable[[str], dict[str, Any]]:
        me = httpx.Client(base_url=app.url, timeout=120)

        def ask(q: str) -> dict[str, Any]:
            reply = me.post("/api/ask", json={"question": q})
            reply.raise_for_status()
            return reply.json()

        return ask

    gradio = crowd(gradio_user, questions, lone, users, seconds)
    api = crowd(http_user, questions, lone, users, seconds)
    ratio = (api["answers_per_s"] / gradio["answers_per_s"]) if gradio["answers_per_s"] else None
    return {
        "users": users,
        "crowd_seconds": seconds,
        "questions": len(questions),
        "gradio": gradio,
        "api": api,
        "speedup": round(ratio, 2) if ratio else None,
    }


def crowd(
    make_user: Callable[[], Callable[[str], dict[str, Any]]],
    questions: list[str],
    lone: dict[str, str],
    users: int,
    seconds: float,
) -> dict[str, Any]:
    """``users`` threads, each with its own client from ``make_user``, ask the questions
    round-robin until ``seconds`` have passed."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    different: list[dict[str, str]] = []
    start = threading.Barrier(users + 1)
    deadline = [0.0]

    def user(n: int) -> None:
        try:
            ask = make_user()
        except Exception as err:  # noqa: BLE001 - a client that cannot connect is an error
            with lock:
                errors.append(f"connect: {type(err).__name__}: {err}")
            start.wait()
            return
        start.wait()
        i = n
        while time.monotonic() < deadline[0]:
            q = questions[i % len(questions)]
            i += 1
            t0 = time.perf_counter()
            try:
                key = answer_key(ask(q))
            except Exception as err:  # noqa: BLE001 - counted, reported
                with lock:
                    errors.append(f"{type(err).__name__}: {str(err)[:200]}")
                continue
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
                if key != lone[q]:
                    different.append({"question": q, "lone": lone[q], "crowd": key})

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for t in threads:
        t.start()
    # every client has connected when the last party (this thread) reaches the barrier
    deadline[0] = time.monotonic() + seconds
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join(seconds + 120)
    wall = time.perf_counter() - began
    return {
        "answers": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "answers_per_s": round(len(latencies) / wall, 1),
        "p50_ms": _percentile(latencies, 0.5),
        "p95_ms": _percentile(latencies, 0.95),
        "identical": len(latencies) - len(different),
        "different": len(different),
        "different_examples": different[:3],
    }
