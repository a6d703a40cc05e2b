"""The query log: keyword-only CRUD functions that take a session, and the `QueryLogger` facade
the CLI and the Slack bot use.

Everything free-text is scrubbed before it reaches a model (`codedesk.phi.scrub`); raw question text is
never stored and never written to the application log. `QueryLogger` never raises: when the
database cannot be reached the record goes to the durable local queue (`codedesk.review.durable_queue`) and is
written, exactly once thanks to its client-generated uid, when the database is back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from codedesk.phi.scrub import normalize, scrub
from codedesk.review import migrate
from codedesk.review.db import (
    describe_url,
    destination_of,
    engine_for,
    is_unavailable,
    session_scope,
)
from codedesk.review.durable_queue import DurableQueue
from codedesk.review.models import (
    DECISION_STATUSES,
    SECTION_CHARS,
    SURFACES,
    Escalation,
    Feedback,
    QueryCitation,
    QueryCitationBase,
    QueryLog,
    QueryLogCreate,
    RateLimit,
    ReviewDecision,
    ReviewTopic,
    SlackEvent,
    new_uid,
    utcnow,
)
from codedesk.state import private_dir

log = logging.getLogger(__name__)
_Reaction = TypeVar("_Reaction", Feedback, Escalation)

ANSWER_SUMMARY_CHARS = 500
CODES_CHARS = 512
MAX_QUESTION_CHARS = (
    2000  # what the answerer reads (CODEDESK_MAX_QUESTION_CHARS): more is never stored
)
TRUNCATED_MARK = " …[truncated]"
_SCRUB_MARGIN = (
    200  # scrubbed a little past the cut, so an identifier across it is still recognised
)
SALT_FILE = "user-hash.key"
QUEUE_FILE = "log-queue.sqlite3"


# --- CRUD -----------------------------------------------------------------------------------------


def create_query(session: Session, *, data: QueryLogCreate) -> QueryLog:
    """Store a scrubbed query and its citations; a second call with the same uid returns the first row."""
    existing = get_query_by_uid(session, uid=data.uid)
    if existing is not None:
        return existing
    row = QueryLog.model_validate(data.model_dump(exclude={"citations"}))
    session.add(row)
    session.flush()  # assigns row.id for the citations
    for rank, citation in enumerate(data.citations):
        session.add(
            QueryCitation.model_validate(
                {**citation.model_dump(), "rank": rank, "query_id": row.id}
            )
        )
    session.flush()
    return row


def get_query(session: Session, *, query_id: int) -> QueryLog | None:
    return session.get(QueryLog, query_id)


def get_query_by_uid(session: Session, *, uid: str) -> QueryLog | None:
    return session.exec(select(QueryLog).where(QueryLog.uid == uid)).first()


def list_queries(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    surface: str | None = None,
    confidence: str | None = None,
    limit: int | None = None,
) -> Sequence[QueryLog]:
    """Queries with since <= created_at < until, oldest first."""
    stmt = select(QueryLog)
    if since is not None:
        stmt = stmt.where(QueryLog.created_at >= since)
    if until is not None:
        stmt = stmt.where(QueryLog.created_at < until)
    if surface is not None:
        stmt = stmt.where(QueryLog.surface == surface)
    if confidence is not None:
        stmt = stmt.where(QueryLog.confidence == confidence)
    stmt = stmt.order_by(col(QueryLog.created_at), col(QueryLog.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.exec(stmt).all()


def list_citations(session: Session, *, query_id: int) -> Sequence[QueryCitation]:
    stmt = (
        select(QueryCitation)
        .where(QueryCitation.query_id == query_id)
        .order_by(col(QueryCitation.rank))
    )
    return session.exec(stmt).all()


def add_feedback(
    session: Session,
    *,
    query_id: int,
    value: int,
    user_hash: str | None = None,
    reason: str | None = None,
    uid: str | None = None,
    created_at: datetime | None = None,
) -> Feedback:
    """Record 👍 (+1) or 👎 (-1). The reason is scrubbed here. Idempotent on `uid`."""
    if value not in (1, -1):
        raise ValueError(f"feedback value must be +1 or -1, not {value!r}")
    return _add_once(
        session,
        Feedback(
            query_id=query_id,
            value=value,
            user_hash=user_hash,
            reason=_scrubbed(reason),
            uid=uid or new_uid(),
            created_at=created_at or utcnow(),
        ),
        uid,
    )


def list_feedback(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    value: int | None = None,
) -> Sequence[Feedback]:
    stmt = select(Feedback)
    if value is not None:
        stmt = stmt.where(Feedback.value == value)
    return session.exec(_in_window(stmt, Feedback, since, until)).all()


def add_escalation(
    session: Session,
    *,
    query_id: int,
    user_hash: str | None = None,
    channel_id: str | None = None,
    note: str | None = None,
    uid: str | None = None,
    created_at: datetime | None = None,
) -> Escalation:
    """Record an "Ask a team lead". The note is scrubbed here. Idempotent on `uid`."""
    return _add_once(
        session,
        Escalation(
            query_id=query_id,
            user_hash=user_hash,
            channel_id=channel_id,
            note=_scrubbed(note),
            uid=uid or new_uid(),
            created_at=created_at or utcnow(),
        ),
        uid,
    )


def list_escalations(
    session: Session,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[Escalation]:
    stmt = select(Escalation)
    if status is not None:
        stmt = stmt.where(Escalation.status == status)
    return session.exec(_in_window(stmt, Escalation, since, until)).all()


def _add_once(session: Session, row: _Reaction, uid: str | None) -> _Reaction:
    """Add a feedback or escalation row, unless one with the caller's `uid` exists (a retried Slack action):
    that one."""
    if uid is not None:
        model = type(row)
        existing = session.exec(select(model).where(model.uid == uid)).first()
        if existing is not None:
            return existing
    session.add(row)
    session.flush()
    return row


def _in_window(
    stmt: Any,
    model: type[Feedback] | type[Escalation],
    since: datetime | None,
    until: datetime | None,
) -> Any:
    """Rows created in [since, until), oldest first."""
    if since is not None:
        stmt = stmt.where(model.created_at >= since)
    if until is not None:
        stmt = stmt.where(model.created_at < until)
    return stmt.order_by(col(model.created_at), col(model.id))


def resolve_escalation(session: Session, *, escalation_id: int) -> Escalation:
    row = session.get(Escalation, escalation_id)
    if row is None:
        raise LookupError(f"no escalation {escalation_id}")
    row.status, row.resolved_at = "resolved", utcnow()
    session.add(row)
    session.flush()
    return row


def create_topic(session: Session, *, label: str, query_ids: Sequence[int] = ()) -> ReviewTopic:
    """A group of near-identical questions; `label` (scrubbed here) is a representative question."""
    clean = scrub(label).text
    topic = ReviewTopic(label=clean, normalized=normalize(clean))
    session.add(topic)
    session.flush()
    if query_ids:
        session.exec(
            sa.update(QueryLog)
            .where(col(QueryLog.id).in_(list(query_ids)))
            .values(topic_id=topic.id)
        )
    return topic


def add_decision(
    session: Session,
    *,
    topic_id: int | None,
    text: str,
    decided_by: str | None = None,
    status: str = "proposed",
    effective_date: date | None = None,
    guideline_path: str | None = None,
) -> ReviewDecision:
    """A team-lead decision on a topic. The text is scrubbed here."""
    if status not in DECISION_STATUSES:
        raise ValueError(
            f"decision status must be one of {sorted(DECISION_STATUSES)}, not {status!r}"
        )
    row = ReviewDecision(
        topic_id=topic_id,
        text=scrub(text).text,
        decided_by=decided_by,
        status=status,
        effective_date=effective_date,
        guideline_path=guideline_path,
    )
    session.add(row)
    session.flush()
    return row


def list_decisions(
    session: Session, *, topic_id: int | None = None, status: str | None = None
) -> Sequence[ReviewDecision]:
    stmt = select(ReviewDecision)
    if topic_id is not None:
        stmt = stmt.where(ReviewDecision.topic_id == topic_id)
    if status is not None:
        stmt = stmt.where(ReviewDecision.status == status)
    return session.exec(stmt.order_by(col(ReviewDecision.created_at), col(ReviewDecision.id))).all()


def claim_event(session: Session, *, event_id: str) -> bool:
    """True the first time `event_id` is seen, False for a retry — across every worker process.
    Commit the session before answering, so a retry arriving meanwhile finds the row."""
    table = _table(SlackEvent)
    stmt = _insert(session, table).values(event_id=event_id, received_at=utcnow())
    stmt = stmt.on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.event_id)
    return (
        session.exec(stmt).first() is not None
    )  # a row comes back only when this call inserted it


def allow_request(
    session: Session, *, user_hash: str, limit: int, window_s: int, now: float | None = None
) -> bool:
    """Count one request for `user_hash` in the current fixed window of `window_s` seconds and say
    whether it is within `limit`. The increment is one atomic upsert, so several workers sharing
    the database never let more than `limit` through in a window."""
    if limit < 1 or window_s < 1:
        raise ValueError("limit and window_s must be positive")
    now = time.time() if now is None else now
    start = int(now // window_s) * window_s
    table = _table(RateLimit)
    stmt = _insert(session, table).values(
        user_hash=user_hash, window_s=window_s, window_start=start, count=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_hash", "window_s", "window_start"], set_={"count": table.c.count + 1}
    ).returning(table.c.count)
    return session.exec(stmt).scalar_one() <= limit


def _table(model: type) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _insert(session: Session, table: sa.Table) -> Any:
    """A dialect insert with ON CONFLICT support (Core, not the ORM bulk-insert path)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {dialect}")


