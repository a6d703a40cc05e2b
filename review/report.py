"""The team-lead review of a period: what coders asked most, where answers were weak, what was decided.

`build_report(session, since=…, until=…)` reads the log (topics must be refreshed first:
`review.topics.refresh_topics`, or use `generate_report(settings, …)` which does both) and returns
a `ReviewReport`; the renderers turn it into Markdown (`to_markdown`), CSV (`topics_csv`, one row
per topic, and `items_csv`, one row per low-confidence answer, 👎 and escalation) and a
self-contained HTML page with inline SVG charts for the monthly meeting (`to_html`: no script, no
web font, no network).

Everything shown was scrubbed before it was stored. Periods are half-open, ``since <= t < until``,
in UTC.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from review.escaping import csv_cell, md_text, strip_controls
from review.models import Escalation, Feedback, QueryLog, ReviewDecision, ReviewTopic, utcnow
from review.topics import SourceCount, TopicStats, load_period, summarize

DEFAULT_DAYS = 30
MAX_DAYS = 3653  # ten years: a longer review period is a typo, and dates past year 9999 cannot be built
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
        raise PeriodError(f"{what} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-10-01") from None


def resolve_period(since: str | date | None = None, until: str | date | None = None, days: int | None = None,
                   *, today: date | None = None) -> tuple[datetime, datetime]:
    """The UTC period [since, until) of `codedesk review`: `until` is a day included in full
    (default today); `since` is the first day (default `days` before until, 30 by default).
    With `since` and `days` but no `until`, the period is `days` long from `since`."""
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise PeriodError(f"--days must be between 1 and {MAX_DAYS:,} (10 years), not {days:,}")
    today = today or utcnow().date()
    try:
        if last is None:
            last = first + timedelta(days=days - 1) if first is not None and days is not None else today
        if first is None:
            first = last - timedelta(days=(days or DEFAULT_DAYS) - 1)
        end_day = last + timedelta(days=1)
    except OverflowError:  # a period reaching past year 1 or 9999
        raise PeriodError("the period reaches past the calendar (year 1 to 9999): give a shorter --days "
                          "or a nearer --since/--until") from None
    if first > last:
        raise PeriodError(f"--since {first.isoformat()} is after --until {last.isoformat()}")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"the period {first.isoformat()} – {last.isoformat()} is longer than {MAX_DAYS:,} days "
                          f"(10 years): give a nearer --since or a smaller --days")
    start = datetime.combine(first, time.min, tzinfo=timezone.utc)
    end = datetime.combine(end_day, time.min, tzinfo=timezone.utc)
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
    discussions: list[Any] = field(default_factory=list)  # review.discussion.Discussion: code-change threads

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


def build_report(session: Session, *, since: datetime, until: datetime, now: datetime | None = None) -> ReviewReport:
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

    feedback = list(session.exec(select(Feedback).where(Feedback.created_at >= since, Feedback.created_at < until)
                                 .order_by(col(Feedback.created_at), col(Feedback.id))))
    escalations = list(session.exec(select(Escalation).where(Escalation.created_at >= since,
                                                             Escalation.created_at < until)
                                    .order_by(col(Escalation.created_at), col(Escalation.id))))
    queries = {r.id: r for r in rows}
    missing = {f.query_id for f in feedback} | {e.query_id for e in escalations}
    missing -= set(queries)
    for start in range(0, len(missing), 500):  # feedback in the period on questions asked before it
        chunk = sorted(missing)[start : start + 500]
        queries.update({r.id: r for r in session.exec(select(QueryLog).where(col(QueryLog.id).in_(chunk)))})

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
    topics = {t.id: t for t in session.exec(select(ReviewTopic).where(col(ReviewTopic.id).in_(list(by_topic))))}
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
        report.topics.append(ReportTopic(
            topic_id=topic_id, label=topic.label, count=len(members), share=len(members) / len(rows),
            stats=summarize(members, cites), total=max(topic.query_count, len(members)),
            thumbs_up=votes[topic_id][1], thumbs_down=votes[topic_id][-1], escalations=esc_count[topic_id],
            decisions=[d for d in decisions if d.topic_id == topic_id]))
    report.topics.sort(key=lambda t: (-t.count, -(t.stats.last_seen or since).timestamp(), t.topic_id))

    # items
    def item(kind: str, q: QueryLog, when: datetime, detail: str | None = None, status: str | None = None) -> ReportItem:
        assert q.id is not None
        return ReportItem(kind, when, q.id, q.topic_id, q.question, q.answer_summary, q.codes, q.confidence,
                          detail, status)

    report.low_confidence = [item("low_confidence", r, r.created_at) for r in rows if r.confidence == "low"]
    report.thumbs_down_items = [item("thumbs_down", queries[f.query_id], f.created_at, f.reason)
                                for f in feedback if f.value < 0 and f.query_id in queries]
    report.escalations = [item("escalation", queries[e.query_id], e.created_at, e.note, e.status)
                          for e in escalations if e.query_id in queries]
    report.decisions = [d for d in decisions if since <= d.created_at < until]
    from review.discussion import list_discussions

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


def _decisions(session: Session, since: datetime, until: datetime, topic_ids: set[int]) -> list[DecisionInfo]:
    stmt = select(ReviewDecision, ReviewTopic.label).join(
        ReviewTopic, col(ReviewTopic.id) == col(ReviewDecision.topic_id), isouter=True)
    out = []
    for d, label in session.exec(stmt.order_by(col(ReviewDecision.created_at), col(ReviewDecision.id))):
        if d.topic_id in topic_ids or since <= d.created_at < until:
            assert d.id is not None
            out.append(DecisionInfo(d.id, d.topic_id, label, d.status, d.text, d.decided_by, d.effective_date,
                                    d.created_at, d.guideline_path))
    return out


def generate_report(settings: Any, *, since: datetime, until: datetime, embedder: Any = None,
                    cluster: bool = True) -> ReviewReport:
    """Refresh the period's topics (unless `cluster=False`) and build its report."""
    from review.db import engine_for, session_scope
    from review.migrate import ensure_schema

    engine = engine_for(settings)
    ensure_schema(engine)
    if cluster:
        from review.topics import refresh_topics

        with session_scope(engine) as session:
            if session.exec(select(QueryLog.id).where(QueryLog.created_at >= since, QueryLog.created_at < until)
                            .limit(1)).first() is not None:
                refresh_topics(session, since=since, until=until, embedder=embedder or default_embedder(settings))
    with session_scope(engine) as session:
        return build_report(session, since=since, until=until)


