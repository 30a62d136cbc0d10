# Shortcuts; README.md gives the two commands a fresh machine needs.
.PHONY: check test

check:  ## ruff check, ruff format --check, mypy, import circles
	bash scripts/check.sh

test:
	.venv/bin/python -m pytest
