"""The login gate in front of every route of the app.

Gradio checks the login on its data routes and leaves a few others open; :class:`LoginGate`
(an ASGI middleware) closes all but the login page and the files it needs. It reads Gradio's
``App.auth``, ``App.tokens`` and ``App.cookie_id``: pyproject pins the Gradio minor version
it was tested with.
"""

from __future__ import annotations

import re
from typing import Any

from gradio.routes import App
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from assistant import api


class LoginGate:
    """With a login configured, anonymous requests reach only the login page and the files it
    needs. Gradio checks the login on its data routes itself but leaves a few others open
    (``/gradio_api/app_id``, ``/token``, ``/user``, ``/openapi.json``);
    this closes every route not listed in :attr:`OPEN` (``python -m bench.reliability --only
    access`` enumerates them all)."""

    # gradio_client asks /gradio_api/startup-events (true or false, nothing else) without its
    # login cookie
    OPEN = re.compile(
        r"^/(?:login/?|logout|gradio_api/(?:login_check/?|startup-events)|"
        r"favicon\.ico|"
        r"theme\.css|gradio_api/theme\.css|robots\.txt|manifest\.json|pwa_icon.*|"
        r"(?:static|assets|svelte)/.*)?$"
    )

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope["app"].auth:
            gradio_app: App = scope["app"]
            page = scope["type"] == "http" and scope["path"] == "/"  # the login page
            if (
                (page or not self.OPEN.match(scope["path"]))
                and not self._logged_in(scope, gradio_app)
                and not api.header_login(scope, gradio_app.auth)
            ):
                if page:
                    await self._login_page(scope, receive, send)
                elif scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await JSONResponse({"detail": "Not authenticated"}, status_code=401)(
                        scope, receive, send
                    )
                return
        await self.app(scope, receive, send)

    API_INFO = re.compile(rb"<script>\s*window\.gradio_api_info\s*=.*?</script>", re.DOTALL)

    async def _login_page(self, scope: dict, receive: Any, send: Any) -> None:
        """The login page without the description of the API that Gradio puts in every page."""
        start: dict = {}
        body = bytearray()

        async def buffered(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            page = self.API_INFO.sub(b"", bytes(body))
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, buffered)

    @staticmethod
    def _logged_in(scope: dict, gradio_app: App) -> bool:
        cookies = HTTPConnection(scope).cookies
        return any(
            cookies.get(f"{name}-{gradio_app.cookie_id}") in gradio_app.tokens
            for name in ("access-token", "access-token-unsecure")
        )
