"""Settings of the Slack bot, apart from the core `codedesk.settings.Settings`.

Slack's own variables keep the names Slack gives them (`SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`,
`SLACK_APP_TOKEN`); CodeDesk's use the `CODEDESK_` prefix. Built once at start-up and passed down;
nothing here reads the environment at import time.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from codedesk.errors import ConfigError


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CODEDESK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    slack_bot_token: str | None = Field(
        None,
        validation_alias=_env("SLACK_BOT_TOKEN"),
        repr=False,
        description="Bot User OAuth Token (xoxb-…); required",
    )
    slack_signing_secret: str | None = Field(
        None,
        validation_alias=_env("SLACK_SIGNING_SECRET"),
        repr=False,
        description="Signing Secret; required in HTTP mode (no SLACK_APP_TOKEN)",
    )
    slack_app_token: str | None = Field(
        None,
        validation_alias=_env("SLACK_APP_TOKEN"),
        repr=False,
        description="App-Level Token (xapp-…, connections:write); set it to run in Socket Mode",
    )

    escalation_channel: str | None = Field(
        None,
        description="Channel id (C…) where 'Ask a team lead' posts; unset = the button is hidden",
    )
    escalation_usergroup: str | None = Field(
        None, description="User group id (S…) mentioned in escalations"
    )
    team_leads: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated user ids (U…) of team leads: mentioned when no user group is set, "
        "and never rate-limited",
    )
    allowed_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated channel ids the bot answers in (DMs always allowed); empty = everywhere",
    )
    rate_limit_per_minute: int = Field(
        10, ge=0, description="Questions one user may ask per minute; 0 = unlimited"
    )
    answer_workers: int = Field(
        4, ge=1, description="Threads answering questions; the ack path never waits for them"
    )
    stream_interval_s: float = Field(
        1.0,
        gt=0,
        description="With a model configured: seconds between edits of the answer while it is written",
    )
    index_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [2.0, 5.0, 10.0],
        description="Seconds to wait between retries when the code index is unavailable",
    )

    @field_validator("team_leads", "allowed_channels", "index_retry_delays", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "escalation_channel",
        "escalation_usergroup",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def missing(self) -> list[str]:
        """Every required variable that is not set, by its environment name."""
        names = []
        if not self.slack_bot_token:
            names.append("SLACK_BOT_TOKEN")
        if not self.socket_mode and not self.slack_signing_secret:
            names.append("SLACK_SIGNING_SECRET")
        return names

    def require(self) -> BotSettings:
        """Fail fast, naming every missing variable at once."""
        names = self.missing()
        if names:
            raise ConfigError(
                "Missing required setting(s): "
                + ", ".join(names)
                + ". Set them in the environment or in .env (see .env.example); "
                "SLACK_SIGNING_SECRET is not needed when SLACK_APP_TOKEN (Socket Mode) is set."
            )
        return self
