"""`/code …`: acknowledged at once (Slack shows the ack text), then an ephemeral answer through the
command's `response_url` with a "Share in channel" button."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from codedesk.bot import blocks as B
from codedesk.bot.answering import Deps, Question, handle_question
from codedesk.bot.replies import EphemeralReply
from codedesk.bot.text import clean_slack_text, escape_mrkdwn, shorten

log = logging.getLogger(__name__)

COMMAND = "/code"


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_code(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        question = clean_slack_text(command.get("text"))
        if not question:
            ack(response_type="ephemeral", text=B.MSG_EMPTY)
            return
        ack(
            response_type="ephemeral",
            text=f"🔎 Looking up codes for _{escape_mrkdwn(shorten(question, 200))}_ …",
        )
        deps.pool.submit("command_code", answer_command, deps, client, respond, command)


def answer_command(
    deps: Deps, client: WebClient, respond: Respond, command: dict[str, Any]
) -> None:
    channel, user = command.get("channel_id"), command.get("user_id")
    reply = EphemeralReply(respond, client=client, channel=channel, user=user)
    handle_question(
        deps,
        Question(
            raw=command.get("text") or "", user=user, channel=channel, surface="slack_command"
        ),
        reply,
        share=True,
    )
