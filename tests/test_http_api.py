"""The plain HTTP API of the app (``assistant/api.py``) and ``python -m embeddings serve``:
``POST /api/ask`` answers as ``ask --json``, ``POST /v1/embeddings`` answers the ``openai``
client with the index's own vectors, both behind the app's login, bad input gets a 4xx JSON
error. The app runs as ``python app.py`` in a child process on loopback, with the real model."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from test_app import index_cache

from bench.running import BTS, ROOT, RunningApp, free_port, launch_app, stop_app, stop_process
from embeddings.server import RequestError, check_login, parse_request

LOGIN = ("staff", "s3cret:1")  # a colon in the password: only the first one splits
TEXTS = [
    "Năm 2020, toàn tỉnh Bắc Giang có 1.422 trạm BTS.",
    "Bình Dương đã cung cấp dịch vụ công trực tuyến mức độ 4.",
]


def bearer(login: tuple[str, str] = LOGIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {login[0]}:{login[1]}"}


# --- request checks, without the model ------------------------------------------------------


class Named:
    name, dim = "multilingual-e5-small:onnx-int8", 384


def test_login_header_forms() -> None:
    accounts = {"staff": "mật-khẩu:1"}
    basic = base64.b64encode("staff:mật-khẩu:1".encode()).decode()
    assert check_login({"authorization": "Bearer staff:mật-khẩu:1"}, accounts)
    assert check_login({"authorization": f"Basic {basic}"}, accounts)
    assert check_login({"authorization": "Bearer staff:x"}, lambda u, p: (u, p) == ("staff", "x"))
    for value in (
        "",
        "Bearer staff:wrong",
        "Bearer staff",
        "Bearer other:mật-khẩu:1",
        "Basic !!!",
        "Token staff:mật-khẩu:1",
        "Bearer :mật-khẩu:1",
    ):
        assert not check_login({"authorization": value}, accounts), value


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"model": "multilingual-e5-small"}', 400, "input"),
        (b'{"input": [], "model": "multilingual-e5-small"}', 400, "input"),
        (b'{"input": [[1, 2, 3]], "model": "multilingual-e5-small"}', 400, "input"),
        (b'{"input": ["  "], "model": "multilingual-e5-small"}', 400, "input"),
        (b'{"input": "x", "model": "text-embedding-3-small"}', 404, "model"),
        (b'{"input": "x", "model": "multilingual-e5-small", "dimensions": 256}', 400, "dimensions"),
        (
            b'{"input": "x", "model": "multilingual-e5-small", "encoding_format": "hex"}',
            400,
            "encoding_format",
        ),
        (
            b'{"input": "x", "model": "multilingual-e5-small", "input_type": "doc"}',
            400,
            "input_type",
        ),
    ],
)
def test_bad_embedding_requests_are_refused(body: bytes, status: int, param: str | None) -> None:
    with pytest.raises(RequestError) as err:
        parse_request(body, Named())  # type: ignore[arg-type]
    assert (err.value.status, err.value.param) == (status, param)


def test_good_embedding_request_is_read() -> None:
    body = json.dumps(
        {
            "input": "Bắc Giang",
            "model": "intfloat/multilingual-e5-small",
            "encoding_format": "base64",
            "input_type": "query",
            "dimensions": 384,
        }
    )
    texts, kind, model, b64 = parse_request(body.encode(), Named())  # type: ignore[arg-type]
    assert (texts, kind, model, b64) == (
        ["Bắc Giang"],
        "query",
        "intfloat/multilingual-e5-small",
        True,
    )


# --- the app, with the real model -----------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = launch_app(
        tmp_path_factory.mktemp("api-app"), index_cache(tmp_path_factory), auth=LOGIN
    )
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def index_encoder():
    from assistant import Settings, load_encoder

    return load_encoder(Settings())


@pytest.mark.model
def test_openai_client_gets_the_index_vectors(app: RunningApp, index_encoder) -> None:
    from openai import OpenAI

    from embeddings import embed

    client = OpenAI(base_url=f"{app.url}/v1", api_key=":".join(LOGIN), max_retries=0)
    done = client.embeddings.create(model="multilingual-e5-small", input=TEXTS)  # base64
    got = np.array([d.embedding for d in done.data], np.float32)
    assert [d.index for d in done.data] == [0, 1] and got.shape == (2, 384)
    assert np.abs(got - embed(TEXTS)).max() <= 1e-6
    assert np.abs(got - index_encoder.embed(TEXTS, "passage")).max() <= 1e-6
    assert done.usage.prompt_tokens == sum(
        index_encoder.count_tokens("passage: " + t) for t in TEXTS
    )
    floats = client.embeddings.create(
        model="multilingual-e5-small",
        input=TEXTS[0],
        encoding_format="float",
        extra_body={"input_type": "query"},
    )
    query = np.array(floats.data[0].embedding, np.float32)
    assert np.abs(query - embed(TEXTS[:1], "query")[0]).max() <= 1e-6
    assert [m.id for m in client.models.list().data] == [index_encoder.name]


@pytest.mark.model
def test_anonymous_and_wrong_logins_are_refused(app: RunningApp) -> None:
    import openai

    for key in ("wrong:login", "staff:s3cret"):
        client = openai.OpenAI(base_url=f"{app.url}/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.embeddings.create(model="multilingual-e5-small", input=TEXTS)
    for path, body in (("/v1/embeddings", {"input": "x"}), ("/api/ask", {"question": BTS})):
        r = httpx.post(app.url + path, json=body, timeout=30)
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/json")
    assert httpx.get(app.url + "/v1/models", timeout=30).status_code == 401


@pytest.mark.model
def test_bad_input_gets_a_4xx_json_error(app: RunningApp) -> None:
    cases = [
        ("/v1/embeddings", {"input": [], "model": "multilingual-e5-small"}, 400),
        ("/v1/embeddings", {"input": [[101, 102]], "model": "multilingual-e5-small"}, 400),
        ("/v1/embeddings", {"input": "x", "model": "gpt-4"}, 404),
        ("/api/ask", {"question": ""}, 400),
        ("/api/ask", {"question": "   "}, 400),
        ("/api/ask", {"question": BTS, "k": 0}, 400),
        ("/api/ask", {"question": BTS, "k": "5"}, 400),
        ("/api/ask", {"question": BTS, "year": "năm 2020"}, 400),
        ("/api/ask", {"question": BTS, "provinces": "Bắc Giang"}, 400),
        ("/api/ask", {"question": "x" * 5000}, 400),
    ]
    for path, body, status in cases:
        r = httpx.post(app.url + path, json=body, headers=bearer(), timeout=60)
        assert r.status_code == status, (path, body, r.text)
        error = r.json()["error"]
        assert error["message"] and error["type"] == "invalid_request_error", error
    r = httpx.post(
        app.url + "/api/ask",
        content=b"{oops",
        timeout=30,
        headers={**bearer(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = httpx.post(
        app.url + "/api/ask",
        content=b"question=x",
        timeout=30,
        headers={**bearer(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.json()["error"]["message"]


@pytest.mark.model
def test_api_ask_is_the_json_of_the_cli_and_of_gradio(app: RunningApp) -> None:
    r = httpx.post(app.url + "/api/ask", json={"question": BTS}, headers=bearer(), timeout=120)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["refused"] is False and "1.422" in answer["answer"]
    assert "bac-giang-2020" in answer["citations"][0]["doc"]
    cli = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", BTS, "--json", "--index", str(app.index_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    expected = json.loads(cli.stdout)
    via_gradio = app.client().predict(BTS, api_name="/ask")
    for a in (answer, expected, via_gradio):
        assert set(a.pop("timings_ms")) == {"retrieve", "answer", "total"}
    assert answer == expected == via_gradio
    # the options of ask --json, by the same names
    filtered = httpx.post(
        app.url + "/api/ask",
        headers=bearer(),
        timeout=120,
        json={"question": "Có bao nhiêu trạm BTS?", "k": 2, "province": "Bình Dương", "year": 2022},
    )
    assert filtered.status_code == 200
    assert all("binh-duong" in c["doc"] for c in filtered.json()["citations"])


@pytest.mark.model
def test_the_gradio_login_cookie_opens_the_api_too(app: RunningApp) -> None:
    with httpx.Client(base_url=app.url, timeout=120) as browser:
        login = browser.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]})
        assert login.status_code == 200, login.text
        r = browser.post("/api/ask", json={"question": BTS})
        assert r.status_code == 200 and "1.422" in r.json()["answer"]


# --- python -m embeddings serve -----------------------------------------------------------


@pytest.mark.model
def test_embeddings_serve_answers_the_openai_client(tmp_path: Path, index_encoder) -> None:
    from openai import AuthenticationError, OpenAI

    port = free_port()
    env = {**os.environ, "ICT_ASSISTANT_EMBEDDINGS_AUTH": "svc:key"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "embeddings", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        client = OpenAI(base_url=url + "/v1", api_key="svc:key", max_retries=0)
        done = client.embeddings.create(model="multilingual-e5-small", input=TEXTS)
        got = np.array([d.embedding for d in done.data], np.float32)
        assert np.abs(got - index_encoder.embed(TEXTS, "passage")).max() <= 1e-6
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=url + "/v1", api_key="svc:nope", max_retries=0).embeddings.create(
                model="multilingual-e5-small", input=TEXTS
            )
        bad = httpx.post(
            url + "/v1/embeddings",
            json={"input": 3},
            timeout=30,
            headers={"Authorization": "Bearer svc:key"},
        )
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "input"
    finally:
        stop_process(process)


def test_embeddings_serve_bad_login_setting_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "embeddings", "serve", "--auth", "nopassword"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert "USER:PASSWORD" in done.stderr


# --- python -m bench.reliability --only api, in small -------------------------------------


@pytest.mark.model
def test_reliability_api_scenario_in_small(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from bench.reliability import api

    questions = [
        BTS,
        "Quảng Bình có bao nhiêu tên miền .vn?",
        "Năm 2020 Bắc Giang có bao nhiêu sân bay vũ trụ?",
    ]
    result = api.run(
        questions, users=4, seconds=4, workdir=tmp_path, cache=index_cache(tmp_path_factory)
    )
    for route in ("api", "gradio"):
        r = result[route]
        assert r["errors"] == 0, r["error_examples"]
        assert r["different"] == 0, r["different_examples"]
        assert r["answers"] >= 4 and r["answers_per_s"] > 0
    assert result["speedup"] == round(
        result["api"]["answers_per_s"] / result["gradio"]["answers_per_s"], 2
    )


def test_api_errors_carry_the_assistant_error_code() -> None:
    """Without a model: the JSON error's "code" is the AssistantError's, the status as before."""
    from types import SimpleNamespace

    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from assistant import api
    from assistant.errors import NotReadyError, QuestionTooLongError

    class Starting:
        def wait(self, timeout: float | None = None) -> object:
            raise NotReadyError("the assistant is still starting", reason="starting")

    def query(*args: object) -> list:
        raise ValueError("unknown indicator 'x'; `python -m assistant indicators --list`")

    def ask(**kwargs: object) -> object:
        raise QuestionTooLongError("the question is longer than 2000 characters; shorten it")

    bot = SimpleNamespace(ask=ask, kb=SimpleNamespace(facts=SimpleNamespace(query=query)))

    class Ready:
        def wait(self, timeout: float | None = None) -> object:
            return bot

    starting = TestClient(Starlette(routes=api.routes(Starting())))
    r = starting.post("/api/ask", json={"question": "Câu hỏi?"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
    ready = TestClient(Starlette(routes=api.routes(Ready())))
    r = ready.post("/api/ask", json={"question": "Câu hỏi?"})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "the question is longer than 2000 characters; shorten it",
        "type": "invalid_request_error",
        "param": "question",
        "code": "question_too_long",
    }
    r = ready.post("/api/ask", json={"question": " "})
    assert r.status_code == 400 and r.json()["error"]["code"] == "question_empty"
    r = ready.get("/api/indicators", params={"indicator": "x"})
    assert r.status_code == 400
    assert (r.json()["error"]["param"], r.json()["error"]["code"]) == (
        "indicator",
        "indicator_unknown",
    )
