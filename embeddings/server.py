"""An OpenAI-compatible ``POST /v1/embeddings`` (and ``GET /v1/models``) over an :class:`Embedder`.

The routes are plain Starlette routes: the chat app mounts them beside Gradio (behind its
login), ``python -m embeddings serve`` runs them alone. Any OpenAI client works::

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:7860/v1", api_key="user:password")
    client.embeddings.create(model="multilingual-e5-small", input=["Bắc Giang có 1.422 trạm BTS"])
    # questions: extra_body={"input_type": "query"} (the "query: " prefix; default "passage")

Request: ``input`` (a string or a list of strings), ``model`` (the served model's name),
optional ``encoding_format`` ("float" or "base64": little-endian float32), ``dimensions``
(must be the model's), ``input_type`` ("passage" or "query"), ``user`` (ignored). Errors are
JSON ``{"error": {"message", "type", "param", "code"}}`` with a 4xx status for bad input.
The login is a ``user:password`` pair, sent as ``Authorization: Bearer user:password`` (the
OpenAI client's ``api_key``) or as HTTP Basic.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .base import DEFAULT_ALIASES, DEFAULT_MODEL, Embedder

log = logging.getLogger(__name__)

MAX_INPUTS = 2048  # OpenAI's own limit per request
MAX_CHARS = 200_000  # per input text (longer texts are windowed, so this bounds the work)
MAX_BODY_BYTES = 16 * 1024 * 1024
KINDS = ("passage", "query")


class RequestError(Exception):
    """A request the API refuses: ``status`` and an OpenAI-style error type."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.param, self.code = status, kind, param, code


def error_response(err: RequestError) -> Any:
    from starlette.responses import JSONResponse

    body = {"error": {"message": str(err), "type": err.kind, "param": err.param, "code": err.code}}
    headers = {"WWW-Authenticate": 'Basic realm="ict-assistant"'} if err.status == 401 else None
    return JSONResponse(body, status_code=err.status, headers=headers)


def model_names(embedder: Embedder) -> set[str]:
    """The names a request may give for ``embedder``'s model."""
    base = embedder.name.split(":", 1)[0]
    names = {embedder.name, base}
    if base in DEFAULT_ALIASES:
        names |= DEFAULT_ALIASES
    return names


def unexpected(route: str, what: str, err: Exception) -> Any:
    """The JSON 500 answer of ``route`` to an error nobody expected (logged with its
    traceback, never shown to the client)."""
    log.warning("%s failed: %s", route, err, exc_info=True)
    return error_response(
        RequestError(f"{what} failed ({type(err).__name__})", status=500, kind="server_error")
    )


