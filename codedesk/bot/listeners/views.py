"""The 👎 feedback modal: submission records the 👎 with what was wrong; closing it without
sending records the 👎 alone."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from codedesk.bot import blocks as B
from codedesk.bot.answering import Deps
from codedesk.bot.listeners.common import user_of

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.view(B.FEEDBACK_MODAL)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        ack()
        deps.pool.submit("feedback_reason", record, deps, client, body, view, True)

    @app.view_closed(B.FEEDBACK_MODAL)
    def on_closed(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        ack()
        deps.pool.submit("feedback_closed", record, deps, client, body, view, False)


def record(
    deps: Deps, client: WebClient, body: dict[str, Any], view: dict[str, Any], submitted: bool
) -> None:
    meta = B.parse_value(view.get("private_metadata"))
    log_id = meta.get("id")
    if log_id is None:
        return
    reason = B.feedback_reason((view.get("state") or {}).get("values") or {}) if submitted else None
    user = user_of(body)
    ok = deps.review.feedback(query_id=log_id, user_id=user, value=-1, reason=reason)
    if not submitted or not meta.get("channel") or not user:
        return
    text = B.MSG_FEEDBACK_THANKS_DOWN if ok else B.MSG_FEEDBACK_UNAVAILABLE
    try:
        client.chat_postEphemeral(channel=meta["channel"], user=user, text=text)
    except Exception:
        log.exception("feedback_thanks_failed")
