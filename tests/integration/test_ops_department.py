"""A department on one machine, end to end: `deploy/run-stack.sh up` starts a real Chroma server,
migrates a real PostgreSQL schema (reached through a TCP proxy the test can cut), ingests a cut-down
FY2026 Tabular List into Chroma and runs `codedesk serve --workers 2`; Slack-signed events come
from this process and the answers go to the fake Slack Web API (tests/fake_slack.py).

Covered: /healthz, /readyz, /metrics and request ids; Slack retries and the rate limit across workers
(PostgreSQL); the Chroma server stopping (users told "retrying", answers once it is back, no worker
lost); PostgreSQL stopping (answers go on, records queue and are written when it returns); a killed
worker replaced by the supervisor; a clean stop. The stack is shared by the tests of this module, in order.

The Chroma data and the parse/model caches are kept in the system temp folder between runs
(`codedesk-test-ops/`), so a second run skips the ~20-40 s ingest (ingest itself still runs and
finds nothing changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.department_load import Stack, Traffic, parse_metrics, queue_pending, wait_log_rows
from tests.conftest import small_tabular
from tests.support import pg_reachable, temporary_pg_schema

CACHE_ROOT = Path(tempfile.gettempdir()) / "codedesk-test-ops"
WORKERS = 2
DENSE_QUESTION = "chronic kidney disease stage 3b"  # words, not a code: the vector search is asked


def _small_xml() -> Path:
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    path = CACHE_ROOT / "tabular-ch4-ch14.xml"
    if (
        not path.is_file()
    ):  # a stable file (and mtime) keeps the code-book caches valid between runs
        tmp = small_tabular(CACHE_ROOT / f"tabular.{os.getpid()}.tmp.xml")
        tmp.replace(path)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not pg_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable (CODEDESK_TEST_PG_URL)")
        pytest.skip("PostgreSQL is not reachable (CODEDESK_TEST_PG_URL)")
    xml = _small_xml()
    seed = CACHE_ROOT / f"chroma-{hashlib.sha1(xml.read_bytes()).hexdigest()[:12]}"
    root = tmp_path_factory.mktemp("department")
    with temporary_pg_schema(prefix="codedesk_ops") as pg_url:
        st = Stack(
            root,
            pg_url=pg_url,
            workers=WORKERS,
            tabular_xml=xml,
            chroma_seed=seed if seed.is_dir() else None,
            cache_dir=CACHE_ROOT / "cache",
            answer_workers=4,
            retry_delays="1,2,3,5,8",
            rate_limit=10,
        )
        try:
            st.up(timeout=300)
            yield st
        finally:
            st.close()
            if not seed.is_dir() and st.chroma_path.is_dir():
                tmp = CACHE_ROOT / f"{seed.name}.{os.getpid()}.tmp"
                shutil.copytree(st.chroma_path, tmp)
                try:
                    tmp.rename(seed)
                except OSError:  # another run saved it first
                    shutil.rmtree(tmp, ignore_errors=True)


def _worker_pids(stack: Stack) -> set[str]:
    return {
        labels["pid"] for labels, _ in stack.metrics().get("codedesk_worker_start_time_seconds", [])
    }


def test_healthz_readyz_metrics_and_request_ids(stack: Stack) -> None:
    import urllib.request

    assert stack.get("/healthz") == (200, "ok")
    status, body = stack.get("/readyz")
    ready = json.loads(body)
    assert status == 200 and ready["status"] == "ready" and ready["down"] == []
    assert (
        ready["index"]["ok"] and ready["index"]["generation"] and ready["index"]["documents"] > 1000
    )
    assert ready["index"]["where"] == f"127.0.0.1:{stack.chroma_port}"
    assert ready["database"]["ok"] and ready["database"]["backend"] == "postgresql"
    assert "password" not in body.lower()

    request = urllib.request.Request(stack.url("/healthz"), headers={"X-Request-Id": "lb-check-42"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.headers["X-Request-Id"] == "lb-check-42"

    traffic = Traffic(stack, channel="C0OPS")
    events = traffic.new_events(4, "OPS")
    traffic.send(events, concurrency=4)
    assert traffic.outcome(events, timeout=60, settle=0.5).answered_once == 4

    deadline = time.monotonic() + 10  # each worker publishes its numbers every second
    while True:
        status, text = stack.get("/metrics")
        counts = parse_metrics(text).get("codedesk_answer_seconds_count", [])
        if sum(v for _, v in counts) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200
    assert "# TYPE codedesk_requests_total counter" in text
    assert "# TYPE codedesk_answer_seconds histogram" in text
    metrics = parse_metrics(text)
    assert len(_worker_pids(stack)) == WORKERS, "one scrape shows every worker"
    events_seen = sum(
        v
        for labels, v in metrics["codedesk_requests_total"]
        if labels["kind"] == "event:app_mention"
    )
    assert events_seen >= 4
    assert sum(v for labels, v in metrics["codedesk_answer_seconds_count"]) >= 4
    assert {float(labels["le"]) for labels, _ in metrics["codedesk_answer_seconds_bucket"]} >= {
        0.1,
        1.0,
        float("inf"),
    }
    assert "codedesk_answer_queue_depth" in metrics and "codedesk_log_queue_pending" in metrics
    assert metrics["codedesk_log_queue_pending"][0][1] == 0

    # key=value logs; an answer's lines carry the request id of the HTTP request that brought it
    lines = stack.log_path.read_text(errors="replace").splitlines()
    answered = [line for line in lines if "event=answered " in line]
    assert answered and all(
        line.startswith("ts=") and " level=INFO pid=" in line for line in answered
    )
    rid = answered[0].split(" rid=", 1)[1].split(" ", 1)[0]
    assert rid != "-" and any(f"rid={rid}" in line and "event=request " in line for line in lines)


def test_retries_and_rate_limit_hold_across_workers(stack: Stack) -> None:
    traffic = Traffic(stack, channel="C0RETRY")
    events = traffic.new_events(60, "RT")
    rows_before, log_from = stack.log_rows(), stack.log_size()
    traffic.send(events, concurrency=20, retry_fraction=0.3)
    out = traffic.outcome(events, timeout=120)
    assert (out.answered_once, out.lost, out.duplicates) == (60, 0, 0), out.row()
    assert all(s == 200 for s in traffic.statuses)
    rows, _ = wait_log_rows(stack, rows_before + 60, timeout=30)
    assert rows == rows_before + 60, "one log row per event, retries not logged twice"
    answers = stack.answers_by_worker(since=log_from)
    assert len(answers) == WORKERS and sum(answers.values()) == 60, (
        f"both workers answered: {answers}"
    )

    # one person asking 12 times in a minute: 10 answers in all, whichever worker takes each question
    if time.time() % 60 > 50:  # the limit counts per clock minute: keep the burst inside one
        time.sleep(61 - time.time() % 60)
    burst = Traffic(stack, channel="C0RATE")
    mine = burst.new_events(12, "RL")
    for ev in mine:
        ev.event["user"] = "U0BUSYCODER"
    burst.send(mine, concurrency=6)
    limited = stack.fake.wait_for("chat.postEphemeral", 2, timeout=60, channel="C0RATE")
    time.sleep(2)
    answered = [
        c
        for c in stack.fake.calls_to("chat.postMessage", channel="C0RATE")
        if c.params.get("thread_ts")
    ]
    assert (
        len(answered) == 10
        and len(stack.fake.calls_to("chat.postEphemeral", channel="C0RATE")) == 2
    )
    assert all("questions a minute" in c.params["text"] for c in limited)


def test_chroma_outage_says_retrying_and_recovers(stack: Stack) -> None:
    pids = _worker_pids(stack)
    stack.stop_chroma()
    status, body = stack.get("/readyz")
    assert status == 503 and "index" in json.loads(body)["down"]
    assert json.loads(body)["database"]["ok"]

    traffic = Traffic(stack, channel="C0CHROMA")
    # 4 questions: each waits on an answer thread while it retries, and any 4 fit either worker's 4
    events = traffic.new_events(4, "CH")
    for ev in events:
        ev.event["text"] = ev.event["text"].split("> ", 1)[0] + "> " + DENSE_QUESTION
    traffic.send(events, concurrency=4)
    notices = stack.fake.wait_for("chat.postMessage", 4, timeout=30, channel="C0CHROMA")
    assert all("unavailable right now — retrying" in n.params["text"] for n in notices)
    assert "Traceback" not in json.dumps([n.params for n in notices])

    stack.start_chroma()
    out = traffic.outcome(events, timeout=60)
    assert (out.answered_once, out.lost, out.gave_up) == (4, 0, 0), out.row()
    updates = stack.fake.calls_to("chat.update", channel="C0CHROMA")
    assert any("N18.32" in json.dumps(u.params.get("blocks")) for u in updates)
    assert stack.get("/readyz")[0] == 200
    assert _worker_pids(stack) == pids, "no worker died or was restarted"


def test_postgres_outage_queues_then_flushes(stack: Stack) -> None:
    rows_before = stack.log_rows()
    stack.pg_down()
    try:
        status, body = stack.get("/readyz")
        assert status == 503 and json.loads(body)["down"] == ["database"]
        traffic = Traffic(stack, channel="C0PG")
        events = traffic.new_events(10, "PG")
        traffic.send(events, concurrency=10)
        out = traffic.outcome(events, timeout=60, settle=0.5)
        assert (out.answered_once, out.lost) == (10, 0), "answers go on without the database"
        deadline = time.monotonic() + 15
        while queue_pending(stack) != 10 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert queue_pending(stack) == 10, "the records wait in the durable queue"
        assert stack.log_rows() == rows_before
    finally:
        stack.pg_up()
    rows, seconds = wait_log_rows(stack, rows_before + 10, timeout=45)
    assert rows == rows_before + 10, "every queued record written once the database is back"
    deadline = time.monotonic() + 10
    while queue_pending(stack) != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert queue_pending(stack) == 0
    assert stack.get("/readyz")[0] == 200


def test_a_killed_worker_is_replaced(stack: Stack) -> None:
    import signal

    before = _worker_pids(stack)
    victim = int(sorted(before)[0])
    os.kill(victim, signal.SIGKILL)
    # Until a scrape shows the victim gone and its replacement started. A connection the victim had
    # accepted fails (an empty answer, not proof): only a 200 counts.
    deadline = time.monotonic() + 120
    after: set[str] = set(before)
    while time.monotonic() < deadline:
        status, text = stack.get("/metrics")
        if status == 200:
            after = {
                labels["pid"]
                for labels, _ in parse_metrics(text).get("codedesk_worker_start_time_seconds", [])
            }
            if str(victim) not in after and len(after) == WORKERS:
                break
        time.sleep(0.2)
    assert len(after) == WORKERS and str(victim) not in after
    stack.wait_ready(timeout=120)  # the new worker builds its answerer
    traffic = Traffic(stack, channel="C0CRASH")
    events = traffic.new_events(6, "KW")
    traffic.send(events, concurrency=6)
    assert traffic.outcome(events, timeout=60, settle=0.5).answered_once == 6
    assert "event=worker_died" in stack.log_path.read_text(errors="replace")


def test_sigterm_stops_workers_and_chroma(stack: Stack) -> None:
    chroma = stack.chroma_pid()
    assert stack.down(timeout=90) == 0
    assert chroma is not None
    with pytest.raises(ProcessLookupError):
        os.kill(chroma, 0)
    assert "supervisor_stopped code=0" in stack.log_path.read_text(errors="replace")
