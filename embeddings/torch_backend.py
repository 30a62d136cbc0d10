"""The sentence-transformers backend (fp32, PyTorch): the reference vectors, and the only
backend with a :class:`~sentence_transformers.SentenceTransformer` (:attr:`TorchEmbedder.model`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import HOW_TO, Embedder
from .errors import ModelUnavailableError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class TorchEmbedder(Embedder):
    """An :class:`Embedder` running a SentenceTransformer's modules (all but a trailing
    Normalize: window vectors are combined before normalising)."""

    def __init__(
        self, model: SentenceTransformer, name: str, query_prefix: str, passage_prefix: str
    ) -> None:
        self._model = model
        self._tokenizer = model.tokenizer
        modules = list(model)
        self._pre_norm = modules[:-1] if type(modules[-1]).__name__ == "Normalize" else modules
        get_dim = getattr(model, "get_embedding_dimension", None)  # ST >= 6; older: *_sentence_*
        dim: Any = (get_dim or model.get_sentence_embedding_dimension)()
        max_len: Any = model.max_seq_length
        super().__init__(
            name,
            int(dim),
            int(max_len),
            query_prefix,
            passage_prefix,
            "torch",
            self._tokenizer.num_special_tokens_to_add(),
        )

    @property
    def model(self) -> SentenceTransformer:
        """The underlying SentenceTransformer (shared; do not mutate)."""
        return self._model

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text`` incl. special tokens; no prefix added, no truncation."""
        return len(self._tokenizer(text, verbose=False)["input_ids"])

    def _windows(self, texts: list[str]) -> list[tuple[int, list[int]]]:
        encoded = self._tokenizer(
            texts,
            truncation=True,
            max_length=self.max_seq_length,
            stride=0,
            return_overflowing_tokens=True,
            verbose=False,
        )
        return list(zip(encoded["overflow_to_sample_mapping"], encoded["input_ids"], strict=True))

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            features = self._tokenizer.pad({"input_ids": batch}, return_tensors="pt")
            features = {k: v.to(self._model.device) for k, v in features.items()}
            for module in self._pre_norm:
                features = module(features)
            return features["sentence_embedding"].float().cpu().numpy()


def load_sentence_transformer(source: str, model: str) -> SentenceTransformer:
    """Open ``source`` (a local folder or a name in the local Hugging Face cache) on the CPU,
    from local files only; ``model`` is the name the caller asked for (for the message)."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(source, local_files_only=True, device="cpu")
    except Exception as exc:
        raise ModelUnavailableError(
            f"Could not load embedding model {model!r} from local files "
            f"({type(exc).__name__}: {exc}). {HOW_TO}"
        ) from exc
