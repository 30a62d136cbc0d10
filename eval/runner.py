"""Run a Q&A set through the assistant under one or more configurations and score it.

>>> # results = evaluate(load_qa_set(path), [Path("data/reports")], Settings(), encoder)
>>> # results["seed_qa_dev"]["retrieval"]["hit@5"]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

import eval.metrics as metrics
from assistant import Answer, Assistant, KnowledgeBase, Settings
from assistant.answer_weights import weights as ranker_weights
from assistant.errors import EvalError
from assistant.types import Encoder
from eval.corpus import CACHE_DIR, open_pool_kb, open_reports_kb
from eval.datasets import QASet, Question, drop_question_titles, load_passages
from eval.encoder import QueryCache
from eval.metrics import Item

KS = (1, 3, 5, 10)


class Config(BaseModel):
    """A named retrieval configuration: settings changed from the base settings."""

    name: str
    changes: dict[str, Any] = {}


DEFAULT = Config(name="hybrid")
# What --compare runs: the baselines, then one switch at a time.
COMPARE = [
    DEFAULT,
    Config(name="bm25", changes={"fusion": "bm25"}),
    Config(name="dense", changes={"fusion": "dense"}),
    Config(name="rrf", changes={"fusion": "rrf", "dense_weight": 1.0, "bm25_weight": 1.0}),
    Config(name="hybrid-no-windows", changes={"dense_windows": 0}),
    Config(name="hybrid-no-header", changes={"context_header": False}),
    Config(name="hybrid-no-fold", changes={"fold_diacritics": False}),
    Config(name="hybrid-dense-0.5", changes={"dense_weight": 0.5, "bm25_weight": 0.5}),
    Config(name="hybrid-dense-0.85", changes={"dense_weight": 0.85, "bm25_weight": 0.15}),
]


class Outcome(BaseModel):
    """What happened to one question."""

    id: str
    kind: str
    answerable: bool
    rank: int | None = None  # rank at which all evidence was retrieved
    ndcg: float | None = None
    correct: bool | None = None
    refused: bool = False
    citations: int = 0
    citations_ok: int = 0
    evidence: int = 0
    evidence_cited: int = 0
    retrieve_ms: float = 0.0
    answer_ms: float = 0.0
    total_ms: float = 0.0
    # generated answers (answerer "llm"): what the citation check found, and fallbacks
    generated: bool = False
    fallback: str | None = None
    unverified: int = 0
    uncited: bool = False
    removed_citations: int = 0
    first_token_ms: float | None = None
    answer: str = ""  # the reply's text, for reading the outcomes (``--details``)


class Failure(BaseModel):
    id: str
    reason: str


class SetRun(BaseModel):
    """The scored questions of one set under one configuration."""

    set: str
    config: Config
    settings: dict[str, Any]
    notes: dict[str, Any] = {}
    outcomes: list[Outcome]
    failures: list[Failure]


# --- running --------------------------------------------------------------------------------


def run_set(
    qa: QASet,
    corpus: list[Path],
    base: Settings,
    encoder: Encoder,
    configs: list[Config] | None = None,
    k: int = 10,
    limit: int | None = None,
    cache: Path = CACHE_DIR,
    rebuild: bool = False,
) -> list[SetRun]:
    """Score ``qa`` under each configuration (default: the base settings alone)."""
    encoder = encoder if isinstance(encoder, QueryCache) else QueryCache(encoder)
    questions = qa.questions[:limit] if limit else qa.questions
    notes: dict[str, Any] = {"questions": len(questions)}
    passages, source = None, qa.passages
    if source is not None:
        passages, dropped = drop_question_titles(load_passages(source), qa.questions)
        notes["passages"] = len(passages)
        notes["titles_dropped"] = dropped
    elif not corpus:
        raise EvalError(
            f"{qa.path} is report Q&A: name the folder its 'doc' paths are "
            "relative to (or below it) with --corpus"
        )
    runs: list[SetRun] = []
    kbs: dict[tuple, KnowledgeBase] = {}
    for config in configs or [DEFAULT]:
        settings = configure(base, config)
        key = tuple(sorted(_index_fields(settings).items()))
        twin = next((kb for k, kb in kbs.items() if _same_vectors(k, key)), None)
        if key not in kbs and twin is not None and not twin.vector_index.capabilities.whole_store:
            kbs[key] = relexed(twin, settings.fold_diacritics)
        if key not in kbs:
            progress = _Bars(f"{qa.name} index ({config.name})")
            try:
                if passages is not None and source is not None:
                    kbs[key] = open_pool_kb(
                        passages, source, settings, encoder, cache, rebuild, progress
                    )
                else:
                    kbs[key] = open_reports_kb(corpus, settings, encoder, cache, rebuild, progress)
            finally:
                progress.close()
        kb = kbs[key]
        bot = Assistant(settings, kb, encoder)
        runs.append(_score_all(qa, questions, bot, encoder, config, k, notes))
    return runs


def relexed(kb: KnowledgeBase, fold_diacritics: bool) -> KnowledgeBase:
    """The same chunks and vectors with a BM25 index built for another ``fold_diacritics``
    (folding changes no vector: nothing to embed again)."""
    return KnowledgeBase(
        kb.documents,
        kb.chunks,
        kb.vectors,
        {**kb.signature, "fold_diacritics": fold_diacritics},
        vector_index=kb.vector_index,
        owners=kb.owners,
    )


def _same_vectors(a: tuple, b: tuple) -> bool:
    """Index keys that differ at most in diacritic folding, which only BM25 uses."""
    return _without_fold(a) == _without_fold(b)


def _without_fold(key: tuple) -> tuple:
    return tuple(kv for kv in key if kv[0] != "fold_diacritics")


def configure(base: Settings, config: Config) -> Settings:
    """The base settings with the configuration's changes, validated (a missing answer
    weights file is a ConfigError here, before any index is built)."""
    try:
        settings = Settings(**{**base.model_dump(), **config.changes})
    except ValueError as err:
        raise EvalError(f"configuration {config.name!r} is invalid: {err}") from err
    ranker_weights(settings.answer_weights)
    return settings


def _score_all(
    qa: QASet,
    questions: list[Question],
    bot: Assistant,
    encoder: QueryCache,
    config: Config,
    k: int,
    notes: dict[str, Any],
) -> SetRun:
    outcomes, failures = [], []
    by_path = {d.path: d.id for d in bot.kb.documents.values()}
    bar = tqdm(
        questions,
        desc=f"{qa.name} [{config.name}]",
        unit="q",
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )
    for q in bar:
        try:
            items = evidence_items(q, qa.format, bot.kb)
            answer = bot.ask(q.question, k=k)
            outcomes.append(score(q, items, answer, by_path, k, encoder.take_saved_ms()))
        except Exception as err:  # one bad question must not stop the run
            encoder.take_saved_ms()
            failures.append(Failure(id=q.id, reason=f"{type(err).__name__}: {err}"))
    bar.close()
    s = bot.settings
    settings = {
        "model": bot.encoder.name,
        "k": k,
        "fusion": s.fusion,
        "dense_weight": s.dense_weight,
        "bm25_weight": s.bm25_weight,
        "rrf_k": s.rrf_k,
        "candidates": s.candidates,
        "context_header": s.context_header,
        "fold_diacritics": s.fold_diacritics,
        "dense_windows": s.dense_windows,
        "chunk_size": s.chunk_size,
        "chunk_overlap": s.chunk_overlap,
        "answer_hits": s.answer_hits,
        "answer_weights": str(s.answer_weights or "bundled"),
        "answer_threshold": s.answer_threshold,
        "answerer": s.answerer,
    }
    if s.answerer == "llm":
        settings |= {
            "llm_base_url": s.llm_base_url,
            "llm_model": s.llm_model,
            "llm_temperature": s.llm_temperature,
            "llm_max_tokens": s.llm_max_tokens,
        }
    return SetRun(
        set=qa.name,
        config=config,
        settings=settings,
        notes={**notes, "chunks": len(bot.kb)},
        outcomes=outcomes,
        failures=failures,
    )


# --- scoring one question -------------------------------------------------------------------


def evidence_items(q: Question, fmt: str, kb: KnowledgeBase) -> list[Item]:
    """The evidence of ``q`` as spans in ``kb``'s documents (see :mod:`eval.metrics`).

    Raises EvalError when an evidence document or quote cannot be found.
    """
    if not q.answerable:
        return []
    if fmt == "passages":
        alts = [
            (pid, 0, len(kb.documents[pid].text))
            for pid in q.gold_passage_ids
            if pid in kb.documents
        ]
        if not alts:
            raise EvalError(f"none of the gold passages {q.gold_passage_ids} is indexed")
        return [alts]
    items: list[Item] = []
    for ev in q.evidence:
        suffix = "/" + ev.doc.replace("\\", "/").lstrip("./")
        docs = [d for d in kb.documents.values() if ("/" + d.path).endswith(suffix)]
        if not docs:
            raise EvalError(f"evidence document {ev.doc} is not in the corpus")
        alts = [(d.id, a, b) for d in docs for a, b in find_quote(d.text, ev.quote)]
        if not alts:
            raise EvalError(f"quote {ev.quote[:60]!r} not found in {ev.doc}")
        items.append(alts)
    if not items:
        raise EvalError("answerable question without evidence")
    return items


def find_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Every span of ``quote`` in ``text`` (normalised; any run of spaces matches any other).

    >>> find_quote("có 1.422\\ntrạm BTS; 1.422 trạm", "1.422 trạm")
    [(3, 13), (19, 29)]
    """
    from assistant.text import normalize

    words = normalize(quote).split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(map(re.escape, words)))
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def score(
    q: Question,
    items: list[Item],
    answer: Answer,
    by_path: dict[str, str],
    k: int,
    saved_ms: float = 0.0,
) -> Outcome:
    """Compare one answer with the question's evidence and answers."""
    covers = [
        metrics.covered_items((h.chunk.doc_id, h.chunk.start, h.chunk.end), items)
        for h in answer.hits[:k]
    ]
    cited: set[int] = set()
    ok = 0
    for c in answer.citations:
        hit = metrics.covered_items((by_path.get(c.doc, c.doc), c.start, c.end), items)
        cited |= hit
        ok += bool(hit) or metrics.contains_answer(c.quote, q.answers)
    t = answer.timings_ms
    out = Outcome(
        id=q.id,
        kind=q.kind,
        answerable=q.answerable,
        refused=answer.refused,
        citations=len(answer.citations),
        citations_ok=ok,
        retrieve_ms=t.get("retrieve", 0.0) + saved_ms,
        answer_ms=t.get("answer", 0.0),
        total_ms=t.get("total", 0.0) + saved_ms,
        generated=answer.answerer == "llm",
        fallback=answer.fallback,
        first_token_ms=t.get("first_token"),
        answer=answer.answer,
    )
    if answer.check is not None:
        out.unverified = len(answer.check.unverified)
        out.uncited = answer.check.uncited and not answer.refused
        out.removed_citations = len(answer.check.removed)
    if q.answerable:
        out.rank = metrics.retrieved_rank(covers, len(items))
        out.ndcg = metrics.ndcg(covers, len(items), k)
        out.correct = not answer.refused and metrics.contains_answer(answer.answer, q.answers)
        out.evidence, out.evidence_cited = len(items), len(cited)
    return out


