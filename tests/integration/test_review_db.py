"""The query log on real databases — a SQLite file and the local PostgreSQL (fresh schema per
session): migrations, CRUD, Slack retry de-duplication, the shared rate limit, retention, the
`codedesk db` commands, and 20 concurrent writers storing 1,000 records exactly once."""

from __future__ import annotations

import multiprocessing as mp
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from codedesk.retrieval.schema import Answer, Citation, CodeItem
from codedesk.review import log as qlog
from codedesk.review.cli import db_app
from codedesk.review.db import make_engine, session_scope
from codedesk.review.migrate import HEAD, current_revision, head_revision, upgrade_engine
from codedesk.review.models import QueryCitation, QueryCitationBase, QueryLog, QueryLogCreate
from codedesk.review.retention import purge
from codedesk.settings import Settings

TABLES = (
    "rate_limit",
    "slack_event",
    "review_decision",
    "escalation",
    "feedback",
    "query_citation",
    "query_log",
    "review_topic",
)


@pytest.fixture(scope="session")
def pg_url(pg_schema) -> Iterator[str]:
    with pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    url = request.getfixturevalue("pg_url")
    yield url
    engine = make_engine(url)  # leave the shared schema empty for the next test
    with engine.begin() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        if existing & set(TABLES):
            conn.execute(
                sa.text(
                    f"TRUNCATE {', '.join(t for t in TABLES if t in existing)} RESTART IDENTITY CASCADE"
                )
            )
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    upgrade_engine(eng)
    yield eng
    eng.dispose()


def answer(n: int = 0) -> Answer:
    return Answer(
        question="…",
        answer=f"Use E11.22 (answer {n}).",
        codes=[CodeItem(code="E11.22", description="T2DM with diabetic CKD", billable=True)],
        citations=[
            Citation(
                source_type="guideline",
                title="Official Guidelines FY2025",
                section="I.C.4.a.3",
                page=40,
                fiscal_year="2025",
            ),
            Citation(
                source_type="tabular",
                title="Tabular",
                section="use_additional_code",
                code="E11.22",
                fiscal_year="2025",
            ),
        ],
        confidence="medium",
        fiscal_year="2025",
    )


def record(
    question: str = "code for type 2 diabetes with CKD stage 3?", **kw: object
) -> QueryLogCreate:
    base = dict(
        question=question,
        normalized=question.lower(),
        surface="cli",
        citations=[QueryCitationBase(source_type="tabular", title="Tabular", code="E11.22")],
    )
    return QueryLogCreate(**{**base, **kw})


def test_migrations_match_models_and_downgrade(engine: sa.Engine) -> None:
    assert HEAD == head_revision()  # the constant the fast schema check compares with
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert (
            compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
            == []
        )
    upgrade_engine(engine)  # a second upgrade is a no-op
    from alembic import command

    from codedesk.review.migrate import alembic_config

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with engine.connect() as conn:
        assert not set(TABLES) & set(sa.inspect(conn).get_table_names())
    assert current_revision(engine) is None
    upgrade_engine(engine)
    assert current_revision(engine) == head_revision()


