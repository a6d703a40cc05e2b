"""The answer pool: where questions are answered after the ack.

Bolt acknowledges events itself before any listener runs, and our command/action listeners call
`ack()` first thing; but Bolt runs listeners on a small shared executor, and a listener that waited
for retrieval there would delay the next command's `ack()` past Slack's 3 seconds. So listeners
only parse and `submit()` here; the slow part (retrieval, logging, posting) runs on this pool,
and Bolt's executor stays free for acks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class AnswerPool:
    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codedesk-answer")
        self._lock = threading.Lock()
        self._pending = 0
        self._done = threading.Condition(self._lock)

    @property
    def pending(self) -> int:
        """Jobs queued or running (the queue depth)."""
        return self._pending

    def submit(self, name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run `fn` on the pool; an exception is logged with `name`, never raised to Bolt."""
        with self._lock:
            self._pending += 1

        def job() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:  # the job's own handler shows users a message; this is the last net
                log.exception("job_failed job=%s", name)
                return None
            finally:
                with self._lock:
                    self._pending -= 1
                    self._done.notify_all()

        return self._pool.submit(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is pending (tests, shutdown). False on timeout."""
        with self._lock:
            return self._done.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
