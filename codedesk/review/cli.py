"""`codedesk db …` (migrations, retention and the local queue of the query log) and `codedesk review …`
(topics, reports, decisions).

Mounted by the main CLI as ``app.add_typer(db_app, name="db")`` and
``app.add_typer(review_app, name="review")``. The settings object is taken
from ``ctx.obj`` when the main app put one there (directly or as ``ctx.obj.settings``), otherwise
built from the environment.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from codedesk.review.db import describe_url, engine_for, is_unavailable, session_scope
from codedesk.settings import Settings

db_app = typer.Typer(
    help="The query-log database: migrations, retention, queued records.", no_args_is_help=True
)

_UNITS = {"d": "days", "w": "weeks", "h": "hours"}
_DURATION = re.compile(r"^\s*(\d+)\s*([dwh])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """ "365d", "52w", "12h" → timedelta. Raises ValueError with a message a person can act on."""
    m = _DURATION.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: use a positive number followed by d (days), "
            f"w (weeks) or h (hours), e.g. 365d"
        )
    return timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})


def _settings(ctx: typer.Context) -> Any:
    obj = ctx.obj
    if obj is not None and hasattr(obj, "db_url"):
        return obj
    if obj is not None and hasattr(getattr(obj, "settings", None), "db_url"):
        return obj.settings
    return Settings()


def _fail(settings: Any, exc: Exception) -> typer.Exit:
    url = describe_url(settings.db_url)
    if is_unavailable(exc):
        typer.echo(
            f"Cannot reach the query-log database at {url}. Check that it is running and that "
            f"CODEDESK_DATABASE_URL is right, then try again.",
            err=True,
        )
    else:
        typer.echo(
            f"Query-log database error at {url}: {type(exc).__name__}. "
            f"Run `codedesk db upgrade` if the tables are missing.",
            err=True,
        )
    return typer.Exit(code=1)


@db_app.command()
def upgrade(
    ctx: typer.Context, revision: str = typer.Option("head", help="Alembic revision to upgrade to")
) -> None:
    """Create or migrate the query-log tables."""
    from codedesk.review.migrate import upgrade as run_upgrade

    settings = _settings(ctx)
    try:
        at = run_upgrade(settings, revision)
    except Exception as exc:
        raise _fail(settings, exc) from None
    typer.echo(f"Query log at revision {at} ({describe_url(settings.db_url)}).")


@db_app.command()
def purge(
    ctx: typer.Context,
    older_than: str = typer.Option(..., "--older-than", help="Age cut-off: 365d, 52w or 12h"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go, delete nothing"),
) -> None:
    """Delete logged questions (and their citations, feedback, escalations) older than the cut-off."""
    from codedesk.review.retention import purge as run_purge

    try:
        cutoff = parse_duration(older_than)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    settings = _settings(ctx)
    try:
        with session_scope(engine_for(settings)) as session:
            counts = run_purge(session, cutoff, dry_run=dry_run)
    except Exception as exc:
        raise _fail(settings, exc) from None
    verb = "Would delete" if dry_run else "Deleted"
    typer.echo(f"{verb}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@db_app.command()
def status(ctx: typer.Context) -> None:
    """Schema revision and the local queue of records waiting for the database."""
    from codedesk.review.log import QueryLogger
    from codedesk.review.migrate import current_revision, head_revision

    settings = _settings(ctx)
    logger = QueryLogger(settings, auto_migrate=False)
    typer.echo(f"Database: {describe_url(settings.db_url)}")
    try:
        typer.echo(
            f"Revision: {current_revision(engine_for(settings)) or 'none'} (head {head_revision()})"
        )
    except Exception as exc:
        typer.echo(f"Revision: unknown ({type(exc).__name__}: database unreachable?)")
    typer.echo(f"Queued records: {logger.pending()} pending, {logger.queue.dead_count()} failed")
    others = logger.queue.other_destinations_count()
    if others:
        typer.echo(
            f"Also queued here for other databases (another CODEDESK_DATABASE_URL): {others}; "
            f"they are written only to their own database."
        )
    logger.close()


@db_app.command()
def flush(
    ctx: typer.Context,
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="Also retry records that failed"
    ),
) -> None:
    """Write records queued while the database was down."""
    from codedesk.review.log import QueryLogger

    logger = QueryLogger(_settings(ctx))
    if retry_failed:
        logger.queue.retry_dead()
    written = logger.flush()
    left = logger.pending()
    logger.close()
    typer.echo(f"Wrote {written} queued records; {left} still waiting.")
    if left:
        raise typer.Exit(code=1)


# --- `codedesk review …` ------------------------------------------------------------------------

review_app = typer.Typer(
    help="Team-lead review of the query log: frequent topics, weak answers, feedback, decisions.",
    invoke_without_command=True,
    no_args_is_help=False,
)

_FORMATS = ("md", "csv", "html")


def _period(since: str | None, until: str | None, days: int | None) -> tuple[Any, Any]:
    from codedesk.review.report import PeriodError, resolve_period

    try:
        return resolve_period(since, until, days)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc)) from None
    except (OverflowError, ValueError):  # never a traceback for a period typed on the command line
        raise typer.BadParameter(
            "that period cannot be used: give --days between 1 and 3653, or dates YYYY-MM-DD"
        ) from None


def _embedder(settings: Any) -> Any:
    from codedesk.review.report import default_embedder

    try:
        return default_embedder(settings)
    except Exception as exc:
        typer.echo(
            f"Cannot load the embedding model ({type(exc).__name__}: {exc}). Check CODEDESK_HOME is "
            f"writable and the model package is installed.",
            err=True,
        )
        raise typer.Exit(code=1) from None


def _no_questions(since: Any, until: Any) -> None:
    from codedesk.review.report import period_label

    typer.echo(
        f"No questions logged in this period ({period_label(since, until)}). Try a longer period, "
        f"e.g. --days 90, or check CODEDESK_DATABASE_URL.",
        err=True,
    )


_SINCE = typer.Option(
    None, "--since", help="First day (YYYY-MM-DD, UTC); default --days before --until"
)
_UNTIL = typer.Option(None, "--until", help="Last day, included (YYYY-MM-DD, UTC); default today")
_DAYS = typer.Option(
    None, "--days", help="Length of the period in days when --since or --until is missing (30)"
)


@review_app.callback()
def review(
    ctx: typer.Context,
    since: str = _SINCE,
    until: str = _UNTIL,
    days: int = _DAYS,
    fmt: str = typer.Option("md", "--format", "-f", help="md, csv or html"),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout"),
) -> None:
    """Group the period's questions into topics, then report: topics by frequency, low-confidence
    answers, 👎 with reasons, escalations and decisions."""
    if ctx.invoked_subcommand is not None:
        return
    from codedesk.review.report import generate_report, items_csv, render

    if fmt not in _FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not a format: use md, csv or html", param_hint="--format"
        )
    start, end = _period(since, until, days)
    settings = _settings(ctx)
    try:
        report = generate_report(settings, since=start, until=end, embedder=_LazyEmbedder(settings))
    except typer.Exit:
        raise
    except Exception as exc:
        raise _fail(settings, exc) from None
    if report.empty:
        _no_questions(start, end)
        return
    text = render(report, fmt)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(
        f"Wrote {out} ({report.questions} questions, {len(report.topics)} topics).", err=True
    )
    if fmt == "csv":
        items = out.with_name(f"{out.stem}-items{out.suffix or '.csv'}")
        items.write_text(items_csv(report), encoding="utf-8")
        typer.echo(f"Wrote {items} (low-confidence answers, 👎 and escalations).", err=True)


class _LazyEmbedder:
    """Loads the model only when there is something to embed (an empty period needs none)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._inner: Any = None

    def encode(self, texts: Any) -> Any:
        if self._inner is None:
            self._inner = _embedder(self.settings)
        return self._inner.encode(texts)


