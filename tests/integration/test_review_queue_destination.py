"""Issue 14: the durable log queue remembers the database each record was meant for. A record queued
while PostgreSQL was down stays queued when another CLI run, sharing the same home with another
CODEDESK_DATABASE_URL, flushes; it is written when its own database is back, and only there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from codedesk.retrieval.schema import Answer
from codedesk.review import log as qlog
from codedesk.review.db import destination_of
from codedesk.review.durable_queue import DurableQueue
from codedesk.review.models import QueryLog
from codedesk.settings import Settings
from tests.support import TcpProxy, free_port, with_port

ANSWER = Answer(question="…", answer="Use I10.", confidence="high", fiscal_year="2026")
PASSWORD = "queue-s3cr3t"


def log_one(logger: qlog.QueryLogger, uid: str) -> int | None:
    return logger.log_answer(
        question=f"essential hypertension {uid}",
        answer=ANSWER,
        surface="cli",
        user_id="u",
        channel=None,
        latency_ms=1,
        index_version=None,
        uid=uid,
    )


def uids_in(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(select(QueryLog.uid)).all())


def test_a_record_queued_for_postgresql_is_never_written_to_another_database(
    pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    target = sa.engine.make_url(pg_url)
    proxy = TcpProxy(
        port, (target.host or "127.0.0.1", target.port or 5432)
    )  # not started: PostgreSQL is down
    pg_via_proxy = with_port(pg_url, port)
    home = tmp_path / "shared-home"
    try:
        down = qlog.QueryLogger(
            Settings(_env_file=None, home=home, database_url=pg_via_proxy), retry_after_s=0
        )
        assert log_one(down, "00000000-0000-4000-e000-000000000001") is None  # queued
        down.close()
        queue_bytes = (home / qlog.QUEUE_FILE).read_bytes()
        assert PASSWORD.encode() not in queue_bytes

        # The next CLI run on the same home logs to a SQLite file: it must not take the queued record.
        sqlite_url = f"sqlite:///{tmp_path / 'other.db'}"
        other = qlog.QueryLogger(
            Settings(_env_file=None, home=home, database_url=sqlite_url), retry_after_s=0
        )
        assert log_one(other, "00000000-0000-4000-e000-000000000002") is not None
        assert other.flush() == 0
        assert uids_in(other.engine) == ["00000000-0000-4000-e000-000000000002"]
        assert other.pending() == 0 and other.queue.other_destinations_count() == 1
        other.close()

        # PostgreSQL is back: a run with its URL (the password may differ) writes the record there.
        proxy.start()
        back = qlog.QueryLogger(
            Settings(_env_file=None, home=home, database_url=pg_via_proxy), retry_after_s=0
        )
        assert back.flush() == 1 and back.pending() == 0
        assert uids_in(back.engine) == ["00000000-0000-4000-e000-000000000001"]
        back.close()
    finally:
        proxy.stop()


def test_the_destination_is_a_fingerprint_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://coder:{PASSWORD}@127.0.0.1:1/codedesk?password={PASSWORD}&connect_timeout=1"
    logger = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path, database_url=url), retry_after_s=0
    )
    assert log_one(logger, "00000000-0000-4000-e000-000000000003") is None
    logger.close()
    with sqlite3.connect(tmp_path / qlog.QUEUE_FILE) as conn:
        [(dest,)] = conn.execute("SELECT dest FROM pending").fetchall()
    assert dest == destination_of(url) and PASSWORD not in dest
    assert PASSWORD.encode() not in (tmp_path / qlog.QUEUE_FILE).read_bytes()


def test_a_queue_file_from_before_destinations_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / qlog.QUEUE_FILE
    with sqlite3.connect(path) as conn:  # the schema before destinations were recorded
        conn.executescript("""
            CREATE TABLE pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL, payload TEXT NOT NULL,
                queued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                attempts INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'pending', last_error TEXT);
            INSERT INTO pending (uid, kind, payload) VALUES ('old-1', 'query', '{}');
        """)
    queue = DurableQueue(path, dest="sqlite:abc")
    assert [i.uid for i in queue.peek()] == ["old-1"]  # unaddressed records are taken, as before
    queue.put(uid="new-1", kind="query", payload="{}")
    assert [i.uid for i in DurableQueue(path, dest="postgresql:def").peek()] == ["old-1"]
    queue.close()
