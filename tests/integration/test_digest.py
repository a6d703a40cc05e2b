"""`codedesk digest` end to end: the typer commands post to the fake Slack Web API over HTTP, record the
chapter messages in the real SQLite review log; the real Bolt app then records people's replies
(scrubbed) and reactions in those threads from Slack-signed events, and `list_discussions` gives them
to the review report. Also the weekly summary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from codedesk.bot.digest import chapter_message, make_digest_app, post_change_digest
from codedesk.review.models import utcnow
from codedesk.review.port import ReviewService
from tests.fake_slack import BOT_ID, BOT_USER_ID, RunningBot
from tests.integration.review_bot_harness import (  # noqa: F401 - fixtures
    ASKER,
    DIGEST,
    LEAD,
    GroupsFakeSlack,
    answerer,
    ask,
    block_text,
    eventually,
    fake,
    make_bot,
    make_settings,
    settle,
)

PHI_REPLY = (
    "Pt John Smith DOB 03/04/1951 MRN 44556677 had this — agree D89.84 needs the new "
    "code also note, call me at 555-201-3344"
)


digest_app = make_digest_app(ReviewService)  # as codedesk.cli wires it: no answer log


def digest(settings: Any, *args: str) -> Any:
    result = CliRunner().invoke(
        digest_app, list(args), obj=settings, env={"SLACK_BOT_TOKEN": "xoxb-test"}
    )
    assert result.exit_code == 0, result.output
    return result


def rows(settings: Any) -> dict[str, list[Any]]:
    from codedesk.review.db import engine_for, session_scope
    from codedesk.review.discussion import list_reactions, list_replies, list_threads

    with session_scope(engine_for(settings)) as session:
        return {
            "threads": list(list_threads(session)),
            "replies": list(list_replies(session)),
            "reactions": list(list_reactions(session)),
        }


def message(
    fake: GroupsFakeSlack,
    text: str,
    *,
    thread_ts: str | None,
    user: str = ASKER,
    channel: str = DIGEST,
    bot: bool = False,
) -> dict[str, Any]:
    stored = fake.add_message(
        channel, text=text, user=user, thread_ts=thread_ts, bot_id=BOT_ID if bot else None
    )
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": stored["ts"],
        "event_ts": stored["ts"],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if bot:
        event["bot_id"] = BOT_ID
    return event


def reaction(
    kind: str, ts: str, name: str, user: str = LEAD, channel: str = DIGEST
) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item_user": BOT_USER_ID,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": f"{float(ts) + 5:.6f}",
    }


def test_changes_digest_posts_one_message_per_chapter_and_the_threads_are_recorded(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack
) -> None:
    bot = make_bot()  # the running bot shares the review log with the digest command
    result = digest(
        bot.settings,
        "changes",
        "--from",
        "2025",
        "--to",
        "2026",
        "--prefix",
        "D",
        "--channel",
        DIGEST,
        "--pause",
        "0",
    )
    assert "Posted 2 chapter message(s)" in result.output

    roots = [
        c
        for c in fake.calls_to("chat.postMessage", channel=DIGEST)
        if not c.params.get("thread_ts")
    ]
    assert len(roots) == 2  # D00-D49 is chapter 2, D50-D89 chapter 3
    first, second = (block_text(c.params["blocks"]) for c in roots)
    assert (
        "Chapter 2 — Neoplasms (C00-D49)" in first and "Chapter 3 — Diseases of the blood" in second
    )
    assert "FY2025 → FY2026 · codes D" in first and "Discuss these changes in this message" in first
    assert "`D89.84`" in second or "D89" in second
    # chapter 3 has 19 note changes, more than a chapter message shows: the complete list is in its thread
    assert "… and 9 more instructional notes changed" in second
    threads = rows(bot.settings)["threads"]
    assert [(t.channel_id, t.chapter, t.from_fy, t.to_fy, t.prefix) for t in threads] == [
        (DIGEST, "2", "2025", "2026", "D"),
        (DIGEST, "3", "2025", "2026", "D"),
    ]
    stored = [m["ts"] for m in fake.messages[DIGEST] if not m.get("thread_ts")]
    assert [
        t.message_ts for t in threads
    ] == stored  # the ts Slack gave each message is what was recorded
    continued = fake.calls_to("chat.postMessage", channel=DIGEST, thread_ts=threads[1].message_ts)
    assert len(continued) == 1 and "Chapter 3: the complete list" in block_text(
        continued[0].params["blocks"]
    )
    assert threads[1].counts == {
        "added": 3,
        "deleted": 1,
        "revised": 0,
        "became_header": 1,
        "notes_changed": 19,
    }


def test_replies_and_reactions_in_digest_threads_are_recorded_scrubbed(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack
) -> None:
    bot = make_bot()
    digest(
        bot.settings,
        "changes",
        "--from",
        "2025",
        "--to",
        "2026",
        "--chapter",
        "4",
        "--channel",
        DIGEST,
        "--pause",
        "0",
    )
    [thread] = rows(bot.settings)["threads"]
    root = thread.message_ts

    reply = message(fake, PHI_REPLY, thread_ts=root)
    assert bot.slack.event(reply, event_id="Ev0REPLY")[0] == 200
    assert (
        bot.slack.event(reply, event_id="Ev0REPLY", extra_headers={"X-Slack-Retry-Num": "1"})[0]
        == 200
    )
    ignored = [
        message(fake, "my own note", thread_ts=root, user=BOT_USER_ID, bot=True),  # a bot
        message(fake, "top-level chatter", thread_ts=None),  # not in a thread
        message(fake, "another thread", thread_ts="1699999999.000100"),
    ]  # not a digest thread
    for i, event in enumerate(ignored):
        assert bot.slack.event(event, event_id=f"Ev0IGNORED{i}")[0] == 200
    for i, event in enumerate(
        [
            reaction("reaction_added", root, "+1"),
            reaction("reaction_added", root, "eyes"),
            reaction("reaction_added", reply["ts"], "white_check_mark", user=ASKER),
            reaction("reaction_added", "1699999999.000100", "tada"),
        ]
    ):
        assert bot.slack.event(event, event_id=f"Ev0REACT{i}")[0] == 200
    settle(bot)
    assert (
        bot.slack.event(reaction("reaction_removed", root, "eyes"), event_id="Ev0UNREACT")[0] == 200
    )
    settle(bot)

    found = rows(bot.settings)
    [stored] = found["replies"]
    assert stored.thread_id == thread.id and stored.message_ts == reply["ts"]
    for phi in ("John Smith", "03/04/1951", "44556677", "555-201-3344"):
        assert phi not in stored.text
    assert (
        "D89.84" in stored.text and "code also note" in stored.text
    )  # the clinical words are kept
    assert stored.user_hash and ASKER not in stored.user_hash
    assert sorted((r.message_ts, r.reaction) for r in found["reactions"]) == sorted(
        [(root, "+1"), (reply["ts"], "white_check_mark")]
    )

    # an edit replaces the text (scrubbed again); the review report sees the thread
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": DIGEST,
        "channel_type": "channel",
        "ts": "1700009999.000100",
        "event_ts": "1700009999.000100",
        "message": {
            "type": "message",
            "user": ASKER,
            "ts": reply["ts"],
            "thread_ts": root,
            "text": "Edited: Mrs. Jane Doe aside, I agree with D89.84",
        },
    }
    assert bot.slack.event(edited, event_id="Ev0EDIT")[0] == 200
    settle(bot)
    from codedesk.review.db import engine_for, session_scope
    from codedesk.review.discussion import discussions_markdown, list_discussions

    now = utcnow()
    with session_scope(engine_for(bot.settings)) as session:
        [d] = list_discussions(
            session, since=now - timedelta(days=3650), until=now + timedelta(days=1)
        )
        assert d.chapter == "4" and d.replies_total == 1 and d.participants == 2
        assert d.reactions == {"+1": 1, "white_check_mark": 1}
        assert "Jane Doe" not in d.replies[0].text and d.replies[0].text.startswith("Edited:")
        assert d.replies[0].edited_at is not None
        assert "Endocrine, nutritional and metabolic diseases" in d.label
        md = discussions_markdown([d])
        assert "chapter 4" in md and ":+1: 1" in md and "D89.84" in md
        assert list_discussions(session, since=now + timedelta(days=1)) == []

    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": DIGEST,
        "channel_type": "channel",
        "ts": "1700009999.000200",
        "deleted_ts": reply["ts"],
        "event_ts": "1700009999.000200",
        "previous_message": {"user": ASKER, "ts": reply["ts"], "thread_ts": root, "text": "…"},
    }
    assert bot.slack.event(deleted, event_id="Ev0DELETE")[0] == 200
    settle(bot)
    found = rows(bot.settings)
    assert not found["replies"] and [(r.message_ts, r.reaction) for r in found["reactions"]] == [
        (root, "+1")
    ]
    # CodeDesk never answered in the thread: its only reply there is the digest's complete list
    [continued] = fake.calls_to("chat.postMessage", channel=DIGEST, thread_ts=root)
    assert "Chapter 4: the complete list" in block_text(continued.params["blocks"])
    assert not fake.calls_to("chat.postEphemeral")


def test_weekly_digest(
    make_bot: Callable[..., RunningBot], fake: GroupsFakeSlack, answerer: Any
) -> None:
    bot = make_bot()
    ckd = ask(bot, answerer, "code for type 2 diabetes with CKD stage 3?")
    ask(bot, answerer, "Code for type 2 diabetes with CKD stage 3", user="U0OTHER")
    ask(bot, answerer, "how do I bill for parking?")
    bot.deps.review.query_logger.feedback(query_id=ckd, user_id=ASKER, value=1)
    bot.deps.review.query_logger.feedback(
        query_id=ckd, user_id="U0OTHER", value=-1, reason="Wrong code"
    )

    result = digest(bot.settings, "weekly", "--channel", DIGEST)
    assert "Posted the summary of 3 question(s)" in result.output
    [post] = fake.wait_for("chat.postMessage", channel=DIGEST)
    text = block_text(post.params["blocks"])
    assert "CodeDesk weekly summary" in text
    assert "*Questions:* 3 from 2 people" in text and "👍 1 · 👎 1 · helpful 50%" in text
    assert "*Low confidence:* 1 (33%)" in text
    assert (
        "1. _code for type 2 diabetes with ckd stage 3" in text.lower() and "— 2×" in text
    )  # grouped
    assert post.params["text"].startswith("CodeDesk this week: 3 questions")


def test_digest_errors_are_one_line_without_a_trace(
    tmp_path: Path, fake: GroupsFakeSlack, cms_data_dir: Path
) -> None:
    settings = make_settings(tmp_path, cms_data_dir, fake)
    runner = CliRunner()
    result = runner.invoke(
        digest_app, ["weekly", "--channel", DIGEST], obj=settings, env={"SLACK_BOT_TOKEN": ""}
    )
    assert result.exit_code == 1 and "SLACK_BOT_TOKEN is not set" in result.output
    fake.errors["chat.postMessage"] = "not_in_channel"
    try:
        result = runner.invoke(
            digest_app,
            ["weekly", "--channel", DIGEST],
            obj=settings,
            env={"SLACK_BOT_TOKEN": "xoxb-test"},
        )
    finally:
        fake.errors.clear()
    assert (
        result.exit_code == 1
        and "not_in_channel" in result.output
        and "/invite @CodeDesk" in result.output
    )
    assert "Traceback" not in result.output
    result = runner.invoke(
        digest_app,
        ["changes", "--from", "2019", "--channel", DIGEST],
        obj=settings,
        env={"SLACK_BOT_TOKEN": "xoxb-test"},
    )
    assert result.exit_code == 1 and "No ICD-10-CM code set for FY2019 is loaded" in result.output


@pytest.mark.parametrize("chapter", ["19"])
def test_a_big_chapter_fits_one_message_and_continues_in_its_thread(
    chapter: str, cms_data_dir: Path, tmp_path: Path, fake: GroupsFakeSlack
) -> None:
    """Chapter 19 (213 added codes FY2025 → FY2026) through the function the command uses."""
    from slack_sdk import WebClient

    from codedesk.retrieval.versions import VersionSet

    settings = make_settings(tmp_path, cms_data_dir, fake)
    versions = VersionSet.load(settings)
    part = versions.diff("2025", "2026", chapter=chapter)
    message_ = chapter_message(
        part, chapter=chapter, name="Injury", old=versions.get("2025"), new=versions.get("2026")
    )
    assert len(message_.blocks) <= 50 and message_.truncated
    client = WebClient(base_url=fake.api_url, token="xoxb-test")
    [posted] = post_change_digest(
        settings,
        client,
        review=ReviewService(settings),
        channel=DIGEST,
        from_year="2025",
        to_year="2026",
        chapter=chapter,
        versions=versions,
        pause_s=0,
    )
    assert posted.chapter == chapter and posted.continued >= 1
    thread = fake.calls_to("chat.postMessage", channel=DIGEST, thread_ts=posted.ts)
    text = block_text([b for c in thread for b in c.params["blocks"]])
    assert all(f"`{a.code}`" in text for a in part.added)  # every added code is in the thread
    assert all(len(c.params["blocks"]) <= 50 for c in thread)
    fake.reset()
