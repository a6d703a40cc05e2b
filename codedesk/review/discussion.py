"""Discussion of code changes in Slack: the messages `codedesk digest changes` posts (one per
chapter, `discussion_thread`), the replies people write in their threads (`discussion_reply`,
scrubbed like everything else in the log) and the reactions on them (`discussion_reaction`).

CRUD functions are keyword-only and take the session (as in `codedesk.review.log`); every write is
idempotent on its Slack message ts, so a Slack retry or a second delivery stores nothing twice.
`list_discussions(session, since=…, until=…)` is what the review report shows.

`DiscussionLog` is the bot's facade: it never raises (a database that is down loses the
discussion record, never the Slack conversation) and hashes user ids like `QueryLogger`. Its
writes are idempotent, so Slack retries need no separate de-duplication.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from codedesk.phi.scrub import scrub
from codedesk.review.escaping import md_text
from codedesk.review.models import DiscussionReaction, DiscussionReply, DiscussionThread, utcnow

log = logging.getLogger(__name__)

REPLY_CHARS = 4000  # a reply longer than this is cut (after scrubbing) before it is stored


def ts_to_datetime(ts: str | None) -> datetime:
    """A Slack message ts ('1700000001.000100') as a UTC datetime; now when it is not one."""
    try:
        return datetime.fromtimestamp(float(ts or ""), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow()


# --- threads ---------------------------------------------------------------------------------------


def record_thread(
    session: Session,
    *,
    channel_id: str,
    message_ts: str,
    from_fy: str,
    to_fy: str,
    chapter: str | None = None,
    prefix: str | None = None,
    title: str | None = None,
    counts: dict[str, int] | None = None,
    created_at: datetime | None = None,
) -> DiscussionThread:
    """Record a posted digest message (the root of a discussion thread). Idempotent on (channel, ts)."""
    existing = get_thread(session, channel_id=channel_id, message_ts=message_ts)
    if existing is not None:
        return existing
    row = DiscussionThread(
        channel_id=channel_id,
        message_ts=message_ts,
        from_fy=str(from_fy),
        to_fy=str(to_fy),
        chapter=chapter,
        prefix=prefix,
        title=(title or "")[:512] or None,
        counts=dict(counts) if counts else None,
        created_at=created_at or ts_to_datetime(message_ts),
    )
    session.add(row)
    session.flush()
    return row


def get_thread(session: Session, *, channel_id: str, message_ts: str) -> DiscussionThread | None:
    """The thread whose root message is (channel, ts)."""
    stmt = select(DiscussionThread).where(
        DiscussionThread.channel_id == channel_id, DiscussionThread.message_ts == message_ts
    )
    return session.exec(stmt).first()


def thread_of_message(
    session: Session, *, channel_id: str, message_ts: str
) -> DiscussionThread | None:
    """The thread a message belongs to: its root, or a reply recorded in it."""
    root = get_thread(session, channel_id=channel_id, message_ts=message_ts)
    if root is not None:
        return root
    stmt = (
        select(DiscussionThread)
        .join(DiscussionReply, col(DiscussionReply.thread_id) == col(DiscussionThread.id))
        .where(DiscussionThread.channel_id == channel_id, DiscussionReply.message_ts == message_ts)
    )
    return session.exec(stmt).first()


def list_threads(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel_id: str | None = None,
) -> Sequence[DiscussionThread]:
    """Threads posted with since <= created_at < until, oldest first."""
    stmt = select(DiscussionThread)
    if since is not None:
        stmt = stmt.where(DiscussionThread.created_at >= since)
    if until is not None:
        stmt = stmt.where(DiscussionThread.created_at < until)
    if channel_id is not None:
        stmt = stmt.where(DiscussionThread.channel_id == channel_id)
    return session.exec(
        stmt.order_by(col(DiscussionThread.created_at), col(DiscussionThread.id))
    ).all()


# --- replies ---------------------------------------------------------------------------------------


def _clean(text: str | None) -> tuple[str, str | None]:
    result = scrub(text or "")
    clean = result.text.strip()
    if len(clean) > REPLY_CHARS:
        clean = clean[: REPLY_CHARS - 1] + "…"
    return clean, (result.summary()[:256] or None)


def add_reply(
    session: Session,
    *,
    thread_id: int,
    message_ts: str,
    text: str,
    user_hash: str | None = None,
    created_at: datetime | None = None,
) -> DiscussionReply:
    """Record a reply in a thread; the text is scrubbed here. Idempotent on (thread, ts)."""
    stmt = select(DiscussionReply).where(
        DiscussionReply.thread_id == thread_id, DiscussionReply.message_ts == message_ts
    )
    existing = session.exec(stmt).first()
    if existing is not None:
        return existing
    clean, phi = _clean(text)
    row = DiscussionReply(
        thread_id=thread_id,
        message_ts=message_ts,
        text=clean,
        phi_found=phi,
        user_hash=user_hash,
        created_at=created_at or ts_to_datetime(message_ts),
    )
    session.add(row)
    session.flush()
    return row


def _reply(session: Session, *, channel_id: str, message_ts: str) -> DiscussionReply | None:
    stmt = (
        select(DiscussionReply)
        .join(DiscussionThread, col(DiscussionThread.id) == col(DiscussionReply.thread_id))
        .where(DiscussionThread.channel_id == channel_id, DiscussionReply.message_ts == message_ts)
    )
    return session.exec(stmt).first()


def edit_reply(
    session: Session, *, channel_id: str, message_ts: str, text: str
) -> DiscussionReply | None:
    """Replace a recorded reply's text with its edited (scrubbed) text; None when it is not recorded."""
    row = _reply(session, channel_id=channel_id, message_ts=message_ts)
    if row is None:
        return None
    row.text, row.phi_found = _clean(text)
    row.edited_at = utcnow()
    session.add(row)
    session.flush()
    return row


