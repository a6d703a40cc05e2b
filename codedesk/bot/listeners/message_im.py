"""Direct messages. A top-level DM is answered in its thread, so a follow-up there ("and if it's
stage 4?") keeps the context. Follow-ups inside a DM thread reach `assistant.py` (Bolt's
`Assistant` middleware owns every DM thread message) and are answered there with the thread's
earlier questions as history. Every other message event (channels, edits, deletions, bots) is
acknowledged and ignored."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from codedesk.bot.answering import Deps, Question, fetch_thread, handle_question, history_from
from codedesk.bot.listeners.common import first_delivery, is_from_person, retry_num
from codedesk.bot.replies import ThreadReply

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.event("message")
    def on_message(
        body: dict[str, Any], event: dict[str, Any], client: WebClient, request: BoltRequest
    ) -> None:
        if event.get("channel_type") != "im" or not is_from_person(event):
            return
        deps.pool.submit(
            "message_im", answer_dm, deps, client, body, event, retry_num(request.headers)
        )


def answer_dm(
    deps: Deps,
    client: WebClient,
    body: dict[str, Any],
    event: dict[str, Any],
    retry: int | None = None,
) -> None:
    if not first_delivery(deps, body, retry_num=retry):
        return
    channel, ts, user = event["channel"], event["ts"], event.get("user")
    thread_ts = event.get("thread_ts")
    history: list[str] = []
    if thread_ts:
        messages = fetch_thread(client, channel=channel, thread_ts=thread_ts)
        history = history_from(messages, before_ts=ts, max_chars=deps.settings.max_question_chars)
    reply = ThreadReply(client, channel=channel, thread_ts=thread_ts or ts, user=user, is_dm=True)
    handle_question(
        deps,
        Question(
            raw=event.get("text") or "",
            user=user,
            channel=channel,
            surface="slack_dm",
            history=history,
        ),
        reply,
    )
