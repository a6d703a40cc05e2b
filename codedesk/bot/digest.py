"""`codedesk digest`: messages CodeDesk posts to a channel on its own, for cron.

    codedesk digest changes --from 2025 --to 2026 --channel C0123456789 [--prefix N18 | --chapter 4]
    codedesk digest weekly --channel C0123456789 [--days 7]

`changes` posts one message per ICD-10-CM chapter with its changes between two fiscal years, so
members discuss each chapter in its thread; each posted message is recorded in the review log
through the review port (`DigestReview.record_thread`: channel, ts, chapter, fiscal years), and the
bot then records the replies and reactions in those threads (`codedesk.bot.listeners.discussion`).
When a chapter has more changes than one message shows, the complete list follows as the first
reply in its thread.

`weekly` posts the week's summary: questions, top topics (or most asked questions), the feedback
ratio, low-confidence answers, open items and discussion activity.

Mounted by the composition root (codedesk/cli.py), which says how to reach the review log:

    from codedesk.bot.digest import make_digest_app
    app.add_typer(make_digest_app(ReviewService), name="digest")  # review_for(settings)

The channel may also come from `CODEDESK_DIGEST_CHANNEL`; the bot token from `SLACK_BOT_TOKEN`
(CodeDesk must be a member of a private channel; `chat:write.public` covers public ones).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from codedesk.bot import blocks_review as R
from codedesk.bot.review_port import DigestReview, WeekSummary
from codedesk.errors import CodeDeskError

log = logging.getLogger(__name__)

DIGEST_MAX_LINES = 10  # per kind of change in a chapter message; the rest goes to its thread
DEFAULT_PAUSE_S = (
    1.0  # between chapter messages: Slack allows about one message a second per channel
)


class DigestError(CodeDeskError):
    """The digest cannot be posted; the message says what to do."""


@dataclass(frozen=True, slots=True)
class PostedChapter:
    chapter: str
    channel: str
    ts: str
    thread_id: int | None
    counts: dict[str, int]
    continued: int = 0  # messages with the complete list in the thread


# ------------------------------------------------------------------------------------------ helpers


def slack_client(settings: Any, token: str | None = None) -> WebClient:
    """A Web API client with the bot token (`SLACK_BOT_TOKEN`), retrying when rate limited."""
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from codedesk.bot.config import BotSettings

    token = token or BotSettings().slack_bot_token
    if not token:
        raise DigestError(
            "SLACK_BOT_TOKEN is not set: set it in the environment or in .env (see .env.example)."
        )
    client = WebClient(base_url=settings.slack_api_url, token=token)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def _years(
    versions: Any, settings: Any, from_year: str | None, to_year: str | None
) -> tuple[Any, Any]:
    from codedesk.retrieval.versions import VersionError

    new = versions.get(to_year or settings.fiscal_year)
    old = versions.get(from_year or str(int(new.fiscal_year) - 1))
    if int(old.fiscal_year) >= int(new.fiscal_year):
        raise VersionError(
            f"--from FY{old.fiscal_year} must be older than --to FY{new.fiscal_year}."
        )
    return old, new


def chapter_message(
    part: Any,
    *,
    chapter: str,
    name: str | None,
    old: Any,
    new: Any,
    max_lines: int = DIGEST_MAX_LINES,
) -> R.ChangesRendered:
    """The message of one chapter (pure)."""
    title = f"Chapter {chapter}" + (f" — {name}" if name else "")
    scope = f" · codes {part.prefix}" if part.prefix else ""
    return R.changes_message(
        part,
        title=title,
        subtitle=f"ICD-10-CM changes FY{old.fiscal_year} → FY{new.fiscal_year}{scope} · "
        f"{old.file_name} → {new.file_name}",
        max_lines=max_lines,
        hint="The complete list is the first reply in this thread ↓",
        footer=R.MSG_DISCUSS,
    )


# ------------------------------------------------------------------------------------------ changes


def post_change_digest(
    settings: Any,
    client: WebClient,
    *,
    review: DigestReview,
    channel: str,
    from_year: str | None = None,
    to_year: str | None = None,
    prefix: str | None = None,
    chapter: str | None = None,
    versions: Any | None = None,
    pause_s: float = DEFAULT_PAUSE_S,
) -> list[PostedChapter]:
    """Post one message per chapter with changes and record each as a discussion thread.
    Raises VersionError (years, prefix, chapter), SlackApiError (posting) or a database error
    (before anything is posted)."""
    from codedesk.bot.listeners.changes import chapter_title
    from codedesk.retrieval.versions import VersionSet

    versions = versions or VersionSet.load(settings)
    old, new = _years(versions, settings, from_year, to_year)
    d = versions.diff(old.fiscal_year, new.fiscal_year, prefix=prefix, chapter=chapter)
    review.ensure_ready()  # the review log is checked before anything is posted
    cli = f"codedesk changes --from {old.fiscal_year} --to {new.fiscal_year}" + (
        f" --prefix {d.prefix}" if d.prefix else ""
    )
    posted: list[PostedChapter] = []
    for number, part in d.by_chapter().items():
        if posted and pause_s > 0:
            time.sleep(pause_s)
        name = chapter_title(versions, number)
        rendered = chapter_message(part, chapter=number, name=name, old=old, new=new)
        resp = client.chat_postMessage(
            channel=channel,
            text=rendered.text,
            blocks=rendered.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        ts, channel_id = str(resp["ts"]), str(resp.get("channel") or channel)
        thread_id = review.record_thread(
            channel_id=channel_id,
            message_ts=ts,
            chapter=number,
            from_fy=old.fiscal_year,
            to_fy=new.fiscal_year,
            prefix=part.prefix,
            title=name,
            counts=part.counts(),
        )
        continued = 0
        if rendered.truncated:
            for blocks in R.changes_full_messages(
                part,
                heading=f"Chapter {number}: the complete list",
                hint=f"`{cli} --chapter {number}`" if not d.prefix else f"`{cli}`",
            ):
                client.chat_postMessage(
                    channel=channel_id,
                    thread_ts=ts,
                    text=rendered.text,
                    blocks=blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
                continued += 1
        posted.append(PostedChapter(number, channel_id, ts, thread_id, part.counts(), continued))
        log.info(
            "digest_chapter_posted chapter=%s ts=%s thread_id=%s continued=%d",
            number,
            ts,
            thread_id,
            continued,
        )
    return posted


def post_weekly_digest(
    settings: Any,
    client: WebClient,
    *,
    review: DigestReview,
    channel: str,
    days: int = 7,
    until: datetime | None = None,
) -> tuple[str, WeekSummary]:
    """Post the summary of the `days` up to `until` (default now); (message ts, the WeekSummary)."""
    review.ensure_ready()
    until = until or datetime.now(UTC)
    since = until - timedelta(days=days)
    summary = review.week_summary(since=since, until=until, top=5)
    discussions = review.discussions(since=since, until=until)
    rendered = R.weekly_digest(summary, discussions=discussions)
    resp = client.chat_postMessage(
        channel=channel,
        text=rendered.text,
        blocks=rendered.blocks,
        unfurl_links=False,
        unfurl_media=False,
    )
    log.info("weekly_digest_posted questions=%d ts=%s", summary.questions, resp.get("ts"))
    return str(resp["ts"]), summary


# ------------------------------------------------------------------------------------------ the commands

HELP = "Post digests to a Slack channel (code changes by chapter, the weekly summary)."


def make_digest_app(review_for: Callable[[Any], DigestReview]) -> typer.Typer:
    """`codedesk digest changes|weekly`; `review_for(settings)` is the review log they record into
    and read from (given by the composition root)."""
    digest_app = typer.Typer(help=HELP, add_completion=False, no_args_is_help=True)

    @digest_app.command("changes")
    def changes_command(
        ctx: typer.Context,
        channel: str = typer.Option(
            ...,
            "--channel",
            "-c",
            envvar="CODEDESK_DIGEST_CHANNEL",
            help="Channel id (C…) to post in; CodeDesk must be able to post there.",
        ),
        from_year: str = typer.Option(
            None, "--from", help="Older fiscal year (default: the year before --to)."
        ),
        to_year: str = typer.Option(
            None, "--to", help="Newer fiscal year (default: CODEDESK_FISCAL_YEAR)."
        ),
        prefix: str = typer.Option(
            None, "--prefix", help="Only codes starting with this (N18, S30.1)."
        ),
        chapter: str = typer.Option(
            None, "--chapter", help="Only this chapter, by number (4 = E00-E89)."
        ),
        pause: float = typer.Option(
            DEFAULT_PAUSE_S, "--pause", min=0.0, help="Seconds between chapter messages."
        ),
    ) -> None:
        """Post one message per chapter with its code changes, for discussion in each thread."""
        from codedesk.settings import Settings

        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
        if prefix and chapter:
            raise typer.BadParameter(
                "give either --prefix or --chapter, not both", param_hint="--prefix"
            )
        review = review_for(settings)
        try:
            client = slack_client(settings)
            posted = post_change_digest(
                settings,
                client,
                review=review,
                channel=channel,
                from_year=from_year,
                to_year=to_year,
                prefix=prefix,
                chapter=chapter,
                pause_s=pause,
            )
        except Exception as err:
            raise _fail("changes", err, review) from None
        if not posted:
            typer.echo("No changes to post.")
            return
        for p in posted:
            c = p.counts
            typer.echo(
                f"chapter {p.chapter:>2}: ts {p.ts} · {c['added']} added, "
                f"{c['deleted']} deleted, {c['revised']} revised, "
                f"{c['became_header']} became headers, {c['notes_changed']} notes"
                + (f" · complete list in {p.continued} thread message(s)" if p.continued else "")
            )
        typer.echo(
            f"Posted {len(posted)} chapter message(s) to {posted[0].channel}; replies and "
            "reactions in their threads are recorded while `codedesk serve` runs."
        )

    @digest_app.command("weekly")
    def weekly_command(
        ctx: typer.Context,
        channel: str = typer.Option(
            ...,
            "--channel",
            "-c",
            envvar="CODEDESK_DIGEST_CHANNEL",
            help="Channel id (C…) to post in.",
        ),
        days: int = typer.Option(7, "--days", min=1, help="Length of the period, up to now."),
    ) -> None:
        """Post the week's summary: questions, top topics, feedback ratio, low confidence."""
        from codedesk.settings import Settings

        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
        review = review_for(settings)
        try:
            client = slack_client(settings)
            ts, summary = post_weekly_digest(
                settings, client, review=review, channel=channel, days=days
            )
        except Exception as err:
            raise _fail("weekly", err, review) from None
        typer.echo(f"Posted the summary of {summary.questions} question(s) to {channel} (ts {ts}).")

    return digest_app


def _fail(command: str, err: Exception, review: DigestReview) -> typer.Exit:
    """Say what went wrong and what to do; never a stack trace."""
    if isinstance(err, SlackApiError):
        code = err.response.get("error")
        hint = {
            "not_in_channel": "invite CodeDesk to the channel (/invite @CodeDesk)",
            "channel_not_found": "check the channel id (channel details → the C… id at the bottom)",
            "invalid_auth": "check SLACK_BOT_TOKEN",
            "not_authed": "set SLACK_BOT_TOKEN",
        }.get(code, "")
        message = f"Slack refused the message ({code})" + (f": {hint}" if hint else "")
    elif isinstance(err, CodeDeskError):
        message = str(err)
    elif review.is_unavailable(err):
        message = (
            "the review log database is unavailable: check CODEDESK_DATABASE_URL and try again"
        )
    else:
        log.exception("digest_failed command=%s", command)
        message = f"failed ({type(err).__name__}); see the log"
    typer.echo(f"codedesk digest {command}: {message}", err=True)
    return typer.Exit(code=1)