def _scrubbed(text: str | None) -> str | None:
    return None if text is None else scrub(text).text


# --- building a record from an answer -------------------------------------------------------------


def hash_user(user_id: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 of a Slack user id (or CLI user name): stable, not reversible without the key."""
    if not user_id:
        return None
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def install_salt(home: Path) -> bytes:
    """The per-install hashing key in `home`, created once (atomically, mode 0600) on first use."""
    path = Path(home) / SALT_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    tmp = path.with_name(f"{SALT_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # fails if another process won the race: then use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text().strip())


def truncate_for_log(text: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, bool]:
    """(`text` cut to at most `limit` characters at a word boundary, whether it was cut)."""
    if limit <= 0 or len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(), True


def build_query_record(
    *,
    question: str,
    answer: Any,
    surface: str,
    user_hash: str | None,
    channel: str | None,
    latency_ms: float | None,
    index_version: str | None,
    uid: str | None = None,
    max_chars: int = MAX_QUESTION_CHARS,
) -> QueryLogCreate:
    """Scrub the question and the answer summary and shape them for storage.
    `answer` is a `codedesk.retrieval.schema.Answer` (or anything with the same attributes).
    Only the first `max_chars` characters of the question are stored (what the answerer reads),
    ending in TRUNCATED_MARK when it was longer."""
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {sorted(SURFACES)}, not {surface!r}")
    question = question or ""
    long = max_chars > 0 and len(question) > max_chars
    scrubbed = scrub(question[: max_chars + _SCRUB_MARGIN] if long else question)
    text, cut = truncate_for_log(scrubbed.text, max_chars) if long else (scrubbed.text, False)
    cut = cut or long
    summary = (
        scrub(_first_paragraph(getattr(answer, "answer", "") or "")).text
        if answer is not None
        else None
    )
    codes = [c.code for c in getattr(answer, "codes", [])]
    citations = [
        QueryCitationBase(
            source_type=c.source_type,
            title=c.title[:512],
            section=_clip(c.section, SECTION_CHARS) if c.section else c.section,
            page=c.page,
            code=c.code,
            fiscal_year=c.fiscal_year,
        )
        for c in getattr(answer, "citations", [])
    ]
    return QueryLogCreate(
        uid=uid or new_uid(),
        question=text + TRUNCATED_MARK if cut else text,
        normalized=normalize(text),
        surface=surface,
        user_hash=user_hash,
        channel_id=channel,
        answer_summary=summary,
        codes=_join_codes(codes),
        confidence=getattr(answer, "confidence", None),
        latency_ms=latency_ms,
        index_version=index_version,
        fiscal_year=getattr(answer, "fiscal_year", None),
        phi_found=scrubbed.summary()[:256] or None,
        citations=citations,
    )


def _first_paragraph(markdown: str) -> str:
    return _clip(markdown.strip().split("\n\n", 1)[0], ANSWER_SUMMARY_CHARS)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join_codes(codes: list[str]) -> str | None:
    out: list[str] = []
    for code in codes:
        if len(",".join([*out, code])) > CODES_CHARS:
            break
        out.append(code)
    return ",".join(out) or None


# --- the facade -----------------------------------------------------------------------------------


class _FeedbackRecord(BaseModel):
    uid: str
    query_ref: int | str  # the log id, or the query's uid when it was queued
    value: int
    reason: str | None = None  # already scrubbed
    user_hash: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class _EscalationRecord(BaseModel):
    uid: str
    query_ref: int | str
    user_hash: str | None = None
    channel_id: str | None = None
    note: str | None = None  # already scrubbed
    created_at: datetime = Field(default_factory=utcnow)


class _UnknownQuery(LookupError):
    pass


class LocalClaims:
    """Slack retry de-duplication and per-user rate limits in this process's memory: what
    `QueryLogger` falls back to while the database is down, and all there is without a query log
    (`codedesk.review.port.ReviewService` with none). The one copy of this fallback: a retry may
    then reach another worker, and answering twice is better than never."""

    EVENTS_MAX = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: OrderedDict[str, None] = OrderedDict()
        self._counts: dict[tuple[str, int, int], int] = {}  # (key, window_s, start) -> requests

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._events

    def claim(self, event_id: str) -> bool:
        """Remember `event_id`; True when this process had not seen it yet."""
        with self._lock:
            seen = event_id in self._events
            self._events[event_id] = None
            while len(self._events) > self.EVENTS_MAX:
                self._events.popitem(last=False)
            return not seen

    def allow(self, key: str, *, limit: int, window_s: int) -> bool:
        """Count one request for `key` in the current fixed window; whether it is within `limit`."""
        now = time.time()
        start = int(now // window_s) * window_s
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[2] + k[1] > now}
            counted = (key, window_s, start)
            self._counts[counted] = self._counts.get(counted, 0) + 1
            return self._counts[counted] <= limit


class QueryLogger:
    """Logs answers, feedback and escalations without ever failing the caller.

    One instance per process is enough (it is thread-safe). ``settings`` needs ``home`` and
    ``db_url``; an optional ``user_hash_secret`` setting (or the ``hash_secret`` argument) keys
    the user-id hash — without it a per-install key is created in ``home``. Workers on several
    hosts sharing one PostgreSQL must share the secret, or their hashes will differ.
    """

    MAX_ATTEMPTS = 5  # for records that fail for another reason than "database unavailable"
    # Feedback may reach this worker before its query, still queued by another worker, is written.
    UNKNOWN_QUERY_GRACE = timedelta(hours=1)

    def __init__(
        self,
        settings: Any,
        *,
        engine: Engine | None = None,
        hash_secret: str | bytes | None = None,
        queue_path: Path | None = None,
        retry_after_s: float = 5.0,
        auto_migrate: bool = True,
    ) -> None:
        self.settings = settings
        self.home = Path(settings.home)
        self._engine = engine
        secret = (
            hash_secret if hash_secret is not None else getattr(settings, "user_hash_secret", None)
        )
        if secret is not None and hasattr(secret, "get_secret_value"):
            secret = secret.get_secret_value()
        self._key: bytes | None = secret.encode() if isinstance(secret, str) else secret
        # queued records are written only to this logger's database (another URL may share the home)
        self.destination = destination_of(engine.url if engine is not None else settings.db_url)
        self.queue = DurableQueue(queue_path or self.home / QUEUE_FILE, dest=self.destination)
        self.max_question_chars = int(
            getattr(settings, "max_question_chars", MAX_QUESTION_CHARS) or MAX_QUESTION_CHARS
        )
        self.retry_after_s = retry_after_s
        self.auto_migrate = auto_migrate
        self._schema_ready = False
        self._down_until = 0.0
        self._flush_lock = threading.Lock()
        self.local = LocalClaims()  # while the database is down
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    # public API ---------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = engine_for(self.settings)
        return self._engine

    def hash_user(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        if self._key is None:
            try:
                self._key = install_salt(self.home)
            except OSError as exc:  # an unwritable home must not stop logging: store no user hash
                log.error(
                    "user hash key unavailable home=%s error=%s", self.home, type(exc).__name__
                )
                return None
        return hash_user(user_id, self._key)

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
        uid: str | None = None,
    ) -> int | None:
        """Scrub and store one answered question. Returns its log id, or None when it was queued
        (database down) or could not be logged. Pass `uid` to reference the record (e.g. from
        feedback buttons) before its id is known."""
        try:
            record = build_query_record(
                question=question,
                answer=answer,
                surface=surface,
                user_hash=self.hash_user(user_id),
                channel=channel,
                latency_ms=latency_ms,
                index_version=index_version,
                uid=uid,
                max_chars=self.max_question_chars,
            )
        except Exception as exc:
            log.error(
                "query not logged: could not build the record surface=%s error=%s",
                surface,
                type(exc).__name__,
            )
            return None
        return self._submit("query", record.uid, record.model_dump_json())

    def feedback(
        self, *, query_id: int | str, user_id: str | None, value: int, reason: str | None = None
    ) -> int | None:
        """Record 👍/👎 on a logged answer (`query_id`: its log id or its uid)."""
        try:
            if value not in (1, -1):
                raise ValueError("value must be +1 or -1")
            record = _FeedbackRecord(
                uid=new_uid(),
                query_ref=query_id,
                value=value,
                reason=_scrubbed(reason),
                user_hash=self.hash_user(user_id),
            )
        except Exception as exc:
            log.error(
                "feedback not logged: bad record query=%s error=%s", query_id, type(exc).__name__
            )
            return None
        return self._submit("feedback", record.uid, record.model_dump_json())

    def escalation(
        self,
        *,
        query_id: int | str,
        user_id: str | None,
        channel: str | None = None,
        note: str | None = None,
    ) -> int | None:
        """Record an escalation to a team lead (`query_id`: log id or uid)."""
        try:
            record = _EscalationRecord(
                uid=new_uid(),
                query_ref=query_id,
                user_hash=self.hash_user(user_id),
                channel_id=channel,
                note=_scrubbed(note),
            )
        except Exception as exc:
            log.error(
                "escalation not logged: bad record query=%s error=%s", query_id, type(exc).__name__
            )
            return None
        return self._submit("escalation", record.uid, record.model_dump_json())

    def claim_event(self, event_id: str) -> bool:
        """True the first time a Slack event id is seen by any worker; False for a retry. With the
        database down it falls back to this process's memory (a retry may then reach another
        worker: answering twice is better than never)."""
        if self.local.seen(event_id):
            return False
        decided: bool | None = None  # the database's answer, when it could be asked
        if not self._backing_off():
            try:
                self._ready()
                with session_scope(self.engine) as session:
                    decided = claim_event(session, event_id=event_id)
            except Exception as exc:
                self._note_failure("claim_event", exc)
        first_here = self.local.claim(event_id)
        # The database decides when it answered: a retry racing its original in this process may
        # record the id here first, and must not make the original (which won the claim) lose too.
        return decided if decided is not None else first_here

    def allow_request(self, *, user_id: str, limit: int, window_s: int) -> bool:
        """Per-user rate limit shared by all workers; per process while the database is down."""
        user_hash = self.hash_user(user_id) or ""
        if not self._backing_off():
            try:
                self._ready()
                with session_scope(self.engine) as session:
                    return allow_request(
                        session, user_hash=user_hash, limit=limit, window_s=window_s
                    )
            except Exception as exc:
                self._note_failure("allow_request", exc)
        return self.local.allow(user_hash, limit=limit, window_s=window_s)

    def flush(self) -> int:
        """Write queued records now (ignores the retry back-off). Returns how many were written."""
        try:
            return len(self._flush(force=True))
        except Exception as exc:  # never raise, even on a broken queue file
            log.error("query log flush failed error=%s", type(exc).__name__)
            return 0

    def pending(self) -> int:
        """Records waiting in the local queue (for /metrics and `codedesk db status`)."""
        try:
            return self.queue.pending_count()
        except Exception:
            return -1

    def start_flusher(self, interval_s: float = 30.0) -> None:
        """Flush queued records every `interval_s` in a daemon thread, so an idle worker writes its
        backlog once the database is back (otherwise that happens on its next call)."""
        if self._flusher is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval_s):
                if self.pending() > 0:
                    self.flush()

        self._flusher = threading.Thread(target=run, name="query-log-flusher", daemon=True)
        self._flusher.start()

    def close(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        self.queue.close()

    # internals ----------------------------------------------------------------------------------

    def _ready(self) -> None:
        if self.auto_migrate and not self._schema_ready:
            migrate.ensure_schema(self.engine)
        self._schema_ready = True

    def _backing_off(self) -> bool:
        return time.monotonic() < self._down_until

    def _note_failure(self, what: str, exc: BaseException) -> None:
        if is_unavailable(exc):
            self._down_until = time.monotonic() + self.retry_after_s
            log.warning(
                "query log database unavailable op=%s url=%s error=%s",
                what,
                describe_url(str(self.engine.url)),
                type(exc).__name__,
            )
        else:
            log.error("query log write failed op=%s error=%s", what, type(exc).__name__)

    def _submit(self, kind: str, uid: str, payload: str) -> int | None:
        try:
            if self.queue.has_pending():
                # Older records are waiting: keep the order (feedback after its query).
                self._enqueue(kind, uid, payload)
                if self._backing_off():
                    return None
                row_id = self._flush(force=False).get(uid)
                # Another thread may have flushed our record just before us.
                return row_id if row_id is not None else self._stored_id(kind, uid)
            if not self._backing_off():
                try:
                    with session_scope(self.engine) as session:
                        self._ready()
                        row_id = self._apply(session, kind, payload)
                    log.debug("logged kind=%s id=%s uid=%s", kind, row_id, uid)
                    return row_id
                except Exception as exc:
                    self._note_failure(kind, exc)
            self._enqueue(kind, uid, payload)
        except Exception as exc:  # the queue itself failed (disk full…): say so, never raise
            log.error("log record lost kind=%s uid=%s error=%s", kind, uid, type(exc).__name__)
        return None

    def _enqueue(self, kind: str, uid: str, payload: str) -> None:
        self.queue.put(uid=uid, kind=kind, payload=payload)
        log.info("queued kind=%s uid=%s pending=%d", kind, uid, self.pending())

    def _flush(self, *, force: bool) -> dict[str, int]:
        """Write queued records oldest first; stop at the first sign the database is down."""
        written: dict[str, int] = {}
        with self._flush_lock:
            if not force and self._backing_off():
                return written  # another thread just found the database down: do not pile up
            while True:
                items = self.queue.peek(100)
                if not items:
                    break
                progressed = False
                for item in items:
                    try:
                        self._ready()
                        with session_scope(self.engine) as session:
                            written[item.uid] = self._apply(session, item.kind, item.payload)
                    except Exception as exc:
                        if is_unavailable(exc):
                            self._note_failure("flush", exc)
                            return written
                        if isinstance(exc, sa.exc.IntegrityError) and self._already_stored(
                            item.kind, item.uid
                        ):
                            pass  # another flusher stored it first: fine, it is there once
                        elif isinstance(exc, _UnknownQuery) and not self._grace_over(
                            item.queued_at
                        ):
                            continue  # its query is still queued elsewhere: wait, without counting
                        else:
                            dead = self.queue.failed(
                                item.seq, type(exc).__name__, max_attempts=self.MAX_ATTEMPTS
                            )
                            log.error(
                                "queued record failed kind=%s uid=%s error=%s dead=%s",
                                item.kind,
                                item.uid,
                                type(exc).__name__,
                                dead,
                            )
                            continue
                    self.queue.done(item.seq)
                    progressed = True
                if not progressed:
                    break
            self._down_until = 0.0
        if written:
            log.info("flushed queued log records count=%d", len(written))
        return written

    def _apply(self, session: Session, kind: str, payload: str) -> int:
        """Write one record (idempotent on its uid) and return its row id."""
        if kind == "query":
            row: Any = create_query(session, data=QueryLogCreate.model_validate_json(payload))
        elif kind == "feedback":
            fb = _FeedbackRecord.model_validate_json(payload)
            row = add_feedback(
                session,
                query_id=self._resolve(session, fb.query_ref),
                value=fb.value,
                user_hash=fb.user_hash,
                reason=fb.reason,
                uid=fb.uid,
                created_at=fb.created_at,
            )
        elif kind == "escalation":
            esc = _EscalationRecord.model_validate_json(payload)
            row = add_escalation(
                session,
                query_id=self._resolve(session, esc.query_ref),
                user_hash=esc.user_hash,
                channel_id=esc.channel_id,
                note=esc.note,
                uid=esc.uid,
                created_at=esc.created_at,
            )
        else:
            raise ValueError(f"unknown record kind {kind!r}")
        session.flush()
        return int(row.id)

    @staticmethod
    def _resolve(session: Session, ref: int | str) -> int:
        if isinstance(ref, int):
            if get_query(session, query_id=ref) is None:
                raise _UnknownQuery(f"no query {ref}")
            return ref
        if ref.isdigit():
            return QueryLogger._resolve(session, int(ref))
        row = get_query_by_uid(session, uid=ref)
        if row is None:
            raise _UnknownQuery(f"no query with uid {ref}")
        assert row.id is not None
        return row.id

    def _grace_over(self, queued_at: str) -> bool:
        try:
            queued = datetime.fromisoformat(queued_at.replace("Z", "+00:00"))
        except ValueError:
            return True
        return utcnow() - queued > self.UNKNOWN_QUERY_GRACE

    def _already_stored(self, kind: str, uid: str) -> bool:
        return self._stored_id(kind, uid) is not None

    def _stored_id(self, kind: str, uid: str) -> int | None:
        model: Any = {"query": QueryLog, "feedback": Feedback, "escalation": Escalation}.get(kind)
        if model is None:
            return None
        try:
            with Session(self.engine) as session:
                return session.exec(select(model.id).where(model.uid == uid)).first()
        except Exception:
            return None
