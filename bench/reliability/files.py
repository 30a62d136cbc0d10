"""Hostile and broken files: over 100 generated files indexed in one batch.

Every file must be either indexed (and found by a search for its probe word) or listed in
``report.rejected`` with a one-line English reason naming the problem; no exception may escape,
and the indexing process's memory high-water mark must stay bounded.

>>> # from bench.reliability import files
>>> # files.run()["silent_drops"]
>>> # 0

The batch runs in a fresh child process (``spawn``) so that its peak RSS (``VmHWM``) is its
own. It indexes with a deterministic hashing encoder: the files are under test, not the model.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import resource
import shutil
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.reliability.filegen import Case, generate

UPLOADS_DIR = "uploads"


class HashEncoder:
    """Bag of words hashed into 64 dimensions, L2-normalised: deterministic and instant."""

    name = "bench-hash-64"
    dim = 64

    def embed(self, texts: list[str], kind: str = "passage", **_: object) -> np.ndarray:
        from assistant.text import fold, words

        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in words(t):
                out[i, int(hashlib.md5(fold(w).encode()).hexdigest()[:8], 16) % self.dim] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def run(workdir: Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Generate the files, index them in one batch in a child process and check each outcome.

    Returns ``{"files", "indexed", "rejected", "skipped_hidden", "crashes", "silent_drops",
    "wrong", "duplicate_chunks", "peak_rss_mb", "seconds", "upload_names", "categories":
    {category: counts}, "reasons": {category: {reason: count}}, "problems"}``.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rel-files-", dir=workdir) as tmp:
        root = Path(tmp)
        cases = generate(root / "hostile", seed)
        batch = [root / "hostile", *(p for c in cases for p in c.extra_paths)]
        outcome = _in_child(batch, root / "index", cases)
        upload = check_upload_names([c.path.name for c in cases], root / UPLOADS_DIR)
        shutil.rmtree(root, ignore_errors=True)
    result = summarise(cases, outcome)
    result["upload_names"] = upload
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _in_child(batch: list[Path], index_dir: Path, cases: list[Case]) -> dict[str, Any]:
    """Index the batch and check the cases in a fresh process; its outcome as a dict."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(index_and_check, (batch, index_dir, cases))


def index_and_check(batch: list[Path], index_dir: Path, cases: list[Case]) -> dict[str, Any]:
    """Run in the child: one ``index_paths`` call, then each case's outcome.

    Returns ``{"crash": str | None, "peak_rss_mb", "outcomes": {path: (status, detail)}}``
    where status is ``indexed``, ``unfindable``, ``rejected`` or ``missing``.
    """
    from assistant import Settings, index_paths

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # one warning per broken PDF
    settings = Settings(index_dir=index_dir, fusion="bm25")
    crash = None
    try:
        kb, report = index_paths(list(batch), index_dir, settings, HashEncoder())
    except Exception:  # the point of the benchmark: count it, do not stop
        crash = traceback.format_exc(limit=3)
        return {"crash": crash, "peak_rss_mb": _peak_rss_mb(), "outcomes": {}}
    from assistant.retrieve import Retriever

    retriever = Retriever(kb, HashEncoder(), settings)
    rejected = {_key(Path(r.path)): r.reason for r in report.rejected}
    outcomes = {}
    for case in cases:
        key = _key(case.path)
        if key in kb.documents:
            outcomes[str(case.path)] = _found(retriever, key, case.probe)
        elif key in rejected:
            outcomes[str(case.path)] = ("rejected", rejected[key])
        else:
            outcomes[str(case.path)] = ("missing", "")
    duplicates = len(kb.chunks) - len({c.id for c in kb.chunks})
    return {
        "crash": crash,
        "peak_rss_mb": _peak_rss_mb(),
        "outcomes": outcomes,
        "duplicate_chunks": duplicates,
    }


def _key(path: Path) -> str:
    return path.resolve().as_posix()


