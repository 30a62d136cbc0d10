"""The ONNX Runtime backend: the exported model (fp32 or int8) behind the :class:`Embedder` API.

Tokenisation uses the model's own fast tokenizer (``tokenizers``, no transformers), windows and
their weighted average are those of :class:`~embeddings.base.Embedder`, so the fp32 backend
reproduces the torch vectors to ~1e-7 and the int8 one to a mean cosine of ~0.996.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .base import HOW_TO, Backend, Embedder, is_default_model, model_prefixes
from .errors import ModelUnavailableError
from .export import FILES, FORMAT_VERSION, META, export_onnx


class OnnxEmbedder(Embedder):
    """An :class:`Embedder` running an exported ONNX model with ONNX Runtime on the CPU.

    Each run is one window on one thread, and one run per core goes at once (a thread pool):
    no thread barriers inside a layer, which on 2 busy cores halves the latency of a query and
    doubles int8 throughput compared with two intra-op threads per run.
    """

    def __init__(
        self,
        folder: Path,
        backend: Backend,
        name: str,
        query_prefix: str,
        passage_prefix: str,
        meta: dict[str, Any] | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = meta or json.loads((folder / META).read_text("utf-8"))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._workers = max(
            1,
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1,
        )
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="onnx-embed")
        # ONNX Runtime's SkipLayerNormalization kernel (residual add + layer norm, fused at load)
        # is ~6x slower per element than the plain LayerNormalization it replaces: keeping them
        # apart makes the int8 model ~10-15% faster (no effect on fp32), same vectors to 1e-5.
        self._session = ort.InferenceSession(
            str(folder / FILES[backend]),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=["SkipLayerNormFusion"],
        )
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        self._head, self._tail = _specials(self._tok)
        self._pad = int(meta["pad_id"])
        self.folder = folder
        super().__init__(
            name,
            int(meta["dim"]),
            int(meta["max_seq_length"]),
            query_prefix,
            passage_prefix,
            backend,
            len(self._head) + len(self._tail),
        )

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text`` incl. special tokens; no prefix added, no truncation."""
        return len(self._tok.encode(text).ids)

    def _windows(self, texts: list[str]) -> list[tuple[int, list[int]]]:
        size = self.max_seq_length - self._n_special
        out = []
        for i, enc in enumerate(self._tok.encode_batch(texts, add_special_tokens=False)):
            ids = enc.ids
            for start in range(0, max(len(ids), 1), size):
                out.append((i, self._head + ids[start : start + size] + self._tail))
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        # One window per run: no padding, and a vector depends on its text alone (int8
        # activations are scaled per tensor, so in a batch a window's vector would move ~1e-3
        # with its neighbours). The windows come length-sorted, so runs take similar times.
        if len(batch) == 1:
            return self._run(batch)
        return np.concatenate(list(self._pool.map(self._run, [[seq] for seq in batch])))

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(seq) for seq in batch)
        ids = np.full((len(batch), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _specials(tok: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer's post-processor puts before and after a text's own tokens."""
    bare = tok.encode("x", add_special_tokens=False).ids
    full = tok.encode("x").ids
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise ModelUnavailableError("cannot tell the tokenizer's special tokens from its text tokens")


def onnx_folder(model: str, source: str, cache_dir: Path) -> Path:
    """The cache folder for the ONNX export of ``source`` (next to the converted default
    model; for other models keyed by their path and file times)."""
    path = Path(source)
    if is_default_model(model):
        return path.parent / f"{path.name}-onnx-v{FORMAT_VERSION}"
    h = hashlib.sha256(str(path.resolve()).encode())
    for f in sorted(path.iterdir()):
        h.update(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return cache_dir / "onnx" / f"{path.name}-{h.hexdigest()[:12]}-onnx-v{FORMAT_VERSION}"


def load_onnx_embedder(
    model: str,
    source: str,
    cache_dir: Path,
    backend: Backend,
    query_prefix: str | None,
    passage_prefix: str | None,
) -> OnnxEmbedder:
    """Export ``source`` on first use, then open it with ONNX Runtime."""
    path = Path(source)
    if not path.is_dir():  # a name in the local Hugging Face cache
        try:
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(source, local_files_only=True))
        except Exception as exc:
            raise ModelUnavailableError(
                f"Could not find embedding model {model!r} in local files "
                f"({type(exc).__name__}: {exc}). {HOW_TO}"
            ) from exc
    folder = onnx_folder(model, str(path), cache_dir)
    try:
        export_onnx(path, folder)
    except Exception as exc:
        raise ModelUnavailableError(
            f"Could not export {model!r} to ONNX in {folder}: {exc}. {HOW_TO}"
        ) from exc
    meta = json.loads((folder / META).read_text("utf-8"))
    prefixes = model_prefixes(model, meta.get("prompts"), query_prefix, passage_prefix)
    name = model if backend == "onnx" else f"{model}:{backend}"
    return OnnxEmbedder(folder, backend, name, *prefixes, meta=meta)
