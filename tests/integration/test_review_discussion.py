"""codedesk.review.discussion and review.home on real databases (a SQLite file and the local PostgreSQL, a fresh
schema per module): idempotent thread/reply/reaction writes, scrubbing, edits and deletions, the
period filter of `list_discussions`, and the App Home's week summary and question topics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from codedesk.review import discussion as D
from codedesk.review import log as qlog
from codedesk.review.db import make_engine, session_scope
from codedesk.review.home import recent_questions, topic_for_query, week_summary
from codedesk.review.migrate import upgrade_engine
from codedesk.review.models import QueryLogCreate

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def pg_url(pg_schema) -> Iterator[str]:
    with pg_schema(prefix="codedesk_disc") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        f"sqlite:///{tmp_path / 'log.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    eng = make_engine(url)
    upgrade_engine(eng)
    yield eng
    if request.param == "postgresql":
        with eng.begin() as conn:
            conn.execute(
                sa.text(
                    "TRUNCATE discussion_reaction, discussion_reply, discussion_thread, feedback, "
                    "escalation, query_citation, review_decision, query_log, review_topic "
                    "RESTART IDENTITY CASCADE"
                )
            )
    eng.dispose()


def ts(at: datetime) -> str:
    return f"{at.timestamp():.6f}"


def test_threads_replies_and_reactions(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        t = D.record_thread(
            s,
            channel_id="C1",
            message_ts=ts(T0),
            chapter="4",
            from_fy="2025",
            to_fy="2026",
            title="Endocrine",
            counts={"added": 23},
        )
        again = D.record_thread(
            s, channel_id="C1", message_ts=ts(T0), chapter="4", from_fy="2025", to_fy="2026"
        )
        assert again.id == t.id and t.created_at == T0 and t.counts == {"added": 23}
        r = D.add_reply(
            s,
            thread_id=t.id,
            message_ts=ts(T0 + timedelta(hours=1)),
            user_hash="h1",
            text="Mr. John Smith DOB 01/02/1950: agree, E11.A is the right code",
        )
        assert D.add_reply(s, thread_id=t.id, message_ts=r.message_ts, text="dup").id == r.id
        assert (
            "John Smith" not in r.text
            and "01/02/1950" not in r.text
            and "E11.A" in r.text
            and r.phi_found
        )
        D.add_reaction(
            s,
            thread_id=t.id,
            message_ts=t.message_ts,
            reaction="+1",
            user_hash="h2",
            created_at=T0 + timedelta(hours=2),
        )
        D.add_reaction(
            s, thread_id=t.id, message_ts=t.message_ts, reaction="+1", user_hash="h2"
        )  # idempotent
        D.add_reaction(
            s,
            thread_id=t.id,
            message_ts=r.message_ts,
            reaction="eyes",
            user_hash="h1",
            created_at=T0 + timedelta(days=10),
        )
        assert D.thread_of_message(s, channel_id="C1", message_ts=r.message_ts).id == t.id
        assert D.thread_of_message(s, channel_id="C2", message_ts=r.message_ts) is None

    with session_scope(engine) as s:
        [d] = D.list_discussions(s, since=T0, until=T0 + timedelta(days=7))
        assert (len(d.replies), d.replies_total, dict(d.reactions), d.participants) == (
            1,
            1,
            {"+1": 1},
            2,
        )
        [later] = D.list_discussions(s, since=T0 + timedelta(days=7), until=T0 + timedelta(days=14))
        assert (
            later.replies == []
            and later.replies_total == 1
            and dict(later.reactions) == {"eyes": 1}
        )
        assert D.list_discussions(s, since=T0 + timedelta(days=30)) == []

        assert D.edit_reply(
            s, channel_id="C1", message_ts=r.message_ts, text="call 555-123-4567, E11.A ok"
        ).text.endswith("E11.A ok")
        assert "555-123-4567" not in D.list_replies(s)[0].text
        assert D.remove_reaction(
            s, thread_id=t.id, message_ts=t.message_ts, reaction="+1", user_hash="h2"
        )
        assert not D.remove_reaction(
            s, thread_id=t.id, message_ts=t.message_ts, reaction="+1", user_hash="h2"
        )
        assert D.delete_reply(s, channel_id="C1", message_ts=r.message_ts)
        assert not D.list_replies(s) and not D.list_reactions(
            s
        )  # the reply's reactions went with it

        D.add_reply(s, thread_id=t.id, message_ts=ts(T0 + timedelta(days=1)), text="old news")
        D.add_reply(
            s, thread_id=t.id, message_ts=ts(T0 + timedelta(days=40)), text="still relevant"
        )
        cutoff = T0 + timedelta(days=30)
        assert D.purge_discussions(s, older_than=cutoff, dry_run=True) == {
            "discussion_reaction": 0,
            "discussion_reply": 1,
            "discussion_thread": 0,
        }
        assert D.purge_discussions(s, older_than=cutoff)["discussion_reply"] == 1
        assert [x.text for x in D.list_replies(s)] == ["still relevant"] and D.list_threads(s)
        assert D.purge_discussions(s, older_than=T0 + timedelta(days=50)) == {
            "discussion_reaction": 0,
            "discussion_reply": 1,
            "discussion_thread": 1,
        }
        assert not D.list_threads(s)


def record(question: str, at: datetime, **kw: object) -> QueryLogCreate:
    return QueryLogCreate(
        question=question,
        normalized=question.lower().rstrip("?"),
        surface="slack_channel",
        created_at=at,
        **kw,
    )


def test_week_summary_recent_questions_and_question_topics(engine: sa.Engine) -> None:
    now = T0 + timedelta(days=3)
    with session_scope(engine) as s:
        a = qlog.create_query(
            s, data=record("code for ckd 3?", T0, user_hash="u1", codes="N18.30", confidence="high")
        )
        b = qlog.create_query(
            s,
            data=record(
                "Code for CKD 3",
                T0 + timedelta(hours=1),
                user_hash="u2",
                codes="N18.30",
                confidence="medium",
            ),
        )
        c = qlog.create_query(
            s, data=record("parking?", T0 + timedelta(hours=2), user_hash="u1", confidence="low")
        )
        old = qlog.create_query(
            s,
            data=record(
                "code for ckd 3?", T0 - timedelta(days=20), user_hash="u1", confidence="low"
            ),
        )
        qlog.add_feedback(
            s, query_id=a.id, value=-1, reason="Wrong code", created_at=T0 + timedelta(hours=3)
        )
        qlog.add_feedback(s, query_id=b.id, value=1, created_at=T0 + timedelta(hours=3))

    with session_scope(engine) as s:
        w = week_summary(s, until=now)
        assert (w.questions, w.people, w.thumbs_up, w.thumbs_down, w.low_confidence) == (
            3,
            2,
            1,
            1,
            1,
        )
        assert not w.by_topic and [(t.count, t.query_id) for t in w.top] == [(2, b.id), (1, c.id)]
        assert [i.query_id for i in w.open_low] == [c.id, old.id] and [
            i.query_id for i in w.open_down
        ] == [a.id]
        assert [q.id for q in recent_questions(s, user_hash="u1")] == [c.id, a.id, old.id]

        topic = topic_for_query(
            s, a.id
        )  # one topic for every unclustered question normalised the same
        assert topic_for_query(s, b.id) == topic_for_query(s, old.id) == topic
        assert topic_for_query(s, c.id) != topic
        assert qlog.get_query(s, query_id=b.id).topic_id == topic
        qlog.add_decision(s, topic_id=topic, text="Use N18.30", status="accepted")

    with session_scope(engine) as s:
        w = week_summary(s, until=now)
        assert [i.query_id for i in w.open_low] == [
            c.id
        ] and w.open_down == []  # decided: no longer open
        assert w.top[0].topic_id == topic and w.top[0].decisions == 1
