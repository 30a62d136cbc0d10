"""Errors of the eval command; each message says what to do."""


class EvalError(Exception):
    """Bad input to the evaluation (a Q&A file, a corpus, an option): the message says the fix."""
