"""initial query log: queries, citations, feedback, escalations, review topics and decisions,
Slack event de-duplication and the rate limit

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _indexes(table: str, *columns: str, unique: tuple[str, ...] = ()) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=column in unique)


def upgrade() -> None:
    op.create_table(
        "review_topic",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("normalized", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
    )
    _indexes("review_topic", "created_at")

    op.create_table(
        "query_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("normalized", sa.Text(), nullable=False),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("user_hash", sa.String(64), nullable=True),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("answer_summary", sa.Text(), nullable=True),
        sa.Column("codes", sa.String(512), nullable=True),
        sa.Column("confidence", sa.String(8), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("index_version", sa.String(64), nullable=True),
        sa.Column("fiscal_year", sa.String(8), nullable=True),
        sa.Column("phi_found", sa.String(256), nullable=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("review_topic.id", ondelete="SET NULL"), nullable=True),
    )
    _indexes("query_log", "uid", "created_at", "surface", "user_hash", "confidence", "topic_id", unique=("uid",))

    op.create_table(
        "query_citation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("query_id", sa.Integer(), sa.ForeignKey("query_log.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.String(32), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("section", sa.String(128), nullable=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(16), nullable=True),
        sa.Column("fiscal_year", sa.String(8), nullable=True),
    )
    _indexes("query_citation", "query_id", "code")

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("query_id", sa.Integer(), sa.ForeignKey("query_log.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("user_hash", sa.String(64), nullable=True),
        sa.CheckConstraint("value IN (-1, 1)", name="ck_feedback_value"),
    )
    _indexes("feedback", "uid", "query_id", "created_at", unique=("uid",))

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("query_id", sa.Integer(), sa.ForeignKey("query_log.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("user_hash", sa.String(64), nullable=True),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolved_at", _utc(), nullable=True),
    )
    _indexes("escalation", "uid", "query_id", "created_at", unique=("uid",))

    op.create_table(
        "review_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("review_topic.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("guideline_path", sa.String(512), nullable=True),
    )
    _indexes("review_decision", "topic_id", "created_at")

    op.create_table(
        "slack_event",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("received_at", _utc(), nullable=False),
    )
    _indexes("slack_event", "received_at")

    op.create_table(
        "rate_limit",
        sa.Column("user_hash", sa.String(64), primary_key=True),
        sa.Column("window_s", sa.Integer(), primary_key=True),
        sa.Column("window_start", sa.Integer(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in ("rate_limit", "slack_event", "review_decision", "escalation", "feedback", "query_citation",
                  "query_log", "review_topic"):
        op.drop_table(table)
