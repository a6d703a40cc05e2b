"""The one flow every surface shares, run on the answer pool after the ack:

clean the text → rate limit → answer (retrying while the index is unavailable) → log via review →
render → post (overflow in the thread). Errors become a message that says what to do next; the
exception itself goes to the log, never to the user.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from codedesk.bot import blocks as B
from codedesk.bot.config import BotSettings
from codedesk.bot.replies import Reply
from codedesk.bot.review_port import ReviewPort
from codedesk.bot.text import clean_slack_text, truncate_question
from codedesk.bot.work import AnswerPool
from codedesk.errors import CodeDeskError, IndexUnavailable
from codedesk.retrieval.schema import Answer
from codedesk.settings import Settings

log = logging.getLogger(__name__)

HISTORY_MAX_MESSAGES = 10
RATE_WINDOW_S = 60
DAY_S = 86_400  # the model budget's window: a UTC day


@dataclass(slots=True)
class Deps:
    """What listeners need, built once by `build_app`."""

    settings: Settings
    bot: BotSettings
    answerer: (
        Any  # retrieval.service.Answerer: .answer(question, *, history, fiscal_year) -> Answer
    )
    review: ReviewPort
    pool: AnswerPool
    sleep: Callable[[float], None] = time.sleep

    @property
    def index_version(self) -> str | None:
        value = getattr(self.answerer, "index_version", None)
        if callable(value):
            try:
                value = value()
            except Exception:  # an unreachable index must not stop the answer being logged
                return None
        return None if value is None else str(value)


@dataclass(slots=True)
class Question:
    raw: str
    user: str | None
    channel: str | None
    surface: str  # review.models.SURFACES: slack_channel, slack_dm, slack_command, assistant
    history: list[str] = field(default_factory=list)
    fiscal_year: str | None = None


@dataclass(slots=True)
class Outcome:
    answer: Answer
    log_ref: int | str | None
    question: str


def clean_question(deps: Deps, raw: str) -> tuple[str, list[str]]:
    """(question text for retrieval, notices to show with the answer)."""
    text, notice = truncate_question(clean_slack_text(raw), deps.settings.max_question_chars)
    return text, [notice] if notice else []


def allowed_channel(bot: BotSettings, channel: str | None, *, is_dm: bool) -> bool:
    """DMs and the assistant panel are always allowed; channels only when on the allow-list (if any)."""
    if is_dm or not bot.allowed_channels or not channel:
        return True
    return channel in bot.allowed_channels


def within_rate(deps: Deps, user: str | None) -> bool:
    limit = deps.bot.rate_limit_per_minute
    if not user or limit <= 0 or user in deps.bot.team_leads:
        return True
    return deps.review.allow(user, limit=limit, window_s=RATE_WINDOW_S)


def within_model_budget(deps: Deps, user: str) -> bool:
    """One model-worded answer from the user's daily budget, shared by every worker (the rate-limit
    table, with a day as its window); over it, the deterministic answer goes out."""
    if user in deps.bot.team_leads:
        return True
    limit = deps.settings.llm_daily_budget_per_user
    return limit > 0 and deps.review.allow(user, limit=limit, window_s=DAY_S)


class WritingPreview:
    """Shows a model answer while it is written: the first text posts a message (or takes over the
    "retrying" notice), later text edits it at most every `interval_s`; the final answer replaces
    it. An edit that fails raises, and the composer stops streaming to it."""

    def __init__(
        self, reply: Reply, interval_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.reply, self.interval_s, self.clock = reply, interval_s, clock
        self.handle: str | None = None
        self._last = float("-inf")

    def show(self, text: str) -> None:
        now = self.clock()
        if now - self._last < self.interval_s:
            return
        self._last = now
        rendered = B.writing_blocks(text)
        if self.handle is None:
            self.handle = self.reply.send(rendered)
        else:
            self.reply.update(self.handle, rendered)


def answer_with_retries(
    deps: Deps,
    question: str,
    *,
    history: list[str] | None,
    fiscal_year: str | None,
    on_retrying: Callable[[], None] | None = None,
    user: str | None = None,
    on_partial: Callable[[str], None] | None = None,
) -> Answer:
    """`answerer.answer`, retried while the index is unavailable (`on_retrying` runs once, first)."""
    delays = list(deps.bot.index_retry_delays)
    notified = False
    budget = (lambda u: within_model_budget(deps, u)) if user else None
    while True:
        try:
            return deps.answerer.answer(
                question,
                history=history or None,
                fiscal_year=fiscal_year,
                user_id=user,
                budget=budget,
                on_partial=on_partial,
            )
        except IndexUnavailable as err:
            if not delays:
                raise
            log.warning("index_unavailable retry_in_s=%s error=%s", delays[0], err)
            if not notified and on_retrying is not None:
                notified = True
                try:
                    on_retrying()
                except Exception:
                    log.exception("retry_notice_failed")
            deps.sleep(delays.pop(0))


def handle_question(
    deps: Deps,
    q: Question,
    reply: Reply,
    *,
    share: bool = False,
    before_answer: Callable[[str], None] | None = None,
) -> Outcome | None:
    """Answer `q` through `reply`. Never raises: failures are logged and told to the user."""
    started = time.perf_counter()
    handle: str | None = None
    try:
        question, notices = clean_question(deps, q.raw)
        if not question:
            reply.send(B.message_blocks(B.MSG_EMPTY))
            return None
        if not within_rate(deps, q.user):
            log.info("rate_limited surface=%s", q.surface)
            reply.private(B.MSG_RATE_LIMITED.format(limit=deps.bot.rate_limit_per_minute))
            return None
        if before_answer is not None:
            before_answer(question)

        preview = (
            WritingPreview(reply, deps.bot.stream_interval_s)
            if getattr(reply, "streams", False)
            else None
        )

        def retrying() -> None:
            nonlocal handle
            handle = reply.send(B.message_blocks(B.MSG_INDEX_RETRYING, warning=True))
            if preview is not None:
                preview.handle = handle

        answer = answer_with_retries(
            deps,
            question,
            history=q.history,
            fiscal_year=q.fiscal_year,
            on_retrying=retrying,
            user=q.user,
            on_partial=preview.show if preview is not None else None,
        )
        if preview is not None and preview.handle is not None:
            handle = preview.handle
        latency_ms = (time.perf_counter() - started) * 1000
        log_ref = deps.review.log_answer(
            question=question,
            answer=answer,
            surface=q.surface,
            user_id=q.user,
            channel=q.channel,
            latency_ms=latency_ms,
            index_version=deps.index_version,
        )
        rendered = B.answer_blocks(
            answer,
            log_id=log_ref,
            notices=notices,
            share=share,
            escalation=True,
            continued_notice=B.CONTINUED_EPHEMERAL_NOTICE if share else B.CONTINUED_NOTICE,
        )
        if handle is not None:
            reply.replace(handle, rendered)
        else:
            reply.send(rendered)
        for extra in rendered.overflow:
            reply.more(extra, rendered.text)
        log.info(
            "answered surface=%s log_ref=%s codes=%s confidence=%s latency_ms=%.0f",
            q.surface,
            log_ref,
            ",".join(c.code for c in answer.codes[:5]),
            answer.confidence,
            latency_ms,
        )
        return Outcome(answer=answer, log_ref=log_ref, question=question)
    except IndexUnavailable as err:
        log.error("index_unavailable_gave_up surface=%s error=%s", q.surface, err)
        _tell(reply, handle, B.message_blocks(B.MSG_INDEX_DOWN, warning=True))
    except CodeDeskError as err:
        log.warning("user_error surface=%s error=%s", q.surface, err)
        _tell(reply, handle, B.message_blocks(str(err), warning=True))
    except Exception:
        log.exception("answer_failed surface=%s", q.surface)
        _tell(reply, handle, B.message_blocks(B.MSG_INTERNAL, warning=True))
    return None


def _tell(reply: Reply, handle: str | None, rendered: B.Rendered) -> None:
    try:
        if handle is not None:
            reply.replace(handle, rendered)
        else:
            reply.send(rendered)
    except Exception:
        log.exception("error_reply_failed")


def fetch_thread(client: WebClient, *, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """The messages of a thread, oldest first ([] when it cannot be read: answer without context)."""
    try:
        resp = client.conversations_replies(channel=channel, ts=thread_ts, limit=100)
    except SlackApiError as err:
        log.warning("thread_unavailable channel=%s error=%s", channel, err.response.get("error"))
        return []
    except Exception:
        log.exception("thread_failed channel=%s", channel)
        return []
    return list(resp.get("messages") or [])


def history_from(
    messages: list[dict[str, Any]], *, before_ts: str | None, max_chars: int
) -> list[str]:
    """Earlier questions in a thread, oldest first: people's messages (not bots') before
    `before_ts`, cleaned of Slack markup, at most the last ten."""
    history = []
    for message in messages:
        if message.get("bot_id") or message.get("subtype") not in (
            None,
            "thread_broadcast",
            "file_share",
        ):
            continue
        ts = message.get("ts")
        if before_ts and ts and float(ts) >= float(before_ts):
            continue
        text, _ = truncate_question(clean_slack_text(message.get("text")), max_chars)
        if text:
            history.append(text)
    return history[-HISTORY_MAX_MESSAGES:]
