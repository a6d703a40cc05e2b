"""review topic summary: question count, first and last seen, examples, the answer, codes and
sources most given (refreshed by `codedesk.review.topics`)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_topic") as batch:
        batch.add_column(sa.Column("query_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("examples", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("answer_summary", sa.Text(), nullable=True))
        batch.add_column(sa.Column("codes", sa.String(512), nullable=True))
        batch.add_column(sa.Column("sources", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_topic") as batch:
        for column in ("updated_at", "sources", "codes", "answer_summary", "examples", "last_seen", "first_seen",
                       "query_count"):
            batch.drop_column(column)
