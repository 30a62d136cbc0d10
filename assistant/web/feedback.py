"""The session's turns and the feedback on them, appended to a JSONL file."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from assistant.web.render import sources_of


def new_turn(question: str, asked: str, answer: dict[str, Any]) -> dict[str, Any]:
    """One question and its answer as kept in the session (plain JSON)."""
    return {"question": question, "asked": asked, "answer": answer}


class FeedbackLog:
    """Feedback appended to a JSONL file, one object a line (UTF-8, readable Vietnamese)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(
        self, turn: dict[str, Any], rating: Literal["up", "down"] | None, comment: str = ""
    ) -> dict[str, Any]:
        """Log feedback on one answered turn (see :func:`new_turn`); returns the record."""
        answer = turn.get("answer") or {}
        record = {
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "rating": rating,
            "comment": " ".join((comment or "").split())[:2000],
            "question": turn.get("question", ""),
            "asked": turn.get("asked", ""),
            "answer": answer.get("answer", ""),
            "refused": bool(answer.get("refused")),
            "citations": [
                {
                    k: c.get(k)
                    for k in (
                        "n",
                        "doc",
                        "title",
                        "province",
                        "year",
                        "chunk_id",
                        "start",
                        "end",
                        "quote",
                    )
                }
                for c in sources_of(answer)
            ],
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        return record