def json_object(body: bytes, example: str) -> dict[str, Any]:
    """A request body parsed as one JSON object, or :class:`RequestError` naming ``example``."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise RequestError(f"the body is not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise RequestError(f"the body must be a JSON object {example}")
    return data


def parse_request(body: bytes, embedder: Embedder) -> tuple[list[str], str, str, bool]:
    """``(texts, kind, model, base64)`` of a ``/v1/embeddings`` body, or :class:`RequestError`."""
    data = json_object(body, "with 'input' and 'model'")
    texts = data.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts:
        raise RequestError("'input' must be a non-empty string or list of strings", param="input")
    if not all(isinstance(t, str) for t in texts):
        raise RequestError(
            "'input' must hold strings; token ids are not accepted, send the text", param="input"
        )
    if len(texts) > MAX_INPUTS:
        raise RequestError(
            f"'input' holds {len(texts)} texts; send at most {MAX_INPUTS} per request",
            param="input",
        )
    for i, t in enumerate(texts):
        if not t.strip():
            raise RequestError(f"input[{i}] is empty", param="input")
        if len(t) > MAX_CHARS:
            raise RequestError(
                f"input[{i}] has {len(t)} characters; at most {MAX_CHARS}", param="input"
            )
    model = data.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or model not in model_names(embedder):
        raise RequestError(
            f"model {model!r} is not served here; use {embedder.name!r}",
            status=404,
            param="model",
            code="model_not_found",
        )
    fmt = data.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise RequestError("'encoding_format' must be 'float' or 'base64'", param="encoding_format")
    dims = data.get("dimensions")
    if dims is not None and dims != embedder.dim:
        raise RequestError(
            f"'dimensions' must be {embedder.dim} (the model's) or left out", param="dimensions"
        )
    kind = data.get("input_type") or "passage"
    if kind not in KINDS:
        raise RequestError(
            "'input_type' must be 'passage' (documents, the default) or 'query' (search questions)",
            param="input_type",
        )
    return texts, kind, model, fmt == "base64"


def embeddings_body(
    embedder: Embedder, texts: list[str], kind: str, model: str, as_base64: bool
) -> dict[str, Any]:
    """The OpenAI response object for ``texts`` (vectors exactly as :meth:`Embedder.embed`)."""
    vectors = embedder.embed(texts, kind)
    tokens = sum(embedder.count_tokens(embedder.prefixes[kind] + t) for t in texts)
    data = []
    for i, v in enumerate(vectors):
        value: Any = (
            base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") if as_base64 else v.tolist()
        )
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def check_login(
    headers: Mapping[str, str], accounts: Mapping[str, str] | Callable[[str, str], bool]
) -> bool:
    """Whether ``Authorization`` carries one of ``accounts`` (user -> password, or a function
    ``(user, password) -> bool``), as ``Bearer user:password`` or HTTP Basic."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    user, sep, password = token.partition(":")
    if not sep:
        return False
    if callable(accounts):
        return bool(accounts(user, password))
    if user not in accounts:
        return False
    return hmac.compare_digest(password.encode(), str(accounts[user]).encode())


def routes(get_embedder: Callable[[], Embedder]) -> list[Any]:
    """``POST /v1/embeddings`` and ``GET /v1/models`` for the embedder ``get_embedder()``
    returns (called in a worker thread: it may wait for the model to load)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def create(request: Request) -> Any:
        try:
            body = await read_body(request)
            embedder = await run_in_threadpool(get_embedder)
            texts, kind, model, b64 = parse_request(body, embedder)
            out = await run_in_threadpool(embeddings_body, embedder, texts, kind, model, b64)
        except RequestError as err:
            return error_response(err)
        except Exception as err:  # noqa: BLE001 - a JSON error, never a traceback
            return unexpected("/v1/embeddings", "embedding", err)
        return JSONResponse(out)

    async def models(request: Request) -> Any:
        try:
            embedder = await run_in_threadpool(get_embedder)
        except RequestError as err:
            return error_response(err)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": embedder.name,
                        "object": "model",
                        "created": 0,
                        "owned_by": "ict-assistant",
                        "dimensions": embedder.dim,
                    }
                ],
            }
        )

    return [
        Route("/v1/embeddings", create, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]


async def read_body(request: Any) -> bytes:
    """The request body, refusing one over :data:`MAX_BODY_BYTES` (413) or not JSON (415)."""
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if kind not in ("application/json", ""):
        raise RequestError(f"send the body as application/json, not {kind}", status=415)
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY_BYTES:
        raise RequestError(f"the body is larger than {MAX_BODY_BYTES} bytes", status=413)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(f"the body is larger than {MAX_BODY_BYTES} bytes", status=413)
    return bytes(body)


def create_app(embedder: Embedder, auth: tuple[str, str] | None = None) -> Any:
    """An ASGI app serving only the embeddings routes; with ``auth`` every request needs that
    login (401 JSON otherwise)."""
    from starlette.applications import Starlette

    app = Starlette(routes=routes(lambda: embedder))
    if auth is None:
        return app
    accounts = {auth[0]: auth[1]}

    async def guarded(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope.get("headers", [])
            }
            if not check_login(headers, accounts):
                await error_response(
                    RequestError(
                        "a login is required: send Authorization: Bearer user:password",
                        status=401,
                        kind="authentication_error",
                    )
                )(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded
