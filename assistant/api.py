"""The app's plain HTTP API, served by its FastAPI beside Gradio (not through Gradio's queue):

- ``POST /api/ask``: body ``{"question": "...", "k": 5, "province": "...", "year": 2020}`` (all
  but ``question`` optional), answer: the JSON of ``python -m assistant ask --json``;
- ``GET /api/indicators?indicator=bts_stations&province=&year=&status=result``: the indicator
  facts read from the reports (``python -m assistant indicators --format json``);
- ``POST /v1/embeddings``, ``GET /v1/models``: OpenAI-compatible embeddings with the index's own
  model and backend (``embeddings.server``).

With a login, a request needs the Gradio login cookie or ``Authorization: Bearer user:password``
(or HTTP Basic). Errors are JSON ``{"error": {"message", "type", "param", "code"}}``: 400 for
bad input, 401 without the login, 503 while the assistant starts, 500 otherwise; ``code`` is
the :class:`assistant.errors.AssistantError` code where there is one (``question_empty``,
``not_ready``, ``indicator_unknown``...).

    curl -s http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' \\
        -d '{"question": "Năm 2020 Bắc Giang có bao nhiêu trạm BTS?"}'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from assistant.errors import AssistantError, NotReadyError, QuestionError
from embeddings.server import (
    RequestError,
    check_login,
    error_response,
    json_object,
    read_body,
    unexpected,
)
from embeddings.server import routes as embedding_routes

log = logging.getLogger(__name__)

PREFIXES = ("/api/", "/v1/")
START_WAIT_S = 60.0  # a request during the first start waits this long, then gets a 503
FIELDS = {"question": str, "k": int, "province": str, "year": int}


def is_api_path(path: str) -> bool:
    return path.startswith(PREFIXES)


def header_login(scope: Mapping[str, Any], auth: Any) -> bool:
    """Whether an API request carries the app's login in its ``Authorization`` header.
    ``auth`` is Gradio's: a dict user -> password, or a function ``(user, password) -> bool``."""
    if not auth or not is_api_path(scope.get("path", "")):
        return False
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
    }
    return check_login(headers, auth)


def parse_ask(body: bytes) -> dict[str, Any]:
    """The keyword arguments of ``Assistant.ask`` from a ``/api/ask`` body."""
    data = json_object(body, 'such as {"question": "..."}')
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise RequestError(
            f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}",
            param=unknown[0],
        )
    out: dict[str, Any] = {}
    for name, kind in FIELDS.items():
        value = data.get(name)
        if value is None or (name in ("province", "year") and value == ""):
            continue
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise RequestError(f"'{name}' must be a whole number", param=name)
        if kind is str and not isinstance(value, str):
            raise RequestError(f"'{name}' must be a string", param=name)
        out[name] = value
    if not str(out.get("question", "")).strip():
        raise RequestError(
            "'question' is missing or empty; ask a question about the reports",
            param="question",
            code="question_empty",
        )
    if "k" in out and not 1 <= out["k"] <= 100:
        raise RequestError("'k' must be between 1 and 100", param="k", code="k_invalid")
    return out


def routes(engine: Any) -> list[Any]:
    """The API routes over the app's :class:`assistant.web.engine.Engine` (mounted by
    ``app.py``)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def bot() -> Any:
        try:
            return engine.wait(timeout=START_WAIT_S)
        except NotReadyError as err:  # starting, or failed to start
            raise RequestError(
                "the assistant is starting or could not start; retry in a minute",
                status=503,
                kind="server_error",
                code=err.code,
            ) from err

    def answer(kwargs: dict[str, Any]) -> dict[str, Any]:
        return bot().ask(**kwargs).to_json_dict()

    async def ask(request: Request) -> Any:
        try:
            kwargs = parse_ask(await read_body(request))
            return JSONResponse(await run_in_threadpool(answer, kwargs))
        except QuestionError as err:  # empty after normalising, too long
            return error_response(RequestError(str(err), param="question", code=err.code))
        except RequestError as err:
            return error_response(err)
        except AssistantError as err:
            log.warning("/api/ask failed: %s", err)
            return error_response(
                RequestError(str(err), status=500, kind="server_error", code=err.code)
            )
        except Exception as err:  # noqa: BLE001 - a JSON error, never a traceback
            return unexpected("/api/ask", "the question", err)

    def facts(query: Mapping[str, str]) -> dict[str, Any]:
        from assistant.indicator_cli import facts_json

        unknown = sorted(set(query) - {"indicator", "province", "year", "status"})
        if unknown:
            raise RequestError(
                f"unknown parameter(s) {', '.join(unknown)}; the parameters are "
                "indicator, province, year, status",
                param=unknown[0],
            )
        year = query.get("year") or None
        if year is not None and not year.isdigit():
            raise RequestError("'year' must be a whole number", param="year")
        status = query.get("status") or None
        if status not in (None, "result", "target"):
            raise RequestError("'status' must be result or target", param="status")
        kb = bot().kb
        try:
            return facts_json(
                kb,
                query.get("indicator") or None,
                query.get("province") or None,
                int(year) if year else None,
                status,
            )
        except AssistantError as err:  # an unknown indicator or province
            raise RequestError(
                str(err),
                code=err.code,
                param="indicator" if err.code == "indicator_unknown" else "province",
            ) from err

    async def indicators(request: Request) -> Any:
        """``GET /api/indicators?indicator=&province=&year=&status=``: the indicator facts, the
        JSON of ``python -m assistant indicators --format json``."""
        try:
            return JSONResponse(await run_in_threadpool(facts, dict(request.query_params)))
        except RequestError as err:
            return error_response(err)
        except Exception as err:  # noqa: BLE001 - a JSON error, never a traceback
            return unexpected("/api/indicators", "the request", err)

    return [
        Route("/api/ask", ask, methods=["POST"]),
        Route("/api/indicators", indicators, methods=["GET"]),
        *embedding_routes(lambda: bot().encoder),
    ]
