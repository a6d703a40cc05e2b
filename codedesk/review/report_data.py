"""What the team-lead review shows, read from the log: the period, the records and the queries.

`resolve_period` turns `--since/--until/--days` into a UTC period [since, until); `build_report`
reads the period's questions, feedback, escalations, decisions and code-change discussions into a
`ReviewReport` (topics must be refreshed first); `generate_report` refreshes the topics and builds
it. The renderers (`report_markdown`, `report_csv`, `report_html`) only read these records.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from codedesk.review.models import (
    Escalation,
    Feedback,
    QueryLog,
    ReviewDecision,
    ReviewTopic,
    utcnow,
)
from codedesk.review.topics import TopicStats, load_period, summarize

DEFAULT_DAYS = 30
MAX_DAYS = (
    3653  # ten years: a longer review period is a typo, and dates past year 9999 cannot be built
)
CONFIDENCES = ("high", "medium", "low")
_GUIDELINE_ID = re.compile(r"TG-\d{3,}")


class PeriodError(ValueError):
    """A period the user gave cannot be used; the message says what to type instead."""


# --- periods --------------------------------------------------------------------------------------


def parse_day(text: str | date | None, what: str) -> date | None:
    if text is None or isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(
            f"{what} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-10-01"
        ) from None


def resolve_period(
    since: str | date | None = None,
    until: str | date | None = None,
    days: int | None = None,
    *,
    today: date | None = None,
) -> tuple[datetime, datetime]:
    """The UTC period [since, until) of `codedesk review`: `until` is a day included in full
    (default today); `since` is the first day (default `days` before until, 30 by default).
    With `since` and `days` but no `until`, the period is `days` long from `since`."""
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise PeriodError(f"--days must be between 1 and {MAX_DAYS:,} (10 years), not {days:,}")
    today = today or utcnow().date()
    try:
        if last is None:
            last = (
                first + timedelta(days=days - 1)
                if first is not None and days is not None
                else today
            )
        if first is None:
            first = last - timedelta(days=(days or DEFAULT_DAYS) - 1)
        end_day = last + timedelta(days=1)
    except OverflowError:  # a period reaching past year 1 or 9999
        raise PeriodError(
            "the period reaches past the calendar (year 1 to 9999): give a shorter --days "
            "or a nearer --since/--until"
        ) from None
    if first > last:
        raise PeriodError(f"--since {first.isoformat()} is after --until {last.isoformat()}")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(
            f"the period {first.isoformat()} – {last.isoformat()} is longer than {MAX_DAYS:,} days "
            f"(10 years): give a nearer --since or a smaller --days"
        )
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(end_day, time.min, tzinfo=UTC)
    return start, end


def period_label(since: datetime, until: datetime) -> str:
    last = (until - timedelta(microseconds=1)).date()
    first = since.date()
    if first == last:
        return _day(first)
    return f"{_day(first)} – {_day(last)}"


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%b %Y')}"


# --- the report -----------------------------------------------------------------------------------


@dataclass(slots=True)
class DecisionInfo:
    id: int
    topic_id: int | None
    topic_label: str | None
    status: str
    text: str
    decided_by: str | None
    effective: date | None
    created_at: datetime
    guideline_path: str | None

    @property
    def guideline_id(self) -> str | None:
        m = _GUIDELINE_ID.search(Path(self.guideline_path).name) if self.guideline_path else None
        return m.group(0) if m else None


@dataclass(slots=True)
class ReportTopic:
    topic_id: int
    label: str
    count: int  # questions in the period
    share: float  # of the period's questions
    stats: TopicStats  # of the period's questions
    total: int  # all time
    thumbs_up: int = 0
    thumbs_down: int = 0
    escalations: int = 0
    decisions: list[DecisionInfo] = field(default_factory=list)


@dataclass(slots=True)
class ReportItem:
    kind: str  # low_confidence | thumbs_down | escalation
    created_at: datetime
    query_id: int
    topic_id: int | None
    question: str
    answer_summary: str | None
    codes: str | None
    confidence: str | None
    detail: str | None = None  # the 👎 reason or the escalation note
    status: str | None = None  # escalation status


@dataclass(slots=True)
class WeekCount:
    start: date  # the Monday, or the period's first day for a partial first week
    questions: int = 0
    low: int = 0


@dataclass(slots=True)
class ReviewReport:
    since: datetime
    until: datetime
    generated_at: datetime
    questions: int = 0
    people: int = 0
    surfaces: Counter[str] = field(default_factory=Counter)
    confidence: Counter[str] = field(default_factory=Counter)
    thumbs_up: int = 0
    thumbs_down: int = 0
    escalations_open: int = 0
    latency_median_ms: float | None = None
    fiscal_years: list[str] = field(default_factory=list)
    weeks: list[WeekCount] = field(default_factory=list)
    topics: list[ReportTopic] = field(default_factory=list)
    ungrouped: int = 0  # questions without a topic (logged after the last clustering)
    low_confidence: list[ReportItem] = field(default_factory=list)
    thumbs_down_items: list[ReportItem] = field(default_factory=list)
    escalations: list[ReportItem] = field(default_factory=list)
    decisions: list[DecisionInfo] = field(default_factory=list)  # recorded in the period
    discussions: list[Any] = field(
        default_factory=list
    )  # review.discussion.Discussion: code-change threads

    @property
    def period(self) -> str:
        return period_label(self.since, self.until)

    @property
    def empty(self) -> bool:
        return self.questions == 0

    @property
    def repeated_topics(self) -> int:
        return sum(1 for t in self.topics if t.count > 1)

    def share(self, confidence: str) -> float:
        return self.confidence.get(confidence, 0) / self.questions if self.questions else 0.0

    @property
    def helpful_ratio(self) -> float | None:
        votes = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / votes if votes else None


def build_report(
    session: Session, *, since: datetime, until: datetime, now: datetime | None = None
) -> ReviewReport:
    """Read the period's questions, feedback, escalations and decisions into a `ReviewReport`."""
    report = ReviewReport(since=since, until=until, generated_at=now or utcnow())
    rows, cites = load_period(session, since, until)
    report.questions = len(rows)
    report.people = len({r.user_hash for r in rows if r.user_hash})
    report.surfaces = Counter(r.surface for r in rows)
    report.confidence = Counter(r.confidence or "unknown" for r in rows)
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    report.latency_median_ms = statistics.median(latencies) if latencies else None
    report.fiscal_years = sorted({r.fiscal_year for r in rows if r.fiscal_year})
    report.weeks = _weeks(rows, since, until)

    feedback = list(
        session.exec(
            select(Feedback)
            .where(Feedback.created_at >= since, Feedback.created_at < until)
            .order_by(col(Feedback.created_at), col(Feedback.id))
        )
    )
    escalations = list(
        session.exec(
            select(Escalation)
            .where(Escalation.created_at >= since, Escalation.created_at < until)
            .order_by(col(Escalation.created_at), col(Escalation.id))
        )
    )
    queries = {r.id: r for r in rows}
    missing = {f.query_id for f in feedback} | {e.query_id for e in escalations}
    missing -= set(queries)
    for start in range(0, len(missing), 500):  # feedback in the period on questions asked before it
        chunk = sorted(missing)[start : start + 500]
        queries.update(
            {r.id: r for r in session.exec(select(QueryLog).where(col(QueryLog.id).in_(chunk)))}
        )

    report.thumbs_up = sum(1 for f in feedback if f.value > 0)
    report.thumbs_down = sum(1 for f in feedback if f.value < 0)
    report.escalations_open = sum(1 for e in escalations if e.status == "open")

    # topics
    by_topic: dict[int, list[QueryLog]] = defaultdict(list)
    for r in rows:
        if r.topic_id is None:
            report.ungrouped += 1
        else:
            by_topic[r.topic_id].append(r)
    topics = {
        t.id: t
        for t in session.exec(select(ReviewTopic).where(col(ReviewTopic.id).in_(list(by_topic))))
    }
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    for f in feedback:
        q = queries.get(f.query_id)
        if q is not None and q.topic_id is not None:
            votes[q.topic_id][f.value] += 1
    esc_count: Counter[int] = Counter()
    for e in escalations:
        q = queries.get(e.query_id)
        if q is not None and q.topic_id is not None:
            esc_count[q.topic_id] += 1
    decisions = _decisions(session, since, until, set(by_topic))
    for topic_id, members in by_topic.items():
        topic = topics.get(topic_id)
        if topic is None:
            continue
        report.topics.append(
            ReportTopic(
                topic_id=topic_id,
                label=topic.label,
                count=len(members),
                share=len(members) / len(rows),
                stats=summarize(members, cites),
                total=max(topic.query_count, len(members)),
                thumbs_up=votes[topic_id][1],
                thumbs_down=votes[topic_id][-1],
                escalations=esc_count[topic_id],
                decisions=[d for d in decisions if d.topic_id == topic_id],
            )
        )
    report.topics.sort(
        key=lambda t: (-t.count, -(t.stats.last_seen or since).timestamp(), t.topic_id)
    )

    # items
    def item(
        kind: str, q: QueryLog, when: datetime, detail: str | None = None, status: str | None = None
    ) -> ReportItem:
        assert q.id is not None
        return ReportItem(
            kind,
            when,
            q.id,
            q.topic_id,
            q.question,
            q.answer_summary,
            q.codes,
            q.confidence,
            detail,
            status,
        )

    report.low_confidence = [
        item("low_confidence", r, r.created_at) for r in rows if r.confidence == "low"
    ]
    report.thumbs_down_items = [
        item("thumbs_down", queries[f.query_id], f.created_at, f.reason)
        for f in feedback
        if f.value < 0 and f.query_id in queries
    ]
    report.escalations = [
        item("escalation", queries[e.query_id], e.created_at, e.note, e.status)
        for e in escalations
        if e.query_id in queries
    ]
    report.decisions = [d for d in decisions if since <= d.created_at < until]
    from codedesk.review.discussion import list_discussions

    report.discussions = list_discussions(session, since=since, until=until)
    return report


