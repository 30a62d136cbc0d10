"""What every command says about itself: ``--version`` and ``--help`` in plain text."""

from __future__ import annotations

import argparse
import re
from importlib import metadata

DISTRIBUTION = "ict-report-assistant"
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")  # :func:`load_embedder` -> load_embedder


def version() -> str:
    """The installed distribution's version ("unknown" when run from an uninstalled tree)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def plain(doc: str | None) -> str:
    """A docstring as plain text for ``--help``: reST roles and double backticks removed.

    >>> plain("Usage: ``python -m eval run`` (see :func:`main`).")
    'Usage: python -m eval run (see main).'
    """
    return _ROLE.sub(r"\1", doc or "").replace("``", "")


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--version`` (prints "PROG VERSION" and exits 0)."""
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()} ({DISTRIBUTION})"
    )
    return parser
