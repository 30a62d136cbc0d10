"""An encoder wrapper that remembers query vectors, so compared configurations embed each
question once. The time a remembered vector saved is handed back, to keep latencies honest."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from assistant.types import Encoder


class QueryCache:
    """Wraps an encoder: passages pass through, queries are embedded once per text.

    >>> # enc = QueryCache(load_encoder(settings)); enc.embed(["câu hỏi"], "query")
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self._vectors: dict[str, np.ndarray] = {}
        self._cost_ms: dict[str, float] = {}
        self._saved_ms = 0.0

    def embed(self, texts: list[str], kind: str = "passage", **kw: Any) -> np.ndarray:
        if kind != "query":
            return self.encoder.embed(texts, kind, **kw)
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            t0 = time.perf_counter()
            vectors = self.encoder.embed(missing, "query", **kw)
            each = (time.perf_counter() - t0) * 1000 / len(missing)
            for text, vec in zip(missing, vectors, strict=True):
                self._vectors[text] = vec
                self._cost_ms[text] = each
        self._saved_ms += sum(self._cost_ms[t] for t in texts if t not in missing)
        return np.stack([self._vectors[t] for t in texts])

    def take_saved_ms(self) -> float:
        """Milliseconds of query embedding skipped since the last call (then reset to 0)."""
        saved, self._saved_ms = self._saved_ms, 0.0
        return saved
