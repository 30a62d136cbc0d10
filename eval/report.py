"""Write a run's results: ``results.json``, ``report.md`` (tables) and ``hit_at_k.png`` (the
chart needs matplotlib, the ``eval`` extra; without it the chart is skipped with one line)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eval.corpus import code_fingerprint
from eval.runner import KS, SetRun

COLUMNS = [  # (header, block, key)
    ("hit@1", "retrieval", "hit@1"),
    ("hit@3", "retrieval", "hit@3"),
    ("hit@5", "retrieval", "hit@5"),
    ("hit@10", "retrieval", "hit@10"),
    ("MRR@10", "retrieval", "mrr@10"),
    ("nDCG@10", "retrieval", "ndcg@10"),
    ("answer acc.", "answer", "accuracy"),
    ("cit. P", "citations", "precision"),
    ("cit. R", "citations", "recall"),
    ("unans. refused", "refusal", "unanswerable_refused"),
    ("ans. refused", "refusal", "answerable_refused"),
    ("p50 ms", "latency_ms", "p50"),
    ("p95 ms", "latency_ms", "p95"),
    ("retr. p50", "latency_ms", "retrieve_p50"),
    ("ans. p50", "latency_ms", "answer_p50"),
]


def write_all(
    out: Path, sets: dict[str, dict[str, Any]], runs: list[SetRun], command: str = ""
) -> list[Path]:
    """Write the three files into ``out`` (the chart only when matplotlib is installed; else one
    line on stderr says how to get it); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.write_text(json.dumps({"sets": sets}, ensure_ascii=False, indent=1) + "\n", "utf-8")
    chart = out / "hit_at_k.png"
    charted = can_chart()
    if charted:
        hit_chart(sets, chart)
    else:
        chart.unlink(missing_ok=True)  # never a stale chart beside new results
        print(CHART_SKIPPED, file=sys.stderr)
    report = out / "report.md"
    report.write_text(markdown(sets, runs, command, chart=charted), "utf-8")
    return [results, report, chart] if charted else [results, report]


CHART_SKIPPED = (
    "note: hit_at_k.png skipped: matplotlib is not installed "
    "(pip install 'ict-report-assistant[eval]' or pip install matplotlib)"
)


