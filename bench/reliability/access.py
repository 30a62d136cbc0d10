"""Access: with a login configured, every route of the app refuses anonymous requests.

The routes are enumerated from the app itself (the FastAPI application Gradio builds for our
Blocks, included routers walked), then each is requested without a session cookie against
``python app.py --auth`` on loopback, path parameters filled with real values (an uploaded
file, the index manifest, ``/etc/passwd``). A route is *open* when it answers 2xx with anything
but the login page or the public assets the login page itself needs.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.running import launch_app, stop_app

LOGIN = ("staff", "mật-khẩu-thử")
# What a browser must fetch to draw the login form; none of it holds data of ours.
PUBLIC_ASSETS = re.compile(
    r"^/(?:static|assets|svelte)/|^/(?:favicon\.ico|theme\.css|robots\.txt|"
    r"manifest\.json|pwa_icon.*|gradio_api/theme\.css)$"
)
# Markers of the application page (as opposed to the login page) in an HTML or JSON reply
APP_MARKERS = ("Trợ lý hỏi đáp", "Năm 2020 Bắc Giang", "Nguồn", "/ask", "/upload")


def routes() -> list[tuple[str, str]]:
    """``(method, path)`` of every route Gradio serves for the app's Blocks."""
    from gradio.routes import App

    import app as webapp
    from assistant.config import AppSettings, Settings
    from assistant.web.engine import Engine
    from assistant.web.feedback import FeedbackLog

    with tempfile.TemporaryDirectory() as tmp:
        demo = webapp.build(Engine(Settings()), AppSettings(), FeedbackLog(Path(tmp) / "f"))
        fastapi_app = App.create_app(demo)
    out: list[tuple[str, str]] = []

    def walk(items: list[Any], prefix: str = "") -> None:
        for r in items:
            if hasattr(r, "path"):
                for m in sorted(getattr(r, "methods", None) or {"WEBSOCKET"}):
                    out.append((m, prefix + r.path))
            elif hasattr(r, "original_router"):  # an included router
                walk(r.original_router.routes, prefix + r.include_context.prefix)

    walk(fastapi_app.routes)
    return sorted(set(out))


def fill(path: str, secret_file: Path) -> list[str]:
    """Concrete paths for a route: each parameter replaced by values worth trying."""
    if "{" not in path:
        return [path]
    if "path_or_url" in path or path.endswith("{path:path}") and "file" in path:
        return [
            re.sub(r"\{[^}]+\}", str(secret_file), path),
            re.sub(r"\{[^}]+\}", "/etc/passwd", path),
        ]
    return [re.sub(r"\{[^}]+\}", "x", path)]


def is_login_page(r: httpx.Response) -> bool:
    """Gradio's page shell asking for a login: no components, no events, no API description,
    nothing of the app's text."""
    if r.request.method == "HEAD":
        return not r.content  # headers only
    text = r.text.replace(" ", "")
    return (
        '"auth_required":true' in text
        and '"components":[]' in text
        and '"dependencies":[]' in text
        and "gradio_api_info" not in text
        and not any(m in r.text for m in APP_MARKERS)
    )


def probe(base: str, method: str, path: str, client: httpx.Client) -> dict[str, Any]:
    try:
        r = client.request(
            "POST" if method == "POST" else method if method != "WEBSOCKET" else "GET",
            base + path,
            json={} if method == "POST" else None,
        )
    except httpx.HTTPError as err:
        return {"status": None, "open": False, "why": f"{type(err).__name__}"}
    ok = 200 <= r.status_code < 300
    why = ""
    if ok and PUBLIC_ASSETS.search(path):
        ok, why = False, "public asset of the login page"
    elif ok and path in ("/", "/login", "/login/") and is_login_page(r):
        ok, why = False, "login page"
    elif ok and path == "/logout":
        ok, why = False, "logout (no session)"
    elif ok and path == "/gradio_api/startup-events" and r.text.strip() in ("true", "false"):
        ok, why = False, "startup flag (gradio_client reads it before logging in)"
    elif ok and method == "HEAD":
        ok = True
    return {"status": r.status_code, "open": ok, "why": why, "body": r.text[:120] if ok else ""}


def run(workdir: Path | None = None, cache: Path | None = None) -> dict[str, Any]:
    """Enumerate the routes, start the app with a login, request every route anonymously."""
    listed = routes()
    with tempfile.TemporaryDirectory(prefix="rel-access-") as tmp:
        base = Path(workdir or tmp)
        app = launch_app(base / "app", cache or base / "index-cache", auth=LOGIN)
        try:
            secret = app.data_dir / "feedback.jsonl"
            secret.write_text('{"question": "bí mật"}\n', "utf-8")
            manifest = next(app.index_dir.glob("v-*/manifest.json"))
            results = []
            with httpx.Client(timeout=10, follow_redirects=False) as client:
                for method, path in listed:
                    for concrete in fill(path, secret) + (
                        [re.sub(r"\{[^}]+\}", str(manifest), path)]
                        if "file" in path and "{" in path
                        else []
                    ):
                        results.append(
                            {
                                "method": method,
                                "route": path,
                                "path": concrete,
                                **probe(app.url, method, concrete, client),
                            }
                        )
                logged = app.client()  # the same routes do work with the login
                works = bool(
                    logged.predict("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?", api_name="/ask")[
                        "citations"
                    ]
                )
        finally:
            stop_app(app)
    opened = [r for r in results if r["open"]]
    return {
        "routes": len(listed),
        "requests": len(results),
        "open_routes": len({(r["method"], r["route"]) for r in opened}),
        "open": opened,
        "public_by_design": sorted({r["route"] for r in results if r["why"]}),
        "statuses": _count(r["status"] for r in results),
        "logged_in_ask_works": works,
    }


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out
