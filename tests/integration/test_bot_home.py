"""App Home end to end: the real Bolt app over HTTP, Slack-signed events and interactions, the fake Slack
Web API recording views.publish / views.open / chat.postMessage, the real answerer and a real SQLite
query log. A team lead (by user id or by user group) sees the week's review; a coder sees their own
questions; a decision recorded from the modal lands in the log and as a team guideline file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codedesk.bot import blocks_review as R
from tests.fake_slack import RunningBot
from tests.integration.review_bot_harness import (  # noqa: F401 - fixtures
    ASKER,
    GROUP_LEAD,
    LEAD,
    GroupsFakeSlack,
    answerer,
    ask,
    block_text,
    eventually,
    fake,
    make_bot,
    settle,
)

CKD = "code for type 2 diabetes with CKD stage 3?"
SEPSIS = "code for sepsis due to E. coli?"
VAGUE = "how do I bill for parking?"


def open_home(
    bot: RunningBot, fake: GroupsFakeSlack, user: str, event_id: str, count: int = 1
) -> dict[str, Any]:
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0HOME",
        "tab": "home",
        "event_ts": "1.1",
    }
    status, _, elapsed = bot.slack.event(event, event_id=event_id)
    assert status == 200 and elapsed < 3
    return fake.wait_for("views.publish", count, user_id=user)[-1].params["view"]


def home_click(bot: RunningBot, user: str, action_id: str, value: str) -> tuple[int, str, float]:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone"},
        "container": {"type": "view", "view_id": "VHOME"},
        "trigger_id": "222.333.home",
        "view": {"id": "VHOME", "type": "home", "callback_id": ""},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": "1.2",
            }
        ],
    }
    return bot.slack.interaction(payload)


def submit_decision(
    bot: RunningBot, user: str, modal: dict[str, Any], text: str, effective: str = "2026-12-01"
) -> tuple[int, str, float]:
    values = {
        R.DECISION_TEXT_BLOCK: {
            R.DECISION_TEXT_ACTION: {"type": "plain_text_input", "value": text}
        },
        R.DECISION_DATE_BLOCK: {
            R.DECISION_DATE_ACTION: {"type": "datepicker", "selected_date": effective}
        },
        R.DECISION_BY_BLOCK: {
            R.DECISION_BY_ACTION: {"type": "plain_text_input", "value": "Coding committee"}
        },
        R.DECISION_DRAFT_BLOCK: {
            R.DECISION_DRAFT_ACTION: {"type": "checkboxes", "selected_options": []}
        },
    }
    submission = {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "id": "VMODAL",
            "type": "modal",
            "callback_id": R.DECISION_MODAL,
            "private_metadata": modal["private_metadata"],
            "state": {"values": values},
        },
    }
    return bot.slack.interaction(submission)


def decide_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        b["accessory"]
        for b in view["blocks"]
        if b.get("accessory", {}).get("action_id") == R.ACTION_DECIDE
    ]


def seed(bot: RunningBot, answerer: Any) -> dict[str, int]:
    ids = {
        "ckd": ask(bot, answerer, CKD),
        "ckd2": ask(bot, answerer, CKD.upper(), user="U0OTHER"),
        "sepsis": ask(bot, answerer, SEPSIS, user="U0OTHER"),
        "vague": ask(bot, answerer, VAGUE),
    }
    logger = bot.deps.review.query_logger
    logger.feedback(
        query_id=ids["sepsis"],
        user_id="U0OTHER",
        value=-1,
        reason="Wrong code: should be A41.51 only",
    )
    logger.feedback(query_id=ids["ckd"], user_id=ASKER, value=1)
    return ids


def test_a_coder_sees_the_guide_and_their_own_recent_questions(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack, answerer: Any
) -> None:
    bot = make_bot()
    seed(bot, answerer)
    view = open_home(bot, fake, ASKER, "Ev0HOMECODER")
    text = block_text(view["blocks"])
    assert view["type"] == "home"
    assert "Your recent questions" in text and "team lead review" not in text
    assert CKD in text and VAGUE in text and SEPSIS not in text  # only the asker's own questions
    assert "`E11.22`" in text or "`N18.30`" in text
    assert not decide_buttons(view)
    assert fake.calls_to("usergroups.users.list", usergroup="S0LEADS")  # checked the leads' group


def test_a_team_lead_sees_top_questions_and_open_items(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack, answerer: Any
) -> None:
    bot = make_bot()
    ids = seed(bot, answerer)
    view = open_home(bot, fake, LEAD, "Ev0HOMELEAD")
    blocks = view["blocks"]
    text = block_text(blocks)
    assert len(blocks) <= 100
    assert (
        "team lead review" in text
        and "*4* questions from *2* people" in text
        and "helpful 50%" in text
    )
    assert "Most asked this week" in text and "asked *2×*" in text  # the CKD question, asked twice
    assert "how do i bill for parking?" in text.lower()  # low confidence, open
    assert "Wrong code: should be A41.51 only" in text  # the 👎 with its reason
    buttons = decide_buttons(view)
    assert (
        json.loads(buttons[0]["value"])["query"] == ids["ckd2"]
    )  # the top question, its latest asking
    assert {json.loads(b["value"])["query"] for b in buttons} >= {ids["vague"], ids["sepsis"]}


def test_a_member_of_the_leads_user_group_is_a_lead_and_the_group_is_cached(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack, answerer: Any
) -> None:
    bot = make_bot(team_leads=[])
    seed(bot, answerer)
    first = open_home(bot, fake, GROUP_LEAD, "Ev0HOMEGROUP1")
    assert "team lead review" in block_text(first["blocks"])
    second = open_home(bot, fake, GROUP_LEAD, "Ev0HOMEGROUP2", count=2)
    assert "team lead review" in block_text(second["blocks"])
    coder = open_home(bot, fake, ASKER, "Ev0HOMEGROUP3")
    assert "team lead review" not in block_text(coder["blocks"])
    assert len(fake.calls_to("usergroups.users.list")) == 1  # cached for the next opens


def test_recording_a_decision_from_the_home_tab(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack, answerer: Any, tmp_path: Path
) -> None:
    bot = make_bot()
    ids = seed(bot, answerer)
    view = open_home(bot, fake, LEAD, "Ev0HOMEDECIDE")
    sepsis_button = next(
        b for b in decide_buttons(view) if json.loads(b["value"])["query"] == ids["sepsis"]
    )

    status, _, elapsed = home_click(bot, LEAD, R.ACTION_DECIDE, sepsis_button["value"])
    assert status == 200 and elapsed < 3
    [opened] = fake.wait_for("views.open", trigger_id="222.333.home")
    modal = opened.params["view"]
    assert modal["callback_id"] == R.DECISION_MODAL and SEPSIS in block_text(modal["blocks"])

    status, body, _ = submit_decision(
        bot, LEAD, modal, "   "
    )  # empty: the modal says so and stays open
    assert status == 200
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {R.DECISION_TEXT_BLOCK: R.MSG_DECISION_EMPTY},
    }

    decision = "Assign A41.51 alone; B96.20 is not added when the organism is in the sepsis code. Pt John Smith"
    status, body, elapsed = submit_decision(bot, LEAD, modal, decision)
    assert status == 200 and body == "" and elapsed < 3
    [confirm] = fake.wait_for("chat.postMessage", channel=LEAD, timeout=30)
    assert (
        "Decision 1 recorded on topic" in confirm.params["text"]
        and "TG-001" in confirm.params["text"]
    )

    from codedesk.review.db import engine_for, session_scope
    from codedesk.review.log import get_query, list_decisions

    with session_scope(engine_for(bot.settings)) as session:
        [row] = list_decisions(session)
        assert row.status == "accepted" and row.decided_by == "Coding committee"
        assert str(row.effective_date) == "2026-12-01" and "John Smith" not in row.text
        assert (
            get_query(session, query_id=ids["sepsis"]).topic_id == row.topic_id
        )  # a topic for the question
    [guideline] = list((tmp_path / "team").glob("TG-001-*.md"))
    content = guideline.read_text()
    assert (
        "Assign A41.51 alone" in content
        and "John Smith" not in content
        and "effective: 2026-12-01" in content
    )

    # the Home tab is refreshed: the sepsis 👎 is no longer open
    refreshed = fake.wait_for("views.publish", 2, user_id=LEAD)[-1].params["view"]
    assert "Wrong code: should be A41.51 only" not in block_text(refreshed["blocks"])


def test_a_coder_cannot_open_the_decision_modal(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack, answerer: Any
) -> None:
    bot = make_bot()
    ids = seed(bot, answerer)
    value = json.dumps({"query": ids["ckd"], "topic": None, "q": CKD})
    assert home_click(bot, ASKER, R.ACTION_DECIDE, value)[0] == 200
    [opened] = fake.wait_for("views.open")
    assert R.MSG_NOT_A_LEAD in block_text(opened.params["view"]["blocks"])
    modal = {"private_metadata": json.dumps({"query": ids["ckd"], "topic": None})}
    assert (
        submit_decision(bot, ASKER, modal, "Use E11.22")[0] == 200
    )  # a forged submission is refused too
    [told] = fake.wait_for("chat.postMessage", channel=ASKER)
    assert told.params["text"] == R.MSG_NOT_A_LEAD
    settle(bot)
    from codedesk.review.db import engine_for, session_scope
    from codedesk.review.log import list_decisions

    with session_scope(engine_for(bot.settings)) as session:
        assert not list_decisions(session)


def test_refresh_button_republishes(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack
) -> None:
    bot = make_bot()
    assert home_click(bot, LEAD, R.ACTION_HOME_REFRESH, "refresh")[0] == 200
    [published] = fake.wait_for("views.publish", user_id=LEAD)
    assert "No questions were asked in the last 7 days." in block_text(
        published.params["view"]["blocks"]
    )
