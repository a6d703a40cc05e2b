"""Retention: delete log rows older than a cut-off (`codedesk db purge --older-than 365d`).

A query goes with its citations, feedback and escalations. Review topics and decisions are the
team's knowledge and stay; the summaries of topics that lost questions are recomputed from what
is left, so no purged question survives as a topic example. Slack event ids and rate-limit windows
are only needed for minutes, so
they go after `ephemeral_older_than` (one day) whatever the main cut-off.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from codedesk.review.models import (
    Escalation,
    Feedback,
    QueryCitation,
    QueryLog,
    RateLimit,
    SlackEvent,
    utcnow,
)

log = logging.getLogger(__name__)


def purge(
    session: Session,
    older_than: timedelta,
    *,
    now: datetime | None = None,
    ephemeral_older_than: timedelta = timedelta(days=1),
    dry_run: bool = False,
) -> dict[str, int]:
    """Delete what is older than `older_than`; returns row counts per table (counted, not deleted,
    with `dry_run`). The caller commits."""
    if older_than <= timedelta(0):
        raise ValueError("older_than must be positive")
    now = now or utcnow()
    cutoff = now - older_than
    ephemeral_cutoff = now - min(ephemeral_older_than, older_than)
    old_queries = select(QueryLog.id).where(QueryLog.created_at < cutoff)
    plan = [
        ("query_citation", QueryCitation, col(QueryCitation.query_id).in_(old_queries)),
        ("feedback", Feedback, col(Feedback.query_id).in_(old_queries)),
        ("escalation", Escalation, col(Escalation.query_id).in_(old_queries)),
        ("query_log", QueryLog, col(QueryLog.created_at) < cutoff),
        ("slack_event", SlackEvent, col(SlackEvent.received_at) < ephemeral_cutoff),
        (
            "rate_limit",
            RateLimit,
            col(RateLimit.window_start) + col(RateLimit.window_s)
            < int(ephemeral_cutoff.timestamp()),
        ),
    ]
    counts: dict[str, int] = {}
    # Topic summaries quote example questions: refresh those that lose questions, so no purged
    # text survives in them (the topics and their decisions stay).
    topics = (
        []
        if dry_run
        else [
            t
            for t in session.exec(
                select(QueryLog.topic_id)
                .where(col(QueryLog.created_at) < cutoff, col(QueryLog.topic_id).is_not(None))
                .distinct()
            )
            if t is not None
        ]
    )
    for name, model, where in plan:  # children first: SQLite may run without ON DELETE CASCADE
        if dry_run:
            counts[name] = session.exec(
                select(sa.func.count()).select_from(model).where(where)
            ).one()
        else:
            counts[name] = session.exec(delete(model).where(where)).rowcount
    from codedesk.review.discussion import purge_discussions

    counts.update(purge_discussions(session, older_than=cutoff, dry_run=dry_run))
    if topics:
        from codedesk.review.topics import refresh_summaries

        refresh_summaries(session, topics)
    log.info(
        "purge cutoff=%s dry_run=%s %s",
        cutoff.isoformat(timespec="seconds"),
        dry_run,
        " ".join(f"{k}={v}" for k, v in counts.items()),
    )
    return counts
