"""App Home: a short guide published when a person opens the Home tab."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import blocks as B
from bot.answering import Deps

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        deps.pool.submit("app_home", publish_home, client, event["user"])


def publish_home(client: WebClient, user: str) -> None:
    try:
        client.views_publish(user_id=user, view=B.home_view())
    except Exception:
        log.exception("home_publish_failed")
