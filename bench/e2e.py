"""End-to-end: ``Assistant.ask`` latency on the sample index and on a scaled-up one, and the time
from a fresh process to the first answer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from assistant import Assistant, KnowledgeBase, Settings, index_paths, load_encoder
from assistant.config import BUNDLED_REPORTS, PROJECT_ROOT
from assistant.lexical import LexicalIndex
from assistant.vectors.faiss import FaissIndex


def sample_assistant(settings: Settings, folder: Path) -> Assistant:
    """The default encoder over a fresh index of the bundled reports in ``folder``."""
    settings = settings.model_copy(update={"index_dir": folder})
    encoder = load_encoder(settings)
    kb, _ = index_paths([BUNDLED_REPORTS], folder, settings, encoder)
    return Assistant(settings, kb, encoder)


def replicate_lexical(base: LexicalIndex, reps: int) -> LexicalIndex:
    """The BM25 index of ``reps`` copies of ``base``'s rows, without tokenising them again:
    each token's precomputed column is tiled and rescaled to the idf of the larger corpus (the
    term-frequency part is the same: copies have the same lengths). Equals building from the
    copied texts (tests/test_bench.py)."""

    def tile(r: bm25s.BM25 | None) -> bm25s.BM25 | None:
        if r is None:
            return None
        m = r.scores
        n = int(m["num_docs"])
        indptr = np.asarray(m["indptr"], np.int64)
        df = np.diff(indptr)
        ratio = np.log1p((reps * n - reps * df + 0.5) / (reps * df + 0.5)) / np.log1p(
            (n - df + 0.5) / (df + 0.5)
        )
        token = np.repeat(np.arange(len(df)), df)  # the token of each entry (CSC order)
        data = np.asarray(m["data"], np.float32) * ratio[token].astype(np.float32)
        indices = np.asarray(m["indices"], np.int64)
        new_indices = np.empty(len(indices) * reps, np.int32)
        new_data = np.empty(len(indices) * reps, np.float32)
        # entry i of token t's column goes to copy j's block of that column
        at = reps * indptr[token] + (np.arange(len(indices)) - indptr[token])
        for j in range(reps):
            new_indices[at + j * df[token]] = indices + j * n
            new_data[at + j * df[token]] = data
        copy = bm25s.BM25(k1=r.k1, b=r.b, delta=r.delta, method=r.method, idf_method=r.idf_method)
        copy.vocab_dict = r.vocab_dict
        copy.scores = {
            "data": new_data,
            "indices": new_indices,
            "indptr": indptr * reps,
            "num_docs": n * reps,
        }
        copy.nonoccurrence_array = r.nonoccurrence_array
        return copy

    return LexicalIndex(tile(base.exact), tile(base.folded), base.n * reps)


def scaled(bot: Assistant, n_chunks: int, seed: int = 0) -> Assistant:
    """``bot``'s knowledge base copied until it holds ``n_chunks`` chunks: each copy's documents
    get new ids and its vectors a little noise (so no two are equal); BM25 is the exact index
    of the copies (:func:`replicate_lexical`); the vector index is the type the default
    settings choose for that many vectors."""
    kb = bot.kb
    assert isinstance(kb.lexical, LexicalIndex), "a knowledge base with BM25 in the process"
    reps = max(1, n_chunks // len(kb.chunks))
    rng = np.random.default_rng(seed)
    docs, chunks = {}, []
    vectors = np.empty((reps * len(kb.vectors), kb.vectors.shape[1]), np.float32)
    for j in range(reps):
        for d in kb.documents.values():
            docs[f"{d.id}~{j}"] = d.model_copy(
                update={"id": f"{d.id}~{j}", "path": f"{d.path}~{j}"}
            )
        chunks += [
            c.model_copy(update={"id": f"{c.doc_id}~{j}:{c.start}", "doc_id": f"{c.doc_id}~{j}"})
            for c in kb.chunks
        ]
        part = vectors[j * len(kb.vectors) : (j + 1) * len(kb.vectors)]
        part[:] = kb.vectors
        if j:
            part += 0.03 * rng.standard_normal(part.shape, dtype=np.float32)
            part /= np.linalg.norm(part, axis=1, keepdims=True)
    owners = (kb.owners[None, :] + len(kb.chunks) * np.arange(reps)[:, None]).ravel()
    s = bot.settings
    index = FaissIndex.from_vectors(vectors, s.vector_index, s.exact_max_vectors)
    big = KnowledgeBase(
        docs,
        chunks,
        vectors,
        kb.signature,
        vector_index=index,
        lexical=replicate_lexical(kb.lexical, reps),
        owners=owners,
    )
    return Assistant(bot.settings, big, bot.encoder)


def ask_latency(bot: Assistant, questions: list[str], repeat: int = 2) -> dict[str, Any]:
    """p50/p95 milliseconds of ``bot.ask`` (query embedding, hybrid search, answer)."""
    for q in questions:  # warm: each question's document filter is remembered after its
        bot.ask(q)  # first use (a scan of the documents, see KnowledgeBase.doc_ids_about)
    times = []
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            bot.ask(q)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "p50_ms": round(times[len(times) // 2], 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
        "n": len(times),
        "chunks": len(bot.kb.chunks),
        "vectors": len(bot.kb.owners),
        "index": bot.kb.vector_index.describe()["index"],
    }


def dense_recall(bot: Assistant, questions: list[str], k: int = 10) -> float:
    """Mean share of the exact top-``k`` chunks (best vector per chunk, every allowed vector
    scored) that the knowledge base's dense search returns through its vector index, with the
    document filter ``ask`` applies to each question (province and year it names); questions
    no document passes are left out."""
    from assistant.question import analyse

    kb = bot.kb
    shares = []
    for q in questions:
        info = analyse(q)
        rows = None
        if info.provinces or info.years:
            about = kb.doc_ids_about(info.provinces, info.years)
            if not about:
                continue
            if len(about) < len(kb.documents):
                rows = np.sort(kb.rows_for(about))
        candidates = np.arange(len(kb.chunks)) if rows is None else rows
        qv = bot.encoder.embed([q], "query")[0]
        scores = kb.dense_scores(qv, candidates)
        exact = candidates[np.argsort(-scores, kind="stable")[:k]]
        _, found = kb.dense_search(qv, k, rows)
        shares.append(len(set(found.tolist()) & set(exact.tolist())) / k)
    return round(float(np.mean(shares)), 3)


_START = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from assistant import Assistant, IndexNotFoundError, Settings, index_paths, load_encoder
from assistant.config import BUNDLED_REPORTS
t1 = time.perf_counter()
settings = Settings(index_dir=Path(sys.argv[1]))
encoder = load_encoder(settings)
t2 = time.perf_counter()
try:
    bot = Assistant.open(settings, encoder)
except IndexNotFoundError:
    kb, _ = index_paths([BUNDLED_REPORTS], settings.index_dir, settings, encoder)
    bot = Assistant(settings, kb, encoder)
t3 = time.perf_counter()
bot.ask(sys.argv[2])
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "model_s": t2 - t1, "index_s": t3 - t2,
                  "first_answer_s": t4 - t3}))
"""


def start_times(folder: Path, question: str, settings: Settings) -> dict[str, Any]:
    """Fresh processes to the first answer: ``cold`` builds the index of the sample reports
    (model files already exported), ``warm`` finds it built."""
    out: dict[str, dict[str, Any]] = {}
    env = None
    if settings.model_cache is not None:
        import os

        env = {**os.environ, "ICT_ASSISTANT_MODEL_CACHE": str(settings.model_cache)}
    for name in ("cold", "warm"):
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _START, str(folder), question],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        total = time.perf_counter() - t0
        if done.returncode:
            out[name] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        parts = json.loads(done.stdout.strip().splitlines()[-1])
        out[name] = {
            "total_s": round(total, 2),
            **{k: round(float(v), 2) for k, v in parts.items()},
        }
    return out
