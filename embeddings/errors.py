"""Errors of the embeddings package, each with a stable ``code`` (as ``assistant.errors`` has).

The package stands alone (it never imports ``assistant``); the assistant wraps these into its
own errors at its edge (``assistant.bot.load_encoder``).
"""

from __future__ import annotations


class EmbeddingsError(Exception):
    """Base class: the message says what to do next (in English)."""

    code = "embeddings_error"


class ModelUnavailableError(EmbeddingsError):
    """The requested embedding model cannot be loaded without network access."""

    code = "model_unavailable"


class ExportError(EmbeddingsError):
    """The model cannot be exported to ONNX (unsupported layout or a failing exporter)."""

    code = "export_failed"
