"""What the Slack App Home and the weekly digest show, read from the query log.

- `week_summary(session, since=…, until=…)`: the period's counts (questions, people, 👍/👎,
  low-confidence answers, open escalations), its most asked topics — the review topics of
  `codedesk.review.topics` when its questions were clustered, else the most frequent normalised questions —
  and the open items a team lead should look at: low-confidence answers and 👎 whose topic has
  no decision yet.
- `recent_questions(session, user_hash=…)`: one person's latest questions (by user hash).
- `topic_for_query(session, query_id)`: the review topic a decision on this question attaches to —
  its own, or a new topic for exactly its normalised question when the period was never clustered
  (`codedesk review topics` will keep that topic id when it clusters those questions later).

Everything returned was scrubbed before it was stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from codedesk.review.models import (
    Escalation,
    Feedback,
    QueryLog,
    ReviewDecision,
    ReviewTopic,
    utcnow,
)

WEEK = timedelta(days=7)
OPEN_ITEMS_DAYS = 30


@dataclass(slots=True)
class TopQuestion:
    """A topic (or, without topics, one normalised question) and how often it was asked."""

    label: str
    count: int
    query_id: int  # the latest question of the group: what a decision button refers to
    topic_id: int | None = None
    codes: str | None = None
    decisions: int = 0  # decisions recorded on the topic


@dataclass(slots=True)
class OpenItem:
    kind: str  # low_confidence | thumbs_down
    query_id: int
    question: str
    when: datetime
    topic_id: int | None = None
    codes: str | None = None
    confidence: str | None = None
    detail: str | None = None  # the 👎 reason


@dataclass(slots=True)
class WeekSummary:
    since: datetime
    until: datetime
    questions: int = 0
    people: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    low_confidence: int = 0
    escalations_open: int = 0
    by_topic: bool = False  # True when `top` are review topics, False for normalised questions
    top: list[TopQuestion] = field(default_factory=list)
    open_low: list[OpenItem] = field(default_factory=list)
    open_down: list[OpenItem] = field(default_factory=list)
    open_low_total: int = 0
    open_down_total: int = 0

    @property
    def helpful_ratio(self) -> float | None:
        votes = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / votes if votes else None


def _decided_topics(session: Session, topic_ids: set[int]) -> Counter[int]:
    if not topic_ids:
        return Counter()
    stmt = select(ReviewDecision.topic_id).where(
        col(ReviewDecision.topic_id).in_(sorted(topic_ids))
    )
    return Counter(t for t in session.exec(stmt) if t is not None)


def _top(rows: Sequence[QueryLog], session: Session, limit: int) -> tuple[bool, list[TopQuestion]]:
    """Topics when most of the period's questions were clustered, else normalised questions."""
    clustered = sum(1 for r in rows if r.topic_id is not None)
    by_topic = bool(rows) and clustered * 2 >= len(rows)
    groups: dict[object, list[QueryLog]] = defaultdict(list)
    for r in rows:
        key: object = (
            r.topic_id if by_topic and r.topic_id is not None else ("q", r.normalized.strip())
        )
        groups[key].append(r)
    ordered = sorted(
        groups.items(), key=lambda kv: (-len(kv[1]), -kv[1][-1].created_at.timestamp())
    )[:limit]
    topic_ids = {k for k, _ in ordered if isinstance(k, int)}
    topics = {
        t.id: t
        for t in session.exec(select(ReviewTopic).where(col(ReviewTopic.id).in_(sorted(topic_ids))))
    }
    all_topics = topic_ids | {m[-1].topic_id for _, m in ordered if m[-1].topic_id is not None}
    decided = _decided_topics(session, all_topics)
    out = []
    for key, members in ordered:
        latest = members[-1]
        assert latest.id is not None
        topic = topics.get(key) if isinstance(key, int) else None
        codes = Counter(c for m in members for c in (m.codes or "").split(",")[:1] if c)
        out.append(
            TopQuestion(
                label=topic.label if topic is not None else latest.question,
                count=len(members),
                query_id=latest.id,
                topic_id=latest.topic_id,
                codes=(
                    topic.codes
                    if topic is not None and topic.codes
                    else ",".join(c for c, _ in codes.most_common(3)) or None
                ),
                decisions=decided.get(latest.topic_id, 0) if latest.topic_id else 0,
            )
        )
    return by_topic, out


