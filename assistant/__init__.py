"""Cited answers to Vietnamese questions over provincial ICT reports, offline."""

from assistant.bot import Assistant, default_sources, load_encoder
from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    BadFileError,
    EmptyQuestionError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    LLMError,
    PromptError,
    QuestionError,
    QuestionTooLongError,
)
from assistant.indexing import IndexReport, index_paths
from assistant.ingest import load_document, load_documents
from assistant.kb import KnowledgeBase
from assistant.types import Answer, Chunk, Citation, CitationCheck, Document, Hit

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "BadFileError",
    "Chunk",
    "Citation",
    "CitationCheck",
    "Document",
    "EmptyQuestionError",
    "Hit",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexReport",
    "KnowledgeBase",
    "LLMError",
    "PromptError",
    "QuestionError",
    "QuestionTooLongError",
    "Settings",
    "default_sources",
    "index_paths",
    "load_document",
    "load_documents",
    "load_encoder",
]
