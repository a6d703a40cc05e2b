"""The assistant panel (Bolt's `Assistant`): a greeting with suggested prompts when a thread
starts; for each question a "Looking up codes…" status, a thread title from the first question,
and the answer in the thread with the thread's earlier questions as history.

Bolt's `Assistant` middleware owns every user message in a DM thread, so follow-ups in a plain DM
thread (not opened from the panel) arrive here too: they are told apart by the thread's first
message (CodeDesk's greeting in a panel thread, the person's question in a plain DM thread) and
answered the same way, without status or title.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Assistant, BoltRequest
from slack_sdk import WebClient

from codedesk.bot import blocks as B
from codedesk.bot.answering import Deps, Question, fetch_thread, handle_question, history_from
from codedesk.bot.listeners.common import first_delivery, is_from_person, retry_num
from codedesk.bot.replies import AssistantReply, ThreadReply
from codedesk.bot.text import shorten

log = logging.getLogger(__name__)

TITLE_CHARS = 60


def register(app: App, deps: Deps) -> None:
    assistant = Assistant(logger=logging.getLogger("codedesk.bot.assistant"))

    @assistant.thread_started
    def on_thread_started(
        body: dict[str, Any], payload: dict[str, Any], client: WebClient, request: BoltRequest
    ) -> None:
        thread = payload.get("assistant_thread") or {}
        deps.pool.submit(
            "assistant_thread_started",
            greet,
            deps,
            client,
            body,
            thread.get("channel_id"),
            thread.get("thread_ts"),
            retry_num(request.headers),
        )

    @assistant.user_message
    def on_user_message(
        body: dict[str, Any], payload: dict[str, Any], client: WebClient, request: BoltRequest
    ) -> None:
        if not is_from_person(payload):
            return
        deps.pool.submit(
            "assistant_user_message",
            answer_in_thread,
            deps,
            client,
            body,
            payload,
            retry_num(request.headers),
        )

    @assistant.thread_context_changed
    def on_context_changed() -> None:
        """The channel the person is viewing changed. CodeDesk answers the question alone, so it does
        not keep that context (Bolt's default would store it through two Web API calls)."""

    app.use(assistant)


def greet(
    deps: Deps,
    client: WebClient,
    body: dict[str, Any],
    channel: str | None,
    thread_ts: str | None,
    retry: int | None = None,
) -> None:
    if not channel or not thread_ts or not first_delivery(deps, body, retry_num=retry):
        return
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=B.GREETING)
        client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, thread_ts=thread_ts, title="Try asking", prompts=B.SUGGESTED_PROMPTS
        )
    except Exception:
        log.exception("greeting_failed")


def answer_in_thread(
    deps: Deps,
    client: WebClient,
    body: dict[str, Any],
    event: dict[str, Any],
    retry: int | None = None,
) -> None:
    if not first_delivery(deps, body, retry_num=retry):
        return
    channel, ts, user = event["channel"], event["ts"], event.get("user")
    thread_ts = event.get("thread_ts") or ts
    messages = fetch_thread(client, channel=channel, thread_ts=thread_ts)
    history = history_from(messages, before_ts=ts, max_chars=deps.settings.max_question_chars)
    panel = not messages or bool(messages[0].get("bot_id"))
    if panel:
        reply = AssistantReply(client, channel=channel, thread_ts=thread_ts, user=user)

        def before_answer(question: str) -> None:
            if not history:
                reply.title(shorten(question, TITLE_CHARS))
            reply.status(B.STATUS_LOOKING_UP)

        handle_question(
            deps,
            Question(
                raw=event.get("text") or "",
                user=user,
                channel=channel,
                surface="assistant",
                history=history,
            ),
            reply,
            before_answer=before_answer,
        )
    else:
        handle_question(
            deps,
            Question(
                raw=event.get("text") or "",
                user=user,
                channel=channel,
                surface="slack_dm",
                history=history,
            ),
            ThreadReply(client, channel=channel, thread_ts=thread_ts, user=user, is_dm=True),
        )