def default_embedder(settings: Any) -> Any:
    from codedesk.embeddings import get_embedder

    return get_embedder(settings.cache_dir, settings.embedding_backend)


# --- shared formatting ----------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _codes(stats: TopicStats, limit: int = 4) -> list[str]:
    return [c for c, _ in stats.codes[:limit]]


def _source_text(s: SourceCount, of: int) -> str:
    return f"{s.short} ({s.count}/{of})" if of > 1 else s.short


def _decision_text(d: DecisionInfo) -> str:
    gid = d.guideline_id
    return f"{gid or f'decision {d.id}'} ({d.status})"


def _one_line(text: str | None, limit: int | None = None) -> str:
    t = " ".join((text or "").split())
    if limit and len(t) > limit:
        t = t[: limit - 1].rstrip() + "…"
    return t


def _conf_mix(c: Counter[str]) -> str:
    return ", ".join(f"{c[k]} {k}" for k in (*CONFIDENCES, "unknown") if c.get(k))


# --- Markdown -------------------------------------------------------------------------------------

def _md(text: str | None) -> str:
    """One line of user text, inert in Markdown (no HTML, links, control bytes; safe in a table cell)."""
    return md_text(text)


def to_markdown(report: ReviewReport, *, top: int = 15, items: int = 20) -> str:
    r = report
    out: list[str] = [f"# CodeDesk review: {r.period}", ""]
    if r.empty:
        return "\n".join([*out, "No questions logged in this period.", ""])
    ratio = r.helpful_ratio
    out += [
        f"*{r.questions} questions from {r.people} people · {len(r.topics)} topics ({r.repeated_topics} asked more "
        f"than once) · generated {r.generated_at:%Y-%m-%d %H:%M} UTC*", "",
        "| Key numbers | |", "| --- | --- |",
        f"| Questions | {r.questions} ({', '.join(f'{n} {s}' for s, n in r.surfaces.most_common())}) |",
        f"| Confidence | {_conf_mix(r.confidence)} |",
        f"| Feedback | 👍 {r.thumbs_up} · 👎 {r.thumbs_down}"
        + (f" ({_pct(ratio)} helpful)" if ratio is not None else "") + " |",
        f"| Escalations | {len(r.escalations)} ({r.escalations_open} open) |",
        f"| Decisions recorded | {len(r.decisions)} |",
    ]
    if r.latency_median_ms is not None:
        out.append(f"| Median answer time | {r.latency_median_ms / 1000:.1f} s |")
    out.append("")
    if r.ungrouped:
        out += [f"> {r.ungrouped} questions are not grouped yet: run `codedesk review topics`.", ""]

    out += ["## Questions per week", "", "| Week of | Questions | Low confidence |", "| --- | ---: | ---: |"]
    out += [f"| {w.start.isoformat()} | {w.questions} | {w.low} |" for w in r.weeks]
    out.append("")

    out += ["## Topics by frequency", ""]
    for n, t in enumerate(r.topics[:top], 1):
        s = t.stats
        out.append(f"### {n}. {_md(_cap(t.label))} — {t.count} question{'s' if t.count != 1 else ''} (topic {t.topic_id})")
        out.append("")
        others = [e for e in s.examples if e != t.label][:3]
        if others:
            out.append("- Also asked as: " + "; ".join(f"“{_md(e)}”" for e in others))
        if s.answer_summary:
            out.append(f"- Answer given: {_md(s.answer_summary)}")
        if s.codes:
            out.append("- Codes: " + ", ".join(f"{c} ({k}/{t.count})" if t.count > 1 else c for c, k in s.codes))
        if s.sources:
            out.append("- Sources: " + "; ".join(_md(_source_text(x, t.count)) for x in s.sources))
        extra = [f"Confidence: {_conf_mix(s.confidence)}"]
        if t.thumbs_up or t.thumbs_down:
            extra.append(f"👍 {t.thumbs_up} · 👎 {t.thumbs_down}")
        if t.escalations:
            extra.append(f"{t.escalations} escalated")
        out.append("- " + " · ".join(extra))
        if t.decisions:
            out.append("- Decided: " + "; ".join(_decision_text(d) for d in t.decisions))
        out.append("")
    rest = r.topics[top:]
    if rest:
        out += [f"{len(rest)} more topics:", "", "| Topic | Questions | Label | Codes |", "| ---: | ---: | --- | --- |"]
        out += [f"| {t.topic_id} | {t.count} | {_md(_one_line(t.label, 90))} | {', '.join(_codes(t.stats))} |"
                for t in rest]
        out.append("")

    def item_table(title: str, rows: list[ReportItem], detail: str | None) -> None:
        out.extend([f"## {title} ({len(rows)})", ""])
        if not rows:
            out.extend(["None in this period.", ""])
            return
        head = ["Date", "Topic", "Question", *([detail] if detail else []), "Answer given"]
        out.append("| " + " | ".join(head) + " |")
        out.append("| " + " | ".join("---" for _ in head) + " |")
        for it in rows[:items]:
            cells = [it.created_at.date().isoformat(), str(it.topic_id or "–"), _md(_one_line(it.question, 120))]
            if detail:
                d = _md(it.detail) or "–"
                cells.append(f"{d} ({it.status})" if it.status else d)
            answer = _one_line((it.answer_summary or "").replace("**", ""), 140)  # no bold cut in half
            cells.append(_md(answer) + (f" `{it.codes}`" if it.codes else ""))
            out.append("| " + " | ".join(cells) + " |")
        if len(rows) > items:
            out.append(f"\n… and {len(rows) - items} more (see the CSV export).")
        out.append("")

    item_table("Low-confidence answers", r.low_confidence, None)
    item_table("👎 Not helpful, with reasons", r.thumbs_down_items, "Reason")
    item_table("Escalations", r.escalations, "Note")

    out += [f"## Decisions recorded ({len(r.decisions)})", ""]
    if not r.decisions:
        out += ["None in this period. Record one with `codedesk review decide TOPIC --text … --by …`.", ""]
    for d in r.decisions:
        who = f" by {_md(d.decided_by)}" if d.decided_by else ""
        eff = f", effective {d.effective.isoformat()}" if d.effective else ""
        out.append(f"- **{_decision_text(d)}** on topic {d.topic_id} “{_md(d.topic_label)}”{who}{eff}: "
                   f"{_md(_one_line(d.text, 300))}")
    out.append("")
    from review.discussion import discussions_markdown

    out += [f"## Code-change discussions ({len(r.discussions)})", "", discussions_markdown(r.discussions)]
    return "\n".join(out)