def _weeks(rows: Sequence[QueryLog], since: datetime, until: datetime) -> list[WeekCount]:
    first = since.date()
    last = (until - timedelta(microseconds=1)).date()
    monday = first - timedelta(days=first.weekday())
    weeks: list[WeekCount] = []
    index: dict[date, WeekCount] = {}
    while monday <= last:
        wc = WeekCount(start=max(monday, first))
        weeks.append(wc)
        index[monday] = wc
        monday += timedelta(days=7)
    for r in rows:
        d = r.created_at.date()
        wc = index.get(d - timedelta(days=d.weekday()))
        if wc is not None:
            wc.questions += 1
            wc.low += r.confidence == "low"
    return weeks


def _decisions(
    session: Session, since: datetime, until: datetime, topic_ids: set[int]
) -> list[DecisionInfo]:
    stmt = select(ReviewDecision, ReviewTopic.label).join(
        ReviewTopic, col(ReviewTopic.id) == col(ReviewDecision.topic_id), isouter=True
    )
    out = []
    for d, label in session.exec(
        stmt.order_by(col(ReviewDecision.created_at), col(ReviewDecision.id))
    ):
        if d.topic_id in topic_ids or since <= d.created_at < until:
            assert d.id is not None
            out.append(
                DecisionInfo(
                    d.id,
                    d.topic_id,
                    label,
                    d.status,
                    d.text,
                    d.decided_by,
                    d.effective_date,
                    d.created_at,
                    d.guideline_path,
                )
            )
    return out


def generate_report(
    settings: Any, *, since: datetime, until: datetime, embedder: Any = None, cluster: bool = True
) -> ReviewReport:
    """Refresh the period's topics (unless `cluster=False`) and build its report."""
    from codedesk.review.db import engine_for, session_scope
    from codedesk.review.migrate import ensure_schema

    engine = engine_for(settings)
    ensure_schema(engine)
    if cluster:
        from codedesk.review.topics import refresh_topics

        with session_scope(engine) as session:
            if (
                session.exec(
                    select(QueryLog.id)
                    .where(QueryLog.created_at >= since, QueryLog.created_at < until)
                    .limit(1)
                ).first()
                is not None
            ):
                refresh_topics(
                    session,
                    since=since,
                    until=until,
                    embedder=embedder or default_embedder(settings),
                )
    with session_scope(engine) as session:
        return build_report(session, since=since, until=until)


def default_embedder(settings: Any) -> Any:
    from codedesk.embeddings import get_embedder

    return get_embedder(settings.cache_dir, settings.embedding_backend)
