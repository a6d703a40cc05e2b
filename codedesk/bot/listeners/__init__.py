"""Bolt listeners, one module per event kind. Each is thin: parse the payload, hand the work to the
answer pool (`codedesk.bot.work`), and let `codedesk.bot.answering` answer, log via review and render."""

from __future__ import annotations

from slack_bolt import App

from codedesk.bot.answering import Deps
from codedesk.bot.listeners import (
    actions,
    app_home,
    app_mention,
    assistant,
    changes,
    code_check,
    command,
    discussion,
    message_im,
    views,
)


def register_listeners(app: App, deps: Deps) -> None:
    # The assistant middleware first: it takes the DM thread messages it owns and passes the rest on.
    assistant.register(app, deps)
    app_mention.register(app, deps)
    # Channel thread replies to digest messages: before message_im (Bolt runs the first listener
    # that matches an event; this one matches channel messages only).
    discussion.register(app, deps)
    message_im.register(app, deps)
    command.register(app, deps)
    code_check.register(app, deps)
    changes.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    app_home.register(app, deps)