# --- CSV ------------------------------------------------------------------------------------------

TOPIC_COLUMNS = ("rank", "topic_id", "label", "questions", "share", "total_all_time", "first_seen", "last_seen",
                 "examples", "answer_summary", "codes", "sources", "high", "medium", "low", "thumbs_up",
                 "thumbs_down", "escalations", "decisions")
ITEM_COLUMNS = ("kind", "created_at", "query_id", "topic_id", "question", "answer_summary", "codes", "confidence",
                "detail", "status")


def _cell(value: Any) -> Any:
    """Spreadsheet-safe: no control bytes, and text a spreadsheet would run as a formula gets a leading quote."""
    return csv_cell(value)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


def topics_csv(report: ReviewReport) -> str:
    """One row per topic of the period, most asked first."""
    def row(n: int, t: ReportTopic) -> list[Any]:
        s = t.stats
        return [n, t.topic_id, t.label, t.count, f"{t.share:.3f}", t.total,
                s.first_seen.isoformat() if s.first_seen else "", s.last_seen.isoformat() if s.last_seen else "",
                " | ".join(s.examples), s.answer_summary or "", ",".join(_codes(s, 10)),
                " | ".join(_source_text(x, t.count) for x in s.sources),
                s.confidence.get("high", 0), s.confidence.get("medium", 0), s.confidence.get("low", 0),
                t.thumbs_up, t.thumbs_down, t.escalations, "; ".join(_decision_text(d) for d in t.decisions)]

    return _csv(TOPIC_COLUMNS, (row(n, t) for n, t in enumerate(report.topics, 1)))


