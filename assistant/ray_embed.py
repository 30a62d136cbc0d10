"""Bulk embedding on Ray Data: the texts become a dataset, a pool of actors each holding the
model embeds batches of it, and the vectors come back in the texts' order.

>>> # from assistant.ray_embed import ray_embed
>>> # vectors = ray_embed(texts, Settings())            # a local Ray instance, 2 CPUs
>>> # vectors = ray_embed(texts, settings, address="auto")   # an existing cluster
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import AssistantError, BulkEmbedError

INSTALL = "ray is not installed: pip install -e '.[ray]'"
log = logging.getLogger(__name__)


class PassageEmbedder:
    """A Ray Data actor: loads the settings' model once, then embeds batches of passages."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from assistant.bot import load_encoder

        self.encoder = load_encoder(Settings(**settings))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.embed([str(t) for t in batch["text"]], "passage")
        return {"i": np.asarray(batch["i"], np.int64), "vector": vectors.astype(np.float32)}


def start_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to the Ray cluster at ``address`` ('auto', ``ray://host:10001``) or start a local
    instance (no dashboard); reuses a running connection."""
    try:
        import ray
    except ImportError as err:
        raise BulkEmbedError(INSTALL) from err
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    if address:
        options["address"] = address
    else:
        options["num_cpus"] = num_cpus or 2
    try:
        ray.init(**options)
    except Exception as err:  # ConnectionError, RuntimeError, ValueError from ray.init
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise BulkEmbedError(
            f"cannot start {where} ({str(err).splitlines()[0][:200]}); check "
            "--ray-address (e.g. auto or ray://host:10001)"
        ) from err
    return ray


def ray_embed(
    texts: list[str],
    settings: Settings,
    address: str | None = None,
    actors: int | None = None,
    batch_size: int | None = None,
) -> np.ndarray:
    """Passage vectors ``(len(texts), dim)`` float32 for ``texts``, in their order, computed by
    ``actors`` Ray actors (default: one per CPU of the cluster, at most 8) with Ray Data."""
    ray = start_ray(address)
    if not texts:
        from assistant.bot import load_encoder

        return np.zeros((0, load_encoder(settings).dim), np.float32)
    size = actors or max(1, min(8, int(ray.cluster_resources().get("CPU", 1))))
    batch = batch_size or settings.embed_batch_size * 4
    # a worker rebuilds the settings from plain values: no environment is read there
    config = settings.model_dump(mode="json", exclude={"llm_api_key", "milvus_token"})
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the caller shows its own progress
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        dataset = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        embedded = dataset.map_batches(
            PassageEmbedder,
            fn_constructor_kwargs={"settings": config},
            batch_size=batch,
            batch_format="numpy",
            concurrency=size,
            num_cpus=1,
        )
        parts = list(embedded.iter_batches(batch_size=None, batch_format="numpy"))
    except AssistantError:
        raise
    except Exception as err:  # a worker failed: RayTaskError, ActorDiedError...
        raise BulkEmbedError(
            f"Ray embedding failed ({str(err).strip().splitlines()[0][:300]});"
            " run without --ray to embed in this process"
        ) from err
    order = np.concatenate([p["i"] for p in parts])
    vectors = np.concatenate([p["vector"] for p in parts])
    if len(order) != len(texts) or set(order.tolist()) != set(range(len(texts))):
        raise BulkEmbedError(
            f"Ray returned {len(order)} vectors for {len(texts)} texts; run again, or without --ray"
        )
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


def ray_embedder(
    settings: Settings, address: str | None = None
) -> Callable[[list[str]], np.ndarray]:
    """``embed_passages`` for :func:`assistant.indexing.index_paths`: Ray starts at the first
    call."""
    return lambda texts: ray_embed(texts, settings, address)
