"""Department benchmark: a Chroma server, PostgreSQL and `codedesk serve --workers N`, under load and faults.

    .venv/bin/python bench/department_load.py                       # every scenario below (bounded)
    .venv/bin/python bench/department_load.py --scenario load       # 500 events, 50 at a time, 4 workers
    .venv/bin/python bench/department_load.py --scenario chroma-outage --events 200
    .venv/bin/python bench/department_load.py --scenario pg-outage --events 200
    .venv/bin/python bench/department_load.py --scenario index-size --index-from .codedesk/chroma

The stack is started with `deploy/run-stack.sh up` (the compose file's mirror): a Chroma server on a
loopback port (data: a copy of `--index-from`, or a fresh ingest), PostgreSQL (a throw-away schema
of the local server, reached through a TCP proxy this process can cut), ingest, and the bot workers
pointed at the fake Slack Web API of tests/fake_slack.py. Events are Slack-signed `app_mention`s, one
user each (the rate limit does not interfere), with real coding questions; with `--retries F` a
fraction F is re-sent as Slack retries (`X-Slack-Retry-Num: 1`), which must not be answered twice.

Scenarios (each prints a Markdown table for the README):
- load: every event answered exactly once, none lost, one log row each; ack and answer latency.
- chroma-outage: the Chroma server is stopped after a third of the events and started again
  `--outage` seconds later: users see "the code index is unavailable — retrying…", which is replaced
  by the answer once it is back; no worker dies; none lost.
- pg-outage: the proxy to PostgreSQL is cut after a third of the events and restored `--outage`
  seconds later: answers go on, log records queue in CODEDESK_HOME and are written once it is back.
- index-size: the vector collection duplicated with new ids to 1x, 5x and 10x the default corpus in a
  scratch Chroma dir, served by `chroma run`: query latency, answer latency, server memory.

Everything is bounded (timeouts on every wait) and stays on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fake_slack import BOT_USER_ID, FakeSlack, SlackSigner  # noqa: E402

RUN_STACK = REPO / "deploy" / "run-stack.sh"
SECRET = "department-bench-secret"
QUESTIONS = [
    "code for type 2 diabetes with CKD stage 3?",
    "accidental poisoning by penicillin, initial encounter",
    "what is the code for essential hypertension",
    "closed fracture of the right distal radius, initial encounter",
    "can I code a symptom together with a confirmed diagnosis?",
    "what does Excludes1 mean for E11.22?",
    "COPD with acute exacerbation",
    "major depressive disorder, single episode, moderate",
    "what is S52.501?",
    "pressure ulcer of sacral region stage 3",
    "chronic kidney disease stage 3b",
    "type 1 diabetes with diabetic nephropathy",
]
RETRYING_MARK = "retrying"


def free_port() -> int:
    from review.testing import free_port as _free

    return _free()


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _http(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, str(err)


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text → {name: [(labels, value)]} (enough for our own /metrics)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out.setdefault(match.group(1), []).append((labels, float(match.group(3))))
    return out


# ------------------------------------------------------------------------------------------ the stack


class Stack:
    """`deploy/run-stack.sh up` on loopback ports with a fake Slack and PostgreSQL behind a TcpProxy.

    `pg_url` is the direct URL of a (throw-away) schema; the workers reach it through the proxy.
    `chroma_seed`: a Chroma directory copied in as the server's data (skips a long ingest; ingest
    then finds nothing changed). `cache_dir`: shared parse/model caches (symlinked as home/cache)."""

    def __init__(self, root: Path, *, pg_url: str, workers: int = 4, tabular_xml: Path | None = None,
                 chroma_seed: Path | None = None, cache_dir: Path | None = None, answer_workers: int = 4,
                 retry_delays: str = "1,2,4,8", rate_limit: int = 10, log_level: str = "INFO",
                 extra_env: dict[str, str] | None = None) -> None:
        from review.testing import TcpProxy, with_port

        from sqlalchemy.engine import make_url

        self.root = Path(root)
        self.home = self.root / "home"
        self.chroma_path = self.root / "chroma"
        self.home.mkdir(parents=True, exist_ok=True)
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            (self.home / "cache").symlink_to(Path(cache_dir).resolve(), target_is_directory=True)
        if chroma_seed is not None and Path(chroma_seed).is_dir():
            shutil.copytree(chroma_seed, self.chroma_path)
        self.workers = workers
        self.chroma_port, self.bot_port, self.proxy_port = free_port(), free_port(), free_port()
        self.pg_url = pg_url
        parsed = make_url(pg_url)
        self.proxy = TcpProxy(self.proxy_port, (parsed.host or "127.0.0.1", parsed.port or 5432))
        self.proxy.start()
        self.db_url = with_port(pg_url, self.proxy_port)
        self.fake = FakeSlack().start()
        self.log_path = self.root / "stack.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.env = dict(os.environ)
        for name in [k for k in self.env if k.startswith(("CODEDESK_", "SLACK_"))]:
            del self.env[name]  # only what this stack sets
        self.env.update({
            "CODEDESK_HOME": str(self.home), "CHROMA_PATH": str(self.chroma_path),
            "CODEDESK_CHROMA_HOST": "127.0.0.1", "CODEDESK_CHROMA_PORT": str(self.chroma_port),
            "CODEDESK_DATABASE_URL": self.db_url, "CODEDESK_WORKERS": str(workers),
            "CODEDESK_PORT": str(self.bot_port), "CODEDESK_BIND": "127.0.0.1",
            "CODEDESK_SLACK_API_URL": self.fake.api_url, "SLACK_BOT_TOKEN": "xoxb-department",
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "",
            "CODEDESK_ANSWER_WORKERS": str(answer_workers), "CODEDESK_INDEX_RETRY_DELAYS": retry_delays,
            "CODEDESK_RATE_LIMIT_PER_MINUTE": str(rate_limit), "CODEDESK_ALLOWED_CHANNELS": "",
            "CODEDESK_CMS_DATA_DIR": "", "CODEDESK_LOG_LEVEL": log_level,
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
            "STACK_WAIT_S": "60", "PYTHONPATH": str(REPO),
        })
        if tabular_xml is not None:
            self.env["CODEDESK_TABULAR_XML"] = str(tabular_xml)
        self.env.update(extra_env or {})
        self.signer = SlackSigner(SECRET, f"http://127.0.0.1:{self.bot_port}/slack/events")

    # --- lifecycle
    def up(self, timeout: float = 600.0) -> float:
        """Start `run-stack.sh up` and wait until every worker's answerer is ready; seconds taken."""
        started = time.monotonic()
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(["bash", str(RUN_STACK), "up"], cwd=REPO, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)
        return time.monotonic() - started

    def script(self, *args: str, timeout: float = 120.0) -> int:
        """Run one piece of run-stack.sh (chroma, ingest, stop) to completion."""
        with self.log_path.open("ab") as out:
            return subprocess.run(["bash", str(RUN_STACK), *args], cwd=REPO, env=self.env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout).returncode

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.bot_port}{path}"

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, str]:
        return _http(self.url(path), timeout)

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        status, text = self.get("/metrics")
        return parse_metrics(text) if status == 200 else {}

    def ready_workers(self) -> set[str]:
        return {labels["pid"] for labels, value in self.metrics().get("codedesk_answerer_ready", []) if value == 1}

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"run-stack.sh exited with {self.proc.returncode}; see {self.log_path}\n"
                                   + self.tail())
            if len(self.ready_workers()) >= self.workers and self.get("/readyz")[0] == 200:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the stack was not ready after {timeout:.0f}s; see {self.log_path}\n" + self.tail())

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def down(self, timeout: float = 90.0) -> int | None:
        """SIGTERM to run-stack.sh: the workers finish their answers, then Chroma stops."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def close(self) -> None:
        try:
            self.down()
        finally:
            try:
                self.script("stop", timeout=60)
            except Exception:
                pass
            self.fake.stop()
            self.proxy.stop()
            if self._log is not None:
                self._log.close()

    # --- faults
    def chroma_pid(self) -> int | None:
        try:
            return int((self.home / "run" / "chroma.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_chroma(self) -> None:
        pid = self.chroma_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def start_chroma(self) -> None:
        if self.script("chroma", timeout=90) != 0:
            raise RuntimeError("run-stack.sh chroma failed:\n" + self.tail())

    def pg_down(self) -> None:
        self.proxy.stop()

    def pg_up(self) -> None:
        self.proxy.start()

    def log_rows(self, surface: str | None = "slack_channel") -> int:
        import sqlalchemy as sa

        engine = sa.create_engine(self.pg_url)
        try:
            with engine.connect() as conn:
                sql = "SELECT count(*) FROM query_log" + (" WHERE surface = :s" if surface else "")
                return int(conn.execute(sa.text(sql), {"s": surface}).scalar_one())
        finally:
            engine.dispose()

    def memory_mb(self) -> dict[str, Any]:
        """RSS of the supervisor, each worker and the Chroma server (MB)."""
        import psutil

        out: dict[str, Any] = {"workers": []}
        pids = {labels["pid"] for labels, _ in self.metrics().get("codedesk_worker_start_time_seconds", [])}
        for pid in pids:
            try:
                out["workers"].append(psutil.Process(int(pid)).memory_info().rss / 2**20)
            except psutil.Error:
                pass
        try:
            workers = [psutil.Process(int(p)) for p in pids]
            parent = workers[0].parent() if workers else None
            if parent is not None:
                out["supervisor"] = parent.memory_info().rss / 2**20
        except psutil.Error:
            pass
        chroma = self.chroma_pid()
        if chroma:
            try:
                out["chroma"] = psutil.Process(chroma).memory_info().rss / 2**20
            except psutil.Error:
                pass
        return out


# ------------------------------------------------------------------------------------------ traffic


@dataclass
class Ev:
    index: int
    event_id: str
    event: dict[str, Any]
    sent_at: float = 0.0

    @property
    def ts(self) -> str:
        return self.event["ts"]


@dataclass
class Outcome:
    events: int
    answered_once: int = 0
    lost: int = 0
    duplicates: int = 0
    gave_up: int = 0
    notices: int = 0  # "index unavailable, retrying" messages shown
    answer_s: list[float] = field(default_factory=list)
    per_event: dict[int, dict[str, Any]] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {"events": self.events, "answered_once": self.answered_once, "lost": self.lost,
                "duplicates": self.duplicates, "gave_up": self.gave_up, "retry_notices": self.notices,
                "p50_answer_s": round(percentile(self.answer_s, 50), 2),
                "p95_answer_s": round(percentile(self.answer_s, 95), 2),
                "max_answer_s": round(max(self.answer_s or [float("nan")]), 2)}


class Traffic:
    """Signed `app_mention` events to a stack, and what the fake Slack received for each."""

    def __init__(self, stack: Stack, channel: str = "C0DEPT") -> None:
        self.stack, self.fake, self.channel = stack, stack.fake, channel
        self._n = 0
        self.acks: list[float] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def new_events(self, count: int, tag: str = "EV") -> list[Ev]:
        out = []
        for _ in range(count):
            i = self._n
            self._n += 1
            user = f"U0{tag}{i:05d}"
            text = f"<@{BOT_USER_ID}> {QUESTIONS[i % len(QUESTIONS)]}"
            message = self.fake.add_message(self.channel, text=text, user=user)
            out.append(Ev(i, f"Ev0{tag}{i:06d}", {"type": "app_mention", "channel": self.channel, "user": user,
                                                   "text": text, "ts": message["ts"], "event_ts": message["ts"]}))
        return out

    def send(self, events: list[Ev], *, concurrency: int, retry_fraction: float = 0.0, seed: int = 7,
             rate: float | None = None) -> None:
        """Send `events` `concurrency` at a time (and at most `rate` per second, when given); a fraction
        is re-sent as Slack retries shortly after."""
        rng = random.Random(seed)
        retried = set(rng.sample(range(len(events)), int(len(events) * retry_fraction))) if events else set()
        sends = [(k, False) for k in range(len(events))] + [(k, True) for k in retried]
        sends.sort(key=lambda s: (s[0] + (3 if s[1] else 0), s[1]))  # each retry a few events after its original

        started = time.monotonic()
        slot = {item: n for n, item in enumerate(sends)}

        def one(item: tuple[int, bool]) -> None:
            k, is_retry = item
            if rate:
                time.sleep(max(0.0, started + slot[item] / rate - time.monotonic()))
            ev = events[k]
            headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"} if is_retry else None
            if not is_retry:
                ev.sent_at = time.monotonic()
            try:
                status, _, elapsed = self.stack.signer.event(ev.event, event_id=ev.event_id, extra_headers=headers,
                                                             timeout=30)
            except OSError:
                status, elapsed = 0, 30.0
            with self._lock:
                self.acks.append(elapsed)
                self.statuses.append(status)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, sends))

    def _classify(self) -> dict[str, list[tuple[str, float, str]]]:
        """thread ts → [(kind, at, text)]: kind answer | notice | gave_up | error."""
        from bot import blocks as B

        def kind_of(text: str) -> str:
            if RETRYING_MARK in text and "unavailable" in text:
                return "notice"
            if text.startswith(B.MSG_INDEX_DOWN[:40]):
                return "gave_up"
            if text.startswith(B.MSG_INTERNAL[:40]):
                return "error"
            return "answer"

        threads: dict[str, list[tuple[str, float, str]]] = {}
        notice_thread: dict[str, str] = {}
        for call in self.fake.calls_to("chat.postMessage", channel=self.channel):
            thread = call.params.get("thread_ts")
            if not thread:
                continue
            text = str(call.params.get("text") or "")
            kind = kind_of(text)
            threads.setdefault(thread, []).append((kind, call.at, text))
        # the notice's ts is in the fake's stored messages: map it back to its thread
        for message in self.fake.messages.get(self.channel, []):
            if message.get("bot_id") and message.get("thread_ts") and RETRYING_MARK in (message.get("text") or ""):
                notice_thread[message["ts"]] = message["thread_ts"]
        for call in self.fake.calls_to("chat.update", channel=self.channel):
            thread = notice_thread.get(str(call.params.get("ts")))
            if thread is None:
                continue
            text = str(call.params.get("text") or "")
            threads.setdefault(thread, []).append((kind_of(text), call.at, text))
        return threads

    def outcome(self, events: list[Ev], *, timeout: float = 300.0, settle: float = 2.0) -> Outcome:
        """Wait (bounded) until every event has a final message, then count."""
        deadline = time.monotonic() + timeout
        wanted = {ev.ts for ev in events}
        while time.monotonic() < deadline:
            threads = self._classify()
            done = {t for t, items in threads.items() if any(k in ("answer", "gave_up", "error") for k, _, _ in items)}
            if wanted <= done:
                break
            time.sleep(0.5)
        time.sleep(settle)  # a duplicate answer would arrive now
        threads = self._classify()
        out = Outcome(events=len(events))
        for ev in events:
            items = threads.get(ev.ts, [])
            answers = [at for kind, at, _ in items if kind == "answer"]
            out.notices += sum(1 for kind, _, _ in items if kind == "notice")
            gave_up = any(kind == "gave_up" for kind, _, _ in items)
            out.gave_up += gave_up
            if len(answers) == 1:
                out.answered_once += 1
            elif not answers and not gave_up:
                out.lost += 1
            elif len(answers) > 1:
                out.duplicates += 1
            if answers and ev.sent_at:
                out.answer_s.append(min(answers) - ev.sent_at)
            out.per_event[ev.index] = {"kinds": [k for k, _, _ in items]}
        return out

    def ack_row(self) -> dict[str, Any]:
        return {"acks": len(self.acks), "non_200": sum(1 for s in self.statuses if s != 200),
                "p50_ack_ms": round(percentile(self.acks, 50) * 1000),
                "p95_ack_ms": round(percentile(self.acks, 95) * 1000),
                "max_ack_ms": round(max(self.acks or [float("nan")]) * 1000)}


def wait_log_rows(stack: Stack, expected: int, timeout: float = 120.0) -> tuple[int, float]:
    started = time.monotonic()
    rows = -1
    while time.monotonic() - started < timeout:
        try:
            rows = stack.log_rows()
        except Exception:
            rows = -1
        if rows >= expected:
            break
        time.sleep(0.5)
    return rows, time.monotonic() - started


def histogram_quantile(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, q: float) -> float:
    """Prometheus' histogram_quantile over the buckets of every worker (linear inside a bucket)."""
    totals: dict[float, float] = {}
    for labels, value in metrics.get(f"{name}_bucket", []):
        bound = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        totals[bound] = totals.get(bound, 0.0) + value
    bounds = sorted(totals)
    if not bounds or totals[bounds[-1]] == 0:
        return float("nan")
    rank = q * totals[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if totals[bound] >= rank:
            if bound == float("inf"):
                return lower
            inside = totals[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, totals[bound]
    return lower


def queue_pending(stack: Stack) -> float | None:
    values = stack.metrics().get("codedesk_log_queue_pending", [])
    return values[0][1] if values else None


# ------------------------------------------------------------------------------------------ scenarios


def scenario_load(stack: Stack, *, events: int, concurrency: int, retries: float,
                  rate: float | None = None) -> dict[str, Any]:
    traffic = Traffic(stack, channel="C0LOAD")
    evs = traffic.new_events(events, "LOAD")
    wall = time.monotonic()
    traffic.send(evs, concurrency=concurrency, retry_fraction=retries, rate=rate)
    out = traffic.outcome(evs, timeout=max(300.0, events * 1.5))
    elapsed = time.monotonic() - wall
    rows, _ = wait_log_rows(stack, events, timeout=60)
    metrics = stack.metrics()
    per_worker = {labels["pid"]: v for labels, v in metrics.get("codedesk_answers_total", [])
                  if labels.get("outcome") == "ok"}
    compute = {"compute_p50_s": round(histogram_quantile(metrics, "codedesk_answer_seconds", 0.5), 3),
               "compute_p95_s": round(histogram_quantile(metrics, "codedesk_answer_seconds", 0.95), 3)}
    return {**out.row(), **traffic.ack_row(), **compute, "retries_sent": int(events * retries), "log_rows": rows,
            "answers_per_worker": sorted(int(v) for v in per_worker.values()),
            "throughput_per_s": round(len(out.answer_s) / max(elapsed, 1e-9), 1), "memory_mb": stack.memory_mb()}


def scenario_chroma_outage(stack: Stack, *, events: int, concurrency: int, outage_s: float) -> dict[str, Any]:
    traffic = Traffic(stack, channel="C0CHROMA")
    evs = traffic.new_events(events, "CHR")
    third = max(1, events // 3)
    traffic.send(evs[:third], concurrency=concurrency)
    stack.stop_chroma()
    down_at = time.monotonic()
    ready_during = stack.get("/readyz")
    traffic.send(evs[third:2 * third], concurrency=concurrency)
    time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
    stack.start_chroma()
    back_after = time.monotonic() - down_at
    traffic.send(evs[2 * third:], concurrency=concurrency)
    out = traffic.outcome(evs, timeout=max(240.0, events * 1.5))
    rows, _ = wait_log_rows(stack, events - out.gave_up, timeout=60)
    status_after = stack.get("/readyz")[0]
    workers = len(stack.ready_workers())
    return {**out.row(), **traffic.ack_row(), "outage_s": round(back_after, 1),
            "readyz_during": ready_during[0], "index_down_reported": '"index"' in ready_during[1],
            "readyz_after": status_after, "workers_alive": workers, "log_rows": rows}


def scenario_pg_outage(stack: Stack, *, events: int, concurrency: int, outage_s: float) -> dict[str, Any]:
    traffic = Traffic(stack, channel="C0PG")
    evs = traffic.new_events(events, "PG")
    before = stack.log_rows()
    third = max(1, events // 3)
    traffic.send(evs[:third], concurrency=concurrency)
    stack.pg_down()
    down_at = time.monotonic()
    traffic.send(evs[third:], concurrency=concurrency)
    out = traffic.outcome(evs, timeout=max(240.0, events * 1.5), settle=0.5)
    ready_during = stack.get("/readyz")
    queued = queue_pending(stack)
    time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
    stack.pg_up()
    back_at = time.monotonic()
    rows, flush_s = wait_log_rows(stack, before + events, timeout=120)
    return {**out.row(), **traffic.ack_row(), "outage_s": round(back_at - down_at, 1),
            "readyz_during": ready_during[0], "database_down_reported": '"database"' in ready_during[1],
            "queued_during": queued, "log_rows": rows - before, "flushed_within_s": round(flush_s, 1),
            "queue_after": queue_pending(stack)}


# ------------------------------------------------------------------------------------------ index size


def _rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def index_size(source: Path, root: Path, *, multiples: tuple[int, ...] = (1, 5, 10), queries: int = 120,
               noise: float = 0.01, answer_queries: int = 36, cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """Copy the Chroma dir `source` (a `codedesk ingest` of the default corpus) to `root`, then grow the
    serving generation's FY vector collection to each multiple by adding copies with new ids (and a
    little noise, so they are distinct points as new documents would be), and measure each size
    through `chroma run`: dense query latency, full answer latency, server memory, disk."""
    import chromadb
    import numpy as np

    from codedesk.embeddings import get_embedder
    from codedesk.settings import Settings
    from ingest.store import IndexStore, iter_all

    scratch = Path(root) / "chroma"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(source, scratch)
    settings = Settings(_env_file=None, home=Path(root) / "home", cms_data_dir=None, chroma_host=None)
    if cache_dir is not None:  # the code books and the model from the shared bench cache
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        settings.home.mkdir(parents=True, exist_ok=True)
        (settings.home / "cache").symlink_to(Path(cache_dir).resolve(), target_is_directory=True)
    embedder = get_embedder(settings.cache_dir, settings.embedding_backend)
    client = chromadb.PersistentClient(path=str(scratch), settings=chromadb.Settings(anonymized_telemetry=False))
    store = IndexStore(settings, client=client)
    gen = store.active()
    if gen is None:
        raise SystemExit(f"no active index generation in {source}: run `codedesk ingest` first")
    name = gen.vec_name(f"icd10cm-{settings.fiscal_year}")
    col = client.get_collection(name, embedding_function=None)
    base: list[dict[str, Any]] = list(iter_all(col, ["embeddings", "metadatas", "documents"]))
    base_count = sum(len(p["ids"]) for p in base)
    rng = np.random.default_rng(11)
    question_vecs = embedder.encode([q for q in QUESTIONS] * max(1, queries // len(QUESTIONS)))
    results = []
    have = 1
    for multiple in multiples:
        build_started = time.monotonic()
        while have < multiple:
            for page in base:
                embs = np.asarray(page["embeddings"], np.float32)
                embs = embs + rng.normal(0, noise, embs.shape).astype(np.float32)
                embs /= np.linalg.norm(embs, axis=1, keepdims=True)
                for i in range(0, len(page["ids"]), 5000):
                    col.add(ids=[f"dup{have}:{x}" for x in page["ids"][i:i + 5000]], embeddings=embs[i:i + 5000],
                            metadatas=page["metadatas"][i:i + 5000], documents=page["documents"][i:i + 5000])
            have += 1
        build_s = time.monotonic() - build_started
        count = col.count()
        # serve the scratch dir as deployed: a Chroma server, queried over HTTP
        del col, store, client
        chromadb.api.client.SharedSystemClient.clear_system_cache()
        port = free_port()
        chroma_bin = Path(sys.executable).parent / "chroma"
        log = (Path(root) / f"chroma-{multiple}x.log").open("w")
        server = subprocess.Popen([str(chroma_bin), "run", "--path", str(scratch), "--host", "127.0.0.1",
                                   "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while _http(f"http://127.0.0.1:{port}/api/v2/heartbeat", 2)[0] != 200:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"chroma run did not start for {multiple}x")
                time.sleep(0.2)
            idle_mb = _rss_mb(server.pid)
            http = chromadb.HttpClient(host="127.0.0.1", port=port,
                                       settings=chromadb.Settings(anonymized_telemetry=False))
            hcol = http.get_collection(name, embedding_function=None)
            first = time.monotonic()
            hcol.query(query_embeddings=[question_vecs[0]], n_results=13, include=["metadatas", "documents", "distances"])
            first_s = time.monotonic() - first
            lat = []
            for vec in question_vecs[:queries]:
                t = time.perf_counter()
                hcol.query(query_embeddings=[vec], n_results=13, include=["metadatas", "documents", "distances"])
                lat.append(time.perf_counter() - t)
            served_mb = _rss_mb(server.pid)
            answer_lat = _answer_latency(settings, port, answer_queries)
            results.append({"multiple": f"{multiple}x", "vectors": count, "base_vectors": base_count,
                            "add_s": round(build_s, 1), "first_query_s": round(first_s, 2),
                            "p50_query_ms": round(percentile(lat, 50) * 1000, 1),
                            "p95_query_ms": round(percentile(lat, 95) * 1000, 1),
                            "p50_answer_ms": round(percentile(answer_lat, 50) * 1000),
                            "p95_answer_ms": round(percentile(answer_lat, 95) * 1000),
                            "chroma_rss_idle_mb": round(idle_mb), "chroma_rss_mb": round(served_mb),
                            "disk_mb": round(_dir_mb(scratch))})
            print(json.dumps(results[-1]), flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        if multiple != multiples[-1]:
            client = chromadb.PersistentClient(path=str(scratch), settings=chromadb.Settings(anonymized_telemetry=False))
            store = IndexStore(settings, client=client)
            col = client.get_collection(name, embedding_function=None)
    return results


def _answer_latency(settings: Any, port: int, n: int) -> list[float]:
    """The full answer (retrieval over the code book and the Chroma server, composition), in a
    subprocess so each size starts with a fresh client."""
    code = (
        "import json,sys,time; from codedesk.settings import Settings; from retrieval.service import build_answerer\n"
        f"s=Settings(_env_file=None, home={str(settings.home)!r}, cms_data_dir=None, chroma_host='127.0.0.1', chroma_port={port})\n"
        "a=build_answerer(s, require_index=True); qs=json.loads(sys.argv[1]); out=[]\n"
        "a.answer(qs[0])\n"
        "for q in qs:\n t=time.perf_counter(); a.answer(q); out.append(time.perf_counter()-t)\n"
        "print(json.dumps(out))\n"
    )
    qs = (QUESTIONS * (n // len(QUESTIONS) + 1))[:n]
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(qs)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return []
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ main


def _table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="all",
                        help="all, or a comma-separated list of: load, chroma-outage, pg-outage, index-size")
    parser.add_argument("--events", type=int, default=500, help="events of the load scenario")
    parser.add_argument("--fault-events", type=int, default=150, help="events of each outage scenario")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=None,
                        help="send at most this many requests per second (default: as fast as the concurrency allows)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--answer-workers", type=int, default=4, help="answer threads per worker")
    parser.add_argument("--retries", type=float, default=0.1, help="fraction of load events re-sent as Slack retries")
    parser.add_argument("--outage", type=float, default=8.0, help="seconds each outage lasts")
    parser.add_argument("--index-from", type=Path, default=None,
                        help="a Chroma dir holding an ingested index (default: CODEDESK_HOME/chroma if built, "
                             "else a cut-down Tabular List is ingested)")
    parser.add_argument("--multiples", default="1,5,10")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "codedesk-bench-cache",
                        help="parse and model caches shared by the bench runs (symlinked as the stack's home/cache)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    known = ["load", "chroma-outage", "pg-outage", "index-size"]
    chosen = set(known if args.scenario == "all" else args.scenario.split(","))
    if chosen - set(known):
        parser.error(f"unknown scenario(s): {', '.join(sorted(chosen - set(known)))}")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from review.testing import pg_reachable, temporary_pg_schema

    root = Path(tempfile.mkdtemp(prefix="codedesk-department-"))
    results: dict[str, Any] = {}
    source = args.index_from
    if source is None:
        default = Path(os.environ.get("CODEDESK_HOME", REPO / ".codedesk")) / "chroma"
        source = default if (default / "chroma.sqlite3").is_file() else None
    tabular = None
    if source is None:
        from tests.conftest import small_tabular

        tabular = small_tabular(root / "tabular-small.xml")
        print("no ingested index found: ingesting a cut-down Tabular List (chapters 4 and 14)", flush=True)
    cache = args.cache_dir
    ok = True
    try:
        if chosen & {"load", "chroma-outage", "pg-outage"}:
            if not pg_reachable():
                raise SystemExit("PostgreSQL is not reachable (CODEDESK_TEST_PG_URL)")
            with temporary_pg_schema(prefix="codedesk_bench") as pg_url:
                stack = Stack(root / "stack", pg_url=pg_url, workers=args.workers, tabular_xml=tabular,
                              chroma_seed=source, cache_dir=cache,
                              answer_workers=args.answer_workers, retry_delays="2,5,10")
                try:
                    startup = stack.up()
                    print(f"stack up in {startup:.1f}s: {args.workers} workers, port {stack.bot_port}", flush=True)
                    results["startup_s"] = round(startup, 1)
                    results["readyz"] = json.loads(stack.get("/readyz")[1])
                    if "load" in chosen:
                        results["load"] = scenario_load(stack, events=args.events, concurrency=args.concurrency,
                                                        retries=args.retries, rate=args.rate)
                        print(json.dumps(results["load"]), flush=True)
                        load = results["load"]
                        ok &= (load["answered_once"] == args.events and load["lost"] == 0
                               and load["duplicates"] == 0 and load["log_rows"] == args.events)
                    if "chroma-outage" in chosen:
                        results["chroma_outage"] = scenario_chroma_outage(
                            stack, events=args.fault_events, concurrency=args.concurrency, outage_s=args.outage)
                        print(json.dumps(results["chroma_outage"]), flush=True)
                        co = results["chroma_outage"]
                        ok &= co["lost"] == 0 and co["duplicates"] == 0 and co["workers_alive"] == args.workers
                    if "pg-outage" in chosen:
                        results["pg_outage"] = scenario_pg_outage(
                            stack, events=args.fault_events, concurrency=args.concurrency, outage_s=args.outage)
                        print(json.dumps(results["pg_outage"]), flush=True)
                        po = results["pg_outage"]
                        ok &= po["answered_once"] == args.fault_events and po["log_rows"] == args.fault_events
                    results["exit_code"] = stack.down()
                finally:
                    stack.close()
        if "index-size" in chosen:
            if source is None:
                print("index-size needs an ingested default corpus: run `codedesk ingest` or pass --index-from",
                      file=sys.stderr)
                ok = False
            else:
                multiples = tuple(int(m) for m in args.multiples.split(","))
                results["index_size"] = index_size(source, root / "index-size", multiples=multiples,
                                                   cache_dir=args.cache_dir)
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"scratch kept: {root}")

    print()
    if "load" in results:
        r = results["load"]
        print(f"Load: {r['events']} events ({r['retries_sent']} re-sent as Slack retries), {args.concurrency} at a "
              f"time, {args.workers} workers x {args.answer_workers} answer threads; stack up in {results['startup_s']}s")
        print(_table([r], ["events", "answered_once", "lost", "duplicates", "non_200", "log_rows", "p50_ack_ms",
                           "p95_ack_ms", "max_ack_ms", "p50_answer_s", "p95_answer_s", "max_answer_s",
                           "compute_p50_s", "compute_p95_s", "throughput_per_s"]))
        print(f"answers per worker: {r['answers_per_worker']}; memory MB: {json.dumps(r['memory_mb'])}")
    for key, title in (("chroma_outage", "Chroma server stopped mid-run"), ("pg_outage", "PostgreSQL cut mid-run")):
        if key in results:
            r = results[key]
            print(f"\n{title}:")
            print(_table([r], [k for k in r if k not in ("per_event",)]))
    if "index_size" in results:
        print("\nIndex size:")
        print(_table(results["index_size"], list(results["index_size"][0].keys())))
    print("\nOK" if ok else "\nFAILED: see the tables")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
