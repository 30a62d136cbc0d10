"""The streaming answer object: iterate for the text as it is generated, then read ``.answer``.

>>> from assistant.types import Answer
>>> def pieces():
...     yield "Bắc Giang có "
...     yield "1.422 trạm BTS."
...     return Answer(question="?", answer="Bắc Giang có 1.422 trạm BTS [1].", refused=False)
>>> stream = AnswerStream(pieces())
>>> "".join(stream)
'Bắc Giang có 1.422 trạm BTS.'
>>> stream.answer.answer
'Bắc Giang có 1.422 trạm BTS [1].'
>>> AnswerStream.done(Answer(question="?", answer="x", refused=False)).answer.answer
'x'

The final answer's text may differ from the streamed one (citations checked, the extractive
fallback). Reading ``.answer`` before the end drains the rest of the text. This is the one place
that knows generators end with ``StopIteration.value``; everything else uses this object.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from assistant.types import Answer


class AnswerStream(Iterator[str]):
    """Pieces of answer text (possibly none), then the final :class:`Answer`."""

    def __init__(self, pieces: Generator[str, None, Answer]) -> None:
        self._pieces: Generator[str, None, Answer] | None = pieces
        self._answer: Answer | None = None

    @classmethod
    def done(cls, answer: Answer) -> AnswerStream:
        """A stream with no text to stream, already holding its answer."""
        stream = cls.__new__(cls)
        stream._pieces, stream._answer = None, answer
        return stream

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str:
        if self._pieces is None:
            raise StopIteration
        try:
            return next(self._pieces)
        except StopIteration as end:
            self._pieces, self._answer = None, end.value
            raise StopIteration from None

    @property
    def answer(self) -> Answer:
        """The final answer; drains the text not yet read."""
        for _ in self:
            pass
        assert self._answer is not None, "the generator returned no Answer"
        return self._answer
