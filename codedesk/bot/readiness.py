"""What `/readyz` reports, and the answerer a worker builds once its index can be reached.

A worker answers `/healthz` at once; its answerer (code books, ONNX model, Chroma client) is built
in a background thread (`AnswererHolder`), and `/readyz` is 200 only when this worker can answer
with the full index and log to the database, else 503 with `"down": [...]` naming what is not.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from codedesk.errors import CodeDeskError, ConfigError, IndexUnavailable
from codedesk.settings import Settings, redact_text, redact_url

log = logging.getLogger(__name__)


class AnswererHolder:
    """This worker's answerer, built in a background thread once the index can be reached, so the
    HTTP server (and /healthz) is up at once and a Chroma server that is still starting, or down,
    does not stop the worker: until the answerer is ready, questions get "the code index is
    unavailable, retrying" (the bot retries) and /readyz says what it waits for."""

    def __init__(
        self, settings: Settings, *, build: Callable[[], Any] | None = None, retry_s: float = 2.0
    ) -> None:
        self.settings = settings
        self._build = build or self._default_build
        self.retry_s = retry_s
        self._answerer: Any = None
        self.state = "starting"  # starting, waiting_for_index, ready, failed
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _default_build(self) -> Any:
        from codedesk.retrieval.service import build_answerer

        return build_answerer(self.settings, require_index=True)

    # --- what the bot uses
    @property
    def ready(self) -> bool:
        return self._answerer is not None

    @property
    def inner(self) -> Any:
        return self._answerer

    @property
    def dense(self) -> Any:
        return getattr(self._answerer, "dense", None)

    @property
    def index_version(self) -> str | None:
        answerer = self._answerer
        if answerer is None:
            return None
        dense = getattr(answerer, "dense", None)
        if dense is not None:  # follows a newer generation picked up after an ingest
            return str(dense.generation.gen)
        version = getattr(answerer, "index_version", None)
        return None if version is None else str(version)

    def answer(self, question: str, **kwargs: Any) -> Any:
        answerer = self._answerer
        if answerer is None:
            if self.state == "failed":
                raise ConfigError(
                    self.error or "CodeDesk is misconfigured; ask your admin to check its log."
                )
            raise IndexUnavailable(f"the answerer is not ready yet ({self.state})")
        return answerer.answer(question, **kwargs)

    # --- building
    def start(self, on_fatal: Callable[[BaseException], None] | None = None) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(on_fatal,), name="codedesk-answerer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _index_reachable(self) -> bool | None:
        """None without a Chroma server (embedded store); else whether a generation is active.
        Raises IndexUnavailable while the server cannot be reached."""
        if not self.settings.chroma_host:
            return None
        from codedesk.ingest.store import IndexStore

        return IndexStore(self.settings).active() is not None

    def _run(self, on_fatal: Callable[[BaseException], None] | None) -> None:
        started, last_note = time.monotonic(), 0.0
        while not self._stop.is_set():
            try:
                built_index = self._index_reachable()
                answerer = self._build()
                if built_index and getattr(answerer, "dense", None) is None:
                    raise IndexUnavailable("the index went away while the answerer was being built")
            except ConfigError as err:  # a model mismatch, a missing setting: no retry will help
                self.state, self.error = "failed", redact_text(str(err))
                log.error("answerer_failed error=%s", json.dumps(redact_text(str(err))))
                if on_fatal is not None:
                    on_fatal(err)
                return
            except IndexUnavailable as err:
                self.state, self.error = "waiting_for_index", redact_text(str(err))
                if time.monotonic() - last_note > 15:
                    last_note = time.monotonic()
                    log.warning(
                        "answerer_waiting_for_index host=%s port=%s waited_s=%.0f error=%s",
                        redact_url(self.settings.chroma_host),
                        self.settings.chroma_port,
                        time.monotonic() - started,
                        json.dumps(str(err)),
                    )
                self._stop.wait(self.retry_s)
                continue
            except Exception as err:  # anything else: say so, try again a little later
                self.state, self.error = "starting", f"{type(err).__name__}"
                log.exception("answerer_build_failed")
                self._stop.wait(self.retry_s * 5)
                continue
            self._answerer = answerer
            self.state, self.error = "ready", None
            log.info(
                "answerer_ready seconds=%.1f index=%s",
                time.monotonic() - started,
                self.index_version,
            )
            return


class Readiness:
    """The checks behind `/readyz` for one worker's Bolt app (`app.codedesk` holds its parts; the
    database is checked through the review port)."""

    def __init__(self, deps: Any, holder: AnswererHolder | None = None) -> None:
        self.deps = deps
        self.settings: Settings = deps.settings
        self.holder = holder
        self._store: Any = None

    @property
    def answerer_ready(self) -> bool:
        return self.holder is None or self.holder.ready

    def log_queue_pending(self) -> float | None:
        value = self.deps.review.pending()
        return None if value is None or value < 0 else float(value)

    def report(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the JSON body of /readyz)."""
        report: dict[str, Any] = {"pid": os.getpid()}
        down = []
        if self.holder is not None and not self.holder.ready:
            report["answerer"] = {
                "ok": False,
                "state": self.holder.state,
                "error": self.holder.error,
            }
            down.append("answerer")
        else:
            report["answerer"] = {"ok": True, "state": "ready"}
        report["index"] = self._check_index()
        if not report["index"]["ok"]:
            down.append("index")
        report["database"] = self.deps.review.check_database()
        if not report["database"]["ok"]:
            down.append("database")
        pending = self.log_queue_pending()
        report["log_queue_pending"] = None if pending is None else int(pending)
        report["answer_queue_depth"] = self.deps.pool.pending
        report["status"] = "ready" if not down else "unavailable"
        report["down"] = down
        return not down, report

    def _check_index(self) -> dict[str, Any]:
        settings = self.settings
        server = f"{settings.chroma_host}:{settings.chroma_port}"
        where = redact_url(server) if settings.chroma_host else str(settings.chroma_dir)
        out: dict[str, Any] = {"ok": False, "where": where}
        try:
            dense = getattr(self.deps.answerer, "dense", None)
            store = dense.store if dense is not None else self._index_store()
            gen = store.active()
        except CodeDeskError as err:
            out["error"] = redact_text(str(err))
            return out
        except Exception as err:  # never let a check raise
            out["error"] = f"the code index cannot be read ({type(err).__name__})"
            return out
        if gen is None:
            out["error"] = "the code index has not been built yet: run `codedesk ingest`"
            return out
        built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(gen.created))
        out.update(
            ok=True,
            generation=gen.gen,
            documents=gen.vectors + gen.texts,
            vectors=gen.vectors,
            texts=gen.texts,
            model=gen.model,
            built=built,
        )
        if dense is not None and dense.generation.gen != gen.gen:
            out["serving_generation"] = dense.generation.gen  # follows on its next query
        return out

    def _index_store(self) -> Any:
        if self._store is None:
            from codedesk.ingest.store import IndexStore

            self._store = IndexStore(self.settings)
        return self._store
