"""Running the bot: Socket Mode when `SLACK_APP_TOKEN` is set, else HTTP on `CODEDESK_PORT`.

HTTP mode serves events, slash commands and interactivity all at `/slack/events` (Bolt's default
path; every request's Slack signature is verified by the app), plus the operating endpoints:

- `GET /healthz`: `ok` while the process runs (liveness; also what a load balancer should route on).
- `GET /readyz`: 200 with JSON (index generation and document count, database reachable, answerer
  built) when this worker can answer with the full index and log to the database, else 503 with
  the same JSON and `"down": [...]` naming what is not (deploy gating and alerting; answers still
  go on while the database is down, so do not take workers out of rotation on it).
- `GET /metrics`: Prometheus text (see `bot.metrics`).

The server is the standard library's threading HTTP server: each request gets a thread, so one
command waiting for its ack never holds up another request.

Several workers (`serve_workers`, `codedesk serve --workers N`): a supervisor process reserves the
port, fills the shared caches once (`prepare_caches`), then starts N worker processes (fresh
interpreters, `python -m bot.cli --reuse-port …`, no fork) that each listen on the port with
SO_REUSEPORT, so the kernel spreads connections evenly over them (where SO_REUSEPORT does not
balance, the supervisor listens once and the workers inherit that socket: `--listen-fd`). Each
worker builds its own Bolt app, answerer (ONNX model, Chroma client) and database engine after it
starts: nothing heavy is ever shared across a fork. The supervisor restarts a worker that dies,
stops them all on SIGTERM/SIGINT (each finishes the answers in progress), and stops for good on a
configuration error (exit 2). Slack retry de-duplication and the rate limit hold across workers
through the shared database (review.log).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.config import BotSettings
from bot.metrics import (
    ContextExecutor,
    InstrumentedAnswerer,
    Metrics,
    MetricsDir,
    MetricsPublisher,
    clean_request_id,
    new_request_id,
    render,
    request_id,
)
from codedesk.errors import CodeDeskError, ConfigError, IndexUnavailable
from codedesk.settings import Settings, redact_text, redact_url

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; refuse anything absurd
EXIT_CONFIG = 2  # a worker exiting with this code has a configuration error: restarting will not help


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of Slack retries / load tests must not be refused at accept
    allow_reuse_address = True

    def get_request(self) -> tuple[socket.socket, Any]:
        # With several workers on one listening socket, another worker may take the connection
        # first: the socket is non-blocking, so accept() then raises BlockingIOError (an OSError,
        # which socketserver ignores) instead of stalling this worker's loop.
        conn, addr = self.socket.accept()
        conn.settimeout(None)
        return conn, addr


def _label(value: object, limit: int = 48) -> str:
    text = "".join(ch if ch.isalnum() or ch in "_-/:." else "_" for ch in str(value or "unknown"))
    return text[:limit] or "unknown"


def request_kind(body: str, content_type: str) -> str:
    """What a POST to /slack/events is, for metrics and logs (never raises)."""
    try:
        if "json" in content_type:
            data = json.loads(body or "{}")
            if data.get("type") == "event_callback":
                return "event:" + _label((data.get("event") or {}).get("type"))
            return _label(data.get("type"))
        form = parse_qs(body)
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            return "interaction:" + _label(payload.get("type"))
        if "command" in form:
            return "command:" + _label(form["command"][0])
    except (ValueError, TypeError, AttributeError):
        pass
    return "other"


def _verifier_for(app: App) -> SignatureVerifier | None:
    deps = getattr(app, "codedesk", None)
    secret = getattr(getattr(deps, "bot", None), "slack_signing_secret", None)
    return SignatureVerifier(signing_secret=secret) if secret else None


def signed_by_slack(verifier: SignatureVerifier | None, body: str, headers: dict[str, list[str]]) -> bool:
    """Slack's signature (and a timestamp within 5 minutes) checked here, before Bolt: Bolt checks it
    too, but logs the whole raw body when it fails, and a body holds what a person typed. Slack's
    `ssl_check` pings go to Bolt, which answers them without reading anything."""
    if verifier is None:
        return True  # no secret configured: Bolt's own verification decides
    if body.startswith("ssl_check=") or "&ssl_check=" in body:
        return True
    timestamp = (headers.get("x-slack-request-timestamp") or ["0"])[0]
    signature = (headers.get("x-slack-signature") or [""])[0]
    try:
        return verifier.is_valid(body, timestamp, signature)
    except Exception:  # a malformed timestamp header
        return False


def _handler_for(app: App, ops: Ops) -> type[BaseHTTPRequestHandler]:
    verifier = _verifier_for(app)

    class SlackHandler(BaseHTTPRequestHandler):
        server_version = "CodeDesk"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            log.debug("http %s", format % args)

        def _send(self, status: int, body: bytes | str, headers: dict[str, Any] | None = None) -> None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            for name, values in (headers or {}).items():
                if name.lower() in ("content-length", "x-request-id"):
                    continue
                for value in values if isinstance(values, (list, tuple)) else [values]:
                    self.send_header(name, str(value))
            if not headers or not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Request-Id", request_id.get())
            self.end_headers()
            self.wfile.write(data)

        def _begin(self) -> tuple[contextvars.Token, float]:
            rid = clean_request_id(self.headers.get("X-Request-Id")) or new_request_id()
            return request_id.set(rid), time.perf_counter()

        def _end(self, token: contextvars.Token, started: float, kind: str, status: int,
                 retry: bool = False) -> None:
            seconds = time.perf_counter() - started
            ops.metrics.inc("codedesk_requests_total", kind=kind, status=str(int(status)),
                            retry="1" if retry else "0")
            ops.metrics.observe("codedesk_request_seconds", seconds)
            request_id.reset(token)

        def do_GET(self) -> None:  # noqa: N802
            token, started = self._begin()
            path = urlsplit(self.path).path
            kind, status = "other", HTTPStatus.NOT_FOUND
            try:
                if path == "/healthz":
                    kind, status = "healthz", HTTPStatus.OK
                    self._send(status, "ok")
                elif path == "/readyz":
                    kind = "readyz"
                    ok, report = ops.readiness()
                    status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
                    self._send(status, json.dumps(report, indent=1),
                               {"Content-Type": "application/json; charset=utf-8"})
                elif path == "/metrics":
                    kind, status = "metrics", HTTPStatus.OK
                    self._send(status, ops.metrics_text(), {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
                else:
                    self._send(status, "Not Found")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                log.debug("client_gone path=%s", _label(path))
                status = 499
            except Exception:  # an ops endpoint must never take the worker down
                log.exception("ops_endpoint_failed path=%s", _label(path))
                status = HTTPStatus.INTERNAL_SERVER_ERROR
                try:
                    self._send(status, "")
                except OSError:
                    pass
            finally:
                self._end(token, started, kind, status)

        def do_POST(self) -> None:  # noqa: N802
            token, started = self._begin()
            kind, status, retry = "other", HTTPStatus.NOT_FOUND, False
            try:
                url = urlsplit(self.path)
                if url.path != EVENTS_PATH:
                    self._send(status, "Not Found")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                    self._send(status, "Too Large")
                    return
                body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
                headers: dict[str, list[str]] = {}
                for name, value in self.headers.items():
                    headers.setdefault(name.lower(), []).append(value)
                kind = request_kind(body, self.headers.get("Content-Type") or "")
                retry = bool(self.headers.get("X-Slack-Retry-Num"))
                if not signed_by_slack(verifier, body, headers):
                    status = HTTPStatus.UNAUTHORIZED
                    self._send(status, '{"error": "invalid request"}',
                               {"Content-Type": "application/json; charset=utf-8"})
                    log.warning("request_rejected reason=bad_signature_or_stale_timestamp kind=%s", kind)
                    return
                try:
                    resp = app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
                except Exception:  # Bolt handles listener errors itself; this is the last net
                    log.exception("dispatch_failed kind=%s", kind)
                    status = HTTPStatus.INTERNAL_SERVER_ERROR
                    self._send(status, "")
                    return
                status = resp.status
                self._send(resp.status, resp.body or "", resp.headers)
                log.info("request kind=%s status=%s retry=%s ms=%.1f", kind, resp.status,
                         _label(headers.get("x-slack-retry-num", ["0"])[0], 8) if retry else "0",
                         (time.perf_counter() - started) * 1000)
            finally:
                self._end(token, started, kind, status, retry)

    return SlackHandler


# ------------------------------------------------------------------------------------ the answerer


class AnswererHolder:
    """This worker's answerer, built in a background thread once the index can be reached, so the
    HTTP server (and /healthz) is up at once and a Chroma server that is still starting, or down,
    does not stop the worker: until the answerer is ready, questions get "the code index is
    unavailable, retrying" (the bot retries) and /readyz says what it waits for."""

    def __init__(self, settings: Settings, *, build: Callable[[], Any] | None = None, retry_s: float = 2.0) -> None:
        self.settings = settings
        self._build = build or self._default_build
        self.retry_s = retry_s
        self._answerer: Any = None
        self.state = "starting"  # starting, waiting_for_index, ready, failed
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _default_build(self) -> Any:
        from retrieval.service import build_answerer

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
            return dense.generation.gen
        return getattr(answerer, "index_version", None)

    def answer(self, question: str, **kwargs: Any) -> Any:
        answerer = self._answerer
        if answerer is None:
            if self.state == "failed":
                raise ConfigError(self.error or "CodeDesk is misconfigured; ask your admin to check its log.")
            raise IndexUnavailable(f"the answerer is not ready yet ({self.state})")
        return answerer.answer(question, **kwargs)

    # --- building
    def start(self, on_fatal: Callable[[BaseException], None] | None = None) -> None:
        self._thread = threading.Thread(target=self._run, args=(on_fatal,), name="codedesk-answerer", daemon=True)
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
        from ingest.store import IndexStore

        return IndexStore(self.settings).active() is not None

    def _run(self, on_fatal: Callable[[BaseException], None] | None) -> None:
        started, last_note = time.monotonic(), 0.0
        while not self._stop.is_set():
            try:
                built_index = self._index_reachable()
                answerer = self._build()
                if built_index and getattr(answerer, "dense", None) is None:
                    raise IndexUnavailable("the index went away while the answerer was being built")
            except ConfigError as err:  # a model mismatch, a missing setting: restarting will not help
                self.state, self.error = "failed", redact_text(str(err))
                log.error("answerer_failed error=%s", json.dumps(redact_text(str(err))))
                if on_fatal is not None:
                    on_fatal(err)
                return
            except IndexUnavailable as err:
                self.state, self.error = "waiting_for_index", redact_text(str(err))
                if time.monotonic() - last_note > 15:
                    last_note = time.monotonic()
                    log.warning("answerer_waiting_for_index host=%s port=%s waited_s=%.0f error=%s",
                                redact_url(self.settings.chroma_host), self.settings.chroma_port,
                                time.monotonic() - started, json.dumps(str(err)))
                self._stop.wait(self.retry_s)
                continue
            except Exception as err:  # anything else: say so, try again a little later
                self.state, self.error = "starting", f"{type(err).__name__}"
                log.exception("answerer_build_failed")
                self._stop.wait(self.retry_s * 5)
                continue
            self._answerer = answerer
            self.state, self.error = "ready", None
            log.info("answerer_ready seconds=%.1f index=%s", time.monotonic() - started, self.index_version)
            return


