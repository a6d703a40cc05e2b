"""`codedesk db …`: migrations, retention and the local queue of the query log.

Mounted by the main CLI as ``app.add_typer(db_app, name="db")``. The settings object is taken
from ``ctx.obj`` when the main app put one there (directly or as ``ctx.obj.settings``), otherwise
built from the environment.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import typer

from codedesk.settings import Settings
from review.db import describe_url, engine_for, is_unavailable, session_scope

db_app = typer.Typer(help="The query-log database: migrations, retention, queued records.",
                     no_args_is_help=True)

_UNITS = {"d": "days", "w": "weeks", "h": "hours"}
_DURATION = re.compile(r"^\s*(\d+)\s*([dwh])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """"365d", "52w", "12h" → timedelta. Raises ValueError with a message a person can act on."""
    m = _DURATION.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration: use a positive number followed by d (days), "
                         f"w (weeks) or h (hours), e.g. 365d")
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
        typer.echo(f"Cannot reach the query-log database at {url}. Check that it is running and that "
                   f"CODEDESK_DATABASE_URL is right, then try again.", err=True)
    else:
        typer.echo(f"Query-log database error at {url}: {type(exc).__name__}. "
                   f"Run `codedesk db upgrade` if the tables are missing.", err=True)
    return typer.Exit(code=1)


@db_app.command()
def upgrade(ctx: typer.Context,
            revision: str = typer.Option("head", help="Alembic revision to upgrade to")) -> None:
    """Create or migrate the query-log tables."""
    from review.migrate import upgrade as run_upgrade

    settings = _settings(ctx)
    try:
        at = run_upgrade(settings, revision)
    except Exception as exc:
        raise _fail(settings, exc) from None
    typer.echo(f"Query log at revision {at} ({describe_url(settings.db_url)}).")


@db_app.command()
def purge(ctx: typer.Context,
          older_than: str = typer.Option(..., "--older-than", help="Age cut-off: 365d, 52w or 12h"),
          dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go, delete nothing")) -> None:
    """Delete logged questions (and their citations, feedback, escalations) older than the cut-off."""
    from review.retention import purge as run_purge

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
    from review.log import QueryLogger
    from review.migrate import current_revision, head_revision

    settings = _settings(ctx)
    logger = QueryLogger(settings, auto_migrate=False)
    typer.echo(f"Database: {describe_url(settings.db_url)}")
    try:
        typer.echo(f"Revision: {current_revision(engine_for(settings)) or 'none'} (head {head_revision()})")
    except Exception as exc:
        typer.echo(f"Revision: unknown ({type(exc).__name__}: database unreachable?)")
    typer.echo(f"Queued records: {logger.pending()} pending, {logger.queue.dead_count()} failed")
    logger.close()


@db_app.command()
def flush(ctx: typer.Context,
          retry_failed: bool = typer.Option(False, "--retry-failed", help="Also retry records that failed")) -> None:
    """Write records queued while the database was down."""
    from review.log import QueryLogger

    logger = QueryLogger(_settings(ctx))
    if retry_failed:
        logger.queue.retry_dead()
    written = logger.flush()
    left = logger.pending()
    logger.close()
    typer.echo(f"Wrote {written} queued records; {left} still waiting.")
    if left:
        raise typer.Exit(code=1)