def test_crud_round_trip_with_utc_times(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        q = qlog.create_query(s, data=record(user_hash="a" * 64, codes="E11.22", confidence="low"))
        again = qlog.create_query(s, data=record(uid=q.uid))  # same uid: the same row, nothing new
        assert again.id == q.id
        fb = qlog.add_feedback(
            s,
            query_id=q.id,
            value=-1,
            reason="Wrong for Mrs. Okafor, see DOS 3/14/2024",
            user_hash="b" * 64,
        )
        esc = qlog.add_escalation(s, query_id=q.id, channel_id="C1", note="call 312-555-0147")
        topic = qlog.create_topic(s, label="code for T2DM with CKD 3?", query_ids=[q.id])
        decision = qlog.add_decision(
            s,
            topic_id=topic.id,
            text="Use E11.22 + N18.30",
            decided_by="lead",
            status="accepted",
            effective_date=date(2025, 10, 1),
        )
    with Session(engine) as s:
        rows = qlog.list_queries(s)
        assert [r.id for r in rows] == [q.id] and rows[0].topic_id == topic.id
        assert rows[0].created_at.tzinfo == UTC
        assert [c.code for c in qlog.list_citations(s, query_id=q.id)] == ["E11.22"]
        [stored_fb] = qlog.list_feedback(s, value=-1)
        assert stored_fb.reason == "Wrong for Mrs. [NAME], see DOS [DATE]" and stored_fb.id == fb.id
        assert qlog.list_escalations(s, status="open")[0].note == "call [PHONE]"
        assert qlog.resolve_escalation(s, escalation_id=esc.id).resolved_at.tzinfo == UTC
        s.commit()
        assert qlog.list_escalations(s, status="open") == []
        assert qlog.list_decisions(s, topic_id=topic.id)[0].id == decision.id
        now = datetime.now(UTC)
        assert (
            len(
                qlog.list_queries(
                    s, since=now - timedelta(minutes=5), until=now + timedelta(minutes=1)
                )
            )
            == 1
        )
        assert qlog.list_queries(s, since=now + timedelta(minutes=1)) == []
    with pytest.raises(ValueError):
        with session_scope(engine) as s:
            qlog.add_feedback(s, query_id=q.id, value=2)
    with pytest.raises(sa.exc.IntegrityError):  # the database enforces it too
        with session_scope(engine) as s:
            s.exec(
                sa.text(
                    "INSERT INTO feedback (uid, query_id, created_at, value) "
                    "VALUES ('x', :q, CURRENT_TIMESTAMP, 5)"
                ).bindparams(q=q.id)
            )


def test_claim_event_once_across_concurrent_workers(engine: sa.Engine) -> None:
    def claim(event_id: str) -> bool:
        with session_scope(engine) as s:
            return qlog.claim_event(s, event_id=event_id)

    with ThreadPoolExecutor(20) as pool:
        same = list(pool.map(claim, ["Ev1"] * 20))
        distinct = list(pool.map(claim, [f"Ev{i}" for i in range(2, 22)]))
    assert same.count(True) == 1
    assert all(distinct)


def test_rate_limit_holds_across_concurrent_workers(engine: sa.Engine) -> None:
    now = 1_700_000_000.0

    def ask(at: float) -> bool:
        with session_scope(engine) as s:
            return qlog.allow_request(s, user_hash="u1", limit=5, window_s=60, now=at)

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(ask, [now] * 20)).count(True) == 5
    assert ask(now + 60)  # the next window starts afresh
    with session_scope(engine) as s:
        assert qlog.allow_request(s, user_hash="u2", limit=5, window_s=60, now=now)  # per user


def test_purge_deletes_old_queries_with_their_rows(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        old = qlog.create_query(s, data=record(created_at=now - timedelta(days=400)))
        new = qlog.create_query(s, data=record(created_at=now - timedelta(days=10)))
        qlog.add_feedback(s, query_id=old.id, value=1)
        qlog.add_escalation(s, query_id=old.id)
        qlog.add_feedback(s, query_id=new.id, value=1)
        qlog.claim_event(s, event_id="old-event")
        qlog.allow_request(s, user_hash="u", limit=1, window_s=60, now=now.timestamp() - 3 * 86400)
    with session_scope(engine) as s:
        assert purge(s, timedelta(days=365), dry_run=True)["query_log"] == 1
    with session_scope(engine) as s:
        counts = purge(s, timedelta(days=365), now=now + timedelta(days=2))
    assert counts == {
        "query_citation": 1,
        "feedback": 1,
        "escalation": 1,
        "query_log": 1,
        "slack_event": 1,
        "rate_limit": 1,
        "discussion_reaction": 0,
        "discussion_reply": 0,
        "discussion_thread": 0,
    }
    with Session(engine) as s:
        assert [q.id for q in qlog.list_queries(s)] == [new.id]
        assert len(qlog.list_feedback(s)) == 1
    with pytest.raises(ValueError):
        with session_scope(engine) as s:
            purge(s, timedelta(0))


def test_twenty_concurrent_writers_store_1000_records_exactly_once(
    engine: sa.Engine, tmp_path: Path
) -> None:
    logger = qlog.QueryLogger(
        Settings(_env_file=None, home=tmp_path / "home"), engine=engine, hash_secret="s"
    )
    uids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1000)]
    barrier = threading.Barrier(20)

    def writer(w: int) -> list[int | None]:
        barrier.wait()
        return [
            logger.log_answer(
                question=f"pt John Smith DOB 1/2/1950 question {i}: E11.22 with N18.30?",
                answer=answer(i),
                surface="slack_channel",
                user_id=f"U{w}",
                channel="C1",
                latency_ms=10.0,
                index_version="v1",
                uid=uids[i],
            )
            for i in range(w, 1000, 20)
        ]

    with ThreadPoolExecutor(20) as pool:
        ids = [i for chunk in pool.map(writer, range(20)) for i in chunk]
    assert None not in ids and len(set(ids)) == 1000
    assert logger.pending() == 0
    with Session(engine) as s:
        stored = s.exec(select(QueryLog.uid)).all()
        assert sorted(stored) == uids
        assert s.exec(select(sa.func.count()).select_from(QueryCitation)).one() == 2000
        sample = s.exec(select(QueryLog).where(QueryLog.uid == uids[7])).one()
    assert sample.question == "pt [NAME] DOB [DATE] question 7: E11.22 with N18.30?"
    assert sample.user_hash == logger.hash_user("U7") and sample.codes == "E11.22"
    logger.close()


