#!/usr/bin/env bash
# The static checks CI runs before the tests: lint, format, types, import circles.
#   bash scripts/check.sh      (or: make check)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy
"$PY" scripts/import_cycles.py
