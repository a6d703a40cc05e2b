"""`@CodeDesk …` in a channel: the answer in the thread of the question."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from codedesk.bot import blocks as B
from codedesk.bot.answering import (
    Deps,
    Question,
    allowed_channel,
    fetch_thread,
    handle_question,
    history_from,
)
from codedesk.bot.listeners.common import first_delivery, is_from_person, retry_num
from codedesk.bot.replies import ThreadReply

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.event("app_mention")
    def on_app_mention(
        body: dict[str, Any], event: dict[str, Any], client: WebClient, request: BoltRequest
    ) -> None:
        if not is_from_person(event):
            return
        deps.pool.submit(
            "app_mention", answer_mention, deps, client, body, event, retry_num(request.headers)
        )


def answer_mention(
    deps: Deps,
    client: WebClient,
    body: dict[str, Any],
    event: dict[str, Any],
    retry: int | None = None,
) -> None:
    if not first_delivery(deps, body, retry_num=retry):
        return
    channel, ts, user = event["channel"], event["ts"], event.get("user")
    reply = ThreadReply(client, channel=channel, thread_ts=event.get("thread_ts") or ts, user=user)
    if not allowed_channel(deps.bot, channel, is_dm=False):
        reply.private(B.MSG_CHANNEL_NOT_ALLOWED)
        return
    history: list[str] = []
    if event.get("thread_ts"):
        messages = fetch_thread(client, channel=channel, thread_ts=event["thread_ts"])
        history = history_from(messages, before_ts=ts, max_chars=deps.settings.max_question_chars)
    handle_question(
        deps,
        Question(
            raw=event.get("text") or "",
            user=user,
            channel=channel,
            surface="slack_channel",
            history=history,
        ),
        reply,
    )