def test_logger_never_writes_raw_text_to_logs(
    engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    logger = qlog.QueryLogger(Settings(_env_file=None, home=tmp_path), engine=engine)
    qid = logger.log_answer(
        question="Mrs. Okafor DOB 3-14-52, SSN 123-45-6789: G20.A1?",
        answer=answer(),
        surface="cli",
        user_id="alice",
        channel=None,
        latency_ms=3.2,
        index_version=None,
    )
    assert qid is not None
    assert (
        logger.feedback(query_id=qid, user_id="alice", value=-1, reason="Okafor needs G20.A2")
        is not None
    )
    assert (
        logger.escalation(
            query_id=str(qid), user_id="alice", channel="C9", note="ask Okafor's doctor"
        )
        is not None
    )
    assert (
        logger.log_answer(
            question="x",
            answer=answer(),
            surface="nope",
            user_id=None,
            channel=None,
            latency_ms=1,
            index_version=None,
        )
        is None
    )  # a bad call is logged, not raised
    for secret in ("Okafor", "3-14-52", "123-45-6789"):
        assert secret not in caplog.text
    assert (tmp_path / qlog.SALT_FILE).stat().st_mode & 0o777 == 0o600
    logger.close()


def test_db_cli_upgrade_purge_status_and_bad_input(db_url: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path, database_url=db_url)
    app = typer.Typer()
    app.add_typer(db_app, name="db")
    runner = CliRunner()

    result = runner.invoke(app, ["db", "upgrade"], obj=settings)
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output

    result = runner.invoke(app, ["db", "purge", "--older-than", "365d"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "Deleted: 0 query_citation" in result.output

    result = runner.invoke(app, ["db", "purge", "--older-than", "a year"], obj=settings)
    assert result.exit_code == 2
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # undo rich's error panel
    assert (
        "'a year' is not a duration: use a positive number followed by d (days), w (weeks) or h (hours)"
        in flat
    )

    result = runner.invoke(app, ["db", "status"], obj=settings)
    assert result.exit_code == 0 and "Queued records: 0 pending" in result.output

    from codedesk.review.db import dispose_engines

    dispose_engines()


def _worker_process(
    db_url: str, home: str, worker: int, results: mp.Queue[tuple[int, int, int]]
) -> None:
    """One bot worker: its own engine and logger, 5 threads writing, and claims of shared event ids."""
    from codedesk.review.db import dispose_engines

    dispose_engines()  # never reuse the parent's connections after fork
    engine = make_engine(db_url)
    logger = qlog.QueryLogger(
        Settings(_env_file=None, home=Path(home)), engine=engine, hash_secret="s"
    )

    def thread(t: int) -> int:
        return sum(
            logger.log_answer(
                question=f"worker {worker} thread {t} record {i}: E11.22?",
                answer=answer(i),
                surface="slack_channel",
                user_id="U1",
                channel="C1",
                latency_ms=1.0,
                index_version="v1",
                uid=f"00000000-0000-4000-8000-{worker:04d}{t:04d}{i:04d}",
            )
            is not None
            for i in range(50)
        )

    with ThreadPoolExecutor(5) as pool:
        stored = sum(pool.map(thread, range(5)))
    claims = sum(logger.claim_event(f"shared-{i}") for i in range(10))
    allowed = sum(
        logger.allow_request(user_id="U-shared", limit=7, window_s=3600) for _ in range(5)
    )
    results.put((stored, claims, allowed))
    logger.close()
    engine.dispose()


def test_four_worker_processes_share_dedup_rate_limit_and_log(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    ctx = mp.get_context("fork")
    results: mp.Queue[tuple[int, int, int]] = ctx.Queue()
    procs = [
        ctx.Process(target=_worker_process, args=(db_url, str(tmp_path / "home"), w, results))
        for w in range(4)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sum(o[0] for o in outcomes) == 1000  # 4 processes × 5 threads × 50 records
    assert (
        sum(o[1] for o in outcomes) == 10
    )  # each shared Slack event answered by exactly one worker
    assert sum(o[2] for o in outcomes) == 7  # the rate limit holds across processes
    with Session(engine) as s:
        assert s.exec(select(sa.func.count(sa.distinct(QueryLog.uid)))).one() == 1000
        assert s.exec(select(sa.func.count()).select_from(QueryLog)).one() == 1000


def test_a_schema_newer_than_this_release_is_left_alone(tmp_path: Path) -> None:
    from codedesk.review.migrate import ensure_schema

    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade_engine(engine)
    with engine.begin() as conn:  # a later release migrated this database during a rolling deploy
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    ensure_schema(engine)
    logger = qlog.QueryLogger(Settings(_env_file=None, home=tmp_path), engine=engine)
    assert (
        logger.log_answer(
            question="E11.22?",
            answer=answer(),
            surface="cli",
            user_id=None,
            channel=None,
            latency_ms=1,
            index_version=None,
        )
        is not None
    )
    assert current_revision(engine) == "9999_future"
    logger.close()
    engine.dispose()
