"""The Slack bot end to end: the real Bolt app served over HTTP on loopback, driven with Slack-signed
requests, answering with the real answerer (FY2026 code book), talking to a fake Slack Web API
over HTTP that records every call, and logging to a real SQLite query log in tmp_path.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from codedesk.bot import blocks as B
from codedesk.bot.config import BotSettings
from codedesk.errors import IndexUnavailable
from codedesk.settings import Settings
from tests.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack, RunningBot

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL, DM, PANEL, LEADS = "C0CODING", "D0DIRECT", "D0PANEL", "C0LEADS"
ASKER = "U0ASKER"
CKD_QUESTION = "code for type 2 diabetes with CKD stage 3?"


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real answerer over the embedded FY2026 code book, built once for the module, without the
    vector index (these tests are about Slack; retrieval quality is the retrieval tests' business).
    Its parse caches live in the system temp folder, keyed by source file and code, so later runs
    start in ~1 s instead of ~11 s."""
    from codedesk.retrieval.service import build_answerer

    home = Path(tempfile.gettempdir()) / "codedesk-test-answerer"
    return build_answerer(Settings(_env_file=None, home=home, cms_data_dir=None), dense=False)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def make_bot(fake: FakeSlack, answerer: Any, tmp_path: Any) -> Iterator[Callable[..., RunningBot]]:
    from codedesk.review.log import QueryLogger

    bots: list[RunningBot] = []
    settings = Settings(
        _env_file=None, home=tmp_path / "home", database_url=None, cms_data_dir=None
    )

    def make(*, answerer_: Any = None, **overrides: Any) -> RunningBot:
        options = dict(
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_app_token=None,
            escalation_channel=LEADS,
            escalation_usergroup="S0LEADS",
            team_leads=[],
            allowed_channels=[],
            rate_limit_per_minute=30,
            answer_workers=2,
            index_retry_delays=[0.3, 0.3],
        )
        options.update(overrides)
        bot = RunningBot(
            fake,
            settings,
            answerer=answerer_ or answerer,
            query_logger=QueryLogger(settings),
            bot_settings=BotSettings(_env_file=None, **options),
        )
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.close()
    fake.reset()


# ------------------------------------------------------------------------------------------ helpers


