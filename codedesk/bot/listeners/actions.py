"""Buttons under an answer: 👍 / 👎 (carrying the answer's log id), "Ask a team lead", and
"Share in channel" (on ephemeral /code answers). Each acks at once.

👎 opens the feedback modal right in the listener (a `trigger_id` expires after 3 seconds, so it
must not wait in the answer pool); the 👎 is recorded when the modal is submitted or closed.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from codedesk.bot import blocks as B
from codedesk.bot.answering import Deps, allowed_channel, answer_with_retries
from codedesk.bot.listeners.common import channel_of, user_of
from codedesk.bot.text import escape_mrkdwn
from codedesk.errors import CodeDeskError, IndexUnavailable

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.action(B.ACTION_UP)
    def on_thumbs_up(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        deps.pool.submit("feedback_up", record_up, deps, respond, body, action)

    @app.action(B.ACTION_DOWN)
    def on_thumbs_down(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        log_id = B.parse_value(action.get("value")).get("id")
        if log_id is None:
            return
        container = body.get("container") or {}
        try:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=B.feedback_modal(
                    log_id=log_id, channel=channel_of(body), message_ts=container.get("message_ts")
                ),
            )
        except Exception:  # trigger expired or Slack refused: keep the 👎 without a reason
            log.exception("feedback_modal_failed log_id=%s", log_id)
            deps.pool.submit("feedback_down", record_down, deps, respond, body, log_id)

    @app.action(B.ACTION_ESCALATE)
    def on_escalate(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        deps.pool.submit("escalate", escalate, deps, client, respond, body, action)

    @app.action(B.ACTION_SHARE)
    def on_share(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        deps.pool.submit("share", share, deps, client, respond, body, action)


def _tell(respond: Respond, text: str) -> None:
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("respond_failed")


def record_up(deps: Deps, respond: Respond, body: dict[str, Any], action: dict[str, Any]) -> None:
    log_id = B.parse_value(action.get("value")).get("id")
    if log_id is None:
        return
    ok = deps.review.feedback(query_id=log_id, user_id=user_of(body), value=1)
    _tell(respond, B.MSG_FEEDBACK_THANKS_UP if ok else B.MSG_FEEDBACK_UNAVAILABLE)


def record_down(
    deps: Deps, respond: Respond | None, body: dict[str, Any], log_id: int | str
) -> None:
    ok = deps.review.feedback(query_id=log_id, user_id=user_of(body), value=-1)
    if respond is not None:
        _tell(respond, B.MSG_FEEDBACK_THANKS_DOWN if ok else B.MSG_FEEDBACK_UNAVAILABLE)


def _reanswer(deps: Deps, ref: dict[str, Any]):
    return answer_with_retries(
        deps, str(ref.get("q") or ""), history=None, fiscal_year=ref.get("fy")
    )


def _failure_text(err: Exception) -> str:
    """What to tell the person when an answer could not be rebuilt (never the exception itself)."""
    if isinstance(err, IndexUnavailable):
        return B.MSG_INDEX_DOWN
    if isinstance(err, CodeDeskError):
        return str(err)
    return B.MSG_INTERNAL


def escalate(
    deps: Deps, client: WebClient, respond: Respond, body: dict[str, Any], action: dict[str, Any]
) -> None:
    target = deps.bot.escalation_channel
    if not target:
        _tell(respond, B.MSG_ESCALATION_OFF)
        return
    ref = B.parse_value(action.get("value"))
    user, channel = user_of(body), channel_of(body)
    try:
        answer = _reanswer(deps, ref)
        permalink = None
        container = body.get("container") or {}
        if channel and container.get("message_ts") and not container.get("is_ephemeral"):
            try:
                permalink = client.chat_getPermalink(
                    channel=channel, message_ts=container["message_ts"]
                ).get("permalink")
            except SlackApiError as err:
                log.info("permalink_unavailable error=%s", err.response.get("error"))
        rendered = B.escalation_blocks(
            answer,
            asked_by=user or "someone",
            channel=channel,
            usergroup=deps.bot.escalation_usergroup,
            team_leads=deps.bot.team_leads,
            log_id=ref.get("id"),
            permalink=permalink,
        )
        posted = client.chat_postMessage(
            channel=target,
            text=rendered.text,
            blocks=rendered.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        for extra in rendered.overflow:
            client.chat_postMessage(
                channel=target, thread_ts=posted.get("ts"), text=rendered.text, blocks=extra
            )
    except SlackApiError as err:
        log.error("escalation_post_failed channel=%s error=%s", target, err.response.get("error"))
        _tell(
            respond,
            "I couldn't post to the team leads' channel (am I a member of it?). "
            "Please tell your CodeDesk admin.",
        )
        return
    except Exception as err:
        log.exception("escalation_failed")
        _tell(respond, _failure_text(err))
        return
    deps.review.escalation(query_id=ref.get("id"), user_id=user, channel=target)
    _tell(respond, B.MSG_ESCALATED.format(channel=target))


def share(
    deps: Deps, client: WebClient, respond: Respond, body: dict[str, Any], action: dict[str, Any]
) -> None:
    ref = B.parse_value(action.get("value"))
    user, channel = user_of(body), channel_of(body)
    if not channel or not allowed_channel(deps.bot, channel, is_dm=channel.startswith("D")):
        _tell(respond, B.MSG_CHANNEL_NOT_ALLOWED)
        return
    try:
        answer = _reanswer(deps, ref)
    except Exception as err:
        log.exception("share_failed")
        _tell(respond, _failure_text(err))
        return
    log_id = ref.get("id")
    rendered = B.answer_blocks(answer, log_id=log_id, share=False)
    asked = B.section(f"<@{user}> asked: _{escape_mrkdwn(answer.question)}_")
    blocks = [asked] + rendered.blocks
    if len(blocks) > B.MAX_BLOCKS:  # room for the header line: re-render one block shorter
        rendered = B.answer_blocks(answer, log_id=log_id, share=False, max_blocks=B.MAX_BLOCKS - 1)
        blocks = [asked] + rendered.blocks
    try:
        posted = client.chat_postMessage(
            channel=channel,
            text=rendered.text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        for extra in rendered.overflow:
            client.chat_postMessage(
                channel=channel, thread_ts=posted.get("ts"), text=rendered.text, blocks=extra
            )
    except SlackApiError as err:
        log.warning("share_post_failed channel=%s error=%s", channel, err.response.get("error"))
        _tell(respond, B.MSG_SHARE_FAILED)
        return
    try:
        respond(text=B.MSG_SHARED, response_type="ephemeral", replace_original=True)
    except Exception:
        log.exception("share_confirm_failed")