def items_csv(report: ReviewReport) -> str:
    """One row per low-confidence answer, 👎 and escalation of the period."""
    rows = [*report.low_confidence, *report.thumbs_down_items, *report.escalations]
    return _csv(ITEM_COLUMNS, ([i.kind, i.created_at.isoformat(), i.query_id, i.topic_id or "", i.question,
                                i.answer_summary or "", i.codes or "", i.confidence or "", i.detail or "",
                                i.status or ""] for i in rows))


# --- HTML -----------------------------------------------------------------------------------------

BLUE, RED, AMBER, GREEN, GREY = "#2563eb", "#dc2626", "#d97706", "#16a34a", "#9ca3af"
CONF_COLOURS = {"high": GREEN, "medium": AMBER, "low": RED, "unknown": GREY}
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"


def _e(text: Any) -> str:
    return html.escape(strip_controls("" if text is None else str(text)), quote=True)


def _rich(text: str | None) -> str:
    """Escaped text with Markdown **bold** and `code` kept."""
    t = _e(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def _nice_max(value: float) -> tuple[float, float]:
    """(axis max, tick step) for a bar chart whose tallest bar is `value`."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    step = max(step, 1)
    return math.ceil(value / step) * step, step


def svg_week_bars(weeks: Sequence[WeekCount], width: int = 560, height: int = 240) -> str:
    left, right, top, bottom = 36, 10, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, step = _nice_max(max((w.questions for w in weeks), default=0))
    n = max(len(weeks), 1)
    slot = plot_w / n
    bar = min(56, slot * 0.62)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Questions per week" style="{_FONT}">']
    tick = 0.0
    while tick <= peak + 1e-9:
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" fill="#6b7280" text-anchor="end">'
                     f'{tick:g}</text>')
        tick += step
    for i, w in enumerate(weeks):
        x = left + slot * i + (slot - bar) / 2
        h_all = plot_h * w.questions / peak
        h_low = plot_h * w.low / peak
        base = top + plot_h
        parts.append(f'<rect x="{x:.1f}" y="{base - h_all:.1f}" width="{bar:.1f}" height="{h_all - h_low:.1f}" '
                     f'fill="{BLUE}" rx="2"><title>{w.questions} questions</title></rect>')
        if w.low:
            parts.append(f'<rect x="{x:.1f}" y="{base - h_low:.1f}" width="{bar:.1f}" height="{h_low:.1f}" '
                         f'fill="{RED}" opacity="0.85"><title>{w.low} low confidence</title></rect>')
        if w.questions:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{base - h_all - 4:.1f}" font-size="11" fill="#111827" '
                         f'text-anchor="middle" font-weight="600">{w.questions}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" font-size="11" fill="#4b5563" '
                     f'text-anchor="middle">{w.start.day} {w.start:%b}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9ca3af"/>')
    parts.append("</svg>")
    return "".join(parts)


def svg_topic_bars(topics: Sequence[ReportTopic], width: int = 560, limit: int = 8) -> str:
    shown = list(topics[:limit])
    row_h, label_w, right = 28, 290, 36
    height = max(row_h * len(shown) + 12, 40)
    peak = max((t.count for t in shown), default=1)
    bar_w = width - label_w - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Top topics" style="{_FONT}">']
    for i, t in enumerate(shown):
        y = 6 + i * row_h
        w = max(bar_w * t.count / peak, 2)
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" font-size="12" fill="#111827" text-anchor="end">'
                     f'{_e(_one_line(_cap(t.label), 40))}<title>{_e(t.label)}</title></text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" fill="{BLUE}" rx="3"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" font-weight="600" '
                     f'fill="#111827">{t.count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_donut(segments: Sequence[tuple[str, int, str]], centre: str, caption: str, size: int = 170) -> str:
    """A ring of (label, value, colour) with a big number in the middle and a legend beside it."""
    total = sum(v for _, v, _ in segments)
    r, stroke = size * 0.32, size * 0.13
    cx = cy = size / 2
    circ = 2 * math.pi * r
    width = size + 200
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {size}" width="{width}" '
             f'height="{size}" role="img" '
             f'aria-label="{_e(caption)}" style="{_FONT}">',
             f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#f3f4f6" stroke-width="{stroke}"/>']
    offset = 0.0
    for label, value, colour in segments:
        if not value or not total:
            continue
        length = circ * value / total
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{colour}" stroke-width="{stroke}" '
                     f'stroke-dasharray="{length:.2f} {circ - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
                     f'transform="rotate(-90 {cx} {cy})"><title>{_e(label)}: {value}</title></circle>')
        offset += length
    parts.append(f'<text x="{cx}" y="{cy + 2}" font-size="26" font-weight="700" fill="#111827" '
                 f'text-anchor="middle">{_e(centre)}</text>')
    parts.append(f'<text x="{cx}" y="{cy + 22}" font-size="11" fill="#6b7280" text-anchor="middle">'
                 f'{_e(caption)}</text>')
    for i, (label, value, colour) in enumerate(segments):
        y = cy - 13 * len(segments) + i * 26 + 6
        share = f" ({_pct(value / total)})" if total else ""
        parts.append(f'<rect x="{size + 10}" y="{y}" width="14" height="14" rx="3" fill="{colour}"/>')
        parts.append(f'<text x="{size + 32}" y="{y + 12}" font-size="13" fill="#111827">{_e(label)}: '
                     f'<tspan font-weight="600">{value}</tspan>{share}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:28px 32px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;border-bottom:3px solid #1e3a8a;padding-bottom:12px;margin-bottom:20px}
h1{font-size:26px;margin:0;color:#1e3a8a}
header .period{font-size:18px;color:#374151;margin-top:4px}
header .meta{color:#6b7280;font-size:12px;text-align:right}
h2{font-size:18px;margin:28px 0 10px;color:#1e3a8a}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px}
.card{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .n{font-size:28px;font-weight:700;line-height:1.1}
.card .l{color:#4b5563;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .s{color:#6b7280;font-size:12px;margin-top:2px}
.card.warn .n{color:#b91c1c}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-top:16px}
.chart{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.chart h3{margin:0 0 8px;font-size:14px;color:#374151}
.chart .note{color:#6b7280;font-size:12px;margin-top:4px}
.chart svg{display:block;margin:0 auto}
.legend span{display:inline-block;margin-right:14px;font-size:12px;color:#374151}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th{background:#eef2ff;color:#1e3a8a;text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.03em;padding:8px 10px}
td{padding:8px 10px;border-top:1px solid #e5e7eb;vertical-align:top}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.date{white-space:nowrap;color:#4b5563}
.q{font-weight:600}
.ex{color:#6b7280;font-size:12px;margin-top:3px}
.src{font-size:12px;color:#374151;margin:0;padding-left:16px}
.code{display:inline-block;font:12px/1.6 ui-monospace,'DejaVu Sans Mono',monospace;background:#eff6ff;color:#1e40af;border-radius:4px;padding:0 5px;margin:1px 2px 1px 0}
.pill{display:inline-block;border-radius:999px;padding:1px 8px;font-size:11px;font-weight:600;white-space:nowrap}
.pill.high{background:#dcfce7;color:#166534}.pill.medium{background:#fef3c7;color:#92400e}.pill.low{background:#fee2e2;color:#991b1b}
.pill.open{background:#fee2e2;color:#991b1b}.pill.resolved{background:#e5e7eb;color:#374151}
.pill.accepted{background:#dcfce7;color:#166534}.pill.proposed{background:#e0e7ff;color:#3730a3}
.bar{height:6px;background:#dbeafe;border-radius:3px;margin-top:4px}.bar>div{height:6px;background:#2563eb;border-radius:3px}
.fb{white-space:nowrap;font-size:12px}.up{color:#166534}.down{color:#b91c1c}
.muted{color:#6b7280}
.empty{background:#fff;border-radius:10px;padding:14px;color:#6b7280}
footer{margin-top:32px;color:#6b7280;font-size:12px;border-top:1px solid #d1d5db;padding-top:10px}
@media print{body{background:#fff}main{padding:0}.card,.chart,table{box-shadow:none;border:1px solid #e5e7eb}h2{break-after:avoid}tr{break-inside:avoid}}
@media (max-width:900px){.cards{grid-template-columns:repeat(3,1fr)}.charts{grid-template-columns:1fr}}
"""


def _cap(text: str | None) -> str:
    """Questions are shown as asked, but with a capital first letter."""
    t = text or ""
    return t[:1].upper() + t[1:]


def _pill(text: str | None) -> str:
    return f'<span class="pill {_e(text)}">{_e(text)}</span>' if text else ""


def _code_chips(codes: Iterable[str]) -> str:
    return "".join(f'<span class="code">{_e(c)}</span>' for c in codes if c)


def to_html(report: ReviewReport, *, title: str = "CodeDesk coding review", top: int = 15, items: int = 25) -> str:
    r = report
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{_e(title)}: {_e(r.period)}</title><style>{_CSS}</style></head><body><main>')
    header = (f'<header><div><h1>{_e(title)}</h1><div class="period">{_e(r.period)}</div></div>'
              f'<div class="meta">Generated {r.generated_at:%d %b %Y %H:%M} UTC'
              + (f"<br>ICD-10-CM FY{', FY'.join(_e(fy) for fy in r.fiscal_years)}" if r.fiscal_years else "")
              + "</div></header>")
    if r.empty:
        return head + header + '<p class="empty">No questions logged in this period.</p></main></body></html>\n'

    ratio = r.helpful_ratio
    low = r.confidence.get("low", 0)
    cards = [
        ("Questions", str(r.questions), f"from {r.people} people", ""),
        ("Topics", str(len(r.topics)), f"{r.repeated_topics} asked more than once", ""),
        ("Low confidence", str(low), f"{_pct(r.share('low'))} of answers", "warn" if low else ""),
        ("Helpful", _pct(ratio) if ratio is not None else "–",
         f"{r.thumbs_up} up · {r.thumbs_down} down", "warn" if ratio is not None and ratio < 0.7 else ""),
        ("Escalations", str(len(r.escalations)), f"{r.escalations_open} still open", "warn" if r.escalations_open else ""),
        ("Decisions", str(len(r.decisions)), "recorded in the period", ""),
    ]
    body = ['<section class="cards">']
    body += [f'<div class="card {cls}"><div class="l">{_e(label)}</div><div class="n">{_e(n)}</div>'
             f'<div class="s">{_e(sub)}</div></div>' for label, n, sub, cls in cards]
    body.append("</section>")

    votes = r.thumbs_up + r.thumbs_down
    conf_segments = [(k.capitalize(), r.confidence.get(k, 0), CONF_COLOURS[k]) for k in (*CONFIDENCES, "unknown")
                     if k != "unknown" or r.confidence.get(k)]
    feedback_chart = (svg_donut([("Helpful", r.thumbs_up, GREEN), ("Not helpful", r.thumbs_down, RED)],
                                _pct(ratio) if ratio is not None else "–", "helpful")
                      + f'<div class="note">{votes} votes on {r.questions} answers '
                        f'({_pct(votes / r.questions)} of answers rated).</div>'
                      if votes else '<p class="muted">No feedback in this period.</p>')
    body += [
        '<section class="charts">',
        '<div class="chart"><h3>Questions per week</h3>', svg_week_bars(r.weeks),
        f'<div class="legend"><span><i style="background:{BLUE}"></i>answered with high or medium confidence</span>'
        f'<span><i style="background:{RED}"></i>low confidence</span></div></div>',
        f'<div class="chart"><h3>Top topics</h3>{svg_topic_bars(r.topics)}'
        f'<div class="note">Questions per topic in the period; the table below has the details.</div></div>',
        f'<div class="chart"><h3>Feedback</h3>{feedback_chart}</div>',
        '<div class="chart"><h3>Confidence of the answers</h3>',
        svg_donut(conf_segments, _pct(r.share("high")), "high"), "</div>",
        "</section>",
    ]

    # topics table
    body.append("<h2>Topics by frequency</h2>")
    if r.ungrouped:
        body.append(f'<p class="muted">{r.ungrouped} questions are not grouped yet: run <code>codedesk review '
                    f"topics</code>.</p>")
    peak = max((t.count for t in r.topics), default=1)
    body.append('<table><thead><tr><th style="width:3%">#</th><th style="width:30%">Topic</th>'
                '<th style="width:7%">Asked</th><th style="width:30%">Answer given</th><th style="width:20%">Sources'
                '</th><th style="width:10%">Feedback / decision</th></tr></thead><tbody>')
    for n, t in enumerate(r.topics[:top], 1):
        s = t.stats
        others = [e for e in s.examples if e != t.label][:2]
        ex = "".join(f'<div class="ex">“{_e(_one_line(e, 110))}”</div>' for e in others)
        srcs = "".join(f"<li>{_e(_source_text(x, t.count))}</li>" for x in s.sources[:4])
        fb = []
        if t.thumbs_up or t.thumbs_down:
            fb.append(f'<span class="fb"><span class="up">▲ {t.thumbs_up}</span> '
                      f'<span class="down">▼ {t.thumbs_down}</span></span>')
        if t.escalations:
            fb.append(f'<div class="fb">{t.escalations} escalated</div>')
        fb += [f"<div>{_e(d.guideline_id or f'decision {d.id}')} {_pill(d.status)}</div>" for d in t.decisions]
        conf = " ".join(_pill(k) + f'<span class="muted"> {s.confidence[k]}</span>' for k in CONFIDENCES
                        if s.confidence.get(k))
        body.append(
            f'<tr><td class="num">{n}</td><td><div class="q">{_e(_cap(t.label))}</div>{ex}'
            f'<div class="ex">topic {t.topic_id}</div></td>'
            f'<td class="num"><b>{t.count}</b> <span class="muted">{_pct(t.share)}</span>'
            f'<div class="bar"><div style="width:{100 * t.count / peak:.0f}%"></div></div></td>'
            f'<td>{_rich(_one_line(s.answer_summary, 260))}<div>{_code_chips(_codes(s))}</div>'
            f'<div style="margin-top:3px">{conf}</div></td>'
            f'<td><ul class="src">{srcs}</ul></td><td>{"".join(fb) or "<span class=muted>–</span>"}</td></tr>')
    body.append("</tbody></table>")
    if len(r.topics) > top:
        rest = r.topics[top:]
        body.append(f'<p class="muted">{len(rest)} more topics, asked {sum(t.count for t in rest)} times in all '
                    f"(see the CSV export).</p>")

    def item_table(title: str, rows: list[ReportItem], detail: str | None, empty: str) -> None:
        body.append(f"<h2>{_e(title)} ({len(rows)})</h2>")
        if not rows:
            body.append(f'<p class="empty">{_e(empty)}</p>')
            return
        cols = ["Date", "Topic", "Question", *([detail] if detail else []), "Answer given"]
        body.append("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr></thead><tbody>")
        for it in rows[:items]:
            cells = [f'<td class="date">{it.created_at:%d %b}</td>', f'<td class="num">{_e(it.topic_id or "–")}</td>',
                     f'<td class="q">{_e(_cap(_one_line(it.question, 160)))}</td>']
            if detail:
                cells.append(f"<td>{_e(it.detail) or '<span class=muted>no reason given</span>'}"
                             f"{' ' + _pill(it.status) if it.status else ''}</td>")
            cells.append(f"<td>{_rich(_one_line(it.answer_summary, 180))}"
                         f"<div>{_code_chips((it.codes or '').split(',')[:4])}</div></td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        body.append("</tbody></table>")
        if len(rows) > items:
            body.append(f'<p class="muted">… and {len(rows) - items} more (see the CSV export).</p>')

    item_table("Low-confidence answers", r.low_confidence, None, "No low-confidence answers in this period.")
    item_table("Not helpful, with reasons", r.thumbs_down_items, "Reason", "No answer was marked not helpful.")
    item_table("Escalations to a team lead", r.escalations, "Note", "No escalations in this period.")

    body.append(f"<h2>Decisions recorded ({len(r.decisions)})</h2>")
    if not r.decisions:
        body.append('<p class="empty">None in this period. Record one with <code>codedesk review decide TOPIC '
                    '--text … --by …</code>; it becomes a team guideline the bot cites after the next ingest.</p>')
    else:
        body.append("<table><thead><tr><th>Date</th><th>Topic</th><th>Decision</th><th>By</th><th>Effective</th>"
                    "<th>Guideline</th></tr></thead><tbody>")
        for d in r.decisions:
            body.append(f'<tr><td class="date">{d.created_at:%d %b}</td><td><div class="q">{_e(_cap(d.topic_label))}</div>'
                        f'<div class="ex">topic {_e(d.topic_id)}</div></td><td>{_rich(_one_line(d.text, 400))}</td>'
                        f"<td>{_e(d.decided_by)}</td><td class=\"date\">{_e(d.effective)}</td>"
                        f"<td>{_e(d.guideline_id or '–')} {_pill(d.status)}</td></tr>")
        body.append("</tbody></table>")

    footer = ("<footer>Questions, reasons and notes were scrubbed of patient identifiers before they were stored. "
              "Topics group near-identical questions (their embeddings and the codes and sources of their answers). "
              "Periods are in UTC.")
    if r.latency_median_ms is not None:
        footer += f" Median answer time {r.latency_median_ms / 1000:.1f} s."
    return head + header + "".join(body) + footer + "</footer></main></body></html>\n"


def render(report: ReviewReport, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(report)
    if fmt == "csv":
        return topics_csv(report)
    if fmt == "html":
        return to_html(report)
    raise ValueError(f"unknown format {fmt!r}: use md, csv or html")