def week_summary(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = 5,
    items: int = 5,
    items_since: datetime | None = None,
) -> WeekSummary:
    """The period [since, until) — by default the 7 days up to now — for a team lead. Open items
    come from `items_since` (default 30 days before `until`) and leave the list once a decision is
    recorded on their topic."""
    until = until or utcnow()
    since = since or until - WEEK
    items_since = items_since or until - timedelta(days=OPEN_ITEMS_DAYS)
    rows = list(
        session.exec(
            select(QueryLog)
            .where(QueryLog.created_at >= since, QueryLog.created_at < until)
            .order_by(col(QueryLog.created_at), col(QueryLog.id))
        )
    )
    out = WeekSummary(since=since, until=until, questions=len(rows))
    out.people = len({r.user_hash for r in rows if r.user_hash})
    out.low_confidence = sum(1 for r in rows if r.confidence == "low")
    votes = Counter(
        session.exec(
            select(Feedback.value).where(Feedback.created_at >= since, Feedback.created_at < until)
        )
    )
    out.thumbs_up, out.thumbs_down = votes.get(1, 0), votes.get(-1, 0)
    out.escalations_open = session.exec(
        select(sa.func.count()).select_from(Escalation).where(Escalation.status == "open")
    ).one()
    out.by_topic, out.top = _top(rows, session, top)

    # open items: low confidence and 👎 whose topic has no decision, newest first
    low = list(
        session.exec(
            select(QueryLog)
            .where(
                QueryLog.confidence == "low",
                QueryLog.created_at >= items_since,
                QueryLog.created_at < until,
            )
            .order_by(col(QueryLog.created_at).desc(), col(QueryLog.id).desc())
        )
    )
    downs = list(
        session.exec(
            select(Feedback, QueryLog)
            .join(QueryLog, col(QueryLog.id) == col(Feedback.query_id))
            .where(
                Feedback.value == -1,
                Feedback.created_at >= items_since,
                Feedback.created_at < until,
            )
            .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
        )
    )
    decided = _decided_topics(
        session,
        {q.topic_id for q in low if q.topic_id} | {q.topic_id for _, q in downs if q.topic_id},
    )
    open_low = [q for q in low if not (q.topic_id and decided.get(q.topic_id))]
    seen: set[int] = set()
    open_down: list[tuple[Feedback, QueryLog]] = []
    for fb, q in downs:
        if (q.topic_id and decided.get(q.topic_id)) or q.id in seen:
            continue
        seen.add(q.id)  # type: ignore[arg-type]
        open_down.append((fb, q))
    out.open_low_total, out.open_down_total = len(open_low), len(open_down)
    out.open_low = [
        OpenItem(
            "low_confidence",
            q.id,
            q.question,
            q.created_at,
            q.topic_id,
            q.codes,  # type: ignore[arg-type]
            q.confidence,
        )
        for q in open_low[:items]
    ]
    out.open_down = [
        OpenItem(
            "thumbs_down",
            q.id,
            q.question,
            fb.created_at,
            q.topic_id,
            q.codes,  # type: ignore[arg-type]
            q.confidence,
            fb.reason,
        )
        for fb, q in open_down[:items]
    ]
    return out


def recent_questions(session: Session, *, user_hash: str, limit: int = 10) -> list[QueryLog]:
    """A person's latest questions, newest first."""
    stmt = (
        select(QueryLog)
        .where(QueryLog.user_hash == user_hash)
        .order_by(col(QueryLog.created_at).desc(), col(QueryLog.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))


def topic_for_query(session: Session, query_id: int) -> int:
    """The review topic of a logged question; when it has none, a new topic for exactly its
    normalised question, gathering every unclustered question with the same normalised text.
    Raises LookupError for an unknown query."""
    from codedesk.review.log import create_topic
    from codedesk.review.topics import refresh_summaries

    q = session.get(QueryLog, query_id)
    if q is None:
        raise LookupError(f"no query {query_id}")
    if q.topic_id is not None:
        return q.topic_id
    same = list(
        session.exec(
            select(QueryLog.id).where(
                QueryLog.normalized == q.normalized, col(QueryLog.topic_id).is_(None)
            )
        )
    )
    topic = create_topic(
        session, label=q.question, query_ids=[i for i in same if i is not None] or [query_id]
    )
    assert topic.id is not None
    session.flush()
    session.expire_all()
    refresh_summaries(session, [topic.id])
    session.flush()
    return topic.id
