"""Operating the bot: request ids, key=value logs and the Prometheus metrics.

Logs are `key=value` lines (logfmt):
`ts=… level=INFO pid=… rid=… logger=bot.answering event=answered …`. `rid` is the request id of the
HTTP request being handled (the `X-Request-Id` header when a proxy sets one, else a fresh id,
returned in the response's `X-Request-Id`); it follows the request into Bolt's listener threads and
the answer pool, so every line an answer produces carries it.

Metrics are prometheus_client's. With several workers (`codedesk serve --workers N`) it runs in its
multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` is set before this module is first imported
(`codedesk.bot.cli` does it), each worker writes its values to files there, and whichever worker
answers `GET /metrics` reads all of them (`MultiProcessCollector`): counters and histograms are
summed over the workers, per-worker gauges carry a `pid` label and leave with their worker
(`mark_process_dead`). Every label value comes from a fixed set: what a request carries never
makes a new series.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------ request ids

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("codedesk_request_id", default="-")


def new_request_id() -> str:
    return secrets.token_hex(6)


def clean_request_id(value: str | None) -> str | None:
    """A request id from a proxy header, if it is a sane token (never log arbitrary input)."""
    if value and re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", value):
        return value
    return None


class ContextExecutor(Executor):
    """Wraps an executor so each job runs in a copy of the submitter's contextvars (the request
    id follows the request from the HTTP handler into Bolt's listener threads)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        ctx = contextvars.copy_context()
        return self.inner.submit(ctx.run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def carry_request_ids(app: Any) -> None:
    """Carry the request id from the HTTP request into Bolt's listener threads and the answer
    pool (through their public hooks: the listener runner's executor and `AnswerPool.submit`).
    Idempotent."""
    if getattr(app, "_codedesk_instrumented", False):
        return
    runner = app.listener_runner
    runner.listener_executor = ContextExecutor(runner.listener_executor)
    pool = app.codedesk.pool
    submit = pool.submit

    def submit_in_context(name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return submit(name, contextvars.copy_context().run, fn, *args, **kwargs)

    pool.submit = submit_in_context
    app._codedesk_instrumented = True


# ------------------------------------------------------------------------------------ logging

_BARE = re.compile(r"[A-Za-z0-9_./:@+-]+")
_EVENT = re.compile(r"([a-z][a-z0-9_]*)(?: (.*))?", re.S)


def logfmt_value(value: object) -> str:
    text = str(value)
    if text and _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    """One `key=value` line per record. Messages written the CodeDesk way (`event k=v k=v`) keep
    their fields: `event=<first word> k=v …`; any other message becomes `msg="…"`. Our own
    loggers are named without the `codedesk.` prefix (`logger=bot.answering`)."""

    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        rid = getattr(record, "rid", None) or request_id.get()
        name = logfmt_value(record.name.removeprefix("codedesk."))
        head = (
            f"ts={when}.{int(record.msecs):03d}Z level={record.levelname} pid={record.process} "
            f"rid={rid} logger={name}"
        )
        message = record.getMessage()
        match = _EVENT.fullmatch(message)
        if match and (match.group(2) is None or "=" in match.group(2)) and "\n" not in message:
            body = f"event={match.group(1)}" + (f" {match.group(2)}" if match.group(2) else "")
        else:
            body = f"msg={logfmt_value(message)}"
        line = f"{head} {body}"
        if record.exc_info:
            exc_type = record.exc_info[0].__name__ if record.exc_info[0] else "Exception"
            trace = logfmt_value(self.formatException(record.exc_info))
            line += f" exc_type={exc_type} exc={trace}"
        return line


# The `logger` label of codedesk_log_messages_total: our packages and the libraries we run on.
LOG_SOURCES = frozenset(
    {
        "bot",
        "review",
        "retrieval",
        "ingest",
        "cms",
        "cli",
        "phi",
        "embeddings",
        "settings",
        "slack_bolt",
        "slack_sdk",
        "uvicorn",
        "chromadb",
        "sqlalchemy",
        "alembic",
        "httpx",
        "urllib3",
        "onnxruntime",
        "langchain",
        "openai",
    }
)


def log_source(logger_name: str) -> str:
    parts = logger_name.split(".")
    name = parts[1] if parts[0] == "codedesk" and len(parts) > 1 else parts[0]
    return name if name in LOG_SOURCES else "other"


class _ErrorCounter(logging.Handler):
    """Counts WARNING and ERROR records by where they come from (the errors seen in the logs)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        LOG_MESSAGES.labels(level=level, logger=log_source(record.name)).inc()


def configure_logging(level: int | str = logging.INFO, *, stream: Any = None) -> None:
    """Key=value logs on stderr for the server (replaces the root handlers; uvicorn's loggers
    propagate to it), quiet third-party loggers, and count warnings and errors."""
    if isinstance(level, str):
        level = getattr(logging, level.upper(), logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root.addHandler(handler)
    root.addHandler(_ErrorCounter())
    root.setLevel(level)
    for noisy in (
        "chromadb",
        "httpx",
        "httpcore",
        "onnxruntime",
        "urllib3",
        "slack_sdk",
        "alembic",
        "sentence_transformers",
    ):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own handlers would print lines twice
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # RequestContext logs each Slack request itself
    logging.getLogger("uvicorn.access").propagate = False


# ------------------------------------------------------------------------------------ metrics

# Seconds. Answers take ~0.05-2 s; the top buckets catch retries while the index is down.
ANSWER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what every Prometheus server reads

REQUESTS = Counter(
    "codedesk_requests_total",
    "HTTP requests by kind (event:<type>, command:<name>, interaction:<type>, url_verification, "
    "ssl_check, healthz, readyz, metrics, other), HTTP status and whether Slack marked it a retry",
    ["kind", "status", "retry"],
)
REQUEST_SECONDS = Histogram(
    "codedesk_request_seconds",
    "Time to respond to an HTTP request (the Slack ack for /slack/events)",
    buckets=REQUEST_BUCKETS,
)
ANSWERS = Counter(
    "codedesk_answers_total",
    "Answers computed, by outcome (ok, index_unavailable, user_error, error)",
    ["outcome"],
)
ANSWER_SECONDS = Histogram(
    "codedesk_answer_seconds",
    "Time to compute one answer (retrieval and composition)",
    buckets=ANSWER_BUCKETS,
)
LOG_MESSAGES = Counter(
    "codedesk_log_messages_total",
    "Warnings and errors logged, by level and source package",
    ["level", "logger"],
)


@dataclass(frozen=True)
class WorkerGauges:
    queue_depth: Gauge
    answerer_ready: Gauge
    start_time: Gauge
    log_queue_pending: Gauge


@functools.cache
def worker_gauges() -> WorkerGauges:
    """The gauges of a worker, created in workers only: in multiprocess mode a gauge is a file per
    process from its creation on, and the supervisor must not show up as a worker."""
    return WorkerGauges(
        queue_depth=Gauge(
            "codedesk_answer_queue_depth",
            "Answer jobs queued or running in this worker's pool",
            multiprocess_mode="liveall",
        ),
        answerer_ready=Gauge(
            "codedesk_answerer_ready",
            "1 when this worker's answerer is built and serving",
            multiprocess_mode="liveall",
        ),
        start_time=Gauge(
            "codedesk_worker_start_time_seconds",
            "Unix time this worker started",
            multiprocess_mode="liveall",
        ),
        log_queue_pending=Gauge(
            "codedesk_log_queue_pending",
            "Query-log records waiting in the durable local queue (the "
            "database was unreachable); shared by all workers",
            multiprocess_mode="livemostrecent",
        ),
    )


# Label values: anything else is counted as `other`.
EVENT_TYPES = frozenset(
    {
        "app_mention",
        "message",
        "app_home_opened",
        "assistant_thread_started",
        "assistant_thread_context_changed",
        "reaction_added",
        "reaction_removed",
        "app_uninstalled",
        "tokens_revoked",
    }
)
COMMANDS = frozenset({"/code", "/code-check", "/code-changes"})
INTERACTIONS = frozenset(
    {
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "block_suggestion",
    }
)
STATUSES = frozenset({200, 204, 400, 401, 404, 405, 408, 413, 415, 422, 500, 503})


def request_kind(body: str | bytes, content_type: str) -> str:
    """What a (signed) POST to /slack/events is, from a fixed set; never raises."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if "json" in content_type:
            data = json.loads(text or "{}")
            if data.get("type") == "event_callback":
                event_type = (data.get("event") or {}).get("type")
                return f"event:{event_type}" if event_type in EVENT_TYPES else "other"
            return "url_verification" if data.get("type") == "url_verification" else "other"
        form = parse_qs(text)
        if "payload" in form:
            kind = json.loads(form["payload"][0]).get("type")
            return f"interaction:{kind}" if kind in INTERACTIONS else "other"
        if "command" in form:
            command = form["command"][0]
            return f"command:{command}" if command in COMMANDS else "other"
    except (ValueError, TypeError, AttributeError):
        pass
    return "other"


def status_label(status: int) -> str:
    return str(status) if status in STATUSES else "other"


def count_request(kind: str, status: int, retry: bool, seconds: float) -> None:
    REQUESTS.labels(kind=kind, status=status_label(status), retry="1" if retry else "0").inc()
    REQUEST_SECONDS.observe(seconds)


class InstrumentedAnswerer:
    """The answerer with its latency and outcomes counted; everything else passes through."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def answer(self, question: str, **kwargs: Any) -> Any:
        from codedesk.errors import CodeDeskError, IndexUnavailable

        started = time.perf_counter()
        outcome = "error"
        try:
            result = self.inner.answer(question, **kwargs)
            outcome = "ok"
            return result
        except IndexUnavailable:
            outcome = "index_unavailable"
            raise
        except CodeDeskError:
            outcome = "user_error"
            raise
        finally:
            ANSWERS.labels(outcome=outcome).inc()
            if outcome == "ok":
                ANSWER_SECONDS.observe(time.perf_counter() - started)

    @property
    def index_version(self) -> Any:
        return getattr(self.inner, "index_version", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class GaugeSampler:
    """Sets this worker's gauges from their sources. prometheus_client's multiprocess mode has
    no callback gauges, so each worker sets them every second (and on every scrape it answers)."""

    def __init__(
        self,
        *,
        queue_depth: Callable[[], int],
        answerer_ready: Callable[[], bool],
        log_queue_pending: Callable[[], float | None],
    ) -> None:
        self.queue_depth = queue_depth
        self.answerer_ready = answerer_ready
        self.log_queue_pending = log_queue_pending

    def sample(self) -> None:
        gauges = worker_gauges()
        try:
            gauges.queue_depth.set(self.queue_depth())
            gauges.answerer_ready.set(1.0 if self.answerer_ready() else 0.0)
            pending = self.log_queue_pending()
            if pending is not None:
                gauges.log_queue_pending.set(pending)
        except Exception:  # a gauge must never break a worker
            log.debug("gauge_sample_failed", exc_info=True)


def multiprocess_dir() -> str | None:
    """The shared metrics directory when this process writes its metrics there, else None."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and values.ValueClass is not values.MutexValue else None


class _WorkerCount:
    """`codedesk_workers`: the workers a scrape includes (one live-gauge file per live worker)."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        if self.path is None:
            count = 1
        else:
            count = len(
                {
                    name.rsplit("_", 1)[1]
                    for name in os.listdir(self.path)
                    if name.startswith("gauge_liveall_")
                }
            )
        yield GaugeMetricFamily(
            "codedesk_workers", "Worker processes whose metrics this scrape includes", value=count
        )


def metrics_text() -> tuple[bytes, str]:
    """The Prometheus text of every live worker (or of this process alone), and its type."""
    path = multiprocess_dir()
    workers = CollectorRegistry()
    workers.register(_WorkerCount(path))
    if path is None:  # one process (a bot served in-process, tests)
        return generate_latest(REGISTRY) + generate_latest(workers), CONTENT_TYPE
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return generate_latest(registry) + generate_latest(workers), CONTENT_TYPE


def worker_started() -> None:
    worker_gauges().start_time.set(time.time())


def worker_gone(pid: int) -> None:
    """A worker exited: drop its per-worker gauges (its counts stay in the totals)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        mark_process_dead(pid, path)
