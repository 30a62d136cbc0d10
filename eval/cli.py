"""Command line: ``python -m eval run --qa FILE --corpus DIR --out DIR [--compare]
[--vary KEY=V1,V2]``, and ``python -m eval summary RESULTS...`` (one table from several runs).

Errors print one English line and exit non-zero; no traceback reaches the user (``-v`` shows
it).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from assistant import Settings
from assistant.about import add_version, plain
from assistant.cli import print_error, settings_from_env
from assistant.errors import EvalError
from assistant.types import Encoder
from eval.corpus import CACHE_DIR
from eval.datasets import load_qa_set, select
from eval.report import COMPACT, summary_table, write_all, write_outcomes
from eval.runner import COMPARE, DEFAULT, Config, SetRun, configure, entry, run_set


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=plain(__doc__))
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="score Q&A sets: retrieval, answers, citations, refusals")
    run.add_argument(
        "--qa",
        type=Path,
        action="append",
        required=True,
        help="Q&A file: report Q&A (seed_qa_dev.jsonl) or a passage pool's "
        "questions*.jsonl (its passages*.jsonl is found beside it); repeat "
        "for several sets",
    )
    run.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=[],
        help="folder of report files that report Q&A 'doc' paths end in; repeat "
        "to index several folders together",
    )
    run.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for results.json, report.md and hit_at_k.png",
    )
    run.add_argument("--k", type=int, default=10, help="passages retrieved per question (10)")
    run.add_argument(
        "--compare",
        action="store_true",
        help="also run BM25 only, dense only and one-switch variants of hybrid",
    )
    run.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="also run one configuration per value of a setting (e.g. --vary "
        "answer_threshold=0.4,0.6 or --vary answer_weights=a.json,b.json); "
        "repeat for several settings, each swept alone",
    )
    run.add_argument("--limit", type=int, help="only the first N questions of each set")
    run.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        default=[],
        metavar="PREFIX",
        help="only the questions whose kind starts with PREFIX (--kind train_: uit_handcraft_qa's "
        "training kinds); repeat for several",
    )
    run.add_argument(
        "--fold",
        action="store_true",
        help="ask every question with its diacritics removed, as typed without them",
    )
    run.add_argument(
        "--answerer",
        choices=["extractive", "llm"],
        help="extractive (default) or llm: generated answers from the "
        "OpenAI-compatible server in ASSISTANT_LLM_BASE_URL (or --set "
        "llm_base_url=...); citation checks and fallbacks are counted",
    )
    run.add_argument(
        "--set",
        dest="changes",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting for this run (e.g. --set chunk_size=1000)",
    )
    run.add_argument("--cache", type=Path, default=CACHE_DIR, help=f"index cache ({CACHE_DIR})")
    run.add_argument("--rebuild", action="store_true", help="rebuild cached indexes")
    run.add_argument(
        "--details",
        action="store_true",
        help="also write outcomes.jsonl: one line per question and configuration",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log details")
    summary = sub.add_parser("summary", help="one Markdown table from results.json files")
    summary.add_argument("results", type=Path, nargs="+", help="results.json files or folders")
    from eval.indicators import add_parser as add_indicators

    add_indicators(sub)
    return parser


def main(argv: list[str] | None = None, encoder: Encoder | None = None) -> int:
    """Entry point; ``encoder`` replaces the settings' model (tests pass a fake one)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "summary":
            return summary(args.results)
        if args.command == "indicators":
            from eval.indicators import main_cli as indicators

            return indicators(args)
        return run(args, encoder)
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return 130
    except Exception as err:  # every error a user meets: one line, no traceback
        if getattr(args, "verbose", False):
            raise
        return print_error(err)


