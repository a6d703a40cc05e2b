"""Small helpers shared by the listeners (pure, or thin over the review port)."""

from __future__ import annotations

import logging
from typing import Any

from codedesk.bot.answering import Deps

log = logging.getLogger(__name__)

# Message subtypes that carry a person's question; every other subtype (edits, deletions, joins,
# bot messages, …) is acknowledged and ignored.
ANSWERABLE_SUBTYPES = (None, "file_share", "thread_broadcast")


def is_from_person(event: dict[str, Any]) -> bool:
    """A new message a person wrote: not a bot (including CodeDesk itself), not an edit or deletion."""
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    if event.get("subtype") not in ANSWERABLE_SUBTYPES:
        return False
    return bool(event.get("user"))


def first_delivery(deps: Deps, body: dict[str, Any], *, retry_num: int | None = None) -> bool:
    """False when this event was already handled (a Slack retry, here or on another worker)."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    first = deps.review.claim_event(event_id)
    if not first:
        log.info("duplicate_event_ignored event_id=%s retry_num=%s", event_id, retry_num)
    return first


def retry_num(request_headers: dict[str, Any] | None) -> int | None:
    values = (request_headers or {}).get("x-slack-retry-num")
    if not values:
        return None
    try:
        return int(values[0] if isinstance(values, (list, tuple)) else values)
    except (TypeError, ValueError):
        return None


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel of an interaction payload (block_actions, view) or command."""
    channel = body.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    container = body.get("container") or {}
    return container.get("channel_id") or body.get("channel_id")


def user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    return body.get("user_id") or user