def _found(retriever: Any, doc_id: str, probe: str | None) -> tuple[str, str]:
    """``("indexed", "")`` when a search for ``probe`` (without one: the longest word of the
    document's first chunk) has the document among its hits (k = 100: truncated copies share
    their words)."""
    from assistant.text import words

    if probe is None:
        first = next(c for c in retriever.kb.chunks if c.doc_id == doc_id)
        probe = max(words(first.text), key=len, default="")
    if any(h.chunk.doc_id == doc_id for h in retriever.search(probe, 100)):
        return ("indexed", "")
    return ("unfindable", f"no hit for {probe!r}")


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Linux's ``ru_maxrss`` carries the parent's high-water mark
    over fork + exec (a spawned child of a 2 GB test process reads 2 GB); ``VmHWM`` belongs to
    the current address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def clear_reason(reason: str, expected: tuple[str, ...]) -> bool:
    """A one-line English reason naming one of the expected problems."""
    return (
        "\n" not in reason
        and len(reason) < 300
        and reason.isascii()
        and (not expected or any(e in reason.lower() for e in expected))
    )


def judge(case: Case, status: str, detail: str) -> str:
    """One of ``indexed``, ``rejected``, ``skipped_hidden`` (as expected) or the fault:
    ``silent_drop``, ``unfindable``, ``wrongly_rejected``, ``wrongly_indexed``,
    ``unclear_reason``."""
    if case.expect == "hidden":
        return "skipped_hidden" if status == "missing" else f"hidden_but_{status}"
    if status == "missing":
        return "silent_drop"
    if status == "unfindable":
        return "unfindable"
    if status == "indexed":
        return "wrongly_indexed" if case.expect == "rejected" else "indexed"
    if case.expect == "indexed":
        return "wrongly_rejected"
    return "rejected" if clear_reason(detail, case.reasons) else "unclear_reason"


def summarise(cases: list[Case], outcome: dict[str, Any]) -> dict[str, Any]:
    """Totals, a per-category table and the list of problems."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    problems: list[str] = []
    outcomes = outcome["outcomes"]
    for case in cases:
        status, detail = outcomes.get(str(case.path), ("crash", outcome["crash"] or ""))
        verdict = "crash" if status == "crash" else judge(case, status, detail)
        row = table[case.category]
        row["files"] += 1
        row[verdict] += 1
        if status == "rejected":
            reasons[case.category][detail] += 1
        if verdict not in ("indexed", "rejected", "skipped_hidden"):
            problems.append(f"{case.category} {case.path.name!r}: {verdict} {detail}"[:300])
    totals = {
        k: sum(row.get(k, 0) for row in table.values())
        for k in ("files", "indexed", "rejected", "crash", "silent_drop", "skipped_hidden")
    }
    wrong = (
        totals["files"]
        - totals["indexed"]
        - totals["rejected"]
        - totals["crash"]
        - totals["skipped_hidden"]
    )
    return {
        "files": totals["files"],
        "indexed": totals["indexed"],
        "rejected": totals["rejected"],
        "skipped_hidden": totals["skipped_hidden"],
        "crashes": totals["crash"],
        "silent_drops": totals["silent_drop"],
        "wrong": wrong - totals["silent_drop"],
        "duplicate_chunks": outcome.get("duplicate_chunks", 0),
        "peak_rss_mb": outcome["peak_rss_mb"],
        "categories": {k: dict(v) for k, v in table.items()},
        "reasons": {k: dict(v.most_common(4)) for k, v in reasons.items()},
        "problems": problems + ([outcome["crash"]] if outcome["crash"] else []),
    }


def check_upload_names(names: list[str], uploads_dir: Path) -> dict[str, int]:
    """Pass each hostile name (and ``../`` variants) through the app's upload-name handling:
    the kept file must be a plain name inside the uploads folder."""
    from assistant.errors import UploadError
    from assistant.web.uploads import upload_path

    uploads_dir.mkdir(parents=True, exist_ok=True)
    variants = [v for n in names for v in (n, f"../../{n}", f"..\\..\\{n}", f"/etc/{n}")]
    variants += ["..", "../", "/", "", ".", "...", "\x00.txt", "a/../../b.txt"]
    escaped = 0
    for name in variants:
        try:
            target = upload_path(uploads_dir, name)
        except UploadError:  # refused: safe
            continue
        if target.parent != uploads_dir.resolve() or not target.name.isascii():
            escaped += 1
    return {"checked": len(variants), "escaped": escaped}
