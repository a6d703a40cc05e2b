"""Operating the bot: Prometheus metrics, request ids and key=value logs.

Metrics are kept per process (`Metrics`) and rendered in the Prometheus text format (0.0.4) with a
`pid` label on every series. With several workers (`codedesk serve --workers N`) each worker
writes a snapshot of its metrics to a shared directory (`MetricsDir`, one JSON file per pid, written
every second and on every scrape), and whichever worker answers `GET /metrics` renders the
snapshots of every live worker: one scrape shows the whole server. Sum over `pid` in queries
(`sum by (kind) (rate(codedesk_requests_total[5m]))`). Gauges of state that the workers share (the
durable log queue is one SQLite file in CODEDESK_HOME) are rendered once, without `pid`.

Logs are `key=value` lines (logfmt): `ts=… level=INFO pid=… rid=… logger=… event=answered surface=…`.
`rid` is the request id of the HTTP request being handled (the `X-Request-Id` header when a proxy
sets one, else a fresh id, returned in the response's `X-Request-Id`); it follows the request into
the Bolt listener and the answer pool, so every line an answer produces carries it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

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
    id follows the request from the HTTP thread into Bolt's listener threads and the answer pool)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        ctx = contextvars.copy_context()
        return self.inner.submit(ctx.run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


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
    their fields: `event=<first word> k=v …`; any other message becomes `msg="…"`."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        rid = getattr(record, "rid", None) or request_id.get()
        head = (f"ts={ts} level={record.levelname} pid={record.process} rid={rid} "
                f"logger={logfmt_value(record.name)}")
        message = record.getMessage()
        match = _EVENT.fullmatch(message)
        if match and (match.group(2) is None or "=" in match.group(2)) and "\n" not in message:
            body = f"event={match.group(1)}" + (f" {match.group(2)}" if match.group(2) else "")
        else:
            body = f"msg={logfmt_value(message)}"
        line = f"{head} {body}"
        if record.exc_info:
            exc_type = record.exc_info[0].__name__ if record.exc_info[0] else "Exception"
            line += f" exc_type={exc_type} exc={logfmt_value(self.formatException(record.exc_info))}"
        return line


class _ErrorCounter(logging.Handler):
    """Counts WARNING and ERROR records by logger into `metrics` (the errors seen in the logs)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(level=logging.WARNING)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        self.metrics.inc("codedesk_log_messages_total", level=level, logger=record.name.split(".")[0])


