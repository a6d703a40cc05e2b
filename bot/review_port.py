"""The bot's one door into `review/`: the query log (`review.log.QueryLogger`), feedback,
escalations, and the state that must hold across worker processes (Slack retry de-duplication,
the per-user rate limit), which QueryLogger keeps in the shared database.

Every method is called after the ack, from the answer pool, and none raises: a log that cannot be
written never stops an answer. QueryLogger itself queues records while the database is down and
falls back to per-process memory for de-duplication and rate limits; this port adds the same
fallback for when no logger is configured at all (`build_app(..., logger=None)`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

LogRef = int | str  # a log id, or the uid of a record still queued (QueryLogger accepts both)
_LOCAL_EVENTS_MAX = 10_000


def new_ref() -> str:
    """A client-generated uid for an answer's log record, known before the record is written."""
    return str(uuid.uuid4())


class ReviewPort:
    def __init__(self, query_logger: Any | None) -> None:
        self.query_logger = query_logger
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._counts: dict[tuple[str, int], int] = {}

    @property
    def enabled(self) -> bool:
        return self.query_logger is not None

    # ------------------------------------------------------------------ the log

    def log_answer(self, *, question: str, answer: Any, surface: str, user_id: str | None,
                   channel: str | None, latency_ms: float, index_version: str | None) -> LogRef | None:
        """The reference buttons carry: the log id, or the record's uid while it waits in the
        queue (database down); None without a logger."""
        if self.query_logger is None:
            return None
        uid = new_ref()
        try:
            row_id = self.query_logger.log_answer(question=question, answer=answer, surface=surface,
                                                  user_id=user_id, channel=channel, latency_ms=latency_ms,
                                                  index_version=index_version, uid=uid)
        except Exception:
            log.exception("log_answer_failed surface=%s", surface)
            return None
        return row_id if row_id is not None else uid

    def feedback(self, *, query_id: LogRef, user_id: str | None, value: int, reason: str | None = None) -> bool:
        if self.query_logger is None:
            return False
        try:
            self.query_logger.feedback(query_id=query_id, user_id=user_id, value=value, reason=reason)
            return True  # written, or queued until the database is back
        except Exception:
            log.exception("feedback_failed query_id=%s", query_id)
            return False

    def escalation(self, *, query_id: LogRef | None, user_id: str | None, channel: str | None,
                   note: str | None = None) -> bool:
        if self.query_logger is None or query_id is None:
            return False
        try:
            self.query_logger.escalation(query_id=query_id, user_id=user_id, channel=channel, note=note)
            return True
        except Exception:
            log.exception("escalation_log_failed query_id=%s", query_id)
            return False

    # ------------------------------------------------------------------ shared state

    def claim_event(self, event_id: str) -> bool:
        """True the first time `event_id` is seen by any worker; False for a Slack retry."""
        if self.query_logger is not None:
            try:
                return bool(self.query_logger.claim_event(event_id))
            except Exception:
                log.exception("claim_event_failed event_id=%s; de-duplicating in this process", event_id)
        with self._lock:
            if event_id in self._seen:
                return False
            self._seen[event_id] = None
            while len(self._seen) > _LOCAL_EVENTS_MAX:
                self._seen.popitem(last=False)
            return True

    def allow(self, user_id: str, *, limit: int, window_s: int) -> bool:
        """Whether `user_id` may ask again now (at most `limit` per `window_s` seconds)."""
        if self.query_logger is not None:
            try:
                return bool(self.query_logger.allow_request(user_id=user_id, limit=limit, window_s=window_s))
            except Exception:
                log.exception("rate_limit_failed; limiting in this process")
        window = int(time.time()) // window_s
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            key = (user_id, window)
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key] <= limit
