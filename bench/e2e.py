"""End-to-end: ``Assistant.ask`` latency on the sample index and on a scaled-up one, and the time
from a fresh process to the first answer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant import Assistant, KnowledgeBase, Settings, index_paths, load_encoder
from assistant.config import BUNDLED_REPORTS, PROJECT_ROOT


def sample_assistant(settings: Settings, folder: Path) -> Assistant:
    """The default encoder over a fresh index of the bundled reports in ``folder``."""
    settings = settings.model_copy(update={"index_dir": folder})
    encoder = load_encoder(settings)
    kb, _ = index_paths([BUNDLED_REPORTS], folder, settings, encoder)
    return Assistant(settings, kb, encoder)


def scaled(bot: Assistant, n_chunks: int, seed: int = 0) -> Assistant:
    """``bot``'s knowledge base copied until it holds ``n_chunks`` chunks: each copy's documents
    get new ids and its vectors a little noise (so no two are equal); BM25 is rebuilt."""
    kb = bot.kb
    reps = max(1, n_chunks // len(kb.chunks))
    rng = np.random.default_rng(seed)
    docs, chunks, vectors, owners = {}, [], [], []
    for j in range(reps):
        for d in kb.documents.values():
            docs[f"{d.id}~{j}"] = d.model_copy(update={"id": f"{d.id}~{j}",
                                                       "path": f"{d.path}~{j}"})
        chunks += [c.model_copy(update={"id": f"{c.doc_id}~{j}:{c.start}",
                                        "doc_id": f"{c.doc_id}~{j}"}) for c in kb.chunks]
        noisy = kb.vectors + (0.0 if j == 0 else 0.03) * rng.standard_normal(
            kb.vectors.shape, dtype=np.float32)
        vectors.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
        owners.append(kb.owners + j * len(kb.chunks))
    big = KnowledgeBase(docs, chunks, np.concatenate(vectors).astype(np.float32), kb.signature,
                        owners=np.concatenate(owners))
    return Assistant(bot.settings, big, bot.encoder)


def ask_latency(bot: Assistant, questions: list[str], repeat: int = 2) -> dict[str, Any]:
    """p50/p95 milliseconds of ``bot.ask`` (query embedding, hybrid search, answer)."""
    bot.ask(questions[0])
    times = []
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            bot.ask(q)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": round(times[len(times) // 2], 1),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
            "n": len(times), "chunks": len(bot.kb.chunks), "vectors": len(bot.kb.vectors)}


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
    out = {}
    env = None
    if settings.model_cache is not None:
        import os

        env = {**os.environ, "ICT_ASSISTANT_MODEL_CACHE": str(settings.model_cache)}
    for name in ("cold", "warm"):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _START, str(folder), question],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
                              env=env)
        total = time.perf_counter() - t0
        if done.returncode:
            out[name] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        parts = json.loads(done.stdout.strip().splitlines()[-1])
        out[name] = {"total_s": round(total, 2), **{k: round(v, 2) for k, v in parts.items()}}
    return out
