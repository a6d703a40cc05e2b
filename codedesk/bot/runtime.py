"""One worker's bot: the Bolt app with its real dependencies, its readiness checks, the answerer it
builds in the background, and what it does when the worker starts and stops."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App

from codedesk.bot.config import BotSettings
from codedesk.bot.observability import GaugeSampler, InstrumentedAnswerer, worker_started
from codedesk.bot.readiness import AnswererHolder, Readiness
from codedesk.bot.review_port import ReviewPort
from codedesk.settings import Settings

log = logging.getLogger(__name__)

# the composition root's review port builder (`codedesk.cli.review_port`)
ReviewFor = Callable[[Settings], ReviewPort]
STOP_TIMEOUT_S = 30.0  # answers in progress get this long to finish when a worker stops
EXIT_CONFIG = 2  # a configuration error: restarting will not help (RestartPreventExitStatus=2)


@dataclass
class Runtime:
    """`start()` and `stop()` are the worker's lifespan (the ASGI app calls them)."""

    app: App
    readiness: Readiness
    holder: AnswererHolder | None = None
    on_fatal: Callable[[BaseException], None] | None = None
    sample_interval_s: float = 1.0
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def deps(self) -> Any:
        return self.app.codedesk  # type: ignore[attr-defined]

    def sampler(self) -> GaugeSampler:
        return GaugeSampler(
            queue_depth=lambda: self.deps.pool.pending,
            answerer_ready=lambda: self.readiness.answerer_ready,
            log_queue_pending=self.readiness.log_queue_pending,
        )

    def start(self) -> None:
        worker_started()
        if self.holder is not None:
            self.holder.start(self.on_fatal)
        sampler = self.sampler()

        def sample() -> None:
            sampler.sample()
            while not self._stopping.wait(self.sample_interval_s):
                sampler.sample()

        threading.Thread(target=sample, name="codedesk-gauges", daemon=True).start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        deps = self.deps
        log.info("stopping: finishing answers in progress pending=%s", deps.pool.pending)
        self._stopping.set()
        if self.holder is not None:
            self.holder.stop()
        deps.pool.wait_idle(timeout=timeout_s)
        deps.pool.shutdown(wait=False)
        deps.review.close()


def build_runtime(
    settings: Settings,
    *,
    review: ReviewPort,
    bot_settings: BotSettings | None = None,
    answerer: Any = None,
    client: Any = None,
    flush_interval_s: float = 5.0,
    on_fatal: Callable[[BaseException], None] | None = None,
) -> Runtime:
    """The app with its real dependencies: the answerer over the index (built in the background when
    not given) and the review port the composition root built (`codedesk.cli.review_port`)."""
    from codedesk.bot.app import build_app

    bot = (bot_settings or BotSettings()).require()
    holder = None
    if answerer is None:
        holder = answerer = AnswererHolder(settings)
    # an idle worker writes the records queued while the database was down
    review.start_flusher(interval_s=flush_interval_s)
    app = build_app(
        settings,
        answerer=InstrumentedAnswerer(answerer),
        review=review,
        bot_settings=bot,
        client=client,
    )
    deps = app.codedesk  # type: ignore[attr-defined]
    return Runtime(app=app, readiness=Readiness(deps, holder), holder=holder, on_fatal=on_fatal)


def prepare_caches(settings: Settings) -> None:
    """Fill the caches the workers share in CODEDESK_HOME (the ONNX export of the embedding model,
    parsed code books, search indexes, guideline searchers) in one process, before N workers start
    together and would all build and write the same files at once."""
    from codedesk.embeddings import get_embedder
    from codedesk.retrieval.service import build_answerer, warm_caches

    started = time.monotonic()
    get_embedder(settings.cache_dir, settings.embedding_backend)
    build_answerer(
        settings, require_index=True
    )  # a configuration error stops the server here, once
    warm_caches(
        settings
    )  # the answerer loads lazily: build every entry here, not in N workers at once
    log.info("caches_ready seconds=%.1f", time.monotonic() - started)
