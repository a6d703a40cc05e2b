"""Where an answer goes: a thread (mentions, DMs, the assistant panel) or an ephemeral reply (/code).

Each `Reply` can send a message, replace one it sent (the "index unavailable, retrying…" notice
becomes the answer), post overflow, and tell only the asker something (rate limit, channel not
allowed). Every Slack call here is made from the answer pool, never on the ack path.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from codedesk.bot.blocks import Block, Rendered

log = logging.getLogger(__name__)


class Reply(Protocol):
    def send(self, rendered: Rendered) -> str | None:
        """Post a message; returns a handle (the message ts) when it can be replaced later."""

    def replace(self, handle: str | None, rendered: Rendered) -> None:
        """Replace the message `send` returned `handle` for (or post anew when it cannot be)."""

    def update(self, handle: str, rendered: Rendered) -> None:
        """Edit the message `handle` in place (raises when it cannot be: no fallback post)."""

    def more(self, blocks: list[Block], text: str) -> None:
        """Post a further message after the answer (overflow)."""

    def private(self, text: str) -> None:
        """Tell only the asker (never the channel)."""


class ThreadReply:
    """Replies in a thread: of the question (mentions, top-level DMs) or the thread it was asked in."""

    streams = True  # a message here can be edited as often as a model answer grows

    def __init__(
        self,
        client: WebClient,
        *,
        channel: str,
        thread_ts: str,
        user: str | None,
        is_dm: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.user = user
        self.is_dm = is_dm
        self.metadata = metadata

    def send(self, rendered: Rendered) -> str | None:
        kwargs: dict[str, Any] = {}
        if self.metadata:
            kwargs["metadata"] = self.metadata
        resp = self.client.chat_postMessage(
            channel=self.channel,
            thread_ts=self.thread_ts,
            text=rendered.text,
            blocks=rendered.blocks,
            unfurl_links=False,
            unfurl_media=False,
            **kwargs,
        )
        return resp.get("ts")

    def update(self, handle: str, rendered: Rendered) -> None:
        self.client.chat_update(
            channel=self.channel, ts=handle, text=rendered.text, blocks=rendered.blocks
        )

    def replace(self, handle: str | None, rendered: Rendered) -> None:
        if handle:
            try:
                self.update(handle, rendered)
                return
            except SlackApiError as err:
                log.warning(
                    "chat_update_failed channel=%s error=%s; posting anew",
                    self.channel,
                    err.response.get("error"),
                )
        self.send(rendered)

    def more(self, blocks: list[Block], text: str) -> None:
        self.client.chat_postMessage(
            channel=self.channel,
            thread_ts=self.thread_ts,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    def private(self, text: str) -> None:
        if self.is_dm or not self.user:
            self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=text)
            return
        self.client.chat_postEphemeral(
            channel=self.channel, user=self.user, thread_ts=self.thread_ts, text=text
        )


class AssistantReply(ThreadReply):
    """The assistant panel: a thread in the app's DM; shows a status while the answer is prepared."""

    def __init__(
        self, client: WebClient, *, channel: str, thread_ts: str, user: str | None
    ) -> None:
        super().__init__(client, channel=channel, thread_ts=thread_ts, user=user, is_dm=True)

    def status(self, text: str) -> None:
        try:
            self.client.assistant_threads_setStatus(
                channel_id=self.channel, thread_ts=self.thread_ts, status=text
            )
        except (
            SlackApiError
        ) as err:  # not an assistant thread (a plain DM thread): no status to show
            log.debug("set_status_failed error=%s", err.response.get("error"))

    def title(self, text: str) -> None:
        try:
            self.client.assistant_threads_setTitle(
                channel_id=self.channel, thread_ts=self.thread_ts, title=text
            )
        except SlackApiError as err:
            log.debug("set_title_failed error=%s", err.response.get("error"))


class EphemeralReply:
    """Replies only the asker sees, through the command's `response_url` (`respond`)."""

    streams = False  # a response_url takes 5 messages in 30 minutes: no live updates

    def __init__(
        self,
        respond: Any,
        *,
        client: WebClient | None = None,
        channel: str | None = None,
        user: str | None = None,
    ) -> None:
        self.respond = respond
        self.client = client
        self.channel = channel
        self.user = user

    def _post(self, text: str, blocks: list[Block] | None, *, replace: bool = False) -> None:
        try:
            resp = self.respond(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=replace
            )
            status = getattr(resp, "status_code", 200)
            if status == 200:
                return
            problem: object = f"status {status}: {getattr(resp, 'body', '')!r}"
        except Exception as err:  # network error on the response_url
            problem = err
        # response_url expired (30 min, 5 uses) or refused: fall back to the Web API
        if self.client is None or not self.channel or not self.user:
            raise RuntimeError(f"respond failed ({problem}) and no channel to post to")
        log.warning("respond_failed problem=%s; using chat.postEphemeral", problem)
        self.client.chat_postEphemeral(
            channel=self.channel, user=self.user, text=text, blocks=blocks
        )

    def send(self, rendered: Rendered) -> str | None:
        self._post(rendered.text, rendered.blocks)
        return "response_url"

    def replace(self, handle: str | None, rendered: Rendered) -> None:
        self._post(rendered.text, rendered.blocks, replace=handle is not None)

    def update(self, handle: str, rendered: Rendered) -> None:
        self._post(rendered.text, rendered.blocks, replace=True)

    def more(self, blocks: list[Block], text: str) -> None:
        self._post(text, blocks)

    def private(self, text: str) -> None:
        self._post(text, None)
