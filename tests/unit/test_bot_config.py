"""codedesk.bot.config: Slack's variable names, comma lists, and a fail-fast message naming every missing one."""

from __future__ import annotations

import pytest

from codedesk.bot.config import BotSettings
from codedesk.errors import ConfigError

VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "CODEDESK_ESCALATION_CHANNEL",
    "CODEDESK_ESCALATION_USERGROUP",
    "CODEDESK_ALLOWED_CHANNELS",
    "CODEDESK_RATE_LIMIT_PER_MINUTE",
    "CODEDESK_TEAM_LEADS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)


def test_missing_lists_every_required_variable() -> None:
    settings = BotSettings(_env_file=None)
    assert settings.missing() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
    with pytest.raises(ConfigError) as err:
        settings.require()
    assert "SLACK_BOT_TOKEN" in str(err.value) and "SLACK_SIGNING_SECRET" in str(err.value)


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = BotSettings(_env_file=None)
    assert settings.socket_mode and settings.missing() == []


def test_env_names_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("SLACK_APP_TOKEN", " ")
    monkeypatch.setenv("CODEDESK_ALLOWED_CHANNELS", "C1, C2,,")
    monkeypatch.setenv("CODEDESK_TEAM_LEADS", "U1")
    monkeypatch.setenv("CODEDESK_RATE_LIMIT_PER_MINUTE", "3")
    monkeypatch.setenv("CODEDESK_ESCALATION_CHANNEL", "C0LEADS")
    settings = BotSettings(_env_file=None)
    assert settings.slack_bot_token == "xoxb-1" and settings.slack_signing_secret == "s3cret"
    assert not settings.socket_mode  # blank app token = HTTP mode
    assert settings.allowed_channels == ["C1", "C2"] and settings.team_leads == ["U1"]
    assert settings.rate_limit_per_minute == 3 and settings.escalation_channel == "C0LEADS"
    assert settings.missing() == []
    assert "xoxb-1" not in repr(settings) and "s3cret" not in repr(settings)