def delete_reply(session: Session, *, channel_id: str, message_ts: str) -> bool:
    """Forget a reply its author deleted in Slack (and the reactions on it)."""
    row = _reply(session, channel_id=channel_id, message_ts=message_ts)
    if row is None:
        return False
    session.exec(
        sa.delete(DiscussionReaction).where(  # type: ignore[call-overload]
            col(DiscussionReaction.thread_id) == row.thread_id,
            col(DiscussionReaction.message_ts) == message_ts,
        )
    )
    session.delete(row)
    session.flush()
    return True


def _list_in_period(
    session: Session,
    model: Any,
    *,
    thread_id: int | None,
    since: datetime | None,
    until: datetime | None,
) -> Sequence[Any]:
    """Rows of a discussion table (replies or reactions), by thread and creation time, oldest first."""
    stmt = select(model)
    if thread_id is not None:
        stmt = stmt.where(model.thread_id == thread_id)
    if since is not None:
        stmt = stmt.where(model.created_at >= since)
    if until is not None:
        stmt = stmt.where(model.created_at < until)
    return session.exec(stmt.order_by(col(model.created_at), col(model.id))).all()


def list_replies(
    session: Session,
    *,
    thread_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[DiscussionReply]:
    return _list_in_period(session, DiscussionReply, thread_id=thread_id, since=since, until=until)


# --- reactions -------------------------------------------------------------------------------------


def add_reaction(
    session: Session,
    *,
    thread_id: int,
    message_ts: str,
    reaction: str,
    user_hash: str | None = None,
    created_at: datetime | None = None,
) -> DiscussionReaction:
    """Record a reaction (idempotent on thread, message, reaction and person)."""
    key = user_hash or ""
    stmt = select(DiscussionReaction).where(
        DiscussionReaction.thread_id == thread_id,
        DiscussionReaction.message_ts == message_ts,
        DiscussionReaction.reaction == reaction,
        DiscussionReaction.user_hash == key,
    )
    existing = session.exec(stmt).first()
    if existing is not None:
        return existing
    row = DiscussionReaction(
        thread_id=thread_id,
        message_ts=message_ts,
        reaction=reaction[:64],
        user_hash=key,
        created_at=created_at or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def remove_reaction(
    session: Session,
    *,
    thread_id: int,
    message_ts: str,
    reaction: str,
    user_hash: str | None = None,
) -> bool:
    result = session.exec(
        sa.delete(DiscussionReaction).where(  # type: ignore[call-overload]
            col(DiscussionReaction.thread_id) == thread_id,
            col(DiscussionReaction.message_ts) == message_ts,
            col(DiscussionReaction.reaction) == reaction,
            col(DiscussionReaction.user_hash) == (user_hash or ""),
        )
    )
    return bool(result.rowcount)


def list_reactions(
    session: Session,
    *,
    thread_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[DiscussionReaction]:
    return _list_in_period(
        session, DiscussionReaction, thread_id=thread_id, since=since, until=until
    )


def purge_discussions(
    session: Session, *, older_than: datetime, dry_run: bool = False
) -> dict[str, int]:
    """Retention: delete replies and reactions created before `older_than`, and threads posted before
    it that have nothing left. Counts by table (what would go, with dry_run)."""
    plan = [
        (
            "discussion_reaction",
            DiscussionReaction,
            col(DiscussionReaction.created_at) < older_than,
        ),
        ("discussion_reply", DiscussionReply, col(DiscussionReply.created_at) < older_than),
    ]
    counts: dict[str, int] = {}
    for name, model, where in plan:
        if dry_run:
            counts[name] = session.exec(
                select(sa.func.count()).select_from(model).where(where)
            ).one()
        else:
            counts[name] = session.exec(sa.delete(model).where(where)).rowcount  # type: ignore[call-overload]
    empty = (
        (col(DiscussionThread.created_at) < older_than)
        & ~sa.exists().where(col(DiscussionReply.thread_id) == col(DiscussionThread.id))
        & ~sa.exists().where(col(DiscussionReaction.thread_id) == col(DiscussionThread.id))
    )
    if dry_run:
        counts["discussion_thread"] = session.exec(
            select(sa.func.count()).select_from(DiscussionThread).where(empty)
        ).one()
    else:
        counts["discussion_thread"] = session.exec(
            sa.delete(DiscussionThread).where(empty)
        ).rowcount  # type: ignore[call-overload]
    return counts


# --- what the review report shows --------------------------------------------------------------------


@dataclass(slots=True)
class Discussion:
    """One discussion thread and its activity in a period."""

    thread: DiscussionThread
    replies: list[DiscussionReply] = field(default_factory=list)  # in the period, oldest first
    reactions: Counter[str] = field(default_factory=Counter)  # emoji name -> count, in the period
    replies_total: int = 0  # all time
    participants: int = 0  # distinct people who replied or reacted in the period

    @property
    def chapter(self) -> str | None:
        return self.thread.chapter

    @property
    def label(self) -> str:
        """'FY2025 → FY2026 · chapter 4 — Endocrine, …' (or the prefix)."""
        scope = (
            f"chapter {self.thread.chapter}"
            if self.thread.chapter
            else (self.thread.prefix or "all codes")
        )
        title = f" — {self.thread.title}" if self.thread.title else ""
        return f"FY{self.thread.from_fy} → FY{self.thread.to_fy} · {scope}{title}"


def list_discussions(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> list[Discussion]:
    """Discussion threads posted in [since, until) or with replies or reactions in it, each with its
    replies and reactions of the period; ordered by fiscal years, then chapter number, then posting."""
    replies = list_replies(session, since=since, until=until)
    reactions = list_reactions(session, since=since, until=until)
    ids = {r.thread_id for r in replies} | {r.thread_id for r in reactions}
    ids |= {t.id for t in list_threads(session, since=since, until=until) if t.id is not None}
    if not ids:
        return []
    threads = list(
        session.exec(select(DiscussionThread).where(col(DiscussionThread.id).in_(sorted(ids))))
    )
    totals = dict(
        session.exec(
            select(DiscussionReply.thread_id, sa.func.count())  # type: ignore[call-overload]
            .where(col(DiscussionReply.thread_id).in_(sorted(ids)))
            .group_by(col(DiscussionReply.thread_id))
        ).all()
    )
    out = []
    for t in threads:
        mine = [r for r in replies if r.thread_id == t.id]
        reacts = [r for r in reactions if r.thread_id == t.id]
        people = {r.user_hash for r in mine if r.user_hash} | {
            r.user_hash for r in reacts if r.user_hash
        }
        out.append(
            Discussion(
                thread=t,
                replies=mine,
                reactions=Counter(r.reaction for r in reacts),
                replies_total=int(totals.get(t.id, 0)),
                participants=len(people),
            )
        )

    def order(d: Discussion) -> tuple[Any, ...]:
        ch = d.thread.chapter or ""
        return (
            d.thread.from_fy,
            d.thread.to_fy,
            int(ch) if ch.isdigit() else 99,
            d.thread.created_at,
            d.thread.id,
        )

    out.sort(key=order)
    return out


def discussions_markdown(discussions: Sequence[Discussion], *, replies_per_thread: int = 5) -> str:
    """A Markdown section for a report: one item per thread with its reactions and latest replies."""
    if not discussions:
        return "No code-change discussions in this period.\n"
    lines = []
    for d in discussions:
        reacts = " ".join(f":{name}: {n}" for name, n in d.reactions.most_common())
        head = f"- **{md_text(d.label)}** — {len(d.replies)} repl{'y' if len(d.replies) == 1 else 'ies'}"
        head += f" ({d.replies_total} in all)" if d.replies_total != len(d.replies) else ""
        head += f", {d.participants} participant{'s' if d.participants != 1 else ''}"
        lines.append(head + (f"; reactions {reacts}" if reacts else ""))
        for r in d.replies[-replies_per_thread:]:
            lines.append(
                f"  - {r.created_at:%Y-%m-%d}: {md_text(r.text)}"
            )  # typed by members: inert
    return "\n".join(lines) + "\n"


# --- the bot's facade --------------------------------------------------------------------------------


class DiscussionLog:
    """Records replies and reactions from Slack events; never raises.

    `hash_user` is `QueryLogger.hash_user` (the same keyed hash as the query log); `engine`
    defaults to the settings' shared engine, migrated on first use."""

    def __init__(
        self,
        settings: Any,
        *,
        hash_user: Callable[[str | None], str | None],
        engine: sa.Engine | None = None,
    ) -> None:
        self.settings = settings
        self.hash_user = hash_user
        self._engine = engine
        self._ready = False

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            from codedesk.review.db import engine_for

            self._engine = engine_for(self.settings)
        if not self._ready:
            from codedesk.review.migrate import ensure_schema

            ensure_schema(self._engine)
            self._ready = True
        return self._engine

    def _run(self, what: str, fn: Callable[[Session], Any]) -> Any:
        from codedesk.review.db import session_scope

        try:
            with session_scope(self.engine) as session:
                return fn(session)
        except (
            sa.exc.IntegrityError
        ):  # a Slack retry raced the first delivery: stored once, by the other
            log.info("discussion record already stored op=%s", what)
            return None
        except Exception as exc:
            log.error("discussion record failed op=%s error=%s", what, type(exc).__name__)
            return None

    def reply(
        self, *, channel_id: str, thread_ts: str, message_ts: str, text: str, user_id: str | None
    ) -> int | None:
        """Record a reply when `thread_ts` is a discussion thread's root; its row id, else None."""

        def go(session: Session) -> int | None:
            thread = get_thread(session, channel_id=channel_id, message_ts=thread_ts)
            if thread is None or thread.id is None:
                return None
            return add_reply(
                session,
                thread_id=thread.id,
                message_ts=message_ts,
                text=text,
                user_hash=self.hash_user(user_id),
            ).id

        return self._run("reply", go)

    def edit(self, *, channel_id: str, message_ts: str, text: str) -> bool:
        return bool(
            self._run(
                "edit",
                lambda s: edit_reply(s, channel_id=channel_id, message_ts=message_ts, text=text),
            )
        )

    def delete(self, *, channel_id: str, message_ts: str) -> bool:
        return bool(
            self._run(
                "delete", lambda s: delete_reply(s, channel_id=channel_id, message_ts=message_ts)
            )
        )

    def reaction(
        self,
        *,
        channel_id: str,
        message_ts: str,
        reaction: str,
        user_id: str | None,
        added: bool = True,
        event_ts: str | None = None,
    ) -> bool:
        """Record (or, with added=False, remove) a reaction on a thread's root or a recorded reply."""

        def go(session: Session) -> bool:
            thread = thread_of_message(session, channel_id=channel_id, message_ts=message_ts)
            if thread is None or thread.id is None:
                return False
            user_hash = self.hash_user(user_id)
            if added:
                add_reaction(
                    session,
                    thread_id=thread.id,
                    message_ts=message_ts,
                    reaction=reaction,
                    user_hash=user_hash,
                    created_at=ts_to_datetime(event_ts) if event_ts else None,
                )
                return True
            return remove_reaction(
                session,
                thread_id=thread.id,
                message_ts=message_ts,
                reaction=reaction,
                user_hash=user_hash,
            )

        return bool(self._run("reaction", go))
