"""The tiny entry point: build the Bolt `App` and register the listeners.

    app = build_app(settings, answerer=build_answerer(settings), review=review)

`review` is the bot's review port (`codedesk.bot.review_port.ReviewPort`), built by the composition
root: `codedesk.review.port.ReviewService(settings, QueryLogger(settings))`, or
`ReviewService(settings)` to run without a log (answers go on; feedback buttons are then hidden,
since there is no log id to attach them to).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from codedesk.bot.answering import Deps
from codedesk.bot.config import BotSettings
from codedesk.bot.listeners import register_listeners
from codedesk.bot.review_port import ReviewPort
from codedesk.bot.work import AnswerPool
from codedesk.settings import Settings

log = logging.getLogger(__name__)

# Bolt runs ack functions (commands, actions, views) on this executor while the HTTP thread waits
# up to 3 s for ack(): keep it for acks only (the answers run on the AnswerPool) and roomy.
ACK_THREADS = 16


class _QuietClientTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client that holds it,
    then warns that the token is unused: expected here, so not worth a warning at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class _WithholdRequestBody(logging.Filter):
    """Bolt puts the raw request body in some log lines: the whole body at INFO when a signature does
    not verify (a stale timestamp, a rotated secret, a forged request), and when a middleware gives no
    response. A body holds what a person typed, patient details included, unscrubbed: the line is
    kept, the body withheld. (`codedesk.bot.asgi` also rejects unsigned requests before Bolt sees them.)"""

    _CUTS = (
        "Invalid request signature detected",
        "without providing a response for the request",
        "request body:",
        "Request body:",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted is dropped rather than shown raw
            return False
        for cut in self._CUTS:
            at = message.find(cut)
            if at != -1:
                record.msg, record.args = message[: at + len(cut)] + " (request body withheld)", ()
                break
        return True


# Bolt's loggers that may carry a request body: its own (created per class from the app's logger,
# which copies the app logger's filters only when it has none yet) and the app's.
_BOLT_LOGGERS = ("slack_bolt.RequestVerification", "slack_bolt.App", "slack_bolt.codedesk")


def withhold_request_bodies() -> None:
    """Install the filter on Bolt's loggers (idempotent)."""
    for name in _BOLT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _WithholdRequestBody) for f in logger.filters):
            logger.addFilter(_WithholdRequestBody())


def build_app(
    settings: Settings,
    *,
    answerer: Any,
    review: ReviewPort,
    client: WebClient | None = None,
    bot_settings: BotSettings | None = None,
    token_verification: bool = True,
) -> App:
    """The CodeDesk Bolt app.

    - `answerer`: `codedesk.retrieval.service.Answerer` (or anything with the same `.answer(...)`).
    - `review`: the review port, built by the composition root (see the module's docstring).
    - `client`: a `WebClient`; default one at `settings.slack_api_url` with the bot token.
    - `bot_settings`: default `BotSettings()` from the environment; missing required variables
      raise `ConfigError` naming all of them.
    - `token_verification`: call auth.test at start (learns the bot's own user id; fails fast on a
      bad token).

    The app answers after the ack (`process_before_response=False`) and verifies Slack's request
    signatures. Its `Deps` (answer pool, settings, review port) is `app.codedesk`.
    """
    bot = (bot_settings or BotSettings()).require()
    if client is None:
        client = WebClient(base_url=settings.slack_api_url, token=bot.slack_bot_token)
    elif client.token is None:
        client.token = bot.slack_bot_token
    withhold_request_bodies()
    bolt_logger = logging.getLogger("slack_bolt.codedesk")
    quiet = _QuietClientTokenWarning()
    bolt_logger.addFilter(quiet)
    app = App(
        client=client,
        signing_secret=bot.slack_signing_secret or "",
        process_before_response=False,
        request_verification_enabled=True,
        token_verification_enabled=token_verification,
        listener_executor=ThreadPoolExecutor(
            max_workers=ACK_THREADS, thread_name_prefix="codedesk-ack"
        ),
        logger=bolt_logger,
        name="codedesk",
    )
    bolt_logger.removeFilter(quiet)
    withhold_request_bodies()  # again: loggers Bolt created just now may have copied only `quiet`
    deps = Deps(
        settings=settings,
        bot=bot,
        answerer=answerer,
        review=review,
        pool=AnswerPool(bot.answer_workers),
    )
    register_listeners(app, deps)
    app.codedesk = deps  # type: ignore[attr-defined]
    log.info(
        "app_built socket_mode=%s answer_workers=%s allowed_channels=%s escalation=%s",
        bot.socket_mode,
        bot.answer_workers,
        len(bot.allowed_channels),
        bool(bot.escalation_channel),
    )
    return app