# --- summaries ------------------------------------------------------------------------------


def summarise(outcomes: list[Outcome], k: int = 10, llm: bool = False) -> dict[str, Any]:
    """The metric blocks of results.json for a list of outcomes (``llm``: with the
    ``generation`` block of a run with the language-model answerer)."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    ranks = [o.rank for o in answerable]
    retrieval = {f"hit@{j}": metrics.hit_at(ranks, j) if j <= k else None for j in KS}
    retrieval["mrr@10"] = metrics.mrr(ranks, min(10, k))
    retrieval["ndcg@10"] = metrics.mean([o.ndcg for o in answerable if o.ndcg is not None])
    total = [o.total_ms for o in outcomes]
    retrieve = [o.retrieve_ms for o in outcomes]
    answer = [o.answer_ms for o in outcomes]
    block = {
        "n": len(outcomes),
        "retrieval": retrieval,
        "answer": {"accuracy": metrics.share([bool(o.correct) for o in answerable])},
        "citations": {
            "precision": metrics.ratio(
                sum(o.citations_ok for o in outcomes), sum(o.citations for o in outcomes)
            ),
            "recall": metrics.ratio(
                sum(o.evidence_cited for o in answerable), sum(o.evidence for o in answerable)
            ),
        },
        "refusal": {
            "unanswerable_refused": metrics.share([o.refused for o in unanswerable]),
            "answerable_refused": metrics.share([o.refused for o in answerable]),
        },
        "latency_ms": {
            "p50": metrics.percentile(total, 50),
            "p95": metrics.percentile(total, 95),
            "retrieve_p50": metrics.percentile(retrieve, 50),
            "retrieve_p95": metrics.percentile(retrieve, 95),
            "answer_p50": metrics.percentile(answer, 50),
            "answer_p95": metrics.percentile(answer, 95),
        },
    }
    if llm:
        block["generation"] = generation(outcomes)
    return _rounded(block)


def generation(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts for runs with the language-model answerer (all zero with the extractive one)."""
    first = [o.first_token_ms for o in outcomes if o.first_token_ms is not None]
    return {
        "generated": sum(o.generated for o in outcomes),
        "fallbacks": sum(o.fallback is not None for o in outcomes),
        "fallback_reasons": {
            r: sum(o.fallback == r for o in outcomes)
            for r in sorted({o.fallback for o in outcomes if o.fallback})
        },
        "answers_with_unverified": sum(o.unverified > 0 for o in outcomes),
        "unverified_sentences": sum(o.unverified for o in outcomes),
        "uncited_answers": sum(o.uncited for o in outcomes),
        "removed_citations": sum(o.removed_citations for o in outcomes),
        "first_token_p50_ms": metrics.percentile(first, 50) if first else None,
    }


