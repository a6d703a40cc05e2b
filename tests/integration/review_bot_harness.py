"""Shared fixtures of the App Home, /code-changes and digest tests: the real Bolt app over HTTP
(`tests.fake_slack.RunningBot`), a fake Slack Web API that also knows user groups, the real
answerer, a real SQLite query log in tmp_path, and the real FY2025/FY2026 code books.

The code books' parse caches live in a fixed folder of the system temp dir (as the answerer's do in
test_bot_slack), so only the first run parses the XML; the log, the durable queue and team
guidelines written by decisions stay in tmp_path.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codedesk.bot.config import BotSettings
from codedesk.settings import Settings
from tests.fake_slack import FakeSlack, RunningBot

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL, DIGEST, LEADS = "C0CODING", "C0DIGEST", "C0LEADS"
ASKER, LEAD, GROUP_LEAD = "U0ASKER", "U0LEAD", "U0GROUPLEAD"
LEADS_GROUP = "S0LEADS"
CACHE_HOME = Path(tempfile.gettempdir()) / "codedesk-test-versions"


class GroupsFakeSlack(FakeSlack):
    """FakeSlack answering usergroups.users.list from `groups` (user group id -> member ids)."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[str, list[str]] = {}

    def _handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str], path: str
    ) -> dict[str, Any]:
        body = super()._handle(method, params, headers, path)
        if method == "usergroups.users.list" and body.get("ok"):
            group = params.get("usergroup")
            if group not in self.groups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.groups[group])}
        return body


@pytest.fixture(scope="module")
def fake() -> Iterator[GroupsFakeSlack]:
    with GroupsFakeSlack() as server:
        server.groups = {LEADS_GROUP: [GROUP_LEAD]}
        yield server


@pytest.fixture(scope="module")
def answerer() -> Any:
    """The real answerer over the embedded FY2026 code book, without the vector index."""
    from codedesk.retrieval.service import build_answerer

    home = Path(tempfile.gettempdir()) / "codedesk-test-answerer"
    return build_answerer(Settings(_env_file=None, home=home, cms_data_dir=None), dense=False)


def make_settings(
    tmp_path: Path, cms_data_dir: Path | None, fake: FakeSlack | None = None
) -> Settings:
    return Settings(
        _env_file=None,
        home=CACHE_HOME,
        database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        cms_data_dir=cms_data_dir,
        fiscal_year="2026",
        tabular_xml=None,
        team_guidelines_dir=tmp_path / "team",
        slack_api_url=fake.api_url if fake else "https://slack.com/api/",
    )


def query_logger(settings: Settings, tmp_path: Path) -> Any:
    from codedesk.review.log import QueryLogger

    return QueryLogger(
        settings, queue_path=tmp_path / "queue.sqlite3", hash_secret="test-hash-secret"
    )


@pytest.fixture
def make_bot(
    fake: GroupsFakeSlack, answerer: Any, tmp_path: Path, cms_data_dir: Path
) -> Iterator[Callable[..., RunningBot]]:
    bots: list[RunningBot] = []
    settings = make_settings(tmp_path, cms_data_dir, fake)
    logger = query_logger(settings, tmp_path)

    def make(**overrides: Any) -> RunningBot:
        options = dict(
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_app_token=None,
            escalation_channel=LEADS,
            escalation_usergroup=LEADS_GROUP,
            team_leads=[LEAD],
            allowed_channels=[],
            rate_limit_per_minute=0,
            answer_workers=2,
            index_retry_delays=[],
        )
        options.update(overrides)
        bot = RunningBot(
            fake,
            settings,
            answerer=answerer,
            query_logger=logger,
            bot_settings=BotSettings(_env_file=None, **options),
        )
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.close()
    logger.close()
    fake.reset()
    fake.groups = {LEADS_GROUP: [GROUP_LEAD]}


# ------------------------------------------------------------------------------------------ helpers


def block_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s: {check}")
        time.sleep(0.05)


def settle(bot: RunningBot) -> None:
    """Let Bolt hand acknowledged requests to the answer pool, then wait for the pool."""
    time.sleep(0.3)
    bot.idle()


def ask(
    bot: RunningBot,
    answerer: Any,
    question: str,
    *,
    user: str = ASKER,
    surface: str = "slack_channel",
) -> int:
    """Answer with the real answerer and log it through the bot's real query logger; the log id."""
    answer = answerer.answer(question)
    row_id = bot.deps.review.query_logger.log_answer(
        question=question,
        answer=answer,
        surface=surface,
        user_id=user,
        channel=CHANNEL,
        latency_ms=12.0,
        index_version=None,
    )
    assert row_id is not None
    return row_id
