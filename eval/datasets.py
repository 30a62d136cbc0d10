"""Q&A sets in the two formats of the shared eval data, read unchanged.

- Report Q&A (``seed_qa_dev.jsonl``): ``{id, question, answers, evidence: [{doc, quote}],
  answerable, kind}``; ``doc`` is relative to a corpus root and matched by path suffix.
- Passage pools (``public/*/questions*.jsonl`` + ``passages*.jsonl``): ``{id, question, answers,
  gold_passage_ids, ...}`` and passages ``{id, title, text}``.

>>> # qa = load_qa_set(Path("../shared/eval/public/uit_viquad1/questions_dev.jsonl"))
>>> # qa.name, qa.format, qa.passages.name  ->  "uit_viquad1_dev", "passages", "passages_dev.jsonl"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from assistant.errors import EvalError
from assistant.text import fold, normalize


class Evidence(BaseModel):
    doc: str  # path relative to a corpus root: "reports/bac-giang-2020.txt"
    quote: str


class Question(BaseModel):
    id: str
    question: str
    answers: list[str] = []
    evidence: list[Evidence] = []  # report Q&A
    gold_passage_ids: list[str] = []  # passage pools
    answerable: bool = True
    kind: str = "answerable"


class Passage(BaseModel):
    id: str
    title: str = ""
    text: str


class QASet(BaseModel):
    name: str
    path: Path
    format: Literal["reports", "passages"]
    questions: list[Question]
    passages: Path | None = None  # the passages file of a passage pool


def load_qa_set(path: Path) -> QASet:
    """Read a Q&A file (or a folder with one ``questions*.jsonl``) in either format."""
    path = _questions_file(Path(path))
    rows = read_jsonl(path)
    if not rows:
        raise EvalError(f"{path} holds no questions; pass a non-empty JSONL Q&A file")
    if "gold_passage_ids" in rows[0]:
        questions = [_pool_question(r, path, i) for i, r in enumerate(rows, 1)]
        passages = passages_beside(path)
        name = path.parent.name + path.stem.removeprefix("questions")
        return QASet(
            name=name, path=path, format="passages", questions=questions, passages=passages
        )
    if "evidence" in rows[0]:
        questions = [_report_question(r, path, i) for i, r in enumerate(rows, 1)]
        return QASet(name=path.stem, path=path, format="reports", questions=questions)
    raise EvalError(
        f"{path}: the first record has neither 'evidence' (report Q&A) nor "
        "'gold_passage_ids' (passage pool); see ../shared/eval/README.md"
    )


def select(qa: QASet, kinds: list[str], folded: bool = False) -> QASet:
    """``qa`` with only the questions whose kind starts with one of ``kinds`` (all when
    empty), each without its diacritics when ``folded``."""
    questions = [q for q in qa.questions if not kinds or q.kind.startswith(tuple(kinds))]
    if not questions:
        found = ", ".join(sorted({q.kind for q in qa.questions}))
        raise EvalError(f"{qa.path}: no question of kind {' or '.join(kinds)}; it has {found}")
    if folded:
        questions = [q.model_copy(update={"question": fold(q.question)}) for q in questions]
    if questions == qa.questions:
        return qa
    return qa.model_copy(update={"questions": questions})


def load_passages(path: Path) -> list[Passage]:
    rows = read_jsonl(path)
    try:
        return [Passage(**r) for r in rows]
    except (ValidationError, TypeError) as err:
        raise EvalError(
            f"{path}: a passage lacks id or text ({err.__class__.__name__}); "
            'each line must be {"id", "title", "text"}'
        ) from err


def passages_beside(questions: Path) -> Path:
    """``questions_dev.jsonl`` -> ``passages_dev.jsonl``, ``questions.jsonl`` -> ``passages.jsonl``
    (else the only ``passages*.jsonl`` in the folder)."""
    suffix = questions.name.removeprefix("questions")
    candidate = questions.with_name("passages" + suffix)
    if candidate.is_file():
        return candidate
    found = sorted(questions.parent.glob("passages*.jsonl"))
    if len(found) == 1:
        return found[0]
    raise EvalError(f"no passages file for {questions}: expected {candidate.name} beside it")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as err:
        raise EvalError(f"cannot read {path}: {err.strerror or err}; check the path") from err
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise EvalError(
                f"{path}:{n}: not valid JSON ({err.msg}); fix or remove the line"
            ) from err
    return rows


def _questions_file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("questions*.jsonl"))
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "none"
            raise EvalError(
                f"{path} holds {len(found)} questions files ({names}); pass one of them with --qa"
            )
        return found[0]
    if path.name.startswith("passages") and not path.is_dir():
        twin = path.with_name("questions" + path.name.removeprefix("passages"))
        if twin.is_file():
            return twin
    if not path.is_file():
        raise EvalError(f"Q&A file not found: {path}")
    return path


def _pool_question(row: dict[str, Any], path: Path, line: int) -> Question:
    gold = row.get("gold_passage_ids") or []
    answerable = bool(row.get("answerable", not row.get("is_impossible", False))) and bool(gold)
    kind = row.get("kind") or row.get("split") or ("answerable" if answerable else "unanswerable")
    return _question({**row, "answerable": answerable, "kind": kind}, path, line)


def _report_question(row: dict[str, Any], path: Path, line: int) -> Question:
    answerable = bool(row.get("answerable", bool(row.get("evidence"))))
    kind = row.get("kind") or ("answerable" if answerable else "unanswerable")
    return _question({**row, "answerable": answerable, "kind": kind}, path, line)


def _question(row: dict[str, Any], path: Path, line: int) -> Question:
    try:
        return Question(**{k: v for k, v in row.items() if k in Question.model_fields})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise EvalError(f"{path}:{line}: field {where!r}: {first['msg']}; fix the record") from err


def drop_question_titles(
    passages: list[Passage], questions: list[Question]
) -> tuple[list[Passage], int]:
    """Blank passage titles that repeat a question of the set word for word.

    zalo2019's passages carry the question they were collected for as their title: indexing it
    would hand the retriever the answer. Returns the passages and how many titles were blanked.
    """
    asked = {_fold_key(q.question) for q in questions}
    out, dropped = [], 0
    for p in passages:
        if p.title and _fold_key(p.title) in asked:
            out.append(p.model_copy(update={"title": ""}))
            dropped += 1
        else:
            out.append(p)
    return out, dropped


def _fold_key(text: str) -> str:  # diacritics off too: a question asked folded (--fold)
    return " ".join(fold(normalize(text)).casefold().split()).rstrip(" ?.")
