"""SQLModel tables of the query log, layered as ``XBase`` (shared fields) → ``X(table=True)``.

Every free-text column holds text that has already been through `codedesk.phi.scrub.scrub`; raw
questions never reach these models. Timestamps are timezone-aware UTC on every backend.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SURFACES = frozenset({"slack_channel", "slack_dm", "slack_command", "assistant", "cli"})
DECISION_STATUSES = frozenset({"proposed", "accepted", "rejected", "superseded"})
ESCALATION_STATUSES = frozenset({"open", "resolved"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uid() -> str:
    """A client-generated record id: the key that makes queued writes idempotent."""
    return str(uuid.uuid4())


class UTCDateTime(sa.types.TypeDecorator):
    """DateTime that always comes back timezone-aware UTC (SQLite stores no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(timezone.utc)")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: store them without an offset so they sort.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _uid_field() -> str:
    return Field(default_factory=new_uid, max_length=36, unique=True, index=True)


def _created_field() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


# --- the query and its citations ---------------------------------------------------------------


class QueryLogBase(SQLModel):
    question: str = Field(sa_type=sa.Text, description="Scrubbed question text")
    normalized: str = Field(
        sa_type=sa.Text, description="Lower-cased, punctuation-folded scrubbed text"
    )
    surface: str = Field(max_length=16, index=True)
    user_hash: str | None = Field(default=None, max_length=64, index=True)
    channel_id: str | None = Field(default=None, max_length=32)
    answer_summary: str | None = Field(default=None, sa_type=sa.Text)
    codes: str | None = Field(default=None, max_length=512, description="Comma-joined, best first")
    confidence: str | None = Field(default=None, max_length=8, index=True)
    latency_ms: float | None = None
    index_version: str | None = Field(default=None, max_length=64)
    fiscal_year: str | None = Field(default=None, max_length=8)
    phi_found: str | None = Field(
        default=None, max_length=256, description="kind:count of what scrub removed"
    )


class QueryLog(QueryLogBase, table=True):
    __tablename__ = "query_log"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = _uid_field()
    created_at: datetime = _created_field()
    topic_id: int | None = Field(
        default=None, foreign_key="review_topic.id", index=True, ondelete="SET NULL"
    )


# an Alphabetic Index path through "see" references can run past it: the log cuts a section to this length
SECTION_CHARS = 128


class QueryCitationBase(SQLModel):
    rank: int = 0
    source_type: str = Field(max_length=32)
    title: str = Field(max_length=512)
    section: str | None = Field(default=None, max_length=SECTION_CHARS)
    page: int | None = None
    code: str | None = Field(default=None, max_length=16, index=True)
    fiscal_year: str | None = Field(default=None, max_length=8)


class QueryLogCreate(QueryLogBase):
    """A query ready to store (already scrubbed); the shape queued while the database is down."""

    uid: str = Field(default_factory=new_uid, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    citations: list[QueryCitationBase] = Field(default_factory=list)


class QueryCitation(QueryCitationBase, table=True):
    __tablename__ = "query_citation"

    id: int | None = Field(default=None, primary_key=True)
    query_id: int = Field(foreign_key="query_log.id", index=True, ondelete="CASCADE")


# --- what people did with an answer ------------------------------------------------------------


class FeedbackBase(SQLModel):
    value: int = Field(description="+1 or -1")
    reason: str | None = Field(default=None, sa_type=sa.Text, description="Scrubbed")
    user_hash: str | None = Field(default=None, max_length=64)


class Feedback(FeedbackBase, table=True):
    __tablename__ = "feedback"
    __table_args__ = (sa.CheckConstraint("value IN (-1, 1)", name="ck_feedback_value"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = _uid_field()
    query_id: int = Field(foreign_key="query_log.id", index=True, ondelete="CASCADE")
    created_at: datetime = _created_field()


class EscalationBase(SQLModel):
    user_hash: str | None = Field(default=None, max_length=64)
    channel_id: str | None = Field(default=None, max_length=32, description="Where it was posted")
    note: str | None = Field(default=None, sa_type=sa.Text, description="Scrubbed")
    status: str = Field(default="open", max_length=16)


class Escalation(EscalationBase, table=True):
    __tablename__ = "escalation"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = _uid_field()
    query_id: int = Field(foreign_key="query_log.id", index=True, ondelete="CASCADE")
    created_at: datetime = _created_field()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- team-lead review --------------------------------------------------------------------------


class ReviewTopicBase(SQLModel):
    label: str = Field(sa_type=sa.Text, description="A representative scrubbed question")
    normalized: str | None = Field(default=None, sa_type=sa.Text)
    # A summary of every question in the topic, refreshed by `codedesk.review.topics` (migration 0002).
    query_count: int = Field(default=0, description="Questions in the topic, all time")
    first_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    examples: list[str] | None = Field(
        default=None, sa_type=sa.JSON, description="Distinct scrubbed questions, most asked first"
    )
    answer_summary: str | None = Field(
        default=None, sa_type=sa.Text, description="The answer summary most given"
    )
    codes: str | None = Field(
        default=None, max_length=512, description="Codes most given, comma-joined, best first"
    )
    sources: list[dict[str, Any]] | None = Field(
        default=None,
        sa_type=sa.JSON,
        description="Sources most cited: [{source_type, title, section, code, fiscal_year, count}]",
    )


class ReviewTopic(ReviewTopicBase, table=True):
    __tablename__ = "review_topic"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _created_field()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReviewDecisionBase(SQLModel):
    status: str = Field(default="proposed", max_length=16)
    text: str = Field(sa_type=sa.Text, description="The decision, scrubbed")
    decided_by: str | None = Field(default=None, max_length=128)
    effective_date: date | None = None
    guideline_path: str | None = Field(
        default=None, max_length=512, description="Team guideline written from it"
    )


class ReviewDecision(ReviewDecisionBase, table=True):
    __tablename__ = "review_decision"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int | None = Field(
        default=None, foreign_key="review_topic.id", index=True, ondelete="SET NULL"
    )
    created_at: datetime = _created_field()


# --- discussion of code changes in Slack threads ------------------------------------------------


class DiscussionThreadBase(SQLModel):
    channel_id: str = Field(max_length=32)
    message_ts: str = Field(
        max_length=32, description="Slack ts of the posted message: the thread's root"
    )
    chapter: str | None = Field(
        default=None, max_length=8, index=True, description="ICD-10-CM chapter number"
    )
    from_fy: str = Field(max_length=8)
    to_fy: str = Field(max_length=8)
    prefix: str | None = Field(
        default=None, max_length=16, description="Code prefix the digest was limited to"
    )
    title: str | None = Field(default=None, max_length=512)
    counts: dict[str, int] | None = Field(
        default=None, sa_type=sa.JSON, description="Changes by kind"
    )


class DiscussionThread(DiscussionThreadBase, table=True):
    """A message `codedesk digest changes` posted (one per chapter): members discuss it in its thread."""

    __tablename__ = "discussion_thread"
    __table_args__ = (
        sa.UniqueConstraint("channel_id", "message_ts", name="uq_discussion_thread_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _created_field()


class DiscussionReplyBase(SQLModel):
    message_ts: str = Field(max_length=32)
    user_hash: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_type=sa.Text, description="Scrubbed")
    phi_found: str | None = Field(
        default=None, max_length=256, description="kind:count of what scrub removed"
    )


class DiscussionReply(DiscussionReplyBase, table=True):
    """A person's reply in a discussion thread (scrubbed; edits update it, deletions remove it)."""

    __tablename__ = "discussion_reply"
    __table_args__ = (
        sa.UniqueConstraint("thread_id", "message_ts", name="uq_discussion_reply_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="discussion_thread.id", index=True, ondelete="CASCADE")
    created_at: datetime = _created_field()
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DiscussionReactionBase(SQLModel):
    message_ts: str = Field(max_length=32, description="The thread's root or one of its replies")
    reaction: str = Field(
        max_length=64, description="Emoji name without colons: +1, eyes, white_check_mark"
    )
    user_hash: str = Field(default="", max_length=64)


class DiscussionReaction(DiscussionReactionBase, table=True):
    """A reaction on a discussion thread's root message or on one of its replies."""

    __tablename__ = "discussion_reaction"
    __table_args__ = (
        sa.UniqueConstraint(
            "thread_id", "message_ts", "reaction", "user_hash", name="uq_discussion_reaction"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="discussion_thread.id", index=True, ondelete="CASCADE")
    created_at: datetime = _created_field()


# --- state the Slack bot shares across worker processes ----------------------------------------


class SlackEvent(SQLModel, table=True):
    """One row per Slack event id handled: a retry finds its row and is not answered again."""

    __tablename__ = "slack_event"

    event_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = _created_field()


class RateLimit(SQLModel, table=True):
    """Requests per user per fixed window; incremented atomically by an upsert."""

    __tablename__ = "rate_limit"

    user_hash: str = Field(primary_key=True, max_length=64)
    window_s: int = Field(primary_key=True)
    window_start: int = Field(primary_key=True, description="Unix seconds, a multiple of window_s")
    count: int = 0


LOG_TABLES = (QueryLog, QueryCitation, Feedback, Escalation)
