"""Scores of the indicator table: fact extraction against hand-labelled facts, and answers to
comparison questions against their expected tables.

    python -m eval indicators                       # the bundled reports and their labels
    python -m eval indicators --labels tests/data/indicator_facts_heldout.jsonl \\
        --corpus tests/data/heldout_reports

Labelled facts (JSONL, one per line): ``doc`` (file name), ``indicator``, ``number`` (as
written), ``context`` (a passage of the document, found once, that contains ``number``),
``value``, optional ``value_max``/``total``, ``province``, ``year`` (null: the sentence names
none, so the report's own year), optional ``target`` (default false) and ``measure``
(default "level"). A fact is right when every one of these and its span are.

Comparison questions (JSONL): ``question`` and ``rows``, each ``province``, ``year`` and
``value`` (the number as written, null for "no data") and ``doc`` (the file the value must
cite). An answer is right when it comes from the table, shows every expected row with a
citation of the right report, and no other value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.indicator_extract import extract_facts, report_year
from assistant.indicators import Fact
from assistant.ingest import load_document
from assistant.types import Document

FIELDS = (
    "indicator",
    "value",
    "value_max",
    "total",
    "province",
    "year",
    "target",
    "measure",
    "span",
)


@dataclass
class ExtractionScore:
    labelled: int = 0
    extracted: int = 0
    correct: int = 0
    missed: list[dict[str, Any]] = field(default_factory=list)
    wrong: list[dict[str, Any]] = field(default_factory=list)  # extracted, not labelled

    @property
    def precision(self) -> float:
        return self.correct / self.extracted if self.extracted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "extracted": self.extracted,
            "correct": self.correct,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "missed": self.missed,
            "wrong": self.wrong,
        }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_corpus(folder: Path) -> dict[str, Document]:
    """The documents of a folder by file name."""
    return {p.name: load_document(p) for p in sorted(Path(folder).iterdir()) if p.is_file()}


def expected_fact(label: dict[str, Any], doc: Document) -> dict[str, Any]:
    """A label with its span and year resolved against the document."""
    at = doc.text.find(label["context"])
    if at < 0 or doc.text.find(label["context"], at + 1) >= 0:
        raise ValueError(f"{label['doc']}: context {label['context']!r} is not found exactly once")
    inner = label["context"].find(label["number"])
    if inner < 0:
        raise ValueError(f"{label['doc']}: {label['number']!r} is not in its context")
    start = at + inner
    year = label.get("year")
    return {
        "indicator": label["indicator"],
        "value": float(label["value"]),
        "value_max": label.get("value_max"),
        "total": label.get("total"),
        "province": label.get("province"),
        "year": year if year is not None else report_year(doc),
        "target": bool(label.get("target", False)),
        "measure": label.get("measure", "level"),
        "span": (start, start + len(label["number"])),
    }


def _fields(f: Fact) -> dict[str, Any]:
    return {
        "indicator": f.indicator,
        "value": f.value,
        "value_max": f.value_max,
        "total": f.total,
        "province": f.province,
        "year": f.year,
        "target": f.target,
        "measure": f.measure,
        "span": (f.start, f.end),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


def score_extraction(
    labels: list[dict[str, Any]], documents: dict[str, Document]
) -> ExtractionScore:
    """Precision and recall of :func:`extract_facts` on the labelled documents; a fact counts
    only when every field of :data:`FIELDS` is right."""
    score = ExtractionScore()
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for label in labels:
        if label["doc"] not in documents:
            raise ValueError(f"labelled document {label['doc']} is not in the corpus")
        by_doc.setdefault(label["doc"], []).append(expected_fact(label, documents[label["doc"]]))
    for name, doc in documents.items():
        expected = by_doc.get(name, [])
        got = [_fields(f) for f in extract_facts(doc)]
        score.labelled += len(expected)
        score.extracted += len(got)
        unmatched = list(got)
        for e in expected:
            match = next((g for g in unmatched if all(_same(e[k], g[k]) for k in FIELDS)), None)
            if match is None:
                near = next((g for g in unmatched if g["span"] == e["span"]), None)
                score.missed.append(
                    {
                        "doc": name,
                        "expected": _jsonable(e),
                        "got": _jsonable(near) if near else None,
                    }
                )
                continue
            unmatched.remove(match)
            score.correct += 1
        score.wrong += [
            {"doc": name, "got": _jsonable(g), "quote": doc.text[g["span"][0] : g["span"][1]]}
            for g in unmatched
        ]
    return score


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# --- comparison questions -------------------------------------------------------------------


@dataclass
class QuestionScore:
    questions: int = 0
    correct: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.questions if self.questions else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "failures": self.failures,
        }


def check_answer(item: dict[str, Any], answer: dict[str, Any] | None) -> list[str]:
    """What is wrong with ``answer`` (an Answer's JSON) to comparison question ``item``."""
    if answer is None or not answer.get("table"):
        return ["not answered from the indicator table"]
    problems: list[str] = []
    unused = list(answer["table"]["rows"])
    cites = {c["n"]: c for c in answer.get("citations", [])}
    for e in item["rows"]:
        row = next(
            (
                r
                for r in unused
                if r["province"] == e["province"]
                and r.get("year") == e.get("year")
                and r.get("value") == e.get("value")
            ),
            None,
        )
        if row is None:
            problems.append(
                f"no row {e['province']} | {e.get('year')} | {e.get('value') or 'no data'}"
            )
            continue
        unused.remove(row)
        if e.get("value") is None:
            continue
        cited = cites.get(row.get("n") or -1)
        if cited is None or Path(cited["doc"]).name != e["doc"]:
            problems.append(
                f"{e['province']} {e.get('year')}: cites "
                f"{Path(cited['doc']).name if cited else None}, expected {e['doc']}"
            )
        elif e["value"].split()[-1] not in cited["quote"]:
            problems.append(f"{e['province']}: the cited sentence lacks {e['value']!r}")
    if unused:
        problems.append(
            "unexpected rows: "
            + ", ".join(f"{r['province']} {r.get('year')} {r.get('value')}" for r in unused)
        )
    return problems


def score_questions(items: list[dict[str, Any]], ask: Any) -> QuestionScore:
    """``ask(question) -> Answer JSON`` for each item, checked by :func:`check_answer`."""
    score = QuestionScore()
    for item in items:
        score.questions += 1
        problems = check_answer(item, ask(item["question"]))
        if problems:
            score.failures.append({"question": item["question"], "problems": problems})
        else:
            score.correct += 1
    return score


def run(labels: Path, corpus: Path, questions: Path | None = None) -> dict[str, Any]:
    """Both scores (questions answered from the facts of ``corpus`` alone, no retrieval)."""
    from assistant.compare import answer_from_facts
    from assistant.facts import FactTable

    documents = load_corpus(corpus)
    out: dict[str, Any] = {
        "labels": str(labels),
        "corpus": str(corpus),
        "extraction": score_extraction(read_jsonl(labels), documents).to_json(),
    }
    if questions is not None:
        table = FactTable.build(documents.values())
        docs = {d.id: d for d in documents.values()}

        def ask(q: str) -> dict[str, Any] | None:
            a = answer_from_facts(q, table, docs)
            return a.to_json_dict() if a else None

        out["questions"] = score_questions(read_jsonl(questions), ask).to_json()
    return out


# --- python -m eval indicators --------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "indicators", help="score the indicator table: fact extraction and comparison answers"
    )
    p.add_argument(
        "--labels",
        type=Path,
        default=ROOT / "tests/data/indicator_facts.jsonl",
        help="hand-labelled facts (default: the bundled reports' labels)",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        default=ROOT / "data/reports",
        help="the folder of the labelled documents",
    )
    p.add_argument(
        "--questions",
        type=Path,
        help="comparison questions with expected tables (default with the bundled "
        "reports: tests/data/indicator_questions.jsonl)",
    )
    p.add_argument("--out", type=Path, help="write the scores (JSON) here")


