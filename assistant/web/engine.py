"""The assistant behind the app, loaded in a background thread so that the page is up at once
and shows the progress of the start (building the index on the first one)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.bot import Assistant, default_sources, load_encoder
from assistant.config import Settings
from assistant.errors import AssistantError, IndexNotFoundError, NotReadyError
from assistant.indexing import index_paths
from assistant.ingest import SUPPORTED
from assistant.types import Chunk, Encoder
from assistant.web.messages import STAGES_VI, start_failure

log = logging.getLogger(__name__)


def open_assistant(
    settings: Settings, encoder: Encoder, progress: Callable[..., None]
) -> Assistant:
    """The assistant over ``settings.index_dir`` by the rule of :meth:`Assistant.open`
    (which builds or rebuilds the default index), and one more: the app's own index folder is
    built from the default sources on its first start, wherever it is. Kept uploads the index
    lacks (e.g. after a rebuild) are indexed again."""
    progress("load", 0, 1)
    try:
        bot = Assistant.open(settings, encoder=encoder, progress=progress)
    except IndexNotFoundError:
        log.info("building a new index in %s", settings.index_dir)
        index_paths(
            list[Path | str](default_sources(settings)),
            Path(settings.index_dir),
            settings,
            encoder,
            progress=progress,
        )
        bot = Assistant.open(settings, encoder=encoder)
    uploads = uploads_dir(settings)
    missing = [p for p in kept_uploads(uploads) if p.as_posix() not in bot.kb.documents]
    if missing:
        bot.index([uploads], progress=progress)
    return bot


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "uploads"


def kept_uploads(folder: Path) -> list[Path]:
    """The uploaded files kept in ``folder`` (not the staged ones, not unsupported ones)."""
    if not folder.is_dir():
        return []
    return [
        p.resolve()
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED
    ]


class Engine:
    """The assistant behind the app. :meth:`start` loads it in a thread; :meth:`wait` returns
    it, or raises :class:`NotReadyError` while it starts or when it could not start.

    ``opener(settings, progress)`` opens the assistant (tests pass a fake); by default
    :func:`open_assistant` with ``encoder``, or the model the settings name.
    """

    def __init__(
        self,
        settings: Settings,
        opener: Callable[..., Any] | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.settings = settings
        self.bot: Any = None
        self.error: str | None = None  # why it did not start, in Vietnamese
        self.failure: dict[str, str] = {}  # the same as NotReadyError details
        self.stage, self.done, self.total = "model", 0, 0
        self.started = time.perf_counter()
        self.ready_after: float | None = None
        self.write_lock = threading.Lock()
        self._ready = threading.Event()
        self._encoder = encoder
        self._opener = opener or self._open

    @property
    def uploads_dir(self) -> Path:
        return uploads_dir(self.settings)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="assistant-loader", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            self.bot = self._opener(self.settings, self.progress)
        except AssistantError as err:
            log.error("cannot open the knowledge base: %s", err)
            self.failure = {"reason": "failed", "cause": err.code}
        except Exception as err:  # noqa: BLE001 - the page must say something, not hang
            log.exception("cannot start the assistant")
            self.failure = {"reason": "failed", "cause": "", "kind": type(err).__name__}
        else:
            self.ready_after = time.perf_counter() - self.started
            log.info("assistant ready in %.1f s", self.ready_after)
        finally:
            if self.failure:
                self.error = start_failure(self.failure["cause"], self.failure.get("kind", ""))
            self._ready.set()

    def _open(self, settings: Settings, progress: Callable[..., None]) -> Assistant:
        return open_assistant(settings, self._encoder or load_encoder(settings), progress)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Progress of the start-up (``stage`` as in :data:`STAGES_VI`), also logged."""
        if stage != self.stage or done == total:
            log.info("start-up: %s %d/%d", STAGES_VI.get(stage, stage), done, total)
        self.stage, self.done, self.total = stage, done, total

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.bot is not None

    def status(self) -> str:
        """One Vietnamese line: what the assistant is doing, or what it holds."""
        if self.error:
            return f"⚠️ {self.error}"
        if self.ready:
            kb = self.bot.kb
            return f"✅ Sẵn sàng: {len(kb.documents)} tài liệu, {len(kb)} đoạn."
        return f"⏳ Đang khởi động: {self._progress()}…"

    def _progress(self) -> str:
        step = STAGES_VI.get(self.stage, self.stage)
        count = (
            f" {self.done}/{self.total} ({100 * self.done // self.total}%)"
            if self.total > 1
            else ""
        )
        return step + count

    def wait(self, timeout: float | None = None) -> Any:
        """The assistant, once loaded; :class:`NotReadyError` if loading failed or takes
        longer than ``timeout`` seconds."""
        if not self._ready.wait(timeout):
            raise NotReadyError(
                "the assistant is still starting; retry in a minute",
                reason="starting",
                progress=self._progress(),
            )
        if self.bot is None:
            raise NotReadyError("the assistant could not start; see the server log", **self.failure)
        return self.bot

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        kb = self.bot.kb
        return [kb.chunks[int(r)] for r in kb.rows_for([doc_id])]
