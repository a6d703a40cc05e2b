"""`/code-changes` end to end: a Slack-signed slash command to the real Bolt app, acknowledged at once,
answered ephemerally through the response_url with the real FY2025 → FY2026 diff of the CMS files."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from codedesk.bot import blocks_review as R
from tests.fake_slack import RunningBot
from tests.integration.review_bot_harness import (  # noqa: F401 - fixtures
    GroupsFakeSlack,
    answerer,
    block_text,
    fake,
    make_bot,
)


def run(
    bot: RunningBot, fake: GroupsFakeSlack, text: str, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ack body, the ephemeral reply)."""
    status, body, elapsed = bot.slack.command(
        text, response_url=fake.response_url(name), command="/code-changes"
    )
    assert status == 200 and elapsed < 3
    [reply] = fake.wait_for("response_url", path=f"/response/{name}", timeout=60)
    assert reply.params["response_type"] == "ephemeral"
    return json.loads(body), reply.params


def within_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150


def test_code_changes_for_a_prefix(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack
) -> None:
    bot = make_bot()
    ack, reply = run(bot, fake, "N18", "n18")
    assert (
        ack["response_type"] == "ephemeral"
        and "FY2025 → FY2026" in ack["text"]
        and "N18" in ack["text"]
    )
    text = block_text(reply["blocks"])
    assert "ICD-10-CM changes FY2025 → FY2026 — N18" in text
    assert "No changes to N18 between FY2025 and FY2026." in text  # N18 did not change in FY2026

    _, reply = run(bot, fake, "2025 2026 E11", "e11")
    text = block_text(reply["blocks"])
    within_limits(reply["blocks"])
    assert "`E11.A`" in text and "*Added codes* (1)" in text
    assert "icd10cm-tabular-April-2025.xml" in text
    assert reply["text"].startswith("ICD-10-CM changes FY2025 → FY2026 — E11: 1 added")


def test_code_changes_for_a_chapter_is_truncated_with_a_count(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack
) -> None:
    bot = make_bot()
    _, reply = run(bot, fake, "chapter 4", "ch4")
    blocks = reply["blocks"]
    within_limits(blocks)
    text = block_text(blocks)
    assert "chapter 4: Endocrine, nutritional and metabolic diseases (E00-E89)" in text
    assert "*Added codes* (23)" in text and "… and 8 more added codes" in text  # 15 shown of 23
    assert "codedesk changes --from 2025 --to 2026 --chapter 4" in text
    assert (
        "🆕 23 added · 🗑️ 3 deleted · ✏️ 0 revised · 🔀 3 became headers · 📝 11 note changes" in text
    )

    _, reply = run(
        bot, fake, "ch 19", "ch19"
    )  # 213 added codes and more: still one message within limits
    within_limits(reply["blocks"])
    text = block_text(reply["blocks"])
    assert "*Added codes* (213)" in text and "… and 198 more added codes" in text


def test_code_changes_says_what_to_type(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack
) -> None:
    bot = make_bot()
    status, body, elapsed = bot.slack.command(
        "", response_url=fake.response_url("empty"), command="/code-changes"
    )
    assert status == 200 and elapsed < 3 and json.loads(body)["text"] == R.MSG_CHANGES_USAGE
    status, body, _ = bot.slack.command(
        "N18 chapter 14", response_url=fake.response_url("both"), command="/code-changes"
    )
    assert "either a code prefix or a chapter" in json.loads(body)["text"]

    _, reply = run(bot, fake, "chapter 30", "ch30")
    assert "'30' is not an ICD-10-CM chapter" in reply["text"]
    _, reply = run(bot, fake, "2019 2020 N18", "old")
    assert (
        "No ICD-10-CM code set for FY2019 is loaded" in reply["text"]
        and "Traceback" not in reply["text"]
    )
    _, reply = run(bot, fake, "U99", "nosuch")
    assert "No code starts with U99 in FY2025 or FY2026." in reply["text"]
    status, body, _ = bot.slack.command(
        "Z99.89999", response_url=fake.response_url("toolong"), command="/code-changes"
    )
    assert (
        "not an ICD-10-CM code prefix" in json.loads(body)["text"]
    )  # refused in the ack, before any lookup
