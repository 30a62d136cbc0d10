"""python -m embeddings serve: an OpenAI-compatible embeddings server (POST /v1/embeddings,
GET /v1/models) for programs that only need vectors, the same vectors as the index's.

    python -m embeddings serve --port 8001 --auth staff:secret
    curl -s http://127.0.0.1:8001/v1/embeddings -H 'Authorization: Bearer staff:secret' \\
        -H 'Content-Type: application/json' \\
        -d '{"model": "multilingual-e5-small", "input": ["Bắc Giang có 1.422 trạm BTS"]}'

The login may also come from ICT_ASSISTANT_EMBEDDINGS_AUTH (the command line is visible to other
users). Errors print one English line and exit non-zero.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import metadata

from .base import BACKENDS, DEFAULT_BACKEND, DEFAULT_MODEL
from .errors import ModelUnavailableError

AUTH_ENV = "ICT_ASSISTANT_EMBEDDINGS_AUTH"


def _version() -> str:
    try:
        return metadata.version("ict-report-assistant")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m embeddings",
        description="Sentence embeddings of the ICT assistant (multilingual-e5-small, offline).",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()} (ict-report-assistant)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve POST /v1/embeddings (OpenAI-compatible)",
        description="An OpenAI-compatible embeddings server (POST "
        "/v1/embeddings, GET /v1/models): the index's own vectors, for "
        "programs that only need vectors.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001, help="port (8001)")
    serve.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"model name or local sentence-transformers folder ({DEFAULT_MODEL})",
    )
    serve.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=f"embedding backend ({DEFAULT_BACKEND}, what the index uses)",
    )
    serve.add_argument(
        "--auth", metavar="USER:PASSWORD", help=f"require this login (prefer {AUTH_ENV})"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    auth_text = args.auth or os.environ.get(AUTH_ENV) or ""
    auth = None
    if auth_text:
        user, sep, password = auth_text.partition(":")
        if not (sep and user and password):
            print("error: --auth must be USER:PASSWORD with both parts non-empty", file=sys.stderr)
            return 2
        auth = (user, password)
    if not 0 < args.port < 65536:
        print(f"error: --port {args.port} is not a port number (1-65535)", file=sys.stderr)
        return 2
    from .loading import load_embedder
    from .server import create_app

    try:
        embedder = load_embedder(args.model, backend=args.backend)
    except ModelUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    import uvicorn

    logging.getLogger("embeddings").info(
        "serving %s (%d dims) on http://%s:%d/v1", embedder.name, embedder.dim, args.host, args.port
    )
    try:
        uvicorn.run(create_app(embedder, auth), host=args.host, port=args.port, log_level="warning")
    except (OSError, SystemExit) as err:
        print(f"error: cannot listen on {args.host}:{args.port} ({err})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