# ------------------------------------------------------------------------------------ operations


class Ops:
    """What the operating endpoints read: readiness checks and the metrics of this worker (and,
    with a shared metrics directory, of every worker)."""

    def __init__(self, app: App, *, metrics: Metrics | None = None, metrics_dir: MetricsDir | None = None,
                 holder: AnswererHolder | None = None) -> None:
        deps = app.codedesk  # type: ignore[attr-defined]
        self.deps = deps
        self.settings: Settings = deps.settings
        self.metrics = metrics or Metrics()
        self.metrics_dir = metrics_dir
        self.holder = holder
        self.publisher = MetricsPublisher(self.metrics, metrics_dir) if metrics_dir is not None else None
        self._store: Any = None
        self.metrics.gauge("codedesk_answer_queue_depth", lambda: deps.pool.pending)
        self.metrics.gauge("codedesk_log_queue_pending", self._log_queue_pending)
        self.metrics.gauge("codedesk_answerer_ready", lambda: 1.0 if holder is None or holder.ready else 0.0)

    def _log_queue_pending(self) -> float | None:
        logger = self.deps.review.query_logger
        if logger is None or not hasattr(logger, "pending"):
            return None
        value = logger.pending()
        return None if value is None or value < 0 else float(value)

    # --- /readyz
    def readiness(self) -> tuple[bool, dict[str, Any]]:
        report: dict[str, Any] = {"pid": os.getpid()}
        down = []
        if self.holder is not None and not self.holder.ready:
            report["answerer"] = {"ok": False, "state": self.holder.state, "error": self.holder.error}
            down.append("answerer")
        else:
            report["answerer"] = {"ok": True, "state": "ready"}
        report["index"] = self._check_index()
        if not report["index"]["ok"]:
            down.append("index")
        report["database"] = self._check_database()
        if not report["database"]["ok"]:
            down.append("database")
        pending = self._log_queue_pending()
        report["log_queue_pending"] = None if pending is None else int(pending)
        report["answer_queue_depth"] = self.deps.pool.pending
        report["status"] = "ready" if not down else "unavailable"
        report["down"] = down
        return not down, report

    def _check_index(self) -> dict[str, Any]:
        where = (redact_url(f"{self.settings.chroma_host}:{self.settings.chroma_port}") if self.settings.chroma_host
                 else str(self.settings.chroma_dir))
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
        out.update(ok=True, generation=gen.gen, documents=gen.vectors + gen.texts, vectors=gen.vectors,
                   texts=gen.texts, model=gen.model, built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(gen.created)))
        if dense is not None and dense.generation.gen != gen.gen:
            out["serving_generation"] = dense.generation.gen  # follows on its next query
        return out

    def _index_store(self) -> Any:
        if self._store is None:
            from ingest.store import IndexStore

            self._store = IndexStore(self.settings)
        return self._store

    def _check_database(self) -> dict[str, Any]:
        import sqlalchemy as sa

        from review.db import describe_url, engine_for

        logger = self.deps.review.query_logger
        if logger is None:
            return {"ok": True, "configured": False}  # running without a query log
        engine = getattr(logger, "engine", None)
        try:
            engine = engine if engine is not None else engine_for(self.settings)
            url = describe_url(str(engine.url))
        except Exception as err:
            return {"ok": False, "error": f"no database engine ({type(err).__name__})"}
        out: dict[str, Any] = {"ok": False, "url": url, "backend": engine.dialect.name}
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as err:
            out["error"] = f"cannot reach the database ({type(err).__name__})"
            return out
        out["ok"] = True
        return out

    # --- /metrics
    def metrics_text(self) -> str:
        if self.publisher is None or self.metrics_dir is None:
            return render([self.metrics.snapshot()])
        self.publisher.publish()  # this worker's numbers as of now; the others' as of their last write
        snapshots = self.metrics_dir.collect()
        if not any(s.get("pid") == self.metrics.pid for s in snapshots):
            snapshots.append(self.metrics.snapshot())
        return render(snapshots)


