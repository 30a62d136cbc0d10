"""Diacritics put back into a question typed without them, as the knowledge base's own documents
write its words: "qb co bao nhieu may chu" -> "qb có bao nhiêu máy chủ".

The embedding model reads unaccented Vietnamese poorly (one folded syllable stands for up to a
dozen words: "may" is máy, mấy, may, mây...), so a plain question is embedded in its restored
form; its words are still matched folded (BM25's folded twin, the answerer), so a wrong guess
costs only some dense similarity. Each syllable takes the accented form that the documents'
syllable pairs make most likely (a bigram model with a unigram back-off, decoded with Viterbi);
a syllable the documents never write keeps its typed form.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from assistant.text import fold, has_diacritics

_SYLLABLE = re.compile(r"[^\W\d_]+")
_RUN = re.compile(r"[^\W\d_]+(?: +[^\W\d_]+)*")  # syllables that only spaces separate
# the vocabulary is nearly complete long before a large knowledge base's end: count this much
_MAX_CHARS = 20_000_000
_BACKOFF = 0.5  # weight of the unigram estimate next to a pair's counts
# Reports answer, they do not ask: the words of questions, counted as if written this often
_QUESTION_WORDS = (
    "có bao nhiêu, là bao nhiêu, đạt bao nhiêu, bao nhiêu phần trăm, có mấy, mấy cái, là gì, "
    "tên là gì, những gì, gồm những gì, là ai, ai là, người nào, đồng chí nào, ở đâu, tại đâu, "
    "khi nào, bao giờ, năm nào, ngày nào, thời gian nào, vì sao, tại sao, như thế nào, "
    "bằng cách nào, đứng thứ mấy, xếp thứ mấy, xếp hạng, thứ mấy, cho biết, hiện có, "
    "tổng cộng, hiện nay, được không, có không, đứng đầu, tỉnh nào, là bao nhiêu vậy"
)
_QUESTION_WEIGHT = 20


class Restorer:
    """Syllable and syllable-pair counts of some texts, by folded form.

    >>> r = Restorer(["Toàn tỉnh có 116 máy chủ và 7.301 máy tính.", "Có mấy trạm?"])
    >>> r.restore("Toan tinh co bao nhieu may chu?")
    'Toàn tỉnh có bao nhiêu máy chủ?'
    >>> r.restore("co may tram")
    'có mấy trạm'
    """

    def __init__(self, texts: Iterable[str]) -> None:
        forms: Counter[str] = Counter()
        self.pairs: Counter[tuple[str, str]] = Counter()
        for _ in range(_QUESTION_WEIGHT):
            _count(_QUESTION_WORDS, forms, self.pairs)
        seen = 0
        for text in texts:
            _count(text, forms, self.pairs)
            seen += len(text)
            if seen >= _MAX_CHARS:
                break
        self.unigrams: dict[str, Counter[str]] = defaultdict(Counter)
        for w, n in forms.items():
            self.unigrams[fold(w)][w] += n
        self.following: Counter[str] = Counter()  # pairs that start with a form
        for (a, _), n in self.pairs.items():
            self.following[a] += n
        self.total = sum(forms.values()) or 1

    def restore(self, text: str) -> str:
        """``text`` with the most likely diacritics on each syllable typed without them; a
        text that has diacritics already is returned as it is."""
        if has_diacritics(text):
            return text
        out, pos = [], 0
        for run in _RUN.finditer(text):  # decoded run by run, as they were counted
            spans = [(m.start(), m.end()) for m in _SYLLABLE.finditer(text, *run.span())]
            typed = [text[a:b] for a, b in spans]
            chosen = self._decode([t.lower() for t in typed])
            for (a, b), t, c in zip(spans, typed, chosen, strict=True):
                out.append(text[pos:a])
                out.append(_like(t, c))
                pos = b
        out.append(text[pos:])
        return "".join(out)

    def _decode(self, folded: list[str]) -> list[str]:
        """The most likely accented form of each folded syllable (Viterbi over the pairs).
        Runs of syllables the documents never write break the chain and stay as typed."""
        best: dict[str, tuple[float, list[str]]] = {}
        for f in folded:
            forms = self.unigrams.get(f)
            if not forms:
                top = max(best.values(), key=lambda v: v[0], default=(0.0, []))
                best = {f: (top[0], [*top[1], f])}
                continue
            step: dict[str, tuple[float, list[str]]] = {}
            for w, n in forms.items():
                uni = n / self.total
                if not best:
                    step[w] = (math.log(uni), [w])
                    continue
                step[w] = max(
                    (score + math.log(self._pair(prev, w, uni)), [*path, w])
                    for prev, (score, path) in best.items()
                )
            best = step
        return max(best.values(), key=lambda v: v[0])[1] if best else folded

    def _pair(self, prev: str, w: str, uni: float) -> float:
        """P(w | prev): the pair's share among the pairs that start with prev, smoothed
        towards the syllable's share of all syllables."""
        return (self.pairs[prev, w] + _BACKOFF * uni) / (self.following[prev] + _BACKOFF)


def _count(text: str, forms: Counter[str], pairs: Counter[tuple[str, str]]) -> None:
    """Add the syllables of ``text`` and their pairs within runs that only spaces separate (a
    number, a comma or a line end breaks a run: "có 116 máy" is no pair "có máy")."""
    for run in _RUN.findall(text.lower()):
        ws = run.split()
        forms.update(ws)
        pairs.update(zip(ws, ws[1:], strict=False))


def _like(typed: str, form: str) -> str:
    """``form`` in the case ``typed`` was written in ("Toan" -> "Toàn", "QB" stays "QB")."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form
