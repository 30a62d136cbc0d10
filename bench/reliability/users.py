"""Concurrent users: N ``gradio_client`` sessions ask the dev questions against ``python app.py``
on loopback for a fixed time while one more session uploads a document. Every reply is compared
with the single-user reply to the same question."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.running import launch_app, stop_app

UPLOAD_TEXT = (
    "Báo cáo hoạt động Câu lạc bộ Tin học trẻ tỉnh Lai Châu năm 2023\n\n"
    "Năm 2023, câu lạc bộ tổ chức 9 buổi sinh hoạt chuyên đề về lập trình Scratch "
    "cho học sinh tiểu học vùng cao.\n"
)


def answer_key(reply: dict[str, Any]) -> str:
    """What must not change between a lone user and a crowd: the answer text, whether it is a
    refusal and what each citation points at (timings excluded)."""
    cited = [
        (c.get("doc"), c.get("chunk_id"), c.get("start"), c.get("end"))
        for c in reply.get("citations", [])
    ]
    return json.dumps([reply.get("answer"), reply.get("refused"), cited], ensure_ascii=False)


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0


def run(
    questions: list[str],
    users: int = 20,
    seconds: float = 60.0,
    workdir: Path | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Start the app, record each question's lone-user reply, then let ``users`` threads (one
    ``gradio_client.Client`` each) ask them round-robin for ``seconds`` while another uploads a
    document about an unrelated topic. Returns requests, errors, latency percentiles and how
    many replies differ from the lone-user ones."""
    with tempfile.TemporaryDirectory(prefix="rel-users-") as tmp:
        base = Path(workdir or tmp)
        app = launch_app(base / "app", cache or base / "index-cache")
        try:
            return _crowd(app, questions, users, seconds, base)
        finally:
            stop_app(app)


def _crowd(
    app: Any, questions: list[str], users: int, seconds: float, base: Path
) -> dict[str, Any]:
    from gradio_client import handle_file

    lone = {}
    client = app.client()
    for q in questions:
        lone[q] = answer_key(client.predict(q, api_name="/ask"))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    different: list[dict[str, str]] = []
    deadline = time.monotonic() + seconds

    def user(n: int) -> None:
        try:
            me = app.client()
        except Exception as err:  # noqa: BLE001 - a session that cannot connect is an error
            with lock:
                errors.append(f"connect: {type(err).__name__}: {err}")
            return
        i = n
        while time.monotonic() < deadline:
            q = questions[i % len(questions)]
            i += 1
            t0 = time.perf_counter()
            try:
                reply = me.predict(q, api_name="/ask")
            except Exception as err:  # noqa: BLE001 - counted, reported
                with lock:
                    errors.append(f"{type(err).__name__}: {str(err)[:200]}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            key = answer_key(reply)
            with lock:
                latencies.append(ms)
                if key != lone[q]:
                    different.append({"question": q, "lone": lone[q], "crowd": key})

    upload: dict[str, Any] = {}

    def uploader() -> None:
        time.sleep(min(5.0, seconds / 4))
        path = base / "Báo cáo CLB Tin học trẻ Lai Châu 2023.txt"
        path.write_text(UPLOAD_TEXT, "utf-8")
        t0 = time.perf_counter()
        try:
            result = app.client().predict([handle_file(path)], api_name="/upload")
            upload.update(status=result["files"][0]["status"], documents=result["documents"])
        except Exception as err:  # noqa: BLE001 - counted, reported
            upload.update(status="error", error=f"{type(err).__name__}: {err}")
            with lock:
                errors.append(f"upload: {type(err).__name__}: {err}")
        upload["seconds"] = round(time.perf_counter() - t0, 2)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    threads.append(threading.Thread(target=uploader, daemon=True))
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.perf_counter() - started
    after = client.predict(
        "Năm 2023 câu lạc bộ Tin học trẻ Lai Châu tổ chức bao nhiêu buổi sinh hoạt chuyên đề?",
        api_name="/ask",
    )
    return {
        "users": users,
        "crowd_seconds": round(wall, 1),
        "questions": len(questions),
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "p50_ms": _percentile(latencies, 0.5),
        "p95_ms": _percentile(latencies, 0.95),
        "throughput_per_s": round(len(latencies) / wall, 1),
        "identical": len(latencies) - len(different),
        "different": len(different),
        "different_examples": different[:3],
        "upload": upload,
        "uploaded_document_answers": "9" in after.get("answer", ""),
    }