def instrument_app(app: App) -> None:
    """Carry the request id from the HTTP thread into Bolt's listener threads and the answer pool
    (through their public hooks: the listener runner's executor and `AnswerPool.submit`)."""
    if getattr(app, "_codedesk_instrumented", False):
        return
    runner = app.listener_runner
    runner.listener_executor = ContextExecutor(runner.listener_executor)
    pool = app.codedesk.pool  # type: ignore[attr-defined]
    submit = pool.submit

    def submit_in_context(name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return submit(name, contextvars.copy_context().run, fn, *args, **kwargs)

    pool.submit = submit_in_context
    app._codedesk_instrumented = True  # type: ignore[attr-defined]


def make_server(app: App, *, host: str = "0.0.0.0", port: int = 3000, sock: socket.socket | None = None,
                ops: Ops | None = None) -> ThreadingHTTPServer:
    """The HTTP server for `app`, bound but not yet serving (port 0 picks a free port: read it back
    from `server.server_address`). With `sock`, serve on that already-listening socket instead
    (a worker of `serve_workers`)."""
    instrument_app(app)
    ops = ops or Ops(app)
    handler = _handler_for(app, ops)
    if sock is None:
        return _Server((host, port), handler)
    server = _Server(sock.getsockname()[:2], handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_address = sock.getsockname()
    sock.setblocking(False)
    return server


def build_runtime(settings: Settings, *, bot_settings: BotSettings | None = None, answerer: Any = None,
                  query_logger: Any = None, metrics: Metrics | None = None,
                  flush_interval_s: float = 5.0) -> App:
    """The app with its real dependencies: the answerer over the index and review's query log."""
    from bot.app import build_app

    bot = (bot_settings or BotSettings()).require()
    if answerer is None:
        from retrieval.service import build_answerer

        answerer = build_answerer(settings, require_index=True)
    if metrics is not None:
        answerer = InstrumentedAnswerer(answerer, metrics)
    if query_logger is None:
        from review.log import QueryLogger

        query_logger = QueryLogger(settings)
    if hasattr(query_logger, "start_flusher"):
        # an idle worker writes records queued while the database was down
        query_logger.start_flusher(interval_s=flush_interval_s)
    app = build_app(settings, answerer=answerer, logger=query_logger, bot_settings=bot)
    instrument_app(app)
    return app


def serve(settings: Settings, *, bot_settings: BotSettings | None = None, host: str = "0.0.0.0",
          port: int | None = None, answerer: Any = None, query_logger: Any = None,
          ready: threading.Event | None = None, stop: threading.Event | None = None,
          listen_fd: int | None = None, reuse_port: bool = False, metrics_dir: Path | None = None,
          metrics: Metrics | None = None) -> None:
    """Run until interrupted (Ctrl-C / SIGTERM, or `stop` set): Socket Mode with an app token, else
    HTTP. `ready` is set once requests are accepted (the answerer may still be loading: /readyz
    says when it is ready). A worker of `serve_workers` gets `reuse_port` (its own listening socket
    in the port's SO_REUSEPORT group: the kernel spreads connections evenly over the workers) or
    `listen_fd` (one listening socket inherited from the supervisor, where SO_REUSEPORT does not
    balance); `metrics_dir`: the directory the workers share their metrics through."""
    bot = (bot_settings or BotSettings()).require()
    stop = stop or threading.Event()
    metrics = metrics or Metrics()
    holder = None
    if answerer is None:
        holder = AnswererHolder(settings)
        answerer = holder
    app = build_runtime(settings, bot_settings=bot, answerer=answerer, query_logger=query_logger, metrics=metrics)
    deps = app.codedesk  # type: ignore[attr-defined]
    ops = Ops(app, metrics=metrics, metrics_dir=MetricsDir(metrics_dir) if metrics_dir else None, holder=holder)
    fatal: list[BaseException] = []

    def on_fatal(err: BaseException) -> None:
        fatal.append(err)
        stop.set()

    if holder is not None:
        holder.start(on_fatal)
    if ops.publisher is not None:
        ops.publisher.start()
    try:
        if bot.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, app_token=bot.slack_app_token)
            log.info("serving mode=socket")
            handler.connect()
            if ready is not None:
                ready.set()
            _wait_for_stop(stop)
            handler.close()
        else:
            sock = None
            if listen_fd is not None:
                sock = socket.socket(fileno=listen_fd)
            elif reuse_port:
                sock = socket.create_server((host, port if port is not None else settings.port), family=_family(host),
                                            backlog=1024, reuse_port=True)
            server = make_server(app, host=host, port=port if port is not None else settings.port, sock=sock,
                                 ops=ops)
            bound = server.server_address
            log.info("serving mode=http address=%s:%s path=%s socket=%s", bound[0], bound[1], EVENTS_PATH,
                     "inherited" if listen_fd is not None else "reuse_port" if reuse_port else "own")
            thread = threading.Thread(target=server.serve_forever, name="codedesk-http", daemon=True)
            thread.start()
            if ready is not None:
                ready.set()
            _wait_for_stop(stop)
            server.shutdown()
            server.server_close()
    finally:
        log.info("stopping: finishing answers in progress pending=%s", deps.pool.pending)
        if holder is not None:
            holder.stop()
        deps.pool.wait_idle(timeout=30)
        deps.pool.shutdown(wait=False)
        query_log = deps.review.query_logger
        if query_log is not None and hasattr(query_log, "close"):
            query_log.close()
        if ops.publisher is not None:
            ops.publisher.stop()
    if fatal:
        raise fatal[0]


def _wait_for_stop(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal=%s", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


# ------------------------------------------------------------------------------------ N workers


def prepare_caches(settings: Settings) -> None:
    """Fill the caches the workers share in CODEDESK_HOME (the ONNX export of the embedding model,
    parsed code books, search indexes, guideline searchers) in one process, before N workers start
    together and would all build and write the same files at once."""
    from codedesk.embeddings import get_embedder
    from retrieval.service import build_answerer

    started = time.monotonic()
    get_embedder(settings.cache_dir, settings.embedding_backend)
    build_answerer(settings, require_index=True)  # without a reachable index it still fills the rest
    log.info("caches_ready seconds=%.1f", time.monotonic() - started)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def balanced_reuse_port() -> bool:
    """SO_REUSEPORT spreads connections over the listening sockets on Linux (elsewhere, e.g. macOS,
    the last socket bound takes them all)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def worker_command(*, log_level: str, metrics_dir: Path, listen_fd: int | None = None,
                   reuse_port: tuple[str, int] | None = None) -> list[str]:
    command = [sys.executable, "-m", "bot.cli", "--workers", "1", "--log-level", log_level,
               "--metrics-dir", str(metrics_dir)]
    if listen_fd is not None:
        command += ["--listen-fd", str(listen_fd)]
    elif reuse_port is not None:
        command += ["--reuse-port", "--host", reuse_port[0], "--port", str(reuse_port[1])]
    return command


def serve_workers(settings: Settings, *, workers: int, bot_settings: BotSettings | None = None,
                  host: str = "0.0.0.0", port: int | None = None, log_level: str = "INFO",
                  metrics_dir: Path | None = None, stop: threading.Event | None = None,
                  ready: threading.Event | None = None, max_restarts: int = 5, restart_window_s: float = 60.0,
                  stop_timeout_s: float = 45.0, prepare_timeout_s: float = 900.0,
                  env: dict[str, str] | None = None) -> int:
    """The supervisor of `workers` worker processes behind one port. Returns the exit code:
    0 after a clean stop, 2 when a worker reported a configuration error, 1 when workers kept
    crashing (more than `max_restarts` in `restart_window_s`)."""
    bot = (bot_settings or BotSettings()).require()
    stop = stop or threading.Event()
    metrics_path = Path(metrics_dir or settings.home / "metrics").resolve()
    shared = MetricsDir(metrics_path)
    shared.clear()  # files of a previous run
    sock = None
    fd, reuse = None, None
    if not bot.socket_mode:
        address = (host, port if port is not None else settings.port)
        if balanced_reuse_port():
            # Reserve the port (and fail fast when it is taken) without listening: each worker
            # listens on its own socket in the port's SO_REUSEPORT group.
            sock = socket.socket(_family(host), socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            reuse = (host, sock.getsockname()[1])
        else:  # one listening socket, inherited by every worker
            sock = socket.create_server(address, family=_family(host), backlog=1024)
            sock.setblocking(False)
            sock.set_inheritable(True)
            fd = sock.fileno()
    child_env = dict(os.environ if env is None else env)
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False")):
        child_env.setdefault(name, value)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(Path(__file__).resolve().parents[1]), child_env.get("PYTHONPATH", "")] if p)
    command = worker_command(log_level=log_level, metrics_dir=metrics_path, listen_fd=fd, reuse_port=reuse)

    def spawn(slot: int) -> subprocess.Popen:
        proc = subprocess.Popen(command, env=child_env, pass_fds=(fd,) if fd is not None else ())
        log.info("worker_started slot=%s worker_pid=%s", slot, proc.pid)
        return proc

    if threading.current_thread() is threading.main_thread():
        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal=%s stopping_workers=%s", signal.Signals(signum).name, workers)
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    where = sock.getsockname() if sock is not None else ("socket-mode", "")
    log.info("supervisor_started workers=%s address=%s:%s metrics_dir=%s", workers, where[0], where[1], metrics_path)
    prepare = [sys.executable, "-m", "bot.cli", "--prepare", "--log-level", log_level]
    log.info("preparing_caches")
    try:
        rc = subprocess.run(prepare, env=child_env, timeout=prepare_timeout_s).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    if rc == EXIT_CONFIG:
        log.error("prepare_config_error: not starting workers (fix the settings and start again)")
        if sock is not None:
            sock.close()
        return EXIT_CONFIG
    if rc != 0:  # the workers build what is missing themselves
        log.warning("prepare_failed exit=%s: starting the workers anyway", rc)
    procs = {slot: spawn(slot) for slot in range(workers)}
    if ready is not None:
        ready.set()
    restarts: list[float] = []
    code = 0
    try:
        while not stop.wait(0.5):
            for slot, proc in list(procs.items()):
                rc = proc.poll()
                if rc is None:
                    continue
                shared.remove(proc.pid)
                if rc == EXIT_CONFIG:
                    log.error("worker_config_error slot=%s worker_pid=%s: stopping (fix the settings and start again)",
                              slot, proc.pid)
                    code = EXIT_CONFIG
                    stop.set()
                    break
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < restart_window_s] + [now]
                if len(restarts) > max_restarts:
                    log.error("workers_crash_looping restarts=%s window_s=%.0f: stopping", len(restarts),
                              restart_window_s)
                    code = 1
                    stop.set()
                    break
                log.error("worker_died slot=%s worker_pid=%s exit=%s: restarting", slot, proc.pid, rc)
                procs[slot] = spawn(slot)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + stop_timeout_s
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker_kill worker_pid=%s: did not stop in %.0fs", proc.pid, stop_timeout_s)
                proc.kill()
                proc.wait(timeout=10)
            shared.remove(proc.pid)
        if sock is not None:
            sock.close()
        log.info("supervisor_stopped code=%s", code)
    return code
