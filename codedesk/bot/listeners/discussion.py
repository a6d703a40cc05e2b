"""Discussion threads of `codedesk digest changes`: people's replies in those threads (channel and
private-channel `message` events whose `thread_ts` is a recorded digest message) and reactions on
the digest messages or on those replies are recorded in the review log through the review port
(`Deps.review`: `record_reply`, `edit_reply`, `delete_reply`, `reaction`), replies scrubbed of PHI
first. Edits update a recorded reply; deletions remove it. The writes are idempotent (keyed on the
message ts), so a Slack retry stores nothing twice.

Registered before `message_im` so it sees channel messages (Bolt runs the first listener that
matches an event); it matches channel and private-channel messages only, so DMs still reach the
DM and assistant listeners. Nothing is ever posted in reply.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from codedesk.bot.answering import Deps
from codedesk.bot.listeners.common import is_from_person
from codedesk.bot.review_port import Threads

log = logging.getLogger(__name__)

CHANNEL_TYPES = ("channel", "group")


def is_channel_message(event: dict[str, Any]) -> bool:
    """A message event from a public or private channel (not a DM or group DM)."""
    kind = event.get("channel_type")
    if kind:
        return kind in CHANNEL_TYPES
    return str(event.get("channel") or "").startswith(("C", "G"))


def register(app: App, deps: Deps) -> None:
    if not deps.review.enabled:  # no log: nothing to record into
        return
    discussions: Threads = deps.review  # never raises; idempotent on the message ts

    @app.event("message", matchers=[lambda event: is_channel_message(event)])
    def on_channel_message(event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            message = event.get("message") or {}
            if message.get("thread_ts") and message.get("ts") != message.get("thread_ts"):
                deps.pool.submit(
                    "discussion_edit",
                    discussions.edit_reply,
                    channel_id=event.get("channel"),
                    message_ts=message.get("ts"),
                    text=message.get("text") or "",
                )
            return
        if subtype == "message_deleted":
            if event.get("deleted_ts"):
                deps.pool.submit(
                    "discussion_delete",
                    discussions.delete_reply,
                    channel_id=event.get("channel"),
                    message_ts=event["deleted_ts"],
                )
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts") or not is_from_person(event):
            return
        deps.pool.submit("discussion_reply", record_reply, discussions, event)

    @app.event("reaction_added")
    def on_reaction_added(event: dict[str, Any]) -> None:
        _reaction(deps, discussions, event, True)

    @app.event("reaction_removed")
    def on_reaction_removed(event: dict[str, Any]) -> None:
        _reaction(deps, discussions, event, False)


def record_reply(discussions: Threads, event: dict[str, Any]) -> None:
    """Record a person's reply when its thread is a digest thread (a Slack retry finds it stored)."""
    row = discussions.record_reply(
        channel_id=event["channel"],
        thread_ts=event["thread_ts"],
        message_ts=event["ts"],
        text=event.get("text") or "",
        user_id=event.get("user"),
    )
    if row is not None:
        log.info("discussion_reply_recorded id=%s", row)


def _reaction(deps: Deps, discussions: Threads, event: dict[str, Any], added: bool) -> None:
    item = event.get("item") or {}
    if (
        item.get("type") != "message"
        or not item.get("channel")
        or not item.get("ts")
        or not event.get("reaction")
    ):
        return
    if not is_channel_message({"channel": item["channel"]}):
        return
    deps.pool.submit(
        "discussion_reaction_added" if added else "discussion_reaction_removed",
        discussions.reaction,
        channel_id=item["channel"],
        message_ts=item["ts"],
        reaction=event["reaction"],
        user_id=event.get("user"),
        added=added,
        event_ts=event.get("event_ts"),
    )
