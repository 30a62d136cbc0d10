"""Errors of the eval command; each message says what to do.

:class:`EvalError` is an :class:`~assistant.errors.AssistantError` (code ``eval_input``), so
every entry point prints it as one line."""

from assistant.errors import EvalError

__all__ = ["EvalError"]
