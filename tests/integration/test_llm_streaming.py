"""A model answer streamed while it is written, and the per-user model budget from Slack.

The real answerer (embedded FY2026 code book, lexical search) with `CODEDESK_LLM` pointing at the
local OpenAI-compatible fake (tests/fake_openai.py) through `langchain-openai`, which streams the
reply as server-sent events. In Slack (the real Bolt app and the fake Web API, tests/fake_slack.py)
the answer grows in one thread message, then the guarded final answer replaces it. Codes the
evidence does not support never show, not even while the answer is being written.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codedesk.bot import blocks as B
from codedesk.bot.config import BotSettings
from codedesk.retrieval.llm import partial_answer
from codedesk.retrieval.service import Answerer, build_answerer
from codedesk.settings import Settings
from tests.fake_openai import FakeOpenAI, Reply, source_numbers
from tests.fake_slack import BOT_USER_ID, FakeSlack, RunningBot

Q = "type 2 diabetes with chronic kidney disease stage 3b"
CHANNEL, ASKER = "C0STREAM", "U0STREAMER"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def written(body: dict[str, Any]) -> Reply:
    """A good answer that mentions a code that does not exist, streamed in small pieces."""
    s = source_numbers(body)
    text = (
        f"Report **E11.22** first [{s['E11.22']}]: the Tabular List links diabetes and chronic kidney "
        f"disease (never **E11.99**, a code that does not exist). Then **N18.32** for stage 3b, as the "
        f"use additional code note at E11.22 asks [{s['N18.32']}]."
    )
    content = json.dumps(
        {
            "answer": text,
            "codes": [
                {"code": "E11.22", "billable": True, "sources": [s["E11.22"]]},
                {"code": "N18.32", "billable": True, "sources": [s["N18.32"]]},
            ],
        }
    )
    return Reply(content, chunk_chars=7, chunk_delay_s=0.03)


def prose(body: dict[str, Any]) -> Reply:
    return Reply("Sure! For T2DM with CKD 3b report E11.22 and N18.32.", chunk_chars=5)


SCRIPTS = {"zqstream": written, "zqprose": prose, "zqbudget": written}


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(SCRIPTS) as server:
        yield server


def model_settings(fake_model: FakeOpenAI, home: Path, **kw: Any) -> Settings:
    return Settings(
        _env_file=None,
        home=home,
        cms_data_dir=None,
        llm="openai:gpt-test",
        llm_base_url=fake_model.base_url,
        llm_api_key="test",
        llm_timeout_s=10.0,
        llm_max_retries=0,
        **kw,
    )


@pytest.fixture(scope="module")
def answerer(fake_model: FakeOpenAI) -> Answerer:
    home = (
        Path(tempfile.gettempdir()) / "codedesk-test-answerer"
    )  # the parse caches test_bot_slack also uses
    return build_answerer(model_settings(fake_model, home), dense=False)


# ------------------------------------------------------------------------------- the stream itself


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"answer": "Report **E11.22** [1]', "Report **E11.22** [1]"),
        ('{"answer": "line one\\nline \\"two\\"', 'line one\nline "two"'),
        ('{"answer": "caf\\u00e9 done", "codes": []}', "café done"),
        ('{"answer": "cut in an escape \\', "cut in an escape "),
        ('{"answer": "cut in a unicode escape \\u00', "cut in a unicode escape "),
        ('{"codes": [], "ans', None),
        ('```json\n{"answer":"fenced', "fenced"),
    ],
)
def test_partial_answer_reads_the_answer_field_as_it_grows(text: str, expected: str | None) -> None:
    assert partial_answer(text) == expected


def test_streamed_answer_grows_with_unsupported_codes_masked(
    answerer: Answerer, fake_model: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.INFO, logger="codedesk.retrieval.llm"):
        a = answerer.answer(f"{Q} zqstream", on_partial=seen.append)
    assert a.composer == "model" and [c.code for c in a.codes] == ["E11.22", "N18.32"]
    (req,) = fake_model.requests_for("zqstream")
    assert req["stream"] is True and req["stream_options"] == {"include_usage": True}
    assert len(seen) >= 10, "the text is passed on as it grows"
    assert all(len(a_) < len(b_) for a_, b_ in zip(seen, seen[1:], strict=False))
    assert not any("E11.99" in s or "E11.9 " in s for s in seen), "an invented code never shows"
    assert any("[code removed]" in s for s in seen)
    assert seen[0].startswith("Report") and "**N18.32** for stage 3b" in seen[-1]
    assert "E11.99" not in a.answer and "removed E11.99 from the text" in " ".join(a.guard)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model answer ")]
    assert "outcome=model" in line and re.search(r"input_tokens=\d+ output_tokens=\d+", line)


def test_a_streamed_reply_that_is_not_json_shows_nothing_and_falls_back(answerer: Answerer) -> None:
    seen: list[str] = []
    plain = answerer.answer(f"{Q} zqprose")
    a = answerer.answer(f"{Q} zqprose", on_partial=seen.append)
    assert seen == [] and a.composer == "deterministic" and a.answer == plain.answer
    assert any(g.startswith("fallback: malformed model output") for g in a.guard)


def test_a_listener_that_fails_stops_the_preview_not_the_answer(answerer: Answerer) -> None:
    calls: list[str] = []

    def broken(text: str) -> None:
        calls.append(text)
        raise RuntimeError("chat.update refused")

    a = answerer.answer(f"{Q} zqstream", on_partial=broken)
    assert a.composer == "model" and len(calls) == 1


# ------------------------------------------------------------------------------------------- Slack


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def make_bot(
    fake_slack: FakeSlack, fake_model: FakeOpenAI, answerer: Answerer, tmp_path: Path
) -> Iterator[Callable[..., RunningBot]]:
    from codedesk.review.log import QueryLogger

    bots: list[RunningBot] = []

    def make(*, budget: int = 200) -> RunningBot:
        # every bot of a test shares one query log: two bots stand for two worker processes
        settings = model_settings(
            fake_model, tmp_path / "home", database_url=None, llm_daily_budget_per_user=budget
        )
        bot = RunningBot(
            fake_slack,
            settings,
            answerer=answerer,
            query_logger=QueryLogger(settings),
            bot_settings=BotSettings(
                _env_file=None,
                slack_bot_token="xoxb-test",
                slack_signing_secret=SECRET,
                slack_app_token=None,
                rate_limit_per_minute=30,
                answer_workers=2,
                stream_interval_s=0.15,
            ),
        )
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.close()
    fake_slack.reset()


def mention(fake: FakeSlack, text: str) -> dict[str, Any]:
    message = fake.add_message(CHANNEL, text=text, user=ASKER)
    return {
        "type": "app_mention",
        "channel": CHANNEL,
        "user": ASKER,
        "text": text,
        "ts": message["ts"],
        "event_ts": message["ts"],
    }


def test_the_answer_is_written_into_the_thread_then_replaced_by_the_checked_one(
    make_bot: Callable[..., RunningBot], fake_slack: FakeSlack
) -> None:
    bot = make_bot()
    event = mention(fake_slack, f"<@{BOT_USER_ID}> {Q} zqstream")
    bot.slack.event(event, event_id="Ev0STREAM")
    [first] = fake_slack.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    assert first.params["blocks"][-1]["elements"][0]["text"] == B.WRITING_NOTICE
    bot.idle()
    posts = fake_slack.calls_to("chat.postMessage", channel=CHANNEL)
    assert posts == [first], "one message, edited in place"
    ts = next(m["ts"] for m in fake_slack.messages[CHANNEL] if m.get("thread_ts") == event["ts"])
    updates = fake_slack.calls_to("chat.update", channel=CHANNEL, ts=ts)
    assert len(updates) >= 3, "the text grows at the configured rate"
    *writing, final = updates
    assert all(u.params["blocks"][-1]["elements"][0]["text"] == B.WRITING_NOTICE for u in writing)
    final_text = json.dumps(final.params["blocks"], ensure_ascii=False)
    assert B.WRITING_NOTICE not in final_text and "E11.22" in final_text and "N18.32" in final_text
    assert B.ACTION_UP in final_text, "the final answer carries the feedback buttons"
    every = json.dumps([c.params for c in [first, *updates]], ensure_ascii=False)
    assert "E11.99" not in every, "the invented code was never shown"


def test_the_model_budget_holds_across_workers(
    make_bot: Callable[..., RunningBot], fake_slack: FakeSlack, fake_model: FakeOpenAI
) -> None:
    one, two = make_bot(budget=1), make_bot(budget=1)
    before = len(fake_model.requests_for("zqbudget"))
    for n, bot in enumerate((one, two)):
        event = mention(fake_slack, f"<@{BOT_USER_ID}> {Q} zqbudget {n}")
        bot.slack.event(event, event_id=f"Ev0BUDGET{n}")
        fake_slack.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
        bot.idle()
    assert len(fake_model.requests_for("zqbudget")) - before == 1, (
        "the second worker knew the budget was spent"
    )
    second = fake_slack.calls_to("chat.postMessage", channel=CHANNEL)[-1]
    assert (
        B.WRITING_NOTICE not in json.dumps(second.params["blocks"])
        and "E11.22" in second.params["text"]
    )
