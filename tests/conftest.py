"""Shared fixtures: a deterministic fake encoder for fast unit tests, and the real default model
on the bundled reports (tests marked ``model``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Settings
from assistant.config import BUNDLED_REPORTS
from assistant.text import fold, words

TESTS = Path(__file__).parent
REPO_QA = TESTS / "data" / "reports_qa.jsonl"
SHARED = TESTS.parent.parent / "shared"


class FakeEncoder:
    """Bag of folded syllables hashed into 64 dims, L2-normalised: deterministic and instant.
    Stands in for the real model where only the plumbing is tested."""

    name = "fake-hash-64"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts: list[str], kind: str = "passage", **_: object) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in words(t):
                h = int(hashlib.md5(fold(w).encode()).hexdigest()[:8], 16)
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def reports_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample reports."""
    dest = tmp_path / "reports"
    shutil.copytree(BUNDLED_REPORTS, dest)
    return dest


def load_qa(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def real_encoder():
    from assistant import load_encoder

    return load_encoder(Settings())


@pytest.fixture(scope="session")
def real_assistant(real_encoder, tmp_path_factory):
    """The assistant with the real default model over an index of the bundled reports."""
    from assistant import Assistant, index_paths

    settings = Settings(index_dir=tmp_path_factory.mktemp("kb") / "index")
    kb, report = index_paths([BUNDLED_REPORTS], settings.index_dir, settings, real_encoder)
    assert len(report.added) == 5 and not report.rejected
    return Assistant(settings, kb, real_encoder)
