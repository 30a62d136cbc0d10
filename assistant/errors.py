"""Errors raised by the assistant. Each message says what to do next."""


class AssistantError(Exception):
    """Base class: the message is safe to show to a user (in English)."""


class BadFileError(AssistantError):
    """A file could not be read as a document (empty, binary, corrupt, too large...)."""


class IndexNotFoundError(AssistantError):
    """No knowledge base exists at the given folder."""


class IndexMismatchError(AssistantError):
    """The knowledge base on disk was built with other settings than the current ones."""


class IndexCorruptError(AssistantError):
    """The knowledge base on disk cannot be read."""


class IndexBusyError(AssistantError):
    """Another process is writing the knowledge base."""


class QuestionError(AssistantError):
    """The question cannot be asked as typed."""


class EmptyQuestionError(QuestionError):
    """The question is empty (or only spaces)."""


class QuestionTooLongError(QuestionError):
    """The question is longer than the assistant accepts."""


class PromptError(AssistantError):
    """A prompt file is missing or lacks the variables its caller fills in."""


class LLMError(AssistantError):
    """The language-model server failed: unreachable, timeout, HTTP error, malformed or empty
    output. ``kind`` names which, for the fallback notice and the evaluation counts."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class VectorStoreError(AssistantError):
    """The external vector store (Milvus) is missing, unreachable or out of step with the
    knowledge base folder."""


class BulkEmbedError(AssistantError):
    """Bulk embedding on Ray failed: Ray missing, the cluster unreachable, a worker crashed."""
