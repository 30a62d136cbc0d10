"""Bulk embedding on Ray Data (assistant/ray_embed.py): the bundled reports' chunks get the same
vectors, in the same order, as in one process; indexing with it gives the same knowledge base.
Runs on a local Ray instance (2 CPUs, no dashboard)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Settings, index_paths, load_documents
from assistant.chunking import chunk_document
from assistant.config import BUNDLED_REPORTS
from assistant.indexing import embed_chunks

pytest.importorskip("ray")
pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def ray_local():
    import ray

    from assistant.ray_embed import start_ray

    start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def _chunks(settings: Settings):
    docs, rejected = load_documents([BUNDLED_REPORTS])
    assert len(docs) == 5 and not rejected
    return [
        c
        for d in sorted(docs, key=lambda d: d.id)
        for c in chunk_document(
            d, settings.chunk_size, settings.chunk_overlap, settings.context_header
        )
    ]


def test_ray_vectors_equal_single_process(ray_local, real_encoder):
    from assistant.ray_embed import ray_embed

    settings = Settings()
    chunks = _chunks(settings)
    calls: list[int] = []

    def on_ray(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        # small batches on two actors: batches finish out of order, the result must not
        return ray_embed(texts, settings, actors=2, batch_size=16)

    local, owners = embed_chunks(
        chunks, real_encoder, settings.embed_batch_size, settings.dense_windows
    )
    bulk, bulk_owners = embed_chunks(
        chunks,
        real_encoder,
        settings.embed_batch_size,
        settings.dense_windows,
        embed_passages=on_ray,
    )
    assert calls == [len(local)]  # every text in one Ray job
    assert bulk.shape == local.shape == (len(owners), real_encoder.dim)
    assert bulk.dtype == np.float32
    np.testing.assert_array_equal(bulk_owners, owners)
    assert float(np.abs(bulk - local).max()) <= 1e-5  # row by row: same vectors, same order


def test_index_with_ray_gives_the_same_knowledge_base(ray_local, real_encoder, tmp_path: Path):
    from assistant.ray_embed import ray_embedder

    settings = Settings(index_dir=tmp_path / "ray")
    kb, report = index_paths(
        [BUNDLED_REPORTS],
        settings.index_dir,
        settings,
        real_encoder,
        embed_passages=ray_embedder(settings),
    )
    plain = Settings(index_dir=tmp_path / "plain")
    ref, ref_report = index_paths([BUNDLED_REPORTS], plain.index_dir, plain, real_encoder)
    assert len(report.added) == 5 and report.vectors_embedded == ref_report.vectors_embedded
    assert [c.id for c in kb.chunks] == [c.id for c in ref.chunks]
    np.testing.assert_array_equal(kb.owners, ref.owners)
    assert float(np.abs(kb.vectors - ref.vectors).max()) <= 1e-5


def test_ray_embed_of_nothing(ray_local, real_encoder):
    from assistant.ray_embed import ray_embed

    out = ray_embed([], Settings())
    assert out.shape == (0, real_encoder.dim)
