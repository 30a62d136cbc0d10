"""Errors raised by the assistant. Each message says what to do next (in English); each error
has a stable ``code`` that the web app maps to Vietnamese and the CLI prints with the message.

Every error a user can meet is an :class:`AssistantError`: the CLI prints ``error: <message>``
on one line and exits non-zero, the UI shows the Vietnamese text for ``code``. Never a
traceback. ``details`` carries the values a translated message needs (a file size, a limit).
"""

from __future__ import annotations

from typing import Any


class AssistantError(Exception):
    """Base class: the message is safe to show to a user (in English)."""

    code = "error"

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.details = details


class BadFileError(AssistantError):
    """A file could not be read as a document (empty, binary, corrupt, too large...).

    ``code`` says why: ``file_unsupported``, ``file_empty``, ``file_too_large``, ``file_binary``,
    ``file_encoding``, ``file_no_text``, ``pdf_encrypted``, ``pdf_unreadable``, ``pdf_no_ocr``,
    ``pdf_ocr_failed``, ``pdf_too_many_scans``, ``docx_unreadable``, ``docx_bomb``,
    ``office_unreadable``, ``office_needs_tool``, ``sheet_too_large``, ``file_unreadable``."""

    code = "bad_file"


class IndexNotFoundError(AssistantError):
    """No knowledge base exists at the given folder."""

    code = "index_not_found"


class IndexMismatchError(AssistantError):
    """The knowledge base on disk was built with other settings than the current ones."""

    code = "index_mismatch"


class IndexCorruptError(AssistantError):
    """The knowledge base on disk cannot be read."""

    code = "index_corrupt"


class IndexBusyError(AssistantError):
    """Another process is writing the knowledge base."""

    code = "index_busy"


class QuestionError(AssistantError):
    """The question cannot be asked as typed."""

    code = "question_invalid"


class EmptyQuestionError(QuestionError):
    """The question is empty (or only spaces)."""

    code = "question_empty"


class QuestionTooLongError(QuestionError):
    """The question is longer than the assistant accepts."""

    code = "question_too_long"


class PromptError(AssistantError):
    """A prompt file is missing or lacks the variables its caller fills in."""

    code = "prompt_invalid"


class LLMError(AssistantError):
    """The language-model server failed: unreachable, timeout, HTTP error, malformed or empty
    output. ``kind`` names which, for the fallback notice and the evaluation counts."""

    code = "llm_failed"

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class VectorStoreError(AssistantError):
    """The external vector store (Milvus) is missing, unreachable or out of step with the
    knowledge base folder."""

    code = "vector_store"


class BulkEmbedError(AssistantError):
    """Bulk embedding on Ray failed: Ray missing, the cluster unreachable, a worker crashed."""

    code = "bulk_embed"


class ModelUnavailableError(AssistantError):
    """The embedding model cannot be loaded (not installed, a wrong local path, a broken
    cache): the message names the installed package or local path to use instead."""

    code = "model_unavailable"


class ConfigError(AssistantError):
    """A setting (environment variable, option) has a value the assistant cannot use."""

    code = "config_invalid"


class UploadError(AssistantError):
    """An upload cannot be taken: no file, too many files, a bad file name."""

    code = "upload_invalid"


class NotReadyError(AssistantError):
    """The assistant is still starting, or failed to start (``details['reason']``)."""

    code = "not_ready"


class EvalError(AssistantError):
    """Bad input to the evaluation (a Q&A file, a corpus, an option): the message says the fix."""

    code = "eval_input"