def main_cli(args: Any) -> int:
    """Print precision, recall and question accuracy; details go to ``--out``."""
    from assistant.errors import EvalError

    questions = args.questions
    if questions is None and args.corpus.resolve() == (ROOT / "data/reports").resolve():
        questions = ROOT / "tests/data/indicator_questions.jsonl"
    for path in (args.labels, args.corpus, questions):
        if path is not None and not path.exists():
            raise EvalError(f"{path} not found")
    try:
        out = run(args.labels, args.corpus, questions)
    except (ValueError, KeyError) as err:
        raise EvalError(f"bad labels: {err}") from err
    e = out["extraction"]
    print(
        f"extraction on {args.corpus}: {e['correct']}/{e['labelled']} labelled facts found, "
        f"{e['extracted']} extracted: precision {e['precision']:.3f}, recall "
        f"{e['recall']:.3f} (indicator, value, province, year, result/target, span)"
    )
    for m in e["missed"]:
        print(f"  missed {m['doc']}: {m['expected']['indicator']} {m['expected']['value']}")
    for w in e["wrong"]:
        print(f"  wrong  {w['doc']}: {w['got']['indicator']} {w['quote']!r}")
    if "questions" in out:
        q = out["questions"]
        print(
            f"comparison questions: {q['correct']}/{q['questions']} answered exactly "
            f"({q['accuracy']:.3f})"
        )
        for f in q["failures"]:
            print(f"  {f['question']}: {'; '.join(f['problems'])}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), "utf-8")
    return 0
