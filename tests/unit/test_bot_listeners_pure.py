"""Pure helpers the listeners use: who is a person, which channel is allowed, thread history."""

from __future__ import annotations

from codedesk.bot.answering import allowed_channel, history_from
from codedesk.bot.config import BotSettings
from codedesk.bot.listeners.common import channel_of, is_from_person, retry_num, user_of


def test_is_from_person() -> None:
    assert is_from_person({"type": "message", "user": "U1", "text": "hi"})
    assert is_from_person({"type": "message", "subtype": "file_share", "user": "U1"})
    assert not is_from_person({"type": "message", "user": "U1", "bot_id": "B1"})
    assert not is_from_person({"type": "message", "subtype": "bot_message", "bot_id": "B2"})
    assert not is_from_person(
        {"type": "message", "subtype": "message_changed", "message": {"user": "U1"}}
    )
    assert not is_from_person({"type": "message", "subtype": "message_deleted"})
    assert not is_from_person({"type": "message", "subtype": "channel_join", "user": "U1"})
    assert not is_from_person({"type": "message", "text": "no user"})


def test_allowed_channel() -> None:
    anywhere = BotSettings(
        _env_file=None, slack_bot_token="x", slack_signing_secret="y", allowed_channels=[]
    )
    some = BotSettings(
        _env_file=None, slack_bot_token="x", slack_signing_secret="y", allowed_channels=["C1"]
    )
    assert allowed_channel(anywhere, "C9", is_dm=False)
    assert allowed_channel(some, "C1", is_dm=False)
    assert not allowed_channel(some, "C9", is_dm=False)
    assert allowed_channel(some, "D9", is_dm=True)


def test_history_from_keeps_earlier_peoples_messages_cleaned() -> None:
    messages = [
        {"ts": "100.0", "user": "U1", "text": "<@UBOT> code for *CKD* stage 3 &amp; diabetes?"},
        {"ts": "101.0", "user": "UBOT", "bot_id": "B1", "text": "E11.22 …"},
        {"ts": "102.0", "user": "U2", "subtype": "channel_join", "text": "joined"},
        {"ts": "103.0", "user": "U1", "text": "and if it's stage 4?"},
        {"ts": "104.0", "user": "U1", "text": "later message"},
    ]
    assert history_from(messages, before_ts="103.0", max_chars=2000) == [
        "code for *CKD* stage 3 & diabetes?"
    ]
    assert history_from(messages, before_ts=None, max_chars=2000)[-1] == "later message"
    many = [{"ts": f"{i}.0", "user": "U1", "text": f"q{i}"} for i in range(1, 30)]
    assert history_from(many, before_ts="29.0", max_chars=2000) == [f"q{i}" for i in range(19, 29)]


def test_payload_helpers() -> None:
    assert channel_of({"channel": {"id": "C1"}}) == "C1"
    assert channel_of({"container": {"channel_id": "C2"}}) == "C2"
    assert channel_of({"channel_id": "C3"}) == "C3"
    assert user_of({"user": {"id": "U1"}}) == "U1" and user_of({"user_id": "U2"}) == "U2"
    assert retry_num({"x-slack-retry-num": ["2"]}) == 2 and retry_num({}) is None