@review_app.command("topics")
def topics_command(
    ctx: typer.Context,
    since: str = _SINCE,
    until: str = _UNTIL,
    days: int = _DAYS,
    limit: int = typer.Option(30, "--limit", help="Topics to list (most asked first)"),
) -> None:
    """Group the period's questions into topics and list them (ids for `review decide`)."""
    from codedesk.review.migrate import ensure_schema
    from codedesk.review.report import period_label
    from codedesk.review.topics import refresh_topics

    start, end = _period(since, until, days)
    settings = _settings(ctx)
    try:
        engine = engine_for(settings)
        ensure_schema(engine)
        with session_scope(engine) as session:
            run = refresh_topics(session, since=start, until=end, embedder=_LazyEmbedder(settings))
            rows = [
                (tc.topic.id, tc.count, tc.topic.query_count, tc.topic.label, tc.topic.codes or "")
                for tc in run.topics
            ]
    except typer.Exit:
        raise
    except Exception as exc:
        raise _fail(settings, exc) from None
    if not run.questions:
        _no_questions(start, end)
        return
    typer.echo(
        f"{run.questions} questions in {len(rows)} topics, {period_label(start, end)} "
        f"({run.created} new, {run.reused} kept)."
    )
    typer.echo(f"{'topic':>6}  {'asked':>5}  {'total':>5}  question")
    for topic_id, n, total, label, codes in rows[:limit]:
        label = " ".join(label.split())
        label = label if len(label) <= 80 else label[:79] + "…"
        typer.echo(
            f"{topic_id:>6}  {n:>5}  {total:>5}  {label}"
            + (f"  [{codes.replace(',', ', ')}]" if codes else "")
        )
    if len(rows) > limit:
        typer.echo(f"… and {len(rows) - limit} more (--limit).")
    typer.echo('Record a decision: codedesk review decide TOPIC --text "…" --by "name"')


@review_app.command("decide")
def decide_command(
    ctx: typer.Context,
    topic: str = typer.Argument(..., help="Topic id from `codedesk review topics` (12 or T12)"),
    text: str = typer.Option(..., "--text", help="The decision; '-' reads it from stdin"),
    by: str = typer.Option(..., "--by", help='Who decided, e.g. "Coding committee"'),
    effective: str = typer.Option(None, "--effective", help="Effective date YYYY-MM-DD (today)"),
    refines: str = typer.Option(
        None,
        "--refines",
        help="Official sections/codes it refines, comma-separated "
        "(default: what the topic's answers cited)",
    ),
    draft: bool = typer.Option(False, "--draft", help="Write a draft guideline (not cited yet)"),
) -> None:
    """Record a decision on a topic and write it as a team guideline the bot cites after the next ingest."""
    import sys

    from codedesk.review.decide import DecisionError, decide
    from codedesk.review.topics import parse_topic_id

    try:
        topic_id = parse_topic_id(topic)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="TOPIC") from None
    if text == "-":
        text = sys.stdin.read()
    settings = _settings(ctx)
    try:
        result = decide(
            settings,
            topic_id,
            text,
            by,
            effective,
            "draft" if draft else "approved",
            refines=refines,
        )
    except DecisionError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from None
    except Exception as exc:
        raise _fail(settings, exc) from None
    typer.echo(
        f"Recorded decision {result.decision_id} on topic {topic_id} and wrote {result.guideline_id} "
        f"({result.status}, effective {result.effective.isoformat()}): {result.path}"
    )
    if result.refines:
        typer.echo(f"It refines {', '.join(result.refines)}.")
    if result.status == "approved":
        typer.echo("Run `codedesk ingest` so answers cite it.")
