"""discussion of code changes: the messages `codedesk digest changes` posted (one per chapter), the
replies in their threads (scrubbed) and the reactions on them

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "discussion_thread",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("chapter", sa.String(8), nullable=True),
        sa.Column("from_fy", sa.String(8), nullable=False),
        sa.Column("to_fy", sa.String(8), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=True),
        sa.Column("title", sa.String(512), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.UniqueConstraint("channel_id", "message_ts", name="uq_discussion_thread_message"),
    )
    op.create_index("ix_discussion_thread_created_at", "discussion_thread", ["created_at"])
    op.create_index("ix_discussion_thread_chapter", "discussion_thread", ["chapter"])

    op.create_table(
        "discussion_reply",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("thread_id", sa.Integer(), sa.ForeignKey("discussion_thread.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("edited_at", _utc(), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("user_hash", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("phi_found", sa.String(256), nullable=True),
        sa.UniqueConstraint("thread_id", "message_ts", name="uq_discussion_reply_message"),
    )
    op.create_index("ix_discussion_reply_thread_id", "discussion_reply", ["thread_id"])
    op.create_index("ix_discussion_reply_created_at", "discussion_reply", ["created_at"])

    op.create_table(
        "discussion_reaction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("thread_id", sa.Integer(), sa.ForeignKey("discussion_thread.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("reaction", sa.String(64), nullable=False),
        sa.Column("user_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("thread_id", "message_ts", "reaction", "user_hash", name="uq_discussion_reaction"),
    )
    op.create_index("ix_discussion_reaction_thread_id", "discussion_reaction", ["thread_id"])
    op.create_index("ix_discussion_reaction_created_at", "discussion_reaction", ["created_at"])


def downgrade() -> None:
    for table in ("discussion_reaction", "discussion_reply", "discussion_thread"):
        op.drop_table(table)