def can_chart() -> bool:
    """Whether matplotlib is importable (the ``eval`` extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_outcomes(path: Path, runs: list[SetRun]) -> Path:
    """Per-question outcomes, for looking into misses: one JSON object per line."""
    with open(path, "w", encoding="utf-8") as fh:
        for run in runs:
            for o in run.outcomes:
                row = {"set": run.set, "config": run.config.name, **o.model_dump()}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def markdown(
    sets: dict[str, dict[str, Any]], runs: list[SetRun], command: str = "", chart: bool = True
) -> str:
    lines = ["# Evaluation report", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [f"Run {time.strftime('%Y-%m-%d %H:%M')}; {_version()}.", ""]
    first = next(iter(sets.values()), None)
    if first:
        c = first["config"]
        lines += [
            f"Model `{c['model']}`, top-k {c['k']}, chunks of {c['chunk_size']} characters "
            f"(overlap {c['chunk_overlap']}). Retrieval counts answerable questions only; "
            "latency is per question (retrieval + answering).",
            "",
        ]
    lines += ["## Summary", "", *summary_table(sets), ""]
    lines += (
        ["![hit@k](hit_at_k.png)", ""]
        if chart
        else ["(No hit@k chart: matplotlib is not installed; `pip install matplotlib`.)", ""]
    )
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, entry in sets.items():
        groups.setdefault(entry["config"]["set"], []).append((name, entry))
    for entries in groups.values():
        name, entry = entries[0]
        if entry["by_kind"]:
            lines += [f"## {name}: by kind", "", *summary_table(entry["by_kind"]), ""]
        if entry["by_kind"] and len(entries) > 1:
            lines += [
                f"### {entry['config']['set']}: hit@1 / hit@5 by kind and configuration",
                "",
                *kind_matrix(entries),
                "",
            ]
    lines += ["## Configurations", ""]
    for name, entry in sets.items():
        c = entry["config"]
        notes = ", ".join(
            f"{k} {c[k]}" for k in ("questions", "passages", "titles_dropped", "chunks") if k in c
        )
        lines.append(
            f"- **{name}**: fusion {c['fusion']} (dense {c['dense_weight']}, bm25 "
            f"{c['bm25_weight']}, rrf_k {c['rrf_k']}), context header "
            f"{c['context_header']}, diacritic folding {c['fold_diacritics']}; {notes}"
        )
    generated = {name: e for name, e in sets.items() if "generation" in e}
    if generated:
        lines += [
            "",
            "## Generated answers (language-model answerer)",
            "",
            f"Server `{next(iter(generated.values()))['config'].get('llm_base_url')}`, "
            f"model `{next(iter(generated.values()))['config'].get('llm_model')}`. "
            "Unverified: sentences whose numbers the passages they cite lack; uncited: "
            "answers that cite no passage; removed: markers to passages that do not exist; "
            "fallbacks: extractive answers given because the server failed.",
            "",
            "| | n | generated | fallbacks | with unverified | unverified sentences | "
            "uncited | removed markers | first token p50 ms |",
            "|---" * 9 + "|",
        ]
        for name, e in generated.items():
            g = e["generation"]
            lines.append(
                f"| {name} | {e['n']} | {g['generated']} | {g['fallbacks']} | "
                f"{g['answers_with_unverified']} | {g['unverified_sentences']} | "
                f"{g['uncited_answers']} | {g['removed_citations']} | "
                f"{_fmt(g['first_token_p50_ms'], 'latency_ms')} |"
            )
    failures = [(run.set, run.config.name, f) for run in runs for f in run.failures]
    lines += ["", "## Failures", ""]
    if not failures:
        lines.append("None.")
    seen: set[tuple[str, str]] = set()
    for set_name, config, f in failures:
        if (set_name, f.id) in seen:
            continue
        seen.add((set_name, f.id))
        lines.append(f"- {set_name} `{f.id}` ({config}): {f.reason}")
    return "\n".join(lines) + "\n"


COMPACT = [
    c
    for c in COLUMNS
    if c[0]
    in (
        "hit@1",
        "hit@5",
        "MRR@10",
        "nDCG@10",
        "answer acc.",
        "cit. P",
        "cit. R",
        "unans. refused",
        "ans. refused",
        "p50 ms",
    )
]


def summary_table(
    entries: dict[str, dict[str, Any]], columns: list[tuple[str, str, str]] = COLUMNS
) -> list[str]:
    """One Markdown row per entry with the main metrics."""
    head = ["", "n", *(h for h, _, _ in columns)]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, e in entries.items():
        cells = [name, str(e["n"]), *(_fmt(e[block][key], block) for _, block, key in columns)]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def kind_matrix(entries: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Rows: configurations; columns: kinds; cells: hit@1 / hit@5 (refused share for
    unanswerable kinds)."""
    kinds = list(entries[0][1]["by_kind"])
    rows = ["| configuration | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for _, entry in entries:
        cells = []
        for kind in kinds:
            e = entry["by_kind"].get(kind)
            if e is None:
                cells.append("–")
            elif e["retrieval"]["hit@1"] is None:
                cells.append("refused " + _fmt(e["refusal"]["unanswerable_refused"], ""))
            else:
                cells.append(
                    f"{_fmt(e['retrieval']['hit@1'], '')} / {_fmt(e['retrieval']['hit@5'], '')}"
                )
        rows.append(f"| {entry['config']['name']} | " + " | ".join(cells) + " |")
    return rows


def hit_chart(sets: dict[str, dict[str, Any]], path: Path) -> None:
    """hit@k against k, one line per configuration, one panel per Q&A set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for entry in sets.values():
        groups.setdefault(entry["config"]["set"], []).append((entry["config"]["name"], entry))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4), squeeze=False)
    for ax, (set_name, entries) in zip(axes[0], groups.items(), strict=True):
        for config, entry in entries:
            ks = [k for k in KS if entry["retrieval"].get(f"hit@{k}") is not None]
            ax.plot(ks, [entry["retrieval"][f"hit@{k}"] for k in ks], marker="o", label=config)
        ax.set_title(set_name)
        ax.set_xlabel("k")
        ax.set_ylabel("hit@k")
        ax.set_xticks(list(KS))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(value: Any, block: str) -> str:
    if value is None:
        return "–"
    if block == "latency_ms":
        return f"{value:.0f}"
    return f"{value:.3f}"


def _version() -> str:
    """The commit of the code measured, and whether the core had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "assistant", "embeddings"],
            cwd=root,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        head, dirty = "", ""
    state = " with uncommitted changes in assistant/ or embeddings/" if dirty.strip() else ""
    return f"commit {head or 'unknown'}{state}, index code {code_fingerprint()}"
