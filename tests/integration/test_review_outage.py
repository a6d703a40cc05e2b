"""The database goes away: `log_answer` must not raise, records wait in the durable local queue and
are written exactly once when it is back. PostgreSQL is reached through a TCP proxy on a free port
that we start and stop to play the outage."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from codedesk.retrieval.schema import Answer, CodeItem
from codedesk.review import log as qlog
from codedesk.review.db import make_engine, session_scope
from codedesk.review.durable_queue import DurableQueue
from codedesk.review.models import Escalation, Feedback, QueryLog
from codedesk.settings import Settings
from tests.support import TcpProxy, free_port, with_port

ANSWER = Answer(
    question="…",
    answer="Use E11.22.",
    confidence="high",
    fiscal_year="2025",
    codes=[CodeItem(code="E11.22", description="T2DM with diabetic CKD", billable=True)],
)


@pytest.fixture
def proxied(pg_url: str) -> Iterator[tuple[TcpProxy, sa.Engine]]:
    port = free_port()
    target = sa.engine.make_url(pg_url)
    proxy = TcpProxy(port, (target.host or "127.0.0.1", target.port or 5432))
    engine = make_engine(with_port(pg_url, port), connect_args={"connect_timeout": 2})
    yield proxy, engine
    proxy.stop()
    engine.dispose()


def log_one(logger: qlog.QueryLogger, uid: str) -> int | None:
    return logger.log_answer(
        question=f"pt Jane Roe 4/5/1940 asks {uid}: E11.22?",
        answer=ANSWER,
        surface="slack_dm",
        user_id="U1",
        channel="D1",
        latency_ms=5,
        index_version="v1",
        uid=uid,
    )


def stored_uids(engine: sa.Engine, model: type = QueryLog) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(model.uid)).all())


def test_outage_then_recovery_nothing_lost_nothing_duplicated(
    proxied: tuple[TcpProxy, sa.Engine], pg_url: str, tmp_path: Path
) -> None:
    proxy, engine = proxied
    logger = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path), engine=engine, retry_after_s=0
    )
    uids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(60)]

    # Down from the start: nothing raises, everything is queued (and quickly).
    started = time.monotonic()
    assert [log_one(logger, u) for u in uids[:20]] == [None] * 20
    assert time.monotonic() - started < 10
    assert (
        logger.feedback(query_id=uids[3], user_id="U1", value=-1, reason="wrong for Jane Roe")
        is None
    )
    assert logger.pending() == 21
    queue_file = (tmp_path / qlog.QUEUE_FILE).read_bytes()
    assert (
        b"Jane" not in queue_file and b"1940" not in queue_file
    )  # the queue holds scrubbed records only

    # Back: the next call writes the backlog first, then itself.
    proxy.start()
    assert log_one(logger, uids[20]) is not None
    assert logger.pending() == 0
    assert sorted(stored_uids(engine)) == uids[:21]
    with Session(engine) as s:
        fb = s.exec(select(Feedback)).one()
        assert fb.reason == "wrong for [NAME]"
        assert s.get(QueryLog, fb.query_id).uid == uids[3]

    # Down again mid-run (open connections are cut), then an explicit flush once it is back.
    proxy.stop()
    assert [log_one(logger, u) for u in uids[21:40]] == [None] * 19
    assert logger.pending() == 19
    proxy.start()
    assert logger.flush() == 19
    assert [log_one(logger, u) is not None for u in uids[40:]] == [True] * 20
    assert sorted(stored_uids(engine)) == uids
    logger.close()


def test_concurrent_writers_through_an_outage(
    proxied: tuple[TcpProxy, sa.Engine], tmp_path: Path
) -> None:
    proxy, engine = proxied
    proxy.start()
    logger = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path), engine=engine, retry_after_s=0.05
    )
    uids = [f"00000000-0000-4000-9000-{i:012d}" for i in range(400)]
    done = threading.Semaphore(0)

    def writer(w: int) -> int:
        queued = 0
        for n, i in enumerate(range(w, 400, 20)):
            queued += log_one(logger, uids[i]) is None
            if n == 5:
                done.release()
        return queued

    def outage() -> None:
        for _ in range(20):
            done.acquire()  # everyone is a few records in
        proxy.stop()
        time.sleep(0.3)
        proxy.start()

    with ThreadPoolExecutor(21) as pool:
        futures = [pool.submit(writer, w) for w in range(20)] + [pool.submit(outage)]
        queued = sum(f.result() or 0 for f in futures)
    assert queued > 0  # the outage really hit some writes
    logger.flush()
    assert logger.pending() == 0
    stored = stored_uids(engine)
    assert len(stored) == len(set(stored)) == 400
    assert sorted(stored) == uids
    logger.close()


def test_queue_survives_a_restart_and_a_crash_after_commit(
    proxied: tuple[TcpProxy, sa.Engine], tmp_path: Path
) -> None:
    proxy, engine = proxied
    first = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path), engine=engine, retry_after_s=0
    )
    uids = [f"00000000-0000-4000-a000-{i:012d}" for i in range(5)]
    for u in uids:
        assert log_one(first, u) is None
    assert (
        first.escalation(query_id=uids[0], user_id="U1", channel="C9", note="call 312-555-0147")
        is None
    )
    del first  # the process "dies" without closing anything

    proxy.start()
    # A crash between the database commit and the queue delete: one record is already stored.
    queued = DurableQueue(tmp_path / qlog.QUEUE_FILE).peek(1)[0]
    with session_scope(engine) as s:
        qlog.create_query(s, data=qlog.QueryLogCreate.model_validate_json(queued.payload))

    second = qlog.QueryLogger(Settings(_env_file=None, home=tmp_path), engine=engine)
    assert second.flush() == 6
    assert sorted(stored_uids(engine)) == uids
    with Session(engine) as s:
        assert s.exec(select(Escalation.note)).one() == "call [PHONE]"
    second.close()


def test_a_record_that_keeps_failing_is_set_aside_not_blocking(
    proxied: tuple[TcpProxy, sa.Engine], tmp_path: Path
) -> None:
    proxy, engine = proxied
    proxy.start()
    logger = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path), engine=engine, retry_after_s=0
    )
    logger.UNKNOWN_QUERY_GRACE = timedelta(0)  # its query will never come
    logger.queue.put(
        uid="bad-feedback",
        kind="feedback",
        payload=qlog._FeedbackRecord(
            uid="bad-feedback", query_ref="no-such-query", value=1
        ).model_dump_json(),
    )
    ids = [
        log_one(logger, f"00000000-0000-4000-b000-{i:012d}")
        for i in range(qlog.QueryLogger.MAX_ATTEMPTS + 1)
    ]
    assert ids[-1] is not None  # the bad record stopped blocking after MAX_ATTEMPTS tries
    assert logger.pending() == 0 and logger.queue.dead_count() == 1
    assert len(stored_uids(engine)) == qlog.QueryLogger.MAX_ATTEMPTS + 1
    logger.close()


def test_feedback_waits_for_a_query_queued_by_another_worker(
    proxied: tuple[TcpProxy, sa.Engine], tmp_path: Path
) -> None:
    proxy, engine = proxied
    worker_a = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path / "a"), engine=engine, retry_after_s=0
    )
    worker_b = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path / "b"), engine=engine, retry_after_s=0
    )
    uid = "00000000-0000-4000-d000-000000000001"
    assert log_one(worker_a, uid) is None  # A could not reach the database
    proxy.start()
    assert (
        worker_b.feedback(query_id=uid, user_id="U1", value=1) is None
    )  # B: its query is not there yet
    for i in range(10):  # B keeps working; the feedback waits without being given up
        assert log_one(worker_b, f"00000000-0000-4000-d000-{i + 100:012d}") is not None
    assert worker_b.pending() == 1 and worker_b.queue.dead_count() == 0
    worker_a.start_flusher(interval_s=0.05)  # A is idle; its flusher writes the query
    deadline = time.monotonic() + 10
    while worker_a.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker_b.flush() == 1
    with Session(engine) as s:
        fb = s.exec(select(Feedback)).one()
        assert s.get(QueryLog, fb.query_id).uid == uid
    worker_a.close()
    worker_b.close()


def test_sqlite_database_unavailable_falls_back_to_the_queue(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database folder should be")
    down = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path, database_url=f"sqlite:///{blocker / 'log.db'}")
    )
    assert log_one(down, "00000000-0000-4000-c000-000000000001") is None
    assert (
        down.claim_event("Ev1") is True and down.claim_event("Ev1") is False
    )  # per-process fallback
    assert [down.allow_request(user_id="U1", limit=2, window_s=60) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    down.close()

    # Another database sharing the home never takes the record (issue 14) ...
    other = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path, database_url=f"sqlite:///{tmp_path / 'log.db'}")
    )
    assert other.flush() == 0 and other.queue.other_destinations_count() == 1
    other.close()
    # ... its own database, once it can be opened, does.
    blocker.unlink()
    up = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path, database_url=f"sqlite:///{blocker / 'log.db'}")
    )
    assert up.flush() == 1
    assert stored_uids(up.engine) == ["00000000-0000-4000-c000-000000000001"]
    up.close()
