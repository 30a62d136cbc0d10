"""Evaluation: Q&A sets in, retrieval / answer / citation / refusal metrics and a report out.

>>> # python -m eval run --qa tests/data/reports_qa.jsonl --corpus data/reports --out /tmp/ev
"""

from assistant.errors import EvalError
from eval.datasets import Passage, QASet, Question, load_qa_set
from eval.metrics import contains_answer, hit_at, mrr, ndcg, normalise_answer, retrieved_rank
from eval.runner import COMPARE, Config, SetRun, entry, run_set, summarise

__all__ = [
    "COMPARE",
    "Config",
    "EvalError",
    "Passage",
    "QASet",
    "Question",
    "SetRun",
    "contains_answer",
    "entry",
    "hit_at",
    "load_qa_set",
    "mrr",
    "ndcg",
    "normalise_answer",
    "retrieved_rank",
    "run_set",
    "summarise",
]
