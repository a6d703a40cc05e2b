"""Slack retry de-duplication under concurrency, on PostgreSQL: when an event and its retry are
claimed at the same moment (by two workers, or two threads of one worker), exactly one of them wins —
never none (an unanswered question) and never both (a double answer)."""

from __future__ import annotations

import threading
from pathlib import Path

from codedesk.review.log import QueryLogger
from codedesk.settings import Settings


def _race(claimers: list[QueryLogger], event_id: str) -> list[bool]:
    barrier = threading.Barrier(len(claimers))
    results: list[bool] = [False] * len(claimers)

    def claim(i: int) -> None:
        barrier.wait()
        results[i] = claimers[i].claim_event(event_id)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(claimers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_an_event_and_its_retry_claimed_at_once_are_answered_exactly_once(
    tmp_path: Path, pg_url: str
) -> None:
    settings = Settings(_env_file=None, home=tmp_path, database_url=pg_url)
    one_worker = QueryLogger(settings)
    other_worker = QueryLogger(settings, queue_path=tmp_path / "other-queue.sqlite3")
    one_worker.claim_event("Ev0WARMUP")  # migrate first
    try:
        for n in range(60):
            same_worker = _race([one_worker, one_worker], f"Ev0SAME{n:03d}")
            assert sum(same_worker) == 1, f"two threads of one worker: {same_worker}"
            across = _race([one_worker, other_worker], f"Ev0ACROSS{n:03d}")
            assert sum(across) == 1, f"two workers: {across}"
    finally:
        one_worker.close()
        other_worker.close()
