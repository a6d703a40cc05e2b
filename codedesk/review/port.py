"""`ReviewService`: the bot's review port (`codedesk.bot.review_port.ReviewPort`) over the review
database — the query log (`QueryLogger`), the Home tab and weekly digest reads (`home`), decisions
(`decide`) and code-change discussions (`discussion`).

It satisfies the port structurally: review sits below the bot and does not import it. The
composition root builds one per process and hands it to the bot:

    review = ReviewService(settings, QueryLogger(settings))   # the Slack app
    review = ReviewService(settings)                          # `codedesk digest`: no answers to log

Without a `QueryLogger` nothing is logged (`enabled` is False) and Slack retries and rate limits
are kept in this process's memory (`LocalClaims`, the same fallback the logger uses while the
database is down).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from codedesk.review import decide as decide_mod
from codedesk.review import home
from codedesk.review.db import describe_url, engine_for, is_unavailable, session_scope
from codedesk.review.discussion import Discussion, DiscussionLog, list_discussions, record_thread
from codedesk.review.log import LocalClaims, QueryLogger
from codedesk.review.migrate import ensure_schema
from codedesk.review.models import QueryLog, new_uid

log = logging.getLogger(__name__)

LogRef = int | str


class ReviewService:
    """The review port over the database (see the module's docstring); thread-safe."""

    def __init__(
        self,
        settings: Any,
        query_logger: QueryLogger | None = None,
        *,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        # the logger behind the port: the composition root closes it; tests log through it directly
        self.query_logger = query_logger
        self._given_engine = engine
        self._local = LocalClaims() if query_logger is None else None
        self._lock = threading.Lock()
        self._schema_ready = False
        self._discussions: DiscussionLog | None = None

    # -------------------------------------------------------------- the database

    @property
    def engine(self) -> Engine:
        if self._given_engine is not None:
            return self._given_engine
        logger = self.query_logger  # its engine (both are cached: no connection is opened here)
        return logger.engine if logger is not None else engine_for(self.settings)

    def ensure_ready(self) -> None:
        self._ready_engine()

    def _ready_engine(self) -> Engine:
        engine = self.engine
        if not self._schema_ready:
            ensure_schema(engine)  # raises while the database is down: tried again next time
            self._schema_ready = True
        return engine

    def is_unavailable(self, err: BaseException) -> bool:
        return is_unavailable(err)

    def _hash(self, user_id: str | None) -> str | None:
        return self.query_logger.hash_user(user_id) if self.query_logger is not None else None

    # -------------------------------------------------------------- the answer log (never raises)

    @property
    def enabled(self) -> bool:
        return self.query_logger is not None

    def log_answer(
        self,
        *,
        question: str,
        answer: Any,
        surface: str,
        user_id: str | None,
        channel: str | None,
        latency_ms: float,
        index_version: str | None,
    ) -> LogRef | None:
        if self.query_logger is None:
            return None
        uid = new_uid()  # known before the record is written: buttons can refer to a queued one
        try:
            row_id = self.query_logger.log_answer(
                question=question,
                answer=answer,
                surface=surface,
                user_id=user_id,
                channel=channel,
                latency_ms=latency_ms,
                index_version=index_version,
                uid=uid,
            )
        except Exception:
            log.exception("log_answer_failed surface=%s", surface)
            return None
        return row_id if row_id is not None else uid

    def feedback(
        self, *, query_id: LogRef, user_id: str | None, value: int, reason: str | None = None
    ) -> bool:
        if self.query_logger is None:
            return False
        try:
            self.query_logger.feedback(
                query_id=query_id, user_id=user_id, value=value, reason=reason
            )
            return True  # written, or queued until the database is back
        except Exception:
            log.exception("feedback_failed query_id=%s", query_id)
            return False

    def escalation(
        self,
        *,
        query_id: LogRef | None,
        user_id: str | None,
        channel: str | None,
        note: str | None = None,
    ) -> bool:
        if self.query_logger is None or query_id is None:
            return False
        try:
            self.query_logger.escalation(
                query_id=query_id, user_id=user_id, channel=channel, note=note
            )
            return True
        except Exception:
            log.exception("escalation_log_failed query_id=%s", query_id)
            return False

    # -------------------------------------------------------------- shared state (never raises)

    def claim_event(self, event_id: str) -> bool:
        if self._local is not None:
            return self._local.claim(event_id)
        assert self.query_logger is not None
        try:
            return self.query_logger.claim_event(event_id)  # falls back to memory itself
        except Exception:  # not expected (the logger never raises): answer rather than drop it
            log.exception("claim_event_failed event_id=%s", event_id)
            return True

    def allow(self, user_id: str, *, limit: int, window_s: int) -> bool:
        if self._local is not None:
            return self._local.allow(user_id, limit=limit, window_s=window_s)
        assert self.query_logger is not None
        try:
            return self.query_logger.allow_request(user_id=user_id, limit=limit, window_s=window_s)
        except Exception:  # not expected, as above: a broken limiter must not silence the bot
            log.exception("rate_limit_failed")
            return True

    # -------------------------------------------------------------- the Home tab and the digest

    def week_summary(
        self, *, since: datetime | None = None, until: datetime | None = None, top: int = 5
    ) -> home.WeekSummary:
        with session_scope(self._ready_engine()) as session:
            return home.week_summary(session, since=since, until=until, top=top)

    def discussions(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Discussion]:
        with session_scope(self._ready_engine()) as session:
            return list_discussions(session, since=since, until=until)

    def recent_questions(self, user_id: str, *, limit: int = 10) -> Sequence[QueryLog] | None:
        user_hash = self._hash(user_id)
        if not user_hash:
            return None
        with session_scope(self._ready_engine()) as session:
            return home.recent_questions(session, user_hash=user_hash, limit=limit)

    def topic_for_query(self, query_id: int) -> int:
        with session_scope(self._ready_engine()) as session:
            return home.topic_for_query(session, query_id)

    def decide(
        self, *, topic_id: int, text: str, decided_by: str, effective: date | None, draft: bool
    ) -> decide_mod.DecisionResult:
        return decide_mod.decide(
            self.settings,
            topic_id,
            text,
            decided_by,
            effective,
            "draft" if draft else "approved",
            engine=self._ready_engine(),
        )

    # -------------------------------------------------------------- discussion threads

    def record_thread(
        self,
        *,
        channel_id: str,
        message_ts: str,
        from_fy: str,
        to_fy: str,
        chapter: str | None = None,
        prefix: str | None = None,
        title: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> int | None:
        with session_scope(self._ready_engine()) as session:
            row = record_thread(
                session,
                channel_id=channel_id,
                message_ts=message_ts,
                from_fy=from_fy,
                to_fy=to_fy,
                chapter=chapter,
                prefix=prefix,
                title=title,
                counts=counts,
            )
            return row.id

    @property
    def _discussion_log(self) -> DiscussionLog:
        with self._lock:
            if self._discussions is None:  # never raises: records nothing while the db is down
                # its engine defaults to the settings' shared one, created inside its own try
                self._discussions = DiscussionLog(
                    self.settings, hash_user=self._hash, engine=self._given_engine
                )
            return self._discussions

    def record_reply(
        self, *, channel_id: str, thread_ts: str, message_ts: str, text: str, user_id: str | None
    ) -> int | None:
        return self._discussion_log.reply(
            channel_id=channel_id,
            thread_ts=thread_ts,
            message_ts=message_ts,
            text=text,
            user_id=user_id,
        )

    def edit_reply(self, *, channel_id: str, message_ts: str, text: str) -> bool:
        return self._discussion_log.edit(channel_id=channel_id, message_ts=message_ts, text=text)

    def delete_reply(self, *, channel_id: str, message_ts: str) -> bool:
        return self._discussion_log.delete(channel_id=channel_id, message_ts=message_ts)

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
        return self._discussion_log.reaction(
            channel_id=channel_id,
            message_ts=message_ts,
            reaction=reaction,
            user_id=user_id,
            added=added,
            event_ts=event_ts,
        )

    # -------------------------------------------------------------- operations (`codedesk serve`)

    def pending(self) -> int | None:
        return self.query_logger.pending() if self.query_logger is not None else None

    def check_database(self) -> dict[str, Any]:
        """{"ok", "url" (no credentials), "backend"[, "error"]}, or {"ok": True, "configured":
        False} without a log (what `codedesk.bot.serve` reports at /readyz)."""
        if self.query_logger is None:
            return {"ok": True, "configured": False}
        try:
            engine = self.engine
            url = describe_url(str(engine.url))
        except Exception as err:
            return {"ok": False, "error": f"no database engine ({type(err).__name__})"}
        out: dict[str, Any] = {"ok": False, "url": url, "backend": engine.dialect.name}
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as err:
            out["error"] = f"cannot reach the database ({type(err).__name__})"
            return out
        out["ok"] = True
        return out

    def start_flusher(self, interval_s: float = 30.0) -> None:
        if self.query_logger is not None:
            self.query_logger.start_flusher(interval_s=interval_s)

    def close(self) -> None:
        if self.query_logger is not None:
            self.query_logger.close()
