"""Cited answers to Vietnamese questions over provincial ICT reports, offline."""

from assistant.config import Settings
from assistant.core import Assistant, load_encoder
from assistant.errors import (
    AssistantError,
    BadFileError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from assistant.ingest import load_document, load_documents
from assistant.store import IndexReport, KnowledgeBase, index_paths
from assistant.types import Answer, Chunk, Citation, Document, Hit

__all__ = [
    "Answer", "Assistant", "AssistantError", "BadFileError", "Chunk", "Citation", "Document",
    "Hit", "IndexBusyError", "IndexCorruptError", "IndexMismatchError", "IndexNotFoundError",
    "IndexReport", "KnowledgeBase", "Settings", "index_paths", "load_document", "load_documents",
    "load_encoder",
]
