"""`/code-check E11.22, N18.32, I12.9`: a code list checked (validity, sequencing, CC/MCC with the first
code as principal, HCCs), answered privately like `/code` through the normal answer path, which reads
"check …" as a code check (retrieval.code_check)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from codedesk.bot.answering import Deps, Question, handle_question
from codedesk.bot.replies import EphemeralReply
from codedesk.bot.text import clean_slack_text, escape_mrkdwn, shorten

COMMAND = "/code-check"
EMPTY = "List the codes to check, principal first: `/code-check E11.22, N18.32, I12.9`"


def check_question(text: str) -> str:
    """What the command asks the answerer: the list, read as a check."""
    return f"check {text}"


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_code_check(
        ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        codes = clean_slack_text(command.get("text"))
        if not codes:
            ack(response_type="ephemeral", text=EMPTY)
            return
        ack(response_type="ephemeral", text=f"🔎 Checking _{escape_mrkdwn(shorten(codes, 200))}_ …")
        deps.pool.submit("command_code_check", answer_check, deps, client, respond, command)


def answer_check(deps: Deps, client: WebClient, respond: Respond, command: dict[str, Any]) -> None:
    channel, user = command.get("channel_id"), command.get("user_id")
    reply = EphemeralReply(respond, client=client, channel=channel, user=user)
    handle_question(
        deps,
        Question(
            raw=check_question(command.get("text") or ""),
            user=user,
            channel=channel,
            surface="slack_command",
        ),
        reply,
        share=True,
    )


__all__ = ["COMMAND", "check_question", "register"]
