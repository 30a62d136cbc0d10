"""The README's module tour ("How it works") matches the tree: every module of assistant/ and
embeddings/ is named there, and every name there is a module that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "embeddings")


def tour() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## How it works\n", 1)[1]
    return section.split("```", 2)[1]  # the first code block of the section


def modules() -> set[str]:
    found = {"app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name not in {"__init__.py", "__main__.py"} and "bundled" not in path.parts:
                found.add(path.name)
    return found


def test_every_module_is_in_the_tour() -> None:
    named = set(re.findall(r"\b[a-z_0-9]+\.py\b", tour()))
    assert sorted(modules() - named) == []


def test_the_tour_names_only_modules_that_exist() -> None:
    named = set(re.findall(r"\b[a-z_0-9]+\.py\b", tour())) - {"__main__.py"}
    assert sorted(named - modules()) == []