def entry(run: SetRun, k: int = 10) -> dict[str, Any]:
    """One ``sets`` entry of results.json."""
    kinds = sorted({o.kind for o in run.outcomes})
    llm = run.settings.get("answerer") == "llm"
    by_kind = (
        {kind: summarise([o for o in run.outcomes if o.kind == kind], k, llm) for kind in kinds}
        if len(kinds) > 1
        else {}
    )
    block = summarise(run.outcomes, k, llm)
    return {
        "n": block.pop("n"),
        "config": {"set": run.set, "name": run.config.name, **run.settings, **run.notes},
        **block,
        "by_kind": by_kind,
        "failures": [f.id for f in run.failures],
    }


def _index_fields(settings: Settings) -> dict[str, Any]:
    return {
        f: getattr(settings, f)
        for f in (
            "model",
            "chunk_size",
            "chunk_overlap",
            "context_header",
            "fold_diacritics",
            "dense_windows",
            "max_file_mb",
            "query_prefix",
            "passage_prefix",
            "vector_store",
            "milvus_index",
        )
    }


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {key: _rounded(v) for key, v in obj.items()}
    return obj


class _Bars:
    """tqdm bars on stderr for the stages of an index build."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            self.close()  # one stage at a time
            bar = self.bars[stage] = tqdm(
                total=total,
                desc=f"{self.label}: {stage}",
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}
