"""The questions the benchmarks ask: the dev set's (beside the shared corpus, when it is there)
and the repository's own report questions."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.config import BUNDLED_REPORTS, PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"
REPO_QA = PROJECT_ROOT / "tests" / "data" / "reports_qa.jsonl"


def dev_set() -> tuple[Path, Path]:
    """The dev Q&A and the corpus its evidence lives in."""
    dev = SHARED / "eval" / "seed_qa_dev.jsonl"
    if dev.is_file() and (SHARED / "corpus" / "reports").is_dir():
        return dev, SHARED / "corpus" / "reports"
    return REPO_QA, BUNDLED_REPORTS


def questions(limit: int | None = None) -> list[str]:
    rows = []
    for path in (dev_set()[0], REPO_QA):
        rows += [
            json.loads(x)["question"] for x in path.read_text("utf-8").splitlines() if x.strip()
        ]
    rows = list(dict.fromkeys(rows))
    return rows[:limit] if limit else rows
