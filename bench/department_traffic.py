"""The department benchmark's traffic: signed Slack events to a stack, and what came back for each.

`Traffic` sends `app_mention` events with real coding questions (`QUESTIONS`), one user each, some
re-sent as Slack retries, a given number at a time; then it reads the fake Slack's messages and
updates to classify each thread (answer, "retrying" notice, gave up, error) and counts the
`Outcome`: answered exactly once, lost, duplicated, and the ack and answer latencies.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.department_harness import Stack
from tests.fake_slack import BOT_USER_ID

QUESTIONS = [
    "code for type 2 diabetes with CKD stage 3?",
    "accidental poisoning by penicillin, initial encounter",
    "what is the code for essential hypertension",
    "closed fracture of the right distal radius, initial encounter",
    "can I code a symptom together with a confirmed diagnosis?",
    "what does Excludes1 mean for E11.22?",
    "COPD with acute exacerbation",
    "major depressive disorder, single episode, moderate",
    "what is S52.501?",
    "pressure ulcer of sacral region stage 3",
    "chronic kidney disease stage 3b",
    "type 1 diabetes with diabetic nephropathy",
]
RETRYING_MARK = "retrying"


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# ------------------------------------------------------------------------------------------ traffic


@dataclass
class Ev:
    index: int
    event_id: str
    event: dict[str, Any]
    sent_at: float = 0.0

    @property
    def ts(self) -> str:
        return self.event["ts"]


@dataclass
class Outcome:
    events: int
    answered_once: int = 0
    lost: int = 0
    duplicates: int = 0
    gave_up: int = 0
    notices: int = 0  # "index unavailable, retrying" messages shown
    answer_s: list[float] = field(default_factory=list)
    per_event: dict[int, dict[str, Any]] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "answered_once": self.answered_once,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "gave_up": self.gave_up,
            "retry_notices": self.notices,
            "p50_answer_s": round(percentile(self.answer_s, 50), 2),
            "p95_answer_s": round(percentile(self.answer_s, 95), 2),
            "max_answer_s": round(max(self.answer_s or [float("nan")]), 2),
        }


class Traffic:
    """Signed `app_mention` events to a stack, and what the fake Slack received for each."""

    def __init__(self, stack: Stack, channel: str = "C0DEPT") -> None:
        self.stack, self.fake, self.channel = stack, stack.fake, channel
        self._n = 0
        self.acks: list[float] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def new_events(self, count: int, tag: str = "EV") -> list[Ev]:
        out = []
        for _ in range(count):
            i = self._n
            self._n += 1
            user = f"U0{tag}{i:05d}"
            text = f"<@{BOT_USER_ID}> {QUESTIONS[i % len(QUESTIONS)]}"
            message = self.fake.add_message(self.channel, text=text, user=user)
            out.append(
                Ev(
                    i,
                    f"Ev0{tag}{i:06d}",
                    {
                        "type": "app_mention",
                        "channel": self.channel,
                        "user": user,
                        "text": text,
                        "ts": message["ts"],
                        "event_ts": message["ts"],
                    },
                )
            )
        return out

    def send(
        self,
        events: list[Ev],
        *,
        concurrency: int,
        retry_fraction: float = 0.0,
        seed: int = 7,
        rate: float | None = None,
    ) -> None:
        """Send `events` `concurrency` at a time (and at most `rate` per second, when given); a fraction
        is re-sent as Slack retries shortly after."""
        rng = random.Random(seed)
        retried = (
            set(rng.sample(range(len(events)), int(len(events) * retry_fraction)))
            if events
            else set()
        )
        sends = [(k, False) for k in range(len(events))] + [(k, True) for k in retried]
        sends.sort(
            key=lambda s: (s[0] + (3 if s[1] else 0), s[1])
        )  # each retry a few events after its original

        started = time.monotonic()
        slot = {item: n for n, item in enumerate(sends)}

        def one(item: tuple[int, bool]) -> None:
            k, is_retry = item
            if rate:
                time.sleep(max(0.0, started + slot[item] / rate - time.monotonic()))
            ev = events[k]
            headers = (
                {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                if is_retry
                else None
            )
            if not is_retry:
                ev.sent_at = time.monotonic()
            try:
                status, _, elapsed = self.stack.signer.event(
                    ev.event, event_id=ev.event_id, extra_headers=headers, timeout=30
                )
            except OSError:
                status, elapsed = 0, 30.0
            with self._lock:
                self.acks.append(elapsed)
                self.statuses.append(status)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, sends))

    def _classify(self) -> dict[str, list[tuple[str, float, str]]]:
        """thread ts → [(kind, at, text)]: kind answer | notice | gave_up | error."""
        from codedesk.bot import blocks as B

        def kind_of(text: str) -> str:
            if RETRYING_MARK in text and "unavailable" in text:
                return "notice"
            if text.startswith(B.MSG_INDEX_DOWN[:40]):
                return "gave_up"
            if text.startswith(B.MSG_INTERNAL[:40]):
                return "error"
            return "answer"

        threads: dict[str, list[tuple[str, float, str]]] = {}
        notice_thread: dict[str, str] = {}
        for call in self.fake.calls_to("chat.postMessage", channel=self.channel):
            thread = call.params.get("thread_ts")
            if not thread:
                continue
            text = str(call.params.get("text") or "")
            kind = kind_of(text)
            threads.setdefault(thread, []).append((kind, call.at, text))
        # the notice's ts is in the fake's stored messages: map it back to its thread
        for message in self.fake.messages.get(self.channel, []):
            if (
                message.get("bot_id")
                and message.get("thread_ts")
                and RETRYING_MARK in (message.get("text") or "")
            ):
                notice_thread[message["ts"]] = message["thread_ts"]
        for call in self.fake.calls_to("chat.update", channel=self.channel):
            thread = notice_thread.get(str(call.params.get("ts")))
            if thread is None:
                continue
            text = str(call.params.get("text") or "")
            threads.setdefault(thread, []).append((kind_of(text), call.at, text))
        return threads

    def outcome(self, events: list[Ev], *, timeout: float = 300.0, settle: float = 2.0) -> Outcome:
        """Wait (bounded) until every event has a final message, then count."""
        deadline = time.monotonic() + timeout
        wanted = {ev.ts for ev in events}
        while time.monotonic() < deadline:
            threads = self._classify()
            done = {
                t
                for t, items in threads.items()
                if any(k in ("answer", "gave_up", "error") for k, _, _ in items)
            }
            if wanted <= done:
                break
            time.sleep(0.5)
        time.sleep(settle)  # a duplicate answer would arrive now
        threads = self._classify()
        out = Outcome(events=len(events))
        for ev in events:
            items = threads.get(ev.ts, [])
            answers = [at for kind, at, _ in items if kind == "answer"]
            out.notices += sum(1 for kind, _, _ in items if kind == "notice")
            gave_up = any(kind == "gave_up" for kind, _, _ in items)
            out.gave_up += gave_up
            if len(answers) == 1:
                out.answered_once += 1
            elif not answers and not gave_up:
                out.lost += 1
            elif len(answers) > 1:
                out.duplicates += 1
            if answers and ev.sent_at:
                out.answer_s.append(min(answers) - ev.sent_at)
            out.per_event[ev.index] = {"kinds": [k for k, _, _ in items]}
        return out

    def ack_row(self) -> dict[str, Any]:
        return {
            "acks": len(self.acks),
            "non_200": sum(1 for s in self.statuses if s != 200),
            "p50_ack_ms": round(percentile(self.acks, 50) * 1000),
            "p95_ack_ms": round(percentile(self.acks, 95) * 1000),
            "max_ack_ms": round(max(self.acks or [float("nan")]) * 1000),
        }
