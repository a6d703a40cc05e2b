"""The bot's one door into the review log, as typed protocols: what `codedesk.bot` needs from
`codedesk.review` and nothing more. No module of the bot imports `codedesk.review` (import-linter
checks it); the implementation over the database, `codedesk.review.port.ReviewService`, is built by
the composition root (`codedesk.cli`) and handed to `build_app` and to the digest commands.

- `AnswerLog`: answers, 👍/👎 and escalations. Never raises: a log that cannot be written never
  stops an answer (records wait in a durable queue while the database is down).
- `EventClaims`: what must hold across worker processes: Slack retry de-duplication and the
  per-user rate limit. Never raises.
- `WeekReview` and `Decisions`: what the team lead's Home tab and the weekly digest show, and the
  decisions recorded from it. These read the database and raise when it cannot be read.
- `Threads`: the code-change discussion threads of `codedesk digest changes`. `record_thread`
  raises (the digest stops before posting more); the reply and reaction records never raise.
- `Operations`: what `codedesk serve` reports and shuts down (`/readyz`, `/metrics`).

The data the bot reads back are protocols as well (read-only views): `codedesk.review` sits below
the bot and must not import it, so its own dataclasses and rows satisfy these structurally (mypy
checks it where the composition root passes a `ReviewService` as a `ReviewPort`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

# a log id, or the uid of a record still queued (feedback and escalations accept both)
LogRef = int | str


# ------------------------------------------------------------------------------ the data read


class TopQuestion(Protocol):
    """A topic (or one normalised question) of the period and how often it was asked."""

    @property
    def label(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def query_id(self) -> int: ...  # the latest question of the group: what a decision refers to
    @property
    def topic_id(self) -> int | None: ...
    @property
    def codes(self) -> str | None: ...  # comma-joined, best first
    @property
    def decisions(self) -> int: ...


class OpenItem(Protocol):
    """A low-confidence answer or a 👎 whose topic has no decision yet."""

    @property
    def kind(self) -> str: ...  # low_confidence | thumbs_down
    @property
    def query_id(self) -> int: ...
    @property
    def question(self) -> str: ...  # scrubbed
    @property
    def when(self) -> datetime: ...
    @property
    def topic_id(self) -> int | None: ...
    @property
    def codes(self) -> str | None: ...
    @property
    def confidence(self) -> str | None: ...
    @property
    def detail(self) -> str | None: ...  # the 👎 reason, scrubbed


class WeekSummary(Protocol):
    @property
    def since(self) -> datetime: ...
    @property
    def until(self) -> datetime: ...
    @property
    def questions(self) -> int: ...
    @property
    def people(self) -> int: ...
    @property
    def thumbs_up(self) -> int: ...
    @property
    def thumbs_down(self) -> int: ...
    @property
    def helpful_ratio(self) -> float | None: ...
    @property
    def low_confidence(self) -> int: ...
    @property
    def escalations_open(self) -> int: ...
    @property
    def by_topic(self) -> bool: ...  # True: `top` are review topics; False: normalised questions
    @property
    def top(self) -> Sequence[TopQuestion]: ...
    @property
    def open_low(self) -> Sequence[OpenItem]: ...
    @property
    def open_down(self) -> Sequence[OpenItem]: ...
    @property
    def open_low_total(self) -> int: ...
    @property
    def open_down_total(self) -> int: ...


class Discussion(Protocol):
    """A discussion thread and its activity in a period."""

    @property
    def label(self) -> str: ...  # 'FY2025 → FY2026 · chapter 4 — Endocrine, …'
    @property
    def replies(self) -> Sequence[object]: ...  # the period's replies (the bot only counts them)
    @property
    def reactions(self) -> Counter[str]: ...  # emoji name -> count, in the period


class RecentQuestion(Protocol):
    """One of a person's own logged questions (scrubbed before it was stored)."""

    @property
    def question(self) -> str: ...
    @property
    def codes(self) -> str | None: ...
    @property
    def confidence(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


class DecisionResult(Protocol):
    @property
    def decision_id(self) -> int: ...
    @property
    def topic_id(self) -> int: ...
    @property
    def guideline_id(self) -> str: ...  # TG-002
    @property
    def path(self) -> Path: ...  # the team guideline file written
    @property
    def status(self) -> str: ...  # the guideline's: approved | draft
    @property
    def effective(self) -> date: ...


# ------------------------------------------------------------------------------ the port


class AnswerLog(Protocol):
    @property
    def enabled(self) -> bool:
        """Whether answers are logged. Without a log, feedback buttons are hidden, the Home tab
        lists nothing, decisions cannot be recorded there and discussions are not recorded."""
        ...

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
        """The reference feedback buttons carry: the log id, or the record's uid while it waits in
        the queue (database down); None without a log. `answer`: a retrieval `Answer`."""
        ...

    def feedback(
        self, *, query_id: LogRef, user_id: str | None, value: int, reason: str | None = None
    ) -> bool:
        """Record 👍 (+1) or 👎 (-1); True when written or queued."""
        ...

    def escalation(
        self,
        *,
        query_id: LogRef | None,
        user_id: str | None,
        channel: str | None,
        note: str | None = None,
    ) -> bool:
        """Record an "Ask a team lead"; True when written or queued."""
        ...


class EventClaims(Protocol):
    def claim_event(self, event_id: str) -> bool:
        """True the first time `event_id` is seen by any worker; False for a Slack retry."""
        ...

    def allow(self, user_id: str, *, limit: int, window_s: int) -> bool:
        """Whether `user_id` may ask again now (at most `limit` per `window_s` seconds, counted
        over all workers)."""
        ...


class Database(Protocol):
    def ensure_ready(self) -> None:
        """Reach and migrate the review database now; raises when it cannot be reached."""
        ...

    def is_unavailable(self, err: BaseException) -> bool:
        """Whether `err` means "cannot reach the review database" (rather than bad data)."""
        ...


class WeekReview(Protocol):
    def week_summary(
        self, *, since: datetime | None = None, until: datetime | None = None, top: int = 5
    ) -> WeekSummary:
        """The period [since, until), by default the 7 days up to now."""
        ...

    def discussions(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Sequence[Discussion]:
        """Discussion threads posted or active in [since, until)."""
        ...


class Decisions(Protocol):
    def recent_questions(self, user_id: str, *, limit: int = 10) -> Sequence[RecentQuestion] | None:
        """A person's latest questions, newest first; None when they cannot be found (no log, or no
        user hash to find them by)."""
        ...

    def topic_for_query(self, query_id: int) -> int:
        """The review topic a decision on this logged question attaches to (created when it has
        none). Raises LookupError for an unknown question."""
        ...

    def decide(
        self, *, topic_id: int, text: str, decided_by: str, effective: date | None, draft: bool
    ) -> DecisionResult:
        """Record a decision and write it as a team guideline (a draft is written, not cited yet).
        Raises a `codedesk.errors.CodeDeskError` whose message tells the lead what to do."""
        ...


class Threads(Protocol):
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
        """Record a posted digest message as a discussion thread (idempotent); its id. Raises on a
        database error."""
        ...

    def record_reply(
        self, *, channel_id: str, thread_ts: str, message_ts: str, text: str, user_id: str | None
    ) -> int | None:
        """Record a reply (scrubbed) when `thread_ts` is a discussion thread; its id, else None."""
        ...

    def edit_reply(self, *, channel_id: str, message_ts: str, text: str) -> bool: ...

    def delete_reply(self, *, channel_id: str, message_ts: str) -> bool: ...

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
        """Record (or, with added=False, remove) a reaction on a thread's root message or on a
        recorded reply."""
        ...


class Operations(Protocol):
    def pending(self) -> int | None:
        """Log records waiting in the local queue (None without a log, -1 when it cannot be
        read)."""
        ...

    def check_database(self) -> dict[str, Any]:
        """The review database as /readyz reports it: {"ok", "url" (no credentials), "backend"
        [, "error"]}, or {"ok": True, "configured": False} without a log."""
        ...

    def start_flusher(self, interval_s: float = 30.0) -> None:
        """Write queued records in the background, so an idle worker writes its backlog."""
        ...

    def close(self) -> None: ...


class DigestReview(Database, WeekReview, Threads, Protocol):
    """What `codedesk digest` needs."""


class ReviewPort(
    AnswerLog, EventClaims, Database, WeekReview, Decisions, Threads, Operations, Protocol
):
    """Everything the Slack app needs from the review log (`Deps.review`)."""