def run(args: argparse.Namespace, encoder: Encoder | None = None) -> int:
    if args.k <= 0 or (args.limit is not None and args.limit <= 0):
        raise EvalError("--k and --limit must be positive numbers")
    changes = parse_changes(args.changes)
    if args.answerer:
        changes["answerer"] = args.answerer
    base = settings_from_env(**changes)
    configs = (COMPARE if args.compare else [DEFAULT]) + variations(args.vary)
    for config in configs:  # fail early on a bad value or a missing answer-weights file
        configure(base, config)
    sets = [  # fail early on a bad file, or a --kind that leaves no question
        select(load_qa_set(p), getattr(args, "kinds", []), getattr(args, "fold", False))
        for p in args.qa
    ]
    if encoder is None:
        from assistant import load_encoder

        encoder = load_encoder(base)
    results: dict[str, dict[str, Any]] = {}
    runs: list[SetRun] = []
    t0 = time.perf_counter()
    for qa in sets:
        for r in run_set(
            qa, args.corpus, base, encoder, configs, args.k, args.limit, args.cache, args.rebuild
        ):
            name = f"{r.set}/{r.config.name}" if len(configs) > 1 else r.set
            results[name] = entry(r, args.k)
            runs.append(r)
            print(_line(name, results[name]), file=sys.stderr)
    command = "python -m eval " + shlex.join(argv_strings(args))
    paths = write_all(args.out, results, runs, command)
    if args.details:
        paths.append(write_outcomes(args.out / "outcomes.jsonl", runs))
    for path in paths:
        print(path)
    failed = sum(len(r.failures) for r in runs)
    print(
        f"{len(runs)} runs in {time.perf_counter() - t0:.0f} s; {failed} failed questions",
        file=sys.stderr,
    )
    return 0


def summary(paths: list[Path]) -> int:
    """Print the sets of several results.json files as one compact Markdown table."""
    entries: dict[str, dict[str, Any]] = {}
    for path in paths:
        path = path / "results.json" if path.is_dir() else path
        try:
            entries.update(json.loads(path.read_text("utf-8"))["sets"])
        except (OSError, ValueError, KeyError) as err:
            raise EvalError(
                f"cannot read {path} ({err}); pass results.json files written by "
                "`python -m eval run`"
            ) from err
    print("\n".join(summary_table(entries, COMPACT)))
    return 0


def parse_changes(changes: list[str]) -> dict[str, Any]:
    """``["chunk_size=1000"]`` -> ``{"chunk_size": "1000"}`` (Settings converts the values)."""
    out: dict[str, Any] = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep or key.strip() not in Settings.model_fields:
            raise EvalError(
                f"--set {change!r}: use KEY=VALUE with KEY one of the settings "
                f"({', '.join(sorted(Settings.model_fields))})"
            )
        out[key.strip()] = value.strip()
    return out


def variations(varies: list[str]) -> list[Config]:
    """``["answer_threshold=0.4,0.6"]`` -> one configuration per value, named ``KEY=VALUE``
    (Settings validates the values when the configuration runs)."""
    out: list[Config] = []
    for vary in varies:
        key, sep, values = vary.partition("=")
        key = key.strip()
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or key not in Settings.model_fields or not items:
            raise EvalError(
                f"--vary {vary!r}: use KEY=V1,V2 with KEY one of the settings "
                f"({', '.join(sorted(Settings.model_fields))})"
            )
        out += [Config(name=f"{key}={v}", changes={key: v}) for v in items]
    return out


def argv_strings(args: argparse.Namespace) -> list[str]:
    """The options of a run, as they would be typed (for the report)."""
    out = ["run"]
    for p in args.qa:
        out += ["--qa", str(p)]
    for p in args.corpus:
        out += ["--corpus", str(p)]
    out += ["--out", str(args.out), "--k", str(args.k)]
    if args.compare:
        out.append("--compare")
    for v in args.vary:
        out += ["--vary", v]
    if args.limit:
        out += ["--limit", str(args.limit)]
    for kind in getattr(args, "kinds", []):
        out += ["--kind", kind]
    if getattr(args, "fold", False):
        out.append("--fold")
    if getattr(args, "answerer", None):
        out += ["--answerer", args.answerer]
    for c in args.changes:  # a key stays out of the report
        out += ["--set", "llm_api_key=***" if c.strip().startswith("llm_api_key") else c]
    return out


def _line(name: str, e: dict[str, Any]) -> str:
    r = e["retrieval"]
    cells = [f"{k} {r[k]:.3f}" for k in ("hit@1", "hit@5", "mrr@10") if r.get(k) is not None]
    acc = e["answer"]["accuracy"]
    if acc is not None:
        cells.append(f"accuracy {acc:.3f}")
    g = e.get("generation")
    if g:
        cells.append(
            f"generated {g['generated']}, fallbacks {g['fallbacks']}, unverified "
            f"{g['answers_with_unverified']}, uncited {g['uncited_answers']}"
        )
    return f"{name}: n {e['n']}, " + ", ".join(cells)
