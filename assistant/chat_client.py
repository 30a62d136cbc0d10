"""The HTTP chat client: one OpenAI-compatible ``/chat/completions`` request, its reply streamed
as server-sent events (or read whole from a server that ignores ``"stream"``), and every failure
(server down, timeout, HTTP error, malformed reply) raised as an :class:`LLMError` with a ``kind``.

>>> # client = ChatClient(settings)
>>> # for piece in client.stream([{"role": "user", "content": "Xin chào"}]): print(piece, end="")
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from assistant.config import Settings
from assistant.errors import LLMError

Message = dict[str, str]


class ChatClient:
    """A minimal OpenAI-compatible ``/chat/completions`` client with server-sent events.

    ``settings.llm_timeout_s`` bounds the connection, the wait for the first token and the gap
    between tokens; ``llm_max_tokens`` bounds the length. The API key is sent, never logged.
    """

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self.model = settings.llm_model
        self.temperature = settings.llm_temperature
        self.max_tokens = settings.llm_max_tokens
        t = settings.llm_timeout_s
        self.timeout = httpx.Timeout(t, connect=min(t, 10.0))
        self.headers = {"Accept": "text/event-stream"}
        if settings.llm_api_key is not None:
            self.headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
        self.transport = transport

    def payload(
        self, messages: list[Message], max_tokens: int | None = None, stream: bool = True
    ) -> dict:
        body: dict = {
            "messages": messages,
            "stream": stream,
            "temperature": self.temperature,
            "max_tokens": max_tokens or self.max_tokens,
        }
        if self.model:
            body["model"] = self.model
        return body

    def stream(self, messages: list[Message], max_tokens: int | None = None) -> Iterator[str]:
        """The reply's text as it is generated (pieces of any length; empty ones skipped).

        Raises LLMError (``kind``: unreachable, timeout, http, malformed).
        """
        try:
            with (
                httpx.Client(timeout=self.timeout, transport=self.transport) as client,
                client.stream(
                    "POST", self.url, json=self.payload(messages, max_tokens), headers=self.headers
                ) as r,
            ):
                if r.status_code != 200:
                    body = r.read().decode("utf-8", "replace")
                    raise LLMError(
                        f"{self.url} answered HTTP {r.status_code}: {' '.join(body.split())[:300]}",
                        "http",
                    )
                if r.headers.get("content-type", "").startswith("application/json"):
                    # a server that ignores "stream": the whole reply at once
                    yield _content(_json(r.read().decode("utf-8", "replace")), "message")
                    return
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue  # blank lines, comments (": ping"), "event:" lines
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    piece = _content(_json(data), "delta")
                    if piece:
                        yield piece
        except httpx.TimeoutException as err:
            raise LLMError(
                f"no reply from {self.url} within the timeout ({type(err).__name__})", "timeout"
            ) from err
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as err:
            raise LLMError(
                f"cannot reach the language-model server at {self.url} ({err}); "
                "is it running? check llm_base_url",
                "unreachable",
            ) from err
        except httpx.HTTPError as err:
            raise LLMError(f"request to {self.url} failed ({err})", "unreachable") from err

    def complete(self, messages: list[Message], max_tokens: int | None = None) -> str:
        """The whole reply (streamed, then joined)."""
        return "".join(self.stream(messages, max_tokens))


def _json(data: str) -> dict:
    try:
        obj = json.loads(data)
    except ValueError as err:
        raise LLMError(
            f"the server sent something that is not JSON: {data[:120]!r}", "malformed"
        ) from err
    if not isinstance(obj, dict):
        raise LLMError(f"the server sent unexpected JSON: {data[:120]!r}", "malformed")
    if "error" in obj:
        raise LLMError(f"the server reported an error: {str(obj['error'])[:300]}", "http")
    return obj


def _content(obj: dict, key: str) -> str:
    """``choices[0][key]["content"]`` (``key``: "delta" when streamed, else "message")."""
    try:
        choices = obj["choices"]
        if not choices:  # some servers send a usage-only event at the end
            return ""
        content = (choices[0].get(key) or {}).get("content") or ""
    except (KeyError, TypeError, AttributeError) as err:
        raise LLMError(
            f"the server's reply has no choices[0].{key}.content: "
            f"{json.dumps(obj, ensure_ascii=False)[:160]}",
            "malformed",
        ) from err
    if not isinstance(content, str):
        raise LLMError("the server's reply content is not text", "malformed")
    return content
