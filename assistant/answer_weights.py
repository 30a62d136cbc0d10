"""The answerer's learned weights, named in one place: the choice and answer models
(:class:`Model`), thresholds and quote limits (:class:`AnswerWeights`), kept in one JSON file
(``assistant/answer_weights.json``, or ``Settings.answer_weights``) and read by :func:`weights`.

``python -m eval.fit_answer`` writes the file; :mod:`assistant.ranker` computes the features
the models read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError

WEIGHTS_FILE = Path(__file__).with_name("answer_weights.json")


@dataclass
class Model:
    """A logistic model over named features, inputs standardised by ``mean`` / ``scale``."""

    features: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    kind: str = "logistic"  # "softmax": the rows are one question's candidates, shares sum to 1

    def score(self, rows: np.ndarray) -> np.ndarray:
        rows = np.where(np.isnan(rows), self.mean, rows)  # a missing input counts as average
        return ((rows - self.mean) / self.scale) @ self.coef + self.intercept

    def prob(self, rows: np.ndarray) -> np.ndarray:
        z = self.score(rows)
        if self.kind == "softmax":
            e = np.exp(z - z.max())
            return e / e.sum()
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "coef": _r(self.coef),
            "intercept": round(float(self.intercept), 6),
            "mean": _r(self.mean),
            "scale": _r(self.scale),
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(
            tuple(data["features"]),
            np.asarray(data["coef"], np.float64),
            float(data["intercept"]),
            np.asarray(data["mean"], np.float64),
            np.asarray(data["scale"], np.float64),
            data.get("kind", "logistic"),
        )


@dataclass
class AnswerWeights:
    """Everything the answerer learned or was tuned with, in one place (one JSON file)."""

    choice: Model | None = None
    answer: Model | None = None
    threshold: float = 0.5  # answer when the answer model's probability reaches this
    second: float = 0.1  # a further quote needs this share of the best one's choice probability
    max_quotes: int = 3  # quotes in one answer (each cited)
    # the answer model for provincial reports (documents with a province), calibrated on our
    # own questions over the bundled reports; ``answer`` elsewhere
    answer_reports: Model | None = None
    threshold_reports: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str | None = None) -> AnswerWeights:
        path = Path(path) if path else WEIGHTS_FILE
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text("utf-8"))
        return cls(
            choice=Model.from_json(data["choice"]) if data.get("choice") else None,
            answer=Model.from_json(data["answer"]) if data.get("answer") else None,
            threshold=float(data.get("threshold", 0.5)),
            second=float(data.get("second", 0.1)),
            max_quotes=int(data.get("max_quotes", 3)),
            answer_reports=Model.from_json(data["answer_reports"])
            if data.get("answer_reports")
            else None,
            threshold_reports=float(data.get("threshold_reports", 0.5)),
            meta=data.get("meta", {}),
        )

    def save(self, path: Path | str | None = None) -> None:
        path = Path(path) if path else WEIGHTS_FILE
        data = {
            "choice": self.choice.to_json() if self.choice else None,
            "answer": self.answer.to_json() if self.answer else None,
            "threshold": round(self.threshold, 6),
            "second": self.second,
            "max_quotes": self.max_quotes,
            "answer_reports": self.answer_reports.to_json() if self.answer_reports else None,
            "threshold_reports": round(self.threshold_reports, 6),
            "meta": self.meta,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
        tmp.replace(path)


_LOADED: dict[str, AnswerWeights] = {}


def weights(path: Path | str | None = None) -> AnswerWeights:
    """The weights in ``path`` (default: the bundled file), read once per process.

    A ``path`` given (``Settings.answer_weights``) that is not a file is a ConfigError."""
    key = str(path or WEIGHTS_FILE)
    if path and not Path(path).is_file():
        raise ConfigError(
            f"answer weights file {path} not found; set answer_weights "
            "(ASSISTANT_ANSWER_WEIGHTS) to a file written by "
            "`python -m eval.fit_answer`, or leave it unset for the bundled one"
        )
    if key not in _LOADED:
        _LOADED[key] = AnswerWeights.load(path)
    return _LOADED[key]


def _r(a: np.ndarray) -> list[float]:
    return [round(float(x), 6) for x in a]
