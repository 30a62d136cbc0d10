"""Fit the answerer's two logistic models on training data only and write
``assistant/answer_weights.json``.

    python -m eval.fit_answer [--out assistant/answer_weights.json] [--limit N]

Training questions: uit_handcraft_qa ``train_*`` kinds and UIT-ViQuAD dev (never the test kinds
or the ViQuAD test split). Each question is retrieved as ``Assistant.ask`` does, over the
cached evaluation index of its pool.

- *choice*: one row per candidate quote of the top hits (:func:`assistant.quotes.units`),
  labelled 1 when it lies in a gold passage and contains a gold answer.
- *answer*: one row per question from its best candidate; answerable questions as retrieved
  (label 1), and the same questions with their gold passages taken out of the hits (label 0:
  related passages that do not answer). The threshold refuses at most ``--refuse`` of the
  answerable training questions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assistant import Assistant, Settings
from assistant.answer import REFUSAL, rank
from assistant.answer_weights import WEIGHTS_FILE, AnswerWeights, Model
from assistant.question import analyse
from assistant.ranker import FEATURES, QUESTION_FEATURES, REPORT_FEATURES
from eval.corpus import CACHE_DIR, open_pool_kb
from eval.datasets import drop_question_titles, load_passages, load_qa_set
from eval.encoder import QueryCache
from eval.metrics import contains_answer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval" / "public"
OWN_QA = Path(__file__).resolve().parents[1] / "tests" / "data" / "answer_types_qa.jsonl"
TRAIN_SETS = (
    (SHARED / "uit_handcraft_qa" / "questions.jsonl", "train_"),
    (SHARED / "uit_viquad1" / "questions_dev.jsonl", ""),
)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], l2: float = 1.0, iterations: int = 50
) -> Model:
    """L2-regularised logistic regression by Newton's method on standardised inputs."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    z1 = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(z1.shape[1])
    reg = np.full(z1.shape[1], l2)
    reg[-1] = 0.0  # no penalty on the intercept
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z1 @ w, -30, 30)))
        grad = z1.T @ (p - y) + reg * w
        hess = (z1 * (p * (1 - p))[:, None]).T @ z1 + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Model(names, w[:-1], float(w[-1]), mean, scale)


