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