def mention_event(
    fake: FakeSlack,
    text: str,
    *,
    channel: str = CHANNEL,
    user: str = ASKER,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    message = fake.add_message(channel, text=text, user=user, thread_ts=thread_ts)
    event = {
        "type": "app_mention",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": message["ts"],
        "event_ts": message["ts"],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm_event(
    fake: FakeSlack,
    text: str,
    *,
    channel: str = DM,
    user: str = ASKER,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    message = fake.add_message(channel, text=text, user=user, thread_ts=thread_ts)
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": message["ts"],
        "event_ts": message["ts"],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def click(
    bot: RunningBot,
    fake: FakeSlack,
    button: dict[str, Any],
    *,
    channel: str = CHANNEL,
    message_ts: str = "1700000000.000001",
    ephemeral: bool = False,
    name: str = "click",
) -> tuple[int, str, float]:
    payload = {
        "type": "block_actions",
        "user": {"id": ASKER, "username": "asker"},
        "channel": {"id": channel},
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "12345.98765.abcd",
        "response_url": fake.response_url(name),
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": B.FEEDBACK_BLOCK_ID,
                "value": button["value"],
                "action_ts": str(time.time()),
            }
        ],
    }
    return bot.slack.interaction(payload)


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
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


def log_rows(settings: Settings) -> dict[str, list[Any]]:
    from codedesk.review.db import engine_for, session_scope
    from codedesk.review.log import list_escalations, list_feedback, list_queries

    with session_scope(engine_for(settings)) as session:
        return {
            "queries": list(list_queries(session)),
            "feedback": list(list_feedback(session)),
            "escalations": list(list_escalations(session)),
        }


# ------------------------------------------------------------------------------------------ surfaces


def test_mention_is_answered_in_thread_with_code_and_citations(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    status, _, elapsed = bot.slack.event(event, event_id="Ev0MENTION")
    assert status == 200 and elapsed < 3

    [post] = fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    blocks = post.params["blocks"]
    text = block_text(blocks)
    assert "E11.22" in text
    sources = [
        b for b in blocks if b["type"] == "context" and b["elements"][0]["text"] == "*Sources*"
    ]
    assert sources and len(sources[0]["elements"]) >= 2
    assert post.headers["authorization"] == "Bearer xoxb-test"
    assert set(buttons(blocks)) == {B.ACTION_UP, B.ACTION_DOWN, B.ACTION_ESCALATE}
    settle(bot)
    assert len(fake.calls_to("chat.postMessage")) == 1
    [row] = log_rows(bot.settings)["queries"]
    assert row.surface == "slack_channel" and "E11.22" in (row.codes or "")
    assert json.loads(buttons(blocks)[B.ACTION_UP]["value"]) == {"id": row.id}


def test_dm_is_answered_and_a_follow_up_in_the_thread_keeps_its_context(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    first = dm_event(fake, CKD_QUESTION)
    assert bot.slack.event(first, event_id="Ev0DM1")[0] == 200
    [answer] = fake.wait_for("chat.postMessage", channel=DM, thread_ts=first["ts"])
    assert "E11.22" in block_text(answer.params["blocks"])

    follow = dm_event(fake, "and if it's stage 4?", thread_ts=first["ts"])
    assert bot.slack.event(follow, event_id="Ev0DM2")[0] == 200
    answers = fake.wait_for("chat.postMessage", 2, channel=DM, thread_ts=first["ts"])
    assert fake.calls_to("conversations.replies", channel=DM, ts=first["ts"])
    follow_text = block_text(answers[1].params["blocks"])
    assert "N18.4" in follow_text  # the stage-4 code: the earlier question was passed as history
    assert not fake.calls_to(
        "assistant.threads.setStatus"
    )  # a plain DM thread is not a panel thread
    settle(bot)
    surfaces = [row.surface for row in log_rows(bot.settings)["queries"]]
    assert surfaces == ["slack_dm", "slack_dm"]


def test_code_command_acks_at_once_answers_ephemerally_and_shares(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    status, body, elapsed = bot.slack.command(CKD_QUESTION, response_url=fake.response_url("cmd"))
    assert status == 200 and elapsed < 3
    assert "Looking up codes" in json.loads(body)["text"]

    [reply] = fake.wait_for("response_url", path="/response/cmd")
    assert reply.params["response_type"] == "ephemeral"
    blocks = reply.params["blocks"]
    assert "E11.22" in block_text(blocks)
    share = buttons(blocks)[B.ACTION_SHARE]
    assert json.loads(share["value"])["q"] == CKD_QUESTION

    status, _, elapsed = click(bot, fake, share, ephemeral=True, name="share")
    assert status == 200 and elapsed < 3
    [shared] = fake.wait_for("chat.postMessage", channel=CHANNEL)
    text = block_text(shared.params["blocks"])
    assert f"<@{ASKER}> asked" in text and "E11.22" in text
    assert B.ACTION_SHARE not in buttons(
        shared.params["blocks"]
    )  # the public copy has feedback buttons only
    [done] = fake.wait_for("response_url", path="/response/share")
    assert done.params["replace_original"] is True and done.params["text"] == B.MSG_SHARED


def test_assistant_thread_greets_sets_status_and_title_and_answers(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    root = fake.add_message(PANEL, text="", user=BOT_USER_ID, bot_id=BOT_ID)["ts"]
    thread = {
        "user_id": ASKER,
        "channel_id": PANEL,
        "thread_ts": root,
        "context": {"channel_id": CHANNEL, "team_id": "T0TEAM", "enterprise_id": None},
    }
    status, _, _ = bot.slack.event(
        {"type": "assistant_thread_started", "assistant_thread": thread, "event_ts": root},
        event_id="Ev0STARTED",
    )
    assert status == 200
    [greeting] = fake.wait_for("chat.postMessage", channel=PANEL, thread_ts=root)
    assert greeting.params["text"] == B.GREETING
    [prompts] = fake.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts.params["prompts"] == B.SUGGESTED_PROMPTS

    changed = {
        "type": "assistant_thread_context_changed",
        "event_ts": root,
        "assistant_thread": {**thread, "context": {"channel_id": "C0OTHER", "team_id": "T0TEAM"}},
    }
    assert bot.slack.event(changed, event_id="Ev0CHANGED")[0] == 200

    question = dm_event(fake, CKD_QUESTION, channel=PANEL, thread_ts=root)
    status, _, elapsed = bot.slack.event(question, event_id="Ev0PANELQ")
    assert status == 200 and elapsed < 3
    [title] = fake.wait_for("assistant.threads.setTitle")
    assert title.params["title"] == CKD_QUESTION and title.params["thread_ts"] == root
    [status_call] = fake.wait_for("assistant.threads.setStatus")
    assert status_call.params["status"] == B.STATUS_LOOKING_UP
    answers = fake.wait_for("chat.postMessage", 2, channel=PANEL, thread_ts=root)
    assert "E11.22" in block_text(answers[-1].params["blocks"])
    settle(bot)
    assert [row.surface for row in log_rows(bot.settings)["queries"]] == ["assistant"]


def test_app_home_is_published(make_bot: Callable[..., RunningBot], fake: FakeSlack) -> None:
    bot = make_bot()
    event = {
        "type": "app_home_opened",
        "user": ASKER,
        "channel": DM,
        "tab": "home",
        "event_ts": "1.1",
    }
    assert bot.slack.event(event, event_id="Ev0HOME")[0] == 200
    [publish] = fake.wait_for("views.publish", user_id=ASKER)
    assert publish.params["view"]["type"] == "home"


# ------------------------------------------------------------------------------------------ feedback


def _answer_in_channel(
    bot: RunningBot, fake: FakeSlack, event_id: str
) -> tuple[dict[str, Any], str]:
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    bot.slack.event(event, event_id=event_id)
    [post] = fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    return buttons(post.params["blocks"]), event["ts"]


def test_thumbs_up_and_down_are_recorded_in_the_log(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    btns, _ = _answer_in_channel(bot, fake, "Ev0FB")
    log_id = json.loads(btns[B.ACTION_UP]["value"])["id"]

    status, _, elapsed = click(bot, fake, btns[B.ACTION_UP], name="up")
    assert status == 200 and elapsed < 3
    [thanks] = fake.wait_for("response_url", path="/response/up")
    assert (
        thanks.params["text"] == B.MSG_FEEDBACK_THANKS_UP
        and thanks.params["replace_original"] is False
    )

    status, _, elapsed = click(bot, fake, btns[B.ACTION_DOWN], name="down")
    assert status == 200 and elapsed < 3
    [opened] = fake.wait_for("views.open", trigger_id="12345.98765.abcd")
    modal = opened.params["view"]
    assert (
        modal["callback_id"] == B.FEEDBACK_MODAL
        and json.loads(modal["private_metadata"])["id"] == log_id
    )

    values = {
        B.REASON_BLOCK: {
            B.REASON_ACTION: {"type": "checkboxes", "selected_options": [{"value": "wrong_code"}]}
        },
        B.DETAILS_BLOCK: {
            B.DETAILS_ACTION: {"type": "plain_text_input", "value": "should be E11.21"}
        },
    }
    submission = {
        "type": "view_submission",
        "user": {"id": ASKER},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": B.FEEDBACK_MODAL,
            "private_metadata": modal["private_metadata"],
            "state": {"values": values},
        },
    }
    status, body, elapsed = bot.slack.interaction(submission)
    assert status == 200 and body == "" and elapsed < 3

    rows = eventually(lambda: (r := log_rows(bot.settings)["feedback"]) and len(r) == 2 and r)
    assert [(r.query_id, r.value) for r in rows] == [(log_id, 1), (log_id, -1)]
    assert rows[1].reason == "Wrong code: should be E11.21"
    assert rows[0].user_hash and ASKER not in rows[0].user_hash  # hashed, never the Slack id
    fake.wait_for(
        "chat.postEphemeral", channel=CHANNEL, user=ASKER, text=B.MSG_FEEDBACK_THANKS_DOWN
    )


def test_closing_the_feedback_modal_still_records_the_thumbs_down(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    btns, _ = _answer_in_channel(bot, fake, "Ev0FBCLOSE")
    click(bot, fake, btns[B.ACTION_DOWN], name="down")
    [opened] = fake.wait_for("views.open")
    closed = {
        "type": "view_closed",
        "user": {"id": ASKER},
        "is_cleared": False,
        "view": {
            "id": "V2",
            "type": "modal",
            "callback_id": B.FEEDBACK_MODAL,
            "private_metadata": opened.params["view"]["private_metadata"],
            "state": {"values": {}},
        },
    }
    assert bot.slack.interaction(closed)[0] == 200
    rows = eventually(lambda: log_rows(bot.settings)["feedback"])
    assert [(r.value, r.reason) for r in rows] == [(-1, None)]


def test_ask_a_team_lead_posts_to_the_escalation_channel(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    btns, ts = _answer_in_channel(bot, fake, "Ev0ESC")
    status, _, elapsed = click(bot, fake, btns[B.ACTION_ESCALATE], message_ts=ts, name="esc")
    assert status == 200 and elapsed < 3
    [post] = fake.wait_for("chat.postMessage", channel=LEADS)
    text = block_text(post.params["blocks"])
    assert "<!subteam^S0LEADS>" in text and f"<@{ASKER}>" in text
    assert CKD_QUESTION in text and "E11.22" in text and "Open the conversation" in text
    [told] = fake.wait_for("response_url", path="/response/esc")
    assert told.params["text"] == B.MSG_ESCALATED.format(channel=LEADS)
    rows = eventually(lambda: log_rows(bot.settings)["escalations"])
    assert rows[0].channel_id == LEADS


# ------------------------------------------------------------------------------------------ robustness


def test_forged_signature_and_stale_timestamp_are_refused(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    assert bot.slack.event(event, event_id="Ev0FORGED", secret="not-the-secret")[0] == 401
    assert bot.slack.event(event, event_id="Ev0STALE", timestamp=int(time.time()) - 600)[0] == 401
    assert (
        bot.slack.command(CKD_QUESTION, response_url=fake.response_url("x"), secret="forged")[0]
        == 401
    )
    settle(bot)
    assert not fake.calls_to("chat.postMessage") and not fake.calls_to("response_url")


def test_a_retry_is_never_answered_twice_even_on_another_worker(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    first, second = make_bot(), make_bot()  # two workers sharing one log database
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda args: args[0].slack.event(event, event_id="Ev0RETRY", extra_headers=args[1]),
                [(first, None), (second, retry), (first, {"X-Slack-Retry-Num": "2"})],
            )
        )
    assert [r[0] for r in results] == [200, 200, 200]
    fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    settle(first)
    settle(second)
    assert len(fake.calls_to("chat.postMessage", thread_ts=event["ts"])) == 1
    assert len(log_rows(first.settings)["queries"]) == 1


class SlowAnswerer:
    """The real answerer behind a delay: retrieval that takes longer than Slack's 3 seconds."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def answer(self, question: str, **kwargs: Any) -> Any:
        time.sleep(self.delay)
        return self.inner.answer(question, **kwargs)


def test_every_ack_is_within_3_seconds_while_retrieval_is_slow(
    make_bot: Callable[..., RunningBot], fake: FakeSlack, answerer: Any
) -> None:
    bot = make_bot(answerer_=SlowAnswerer(answerer, 3.2), answer_workers=2)
    events = [mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}") for _ in range(2)]
    with ThreadPoolExecutor(4) as pool:
        acks = list(
            pool.map(lambda e: bot.slack.event(e[1], event_id=f"Ev0SLOW{e[0]}"), enumerate(events))
        )
        acks.append(
            bot.slack.command(CKD_QUESTION, response_url=fake.response_url("slowcmd"))
        )  # pool now busy
    assert [a[0] for a in acks] == [200, 200, 200]
    assert max(a[2] for a in acks) < 3.0, [round(a[2], 2) for a in acks]
    assert not fake.calls_to("chat.postMessage")  # the answers come after the acks
    for event in events:
        fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"], timeout=30)
    fake.wait_for("response_url", path="/response/slowcmd", timeout=30)


def test_bots_edits_and_deletions_are_ignored(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    ignored = [
        {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "bot_id": BOT_ID,
            "user": BOT_USER_ID,
            "text": "my own answer",
            "ts": "1.1",
        },
        {
            "type": "message",
            "subtype": "bot_message",
            "channel": DM,
            "channel_type": "im",
            "bot_id": "B0OTHER",
            "text": "another bot",
            "ts": "1.2",
        },
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": DM,
            "channel_type": "im",
            "ts": "1.3",
            "message": {"user": ASKER, "text": CKD_QUESTION, "ts": "1.0"},
        },
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": DM,
            "channel_type": "im",
            "ts": "1.4",
            "previous_message": {"user": ASKER, "text": CKD_QUESTION, "ts": "1.0"},
        },
        {
            "type": "app_mention",
            "channel": CHANNEL,
            "bot_id": "B0OTHER",
            "user": "U0BOTUSER",
            "text": f"<@{BOT_USER_ID}> {CKD_QUESTION}",
            "ts": "1.5",
        },
        {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": ASKER,
            "text": CKD_QUESTION,
            "ts": "1.6",
        },
    ]
    for i, event in enumerate(ignored):
        assert bot.slack.event(event, event_id=f"Ev0IGN{i}")[0] == 200
    settle(bot)
    assert not fake.calls_to("chat.postMessage") and not fake.calls_to("chat.postEphemeral")


def test_rate_limit_tells_the_user_privately(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot(rate_limit_per_minute=1)
    first = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    bot.slack.event(first, event_id="Ev0RL1")
    fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=first["ts"])
    second = mention_event(fake, f"<@{BOT_USER_ID}> and stage 4?")
    bot.slack.event(second, event_id="Ev0RL2")
    [limited] = fake.wait_for("chat.postEphemeral", channel=CHANNEL, user=ASKER)
    assert limited.params["text"] == B.MSG_RATE_LIMITED.format(limit=1)
    settle(bot)
    assert not fake.calls_to("chat.postMessage", thread_ts=second["ts"])


def test_channel_allow_list(make_bot: Callable[..., RunningBot], fake: FakeSlack) -> None:
    bot = make_bot(allowed_channels=["C0OTHER"])
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    bot.slack.event(event, event_id="Ev0ALLOW")
    [told] = fake.wait_for("chat.postEphemeral", channel=CHANNEL, user=ASKER)
    assert told.params["text"] == B.MSG_CHANNEL_NOT_ALLOWED
    dm = dm_event(fake, CKD_QUESTION)  # DMs are always allowed
    bot.slack.event(dm, event_id="Ev0ALLOWDM")
    fake.wait_for("chat.postMessage", channel=DM, thread_ts=dm["ts"])
    settle(bot)
    assert not fake.calls_to("chat.postMessage", channel=CHANNEL)


def test_huge_message_is_truncated_with_a_notice(
    make_bot: Callable[..., RunningBot], fake: FakeSlack
) -> None:
    bot = make_bot()
    event = mention_event(
        fake, f"<@{BOT_USER_ID}> {CKD_QUESTION} " + "please explain in detail " * 400
    )
    bot.slack.event(event, event_id="Ev0HUGE")
    [post] = fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    assert post.params["blocks"][0]["elements"][0]["text"].startswith("ℹ️ Your message was long")


class FlakyIndex:
    """The real answerer behind an index that is unreachable for the first `failures` calls."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def answer(self, question: str, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise IndexUnavailable("Chroma server at 127.0.0.1:8000 refused the connection")
        return self.inner.answer(question, **kwargs)


def test_index_unavailable_says_retrying_then_answers(
    make_bot: Callable[..., RunningBot], fake: FakeSlack, answerer: Any
) -> None:
    bot = make_bot(answerer_=FlakyIndex(answerer, failures=1))
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    bot.slack.event(event, event_id="Ev0FLAKY")
    [notice] = fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    assert "unavailable right now — retrying" in notice.params["text"]
    [update] = fake.wait_for("chat.update", channel=CHANNEL)
    assert "E11.22" in block_text(update.params["blocks"])


def test_index_down_and_unexpected_errors_never_show_an_exception(
    make_bot: Callable[..., RunningBot], fake: FakeSlack, answerer: Any
) -> None:
    bot = make_bot(answerer_=FlakyIndex(answerer, failures=99))
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    bot.slack.event(event, event_id="Ev0DOWN")
    [update] = fake.wait_for("chat.update", channel=CHANNEL, timeout=20)
    assert B.MSG_INDEX_DOWN in update.params["text"]
    assert "Chroma" not in block_text(update.params["blocks"])

    class Broken:
        def answer(self, question: str, **kwargs: Any) -> Any:
            raise KeyError("internal detail")

    broken = make_bot(answerer_=Broken())
    event = mention_event(fake, f"<@{BOT_USER_ID}> {CKD_QUESTION}")
    broken.slack.event(event, event_id="Ev0BROKEN")
    [post] = fake.wait_for("chat.postMessage", channel=CHANNEL, thread_ts=event["ts"])
    assert B.MSG_INTERNAL in post.params["text"] and "internal detail" not in block_text(
        post.params["blocks"]
    )


def test_url_verification_and_healthz(make_bot: Callable[..., RunningBot]) -> None:
    import urllib.request

    bot = make_bot()
    status, body, _ = bot.slack.post(
        json.dumps({"type": "url_verification", "challenge": "abc123", "token": "legacy"}),
        content_type="application/json",
    )
    assert status == 200 and "abc123" in body
    with urllib.request.urlopen(bot.url.replace("/slack/events", "/healthz"), timeout=5) as resp:
        assert resp.status == 200 and resp.read() == b"ok"