def configure_logging(level: int | str = logging.INFO, *, stream: Any = None, metrics: Metrics | None = None) -> None:
    """Key=value logs on stderr for the server (replaces the root handlers), quiet third-party
    loggers, and count warnings/errors into `metrics`."""
    if isinstance(level, str):
        level = getattr(logging, level.upper(), logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root.addHandler(handler)
    if metrics is not None:
        root.addHandler(_ErrorCounter(metrics))
    root.setLevel(level)
    for noisy in ("chromadb", "httpx", "httpcore", "onnxruntime", "urllib3", "slack_sdk", "alembic",
                  "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


# ------------------------------------------------------------------------------------ metrics

# Seconds. Answers take ~0.05-2 s; the top buckets catch retries while the index is down.
ANSWER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)

HELP = {
    "codedesk_requests_total": ("counter", "HTTP requests by kind (event:<type>, command:<name>, "
                                "interaction:<type>, url_verification, healthz, readyz, metrics, other), "
                                "HTTP status and whether Slack marked it a retry"),
    "codedesk_request_seconds": ("histogram", "Time to respond to an HTTP request (the Slack ack for /slack/events)"),
    "codedesk_answers_total": ("counter", "Answers computed, by outcome (ok, index_unavailable, user_error, error)"),
    "codedesk_answer_seconds": ("histogram", "Time to compute one answer (retrieval and composition)"),
    "codedesk_log_messages_total": ("counter", "Warnings and errors logged, by level and top-level package"),
    "codedesk_answer_queue_depth": ("gauge", "Answer jobs queued or running in this worker's pool"),
    "codedesk_answerer_ready": ("gauge", "1 when this worker's answerer is built and serving"),
    "codedesk_worker_start_time_seconds": ("gauge", "Unix time this worker started"),
    "codedesk_log_queue_pending": ("gauge", "Query-log records waiting in the durable local queue "
                                   "(the database was unreachable); shared by all workers"),
}
SHARED = {"codedesk_log_queue_pending"}  # one value for the whole server: rendered once, without pid

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Counters, histograms and gauges of one process. Thread-safe; cheap enough for every request."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, Labels], float] = {}
        self._hists: dict[tuple[str, Labels], list[float]] = {}  # bucket counts..., sum, count
        self._buckets: dict[str, tuple[float, ...]] = {"codedesk_answer_seconds": ANSWER_BUCKETS,
                                                       "codedesk_request_seconds": REQUEST_BUCKETS}
        self._gauges: dict[str, Callable[[], float | None]] = {}
        self.started = time.time()
        self.gauge("codedesk_worker_start_time_seconds", lambda: self.started)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + value

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        buckets = self._buckets[name]
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            row = self._hists.get(key)
            if row is None:
                row = self._hists[key] = [0.0] * (len(buckets) + 2)
            for i, bound in enumerate(buckets):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def gauge(self, name: str, read: Callable[[], float | None]) -> None:
        """A gauge read at snapshot time (`read` returning None leaves it out)."""
        self._gauges[name] = read

    def counter(self, name: str, **labels: str) -> float:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            return self._counters.get(key, 0.0)

    def snapshot(self) -> dict[str, Any]:
        gauges = {}
        for name, read in list(self._gauges.items()):
            try:
                value = read()
            except Exception:  # a gauge must never break /metrics
                value = None
            if value is not None:
                gauges[name] = float(value)
        with self._lock:
            return {
                "pid": self.pid,
                "at": time.time(),
                "counters": [[n, list(map(list, lb)), v] for (n, lb), v in self._counters.items()],
                "histograms": [[n, list(map(list, lb)), list(row)] for (n, lb), row in self._hists.items()],
                "buckets": {n: list(b) for n, b in self._buckets.items()},
                "gauges": gauges,
            }


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _num(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def render(snapshots: list[dict[str, Any]]) -> str:
    """Prometheus text exposition of the snapshots of one or more workers."""
    series: dict[str, list[str]] = {}
    snapshots = sorted(snapshots, key=lambda s: s["pid"])
    for snap in snapshots:
        pid = ("pid", str(snap["pid"]))
        for name, labels, value in snap["counters"]:
            series.setdefault(name, []).append(f"{name}{_labels([pid, *map(tuple, labels)])} {_num(value)}")
        for name, labels, row in snap["histograms"]:
            bounds = snap["buckets"][name]
            base = [pid, *map(tuple, labels)]
            lines = series.setdefault(name, [])
            for bound, count in zip(bounds, row, strict=False):
                lines.append(f"{name}_bucket{_labels([*base, ('le', _num(bound))])} {_num(count)}")
            lines.append(f"{name}_bucket{_labels([*base, ('le', '+Inf')])} {_num(row[-1])}")
            lines.append(f"{name}_sum{_labels(base)} {_num(row[-2])}")
            lines.append(f"{name}_count{_labels(base)} {_num(row[-1])}")
        for name, value in snap["gauges"].items():
            if name not in SHARED:
                series.setdefault(name, []).append(f"{name}{_labels([pid])} {_num(value)}")
    newest = max(snapshots, key=lambda s: s["at"], default=None)
    for name in sorted(SHARED):
        values = [s["gauges"][name] for s in snapshots if name in s["gauges"]]
        if values and newest is not None:
            value = newest["gauges"].get(name, max(values))
            series.setdefault(name, []).append(f"{name} {_num(value)}")
    out = []
    for name in sorted(series):
        kind, text = HELP.get(name, ("untyped", name))
        out.append(f"# HELP {name} {text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(series[name])
    out.append(f"# HELP codedesk_workers Worker processes whose metrics this scrape includes")
    out.append("# TYPE codedesk_workers gauge")
    out.append(f"codedesk_workers {len(snapshots)}")
    return "\n".join(out) + "\n"


class MetricsDir:
    """The shared directory: `worker-<pid>.json` per worker, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def write(self, snapshot: dict[str, Any]) -> None:
        target = self.path / f"worker-{snapshot['pid']}.json"
        tmp = target.with_suffix(f".tmp{threading.get_ident()}")
        tmp.write_text(json.dumps(snapshot), encoding="utf-8")
        os.replace(tmp, target)

    def remove(self, pid: int) -> None:
        try:
            (self.path / f"worker-{pid}.json").unlink()
        except FileNotFoundError:
            pass

    def clear(self) -> None:
        for file in self.path.glob("worker-*.json"):
            file.unlink(missing_ok=True)

    def collect(self) -> list[dict[str, Any]]:
        """The snapshots of live workers (a dead worker's file is removed)."""
        out = []
        for file in self.path.glob("worker-*.json"):
            try:
                pid = int(file.stem.split("-", 1)[1])
            except ValueError:
                continue
            if not _alive(pid):
                file.unlink(missing_ok=True)
                continue
            try:
                out.append(json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # being replaced this instant: the next scrape has it
                continue
        return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MetricsPublisher:
    """Writes this worker's snapshot to the shared directory every `interval_s` (daemon thread)."""

    def __init__(self, metrics: Metrics, directory: MetricsDir, interval_s: float = 1.0) -> None:
        self.metrics, self.directory, self.interval_s = metrics, directory, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self) -> None:
        try:
            self.directory.write(self.metrics.snapshot())
        except OSError as err:
            log.warning("metrics_write_failed dir=%s error=%s", self.directory.path, type(err).__name__)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval_s):
                self.publish()

        self.publish()
        self._thread = threading.Thread(target=run, name="codedesk-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.directory.remove(self.metrics.pid)


# ------------------------------------------------------------------------------------ answers


class InstrumentedAnswerer:
    """The answerer with its latency and outcomes counted; everything else passes through."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

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
            self.metrics.inc("codedesk_answers_total", outcome=outcome)
            if outcome == "ok":
                self.metrics.observe("codedesk_answer_seconds", time.perf_counter() - started)

    @property
    def index_version(self) -> Any:
        return getattr(self.inner, "index_version", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
