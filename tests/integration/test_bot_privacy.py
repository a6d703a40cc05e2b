"""Issue 14, against the running HTTP server (real Bolt app, fake Slack Web API):

- a Slack request with a stale timestamp or signed with another (rotated) secret is refused, and
  nothing it carried — the question, patient details — reaches the logs, at any level;
- /readyz and the log's warnings never show a password, in whatever form the URL carries it.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codedesk.bot.config import BotSettings
from codedesk.retrieval.schema import Answer
from codedesk.settings import Settings
from tests.fake_slack import BOT_USER_ID, FakeSlack, RunningBot

SIGNING_SECRET = "current-signing-secret-0123456789"
QUESTION = "PATRICIA WHITFIELD dob 03/14/1931 MRN 88812345 zebra-question-7731 type 2 diabetes"
PASSWORD = "s3cr3t-Pw-77"


@pytest.fixture(scope="module")
def answerer() -> Any:
    from codedesk.retrieval.service import build_answerer

    home = Path(tempfile.gettempdir()) / "codedesk-test-answerer"
    return build_answerer(Settings(_env_file=None, home=home, cms_data_dir=None), dense=False)


def _bot(fake: FakeSlack, settings: Settings, answerer: Any, query_logger: Any) -> RunningBot:
    return RunningBot(
        fake,
        settings,
        answerer=answerer,
        query_logger=query_logger,
        bot_settings=BotSettings(
            _env_file=None,
            slack_bot_token="xoxb-privacy",
            slack_signing_secret=SIGNING_SECRET,
            slack_app_token=None,
        ),
    )


@pytest.fixture
def running(tmp_path: Path, answerer: Any) -> Iterator[tuple[FakeSlack, RunningBot]]:
    from codedesk.review.log import QueryLogger

    with FakeSlack() as fake:
        settings = Settings(
            _env_file=None,
            home=tmp_path / "home",
            database_url=None,
            cms_data_dir=None,
            slack_api_url=fake.api_url,
        )
        logger = QueryLogger(settings)
        bot = _bot(fake, settings, answerer, logger)
        try:
            yield fake, bot
        finally:
            bot.close()
            logger.close()


def _event_body() -> str:
    event = {
        "type": "app_mention",
        "channel": "C0PRIV",
        "user": "U0ASKER",
        "ts": "1700000000.000100",
        "text": f"<@{BOT_USER_ID}> {QUESTION}",
    }
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0CODEDESK",
            "api_app_id": "A0CODEDESK",
            "type": "event_callback",
            "event_id": "Ev0PRIVACY",
            "event_time": int(time.time()),
            "event": event,
        }
    )


def test_forged_and_stale_requests_leave_no_question_text_in_the_logs(
    running: tuple[FakeSlack, RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    fake, bot = running
    caplog.set_level(logging.DEBUG)  # whatever level the service runs at
    body = _event_body()
    stale = bot.slack.post(body, content_type="application/json", timestamp=int(time.time()) - 3600)
    rotated = bot.slack.post(body, content_type="application/json", secret="the-previous-secret")
    form = bot.slack.post(
        f"command=%2Fcode&text={QUESTION.replace(' ', '+')}",
        content_type="application/x-www-form-urlencoded",
        secret="the-previous-secret",
    )
    assert [stale[0], rotated[0], form[0]] == [401, 401, 401]
    bot.idle()
    assert not fake.calls_to("chat.postMessage")
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for piece in ("zebra-question-7731", "WHITFIELD", "88812345", "1931"):
        assert piece not in logged, piece
    assert "request_rejected" in caplog.text


def test_bolt_verification_log_never_carries_the_body(
    running: tuple[FakeSlack, RunningBot], caplog: pytest.LogCaptureFixture
) -> None:
    """Behind the server's own check, Bolt's verifier is the last line: its log line keeps no body."""
    from slack_bolt import BoltRequest

    _fake, bot = running
    caplog.set_level(logging.DEBUG)
    body = _event_body()
    headers = bot.slack.headers(
        body, content_type="application/json", timestamp=int(time.time()) - 3600
    )
    resp = bot.app.dispatch(
        BoltRequest(body=body, headers={k.lower(): [v] for k, v in headers.items()})
    )
    assert resp.status == 401
    assert "Invalid request signature detected" in caplog.text
    assert "zebra-question-7731" not in caplog.text


def test_readyz_and_warnings_never_show_a_password(
    tmp_path: Path, answerer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from codedesk.review.log import QueryLogger

    caplog.set_level(logging.DEBUG)
    db_url = (
        f"postgresql+psycopg://coder@127.0.0.1:1/codedesk?password={PASSWORD}&sslpassword={PASSWORD}"
        f"&connect_timeout=1"
    )
    with FakeSlack() as fake:
        settings = Settings(
            _env_file=None,
            home=tmp_path / "home",
            database_url=db_url,
            cms_data_dir=None,
            slack_api_url=fake.api_url,
            chroma_host=f"http://reader:{PASSWORD}@127.0.0.1:1",
            chroma_timeout_s=1,
        )
        logger = QueryLogger(settings, retry_after_s=0)
        bot = _bot(fake, settings, answerer, logger)
        try:
            answer = Answer(question="q", answer="Use I10.", confidence="high", fiscal_year="2026")
            assert (
                logger.log_answer(
                    question="essential hypertension",
                    answer=answer,
                    surface="cli",
                    user_id="u",
                    channel=None,
                    latency_ms=1,
                    index_version=None,
                )
                is None
            )  # queued
            url = bot.url.replace("/slack/events", "/readyz")
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:
                    status, text = resp.status, resp.read().decode()
            except urllib.error.HTTPError as err:
                status, text = err.code, err.read().decode()
        finally:
            bot.close()
            logger.close()
    report = json.loads(text)
    assert status == 503 and "database" in report["down"]
    assert PASSWORD not in text
    assert "***" in report["database"]["url"] and "127.0.0.1" in report["database"]["url"]
    assert PASSWORD not in caplog.text
    assert "database unavailable" in caplog.text  # the warning was written, masked


def test_codedesk_sources_never_shows_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from codedesk.cli import app

    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(
        "CODEDESK_CHROMA_HOST", f"http://reader:{PASSWORD}@127.0.0.1:1/?token={PASSWORD}"
    )
    monkeypatch.setenv("CODEDESK_CHROMA_TIMEOUT_S", "1")
    result = CliRunner().invoke(app, ["sources"])
    assert "cannot be opened" in result.output  # the notice is there, masked
    assert PASSWORD not in result.output