def fit_softmax(
    groups: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...], l2: float = 1.0
) -> Model:
    """A linear score over candidates, fitted so that within each question the softmax puts
    its mass on the candidates holding the answer (listwise: what the answerer uses is the
    argmax). ``groups``: (features of the question's candidates, their 0/1 labels)."""
    from scipy.optimize import minimize

    x = np.vstack([g for g, _ in groups])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    zs = [((g - mean) / scale, y.astype(bool)) for g, y in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for z, y in zs:
            s = z @ w
            s = s - s.max()
            e = np.exp(s)
            p_all = e / e.sum()
            p_pos = np.where(y, e, 0.0) / e[y].sum()
            total += -np.log(e[y].sum()) + np.log(e.sum())
            grad = grad + z.T @ (p_all - p_pos)
        return total, grad

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return Model(names, w, 0.0, mean, scale, "softmax")


def collect(settings: Settings, encoder: QueryCache, limit: int | None) -> list[dict]:
    """Candidates with features and labels for every training question."""
    out: list[dict] = []
    plain = AnswerWeights()  # no fitted model: the features do not depend on one
    for path, prefix in TRAIN_SETS:
        qa = load_qa_set(path)
        questions = [q for q in qa.questions if q.kind.startswith(prefix) and q.answerable]
        questions = questions[:limit] if limit else questions
        assert qa.passages is not None
        passages, _ = drop_question_titles(load_passages(qa.passages), qa.questions)
        kb = open_pool_kb(passages, qa.passages, settings, encoder, CACHE_DIR)
        bot = Assistant(settings, kb, encoder)
        n = settings.answer_hits
        for q in tqdm(questions, desc=qa.name, file=sys.stderr, leave=False):
            info = analyse(q.question)
            hits = bot.retriever.search(info.search, n + 10)
            gold = set(q.gold_passage_ids)
            for answerable, group in (
                (True, hits[:n]),
                (False, [h for h in hits if h.doc.id not in gold][:n]),
            ):
                ranked = rank(info, group, kb.lexical.idf, encoder, None, plain)
                labels = [
                    float(
                        answerable and u.hit.doc.id in gold and contains_answer(u.text, q.answers)
                    )
                    for u in ranked.units
                ]
                out.append(
                    {
                        "set": qa.name,
                        "id": q.id,
                        "answerable": answerable,
                        "info": info,
                        "hits": group,
                        "units": ranked.units,
                        "labels": np.array(labels),
                        "qtype": info.qtype,
                    }
                )
    return out


def report_rows(settings: Settings, encoder: QueryCache, plain: AnswerWeights) -> list[dict]:
    """The answer model's rows for the train half (odd numbers) of our own questions over the
    bundled reports: answerable ones (1) and near misses (0). Questions refused before the
    answerer (a province or year no report covers) give no row."""
    from assistant.config import BUNDLED_REPORTS
    from eval.corpus import open_reports_kb

    qa = load_qa_set(OWN_QA)
    kb = open_reports_kb([BUNDLED_REPORTS], settings, encoder, CACHE_DIR)
    bot = Assistant(settings, kb, encoder)
    out = []
    for q in qa.questions:
        if not train_half(q.id):
            continue
        answer = bot.ask(q.question)
        if not answer.hits or (answer.refused and not answer.answer.startswith(REFUSAL)):
            continue  # refused before the answerer: no report about that province or year
        info = analyse(q.question)
        ranked = rank(
            info, answer.hits[: settings.answer_hits], kb.lexical.idf, encoder, None, plain
        )
        if ranked.units:
            out.append({"id": q.id, "answerable": q.answerable, "row": ranked.row})
    return out


def train_half(qid: str) -> bool:
    """Our own questions are split by number: odd ones fit, even ones test."""
    digits = "".join(c for c in qid if c.isdigit())
    return bool(digits) and int(digits) % 2 == 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.fit_answer", description=__doc__)
    ap.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    ap.add_argument("--limit", type=int, default=None, help="first N questions of each set")
    ap.add_argument(
        "--refuse",
        type=float,
        default=0.015,
        help="share of answerable training questions the threshold may refuse",
    )
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument(
        "--l2-reports",
        type=float,
        default=3.0,
        help="regularisation of the reports' answer model (few questions)",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    settings = Settings()
    from assistant import load_encoder

    encoder = QueryCache(load_encoder(settings))
    data = collect(settings, encoder, args.limit)

    # the choice model: candidates of answerable questions whose hits hold an answer
    rows = [d for d in data if d["answerable"] and d["labels"].any()]
    groups = [
        (np.array([[u.values[f] for f in FEATURES] for u in d["units"]]), d["labels"]) for d in rows
    ]
    y = np.concatenate([d["labels"] for d in rows])
    choice = fit_softmax(groups, FEATURES, args.l2)
    top_right = 0
    for d in data:
        if d["units"]:
            rows_x = np.array([[u.values[f] for f in FEATURES] for u in d["units"]])
            probs, scores = choice.prob(rows_x), choice.score(rows_x)
            for u, p, z in zip(d["units"], probs, scores, strict=True):
                u.prob, u.score = float(p), float(z)
            order = np.argsort(-probs, kind="stable")
            d["units"] = [d["units"][i] for i in order]
            d["labels"] = d["labels"][order]
            top_right += bool(d["answerable"] and d["labels"][0])

    # the answer model: answer (the hits hold the gold passage) or refuse (they do not)
    from assistant.qtypes import REQUIRED
    from assistant.ranker import question_row

    qrows, qy = [], []
    for d in data:
        if not d["units"]:
            continue
        u = d["units"]
        row = question_row(u[0], u[1] if len(u) > 1 else None, d["hits"], d["qtype"] in REQUIRED)
        qrows.append([row[f] for f in QUESTION_FEATURES])
        qy.append(float(d["answerable"]))
    qx, qy_arr = np.array(qrows), np.array(qy)
    answer = fit_logistic(qx, qy_arr, QUESTION_FEATURES, args.l2)
    p = answer.prob(qx)
    pos = np.sort(p[qy_arr == 1])
    n_pos = sum(d["answerable"] for d in data)  # questions without candidates are refused
    missing = n_pos - len(pos)
    k = max(int(np.floor(args.refuse * n_pos)) - missing, 0)
    threshold = float(pos[k]) if len(pos) else 0.5
    refused_neg = float((p[qy_arr == 0] < threshold).mean())
    answerable = [d for d in data if d["answerable"]]
    meta = {
        "fitted_on": [
            f"{path.parent.name}/{path.name}" + (f" ({prefix}*)" if prefix else "")
            for path, prefix in TRAIN_SETS
        ],
        "questions": len(answerable),
        "candidates": int(len(y)),
        "positives": int(y.sum()),
        "train_top_candidate_has_answer": round(top_right / max(len(answerable), 1), 4),
        "train_answerable_refused": round((k + missing) / max(n_pos, 1), 4),
        "train_gold_removed_refused": round(refused_neg, 4),
        "l2": args.l2,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    # the reports' answer model: fitted with the choice model above on our own questions
    fitted = AnswerWeights(choice=choice, answer=answer, threshold=threshold)
    own = report_rows(settings, encoder, fitted)
    rx = np.array([[r["row"][f] for f in REPORT_FEATURES] for r in own])
    ry = np.array([float(r["answerable"]) for r in own])
    reports = fit_logistic(rx, ry, REPORT_FEATURES, args.l2_reports)
    rp = reports.prob(rx)
    # answer every answerable training question: halfway between the highest near miss and
    # the lowest answerable one when they separate, else just below the lowest answerable
    low, high = float(rp[ry == 1].min()), float(rp[ry == 0].max(initial=0.0))
    report_threshold = (low + high) / 2 if high < low else max(low - 0.05, 0.05)
    meta |= {
        "reports_fitted_on": f"{OWN_QA.name} (odd numbers)",
        "reports_questions": int(len(ry)),
        "reports_near_misses": int((ry == 0).sum()),
        "reports_train_near_misses_refused": round(
            float((rp[ry == 0] < report_threshold).mean()), 4
        ),
    }
    old = AnswerWeights.load(args.out)
    AnswerWeights(
        choice=choice,
        answer=answer,
        threshold=threshold,
        second=old.second,
        max_quotes=old.max_quotes,
        answer_reports=reports,
        threshold_reports=report_threshold,
        meta=meta,
    ).save(args.out)
    for name, model in (("choice", choice), ("answer", answer), ("reports", reports)):
        print(
            name, {f: round(float(c), 3) for f, c in zip(model.features, model.coef, strict=True)}
        )
    print(
        {"threshold": round(threshold, 4), "threshold_reports": round(report_threshold, 4), **meta}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
