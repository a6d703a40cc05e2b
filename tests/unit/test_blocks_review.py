"""codedesk.bot.blocks_review and the /code-changes parser: pure builders checked as plain dicts, within Slack's
limits (50 blocks a message, 100 a Home tab, 3,000 characters a section, 150 a header)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from codedesk.bot import blocks as B
from codedesk.bot import blocks_review as R
from codedesk.bot.listeners.changes import RequestError, parse_request
from codedesk.retrieval.versions import Added, Diff, Expansion, NoteChange, Revision
from codedesk.review.home import OpenItem, TopQuestion, WeekSummary

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def text_of(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def assert_within_limits(blocks: list[dict], max_blocks: int = 50) -> None:
    assert len(blocks) <= max_blocks
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
        if b["type"] == "context":
            assert len(b["elements"]) <= 10
        if "accessory" in b and b["accessory"].get("value"):
            assert len(b["accessory"]["value"]) <= 2000


def big_diff(n: int = 300) -> Diff:
    d = Diff("2025", "2026", chapter="19", notes_compared=True)
    d.added = [
        Added(f"S{i:02d}.{i % 10}XXA", "Some injury of a body part, initial encounter " * 2, "19")
        for i in range(n)
    ]
    d.deleted = [Added("S30.1XXA", "Contusion of abdominal wall, initial encounter", "19")]
    d.revised = [
        Revision(
            "S72.0", "Fracture of head and neck of femur", "Fracture of neck of femur", True, "19"
        )
    ]
    d.became_header = [
        Expansion(
            "S30.1",
            "Contusion of abdominal wall",
            ["S30.1XXA", "S30.1XXD", "S30.1XXS"],
            [f"S30.1{i}XA" for i in range(9)],
            "19",
        )
    ]
    d.notes_changed = [
        NoteChange("S30", "excludes1", ["contusion of <flank> & more " * 30], [], "19")
        for _ in range(40)
    ]
    return d


# ---------------------------------------------------------------------------------- /code-changes parser


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("N18", ("2025", "2026", "N18", None)),
        ("n18", ("2025", "2026", "N18", None)),
        ("chapter 4", ("2025", "2026", None, "4")),
        ("ch4", ("2025", "2026", None, "4")),
        ("Chapter: 19", ("2025", "2026", None, "19")),
        ("4", ("2025", "2026", None, "4")),
        ("2025 2026 N18", ("2025", "2026", "N18", None)),
        ("2026 2025 N18", ("2025", "2026", "N18", None)),
        ("FY2024 to FY2025 chapter 19", ("2024", "2025", None, "19")),
        ("fy25 e11.a", ("2024", "2025", "E11.A", None)),
        ("2025 2026", ("2025", "2026", None, None)),
    ],
)
def test_parse_request(text: str, expected: tuple) -> None:
    r = parse_request(text, default_to="2026")
    assert (r.from_fy, r.to_fy, r.prefix, r.chapter) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "/code-changes N18"),
        ("help", "/code-changes N18"),
        ("N18 chapter 14", "either a code prefix or a chapter"),
        ("N18 E11", "one code prefix at a time"),
        ("chapter x", "chapter's number"),
        ("2024 2025 2026 N18", "at most two fiscal years"),
        ("diabetes", "not an ICD-10-CM code prefix"),
    ],
)
def test_parse_request_errors_say_what_to_type(text: str, says: str) -> None:
    with pytest.raises(RequestError, match=None) as err:
        parse_request(text, default_to="2026")
    assert says in str(err.value)


def test_request_cli_gives_the_full_list_command() -> None:
    assert (
        parse_request("2025 2026 N18", default_to="2026").cli()
        == "codedesk changes --from 2025 --to 2026 --prefix N18"
    )
    assert (
        parse_request("chapter 4", default_to="2026").cli()
        == "codedesk changes --from 2025 --to 2026 --chapter 4"
    )


# ---------------------------------------------------------------------------------- changes messages


def test_changes_message_small_diff_shows_every_change() -> None:
    d = Diff("2025", "2026", prefix="E11", notes_compared=True)
    d.added = [Added("E11.A", "Type 2 diabetes mellitus without complications in remission", "4")]
    d.notes_changed = [NoteChange("E11", "excludes1", [], ["diabetes mellitus in remission"], "4")]
    r = R.changes_message(d, hint="The full list: `codedesk changes`")
    text = text_of(r.blocks)
    assert r.blocks[0] == {
        "type": "header",
        "text": B.plain("ICD-10-CM changes FY2025 → FY2026 — E11"),
    }
    assert "`E11.A` Type 2 diabetes mellitus without complications in remission" in text
    assert (
        "*Added codes* (1)" in text
        and "Excludes1: removed “diabetes mellitus in remission”" in text
    )
    assert "more" not in text and "codedesk changes" not in text  # nothing left out: no hint
    assert not r.truncated
    assert r.text.startswith("ICD-10-CM changes FY2025 → FY2026 — E11: 1 added, 0 deleted")


def test_changes_message_empty_diff_says_so() -> None:
    d = Diff("2025", "2026", prefix="N18", notes_compared=True)
    r = R.changes_message(d)
    assert "No changes to N18 between FY2025 and FY2026." in text_of(r.blocks)
    assert not r.truncated


def test_changes_message_is_truncated_within_slack_limits_with_a_count_of_the_rest() -> None:
    d = big_diff(300)
    r = R.changes_message(
        d, max_lines=15, hint="The full list: `codedesk changes --chapter 19`", footer=R.MSG_DISCUSS
    )
    assert_within_limits(r.blocks)
    text = text_of(r.blocks)
    assert r.truncated
    assert "… and 285 more added codes" in text
    assert "… and 25 more instructional notes changed" in text
    assert "codedesk changes --chapter 19" in text and R.MSG_DISCUSS in text
    assert "&lt;flank&gt; &amp; more" in text  # mrkdwn control characters escaped


def test_changes_message_never_passes_the_block_limit_even_with_long_lines() -> None:
    d = big_diff(300)
    r = R.changes_message(d, max_lines=300, max_blocks=12)
    assert_within_limits(r.blocks, max_blocks=12)
    assert r.truncated and "more" in text_of(r.blocks[-2:])


def test_changes_full_messages_hold_every_line_in_messages_of_50_blocks() -> None:
    d = big_diff(300)
    messages = R.changes_full_messages(d, heading="Chapter 19: the complete list")
    for blocks in messages:
        assert_within_limits(blocks)
    text = text_of([b for m in messages for b in m])
    assert all(f"`{a.code}`" in text for a in d.added)
    capped = R.changes_full_messages(d, max_blocks=5, max_messages=2, hint="`codedesk changes`")
    assert len(capped) == 2 and all(len(m) <= 5 for m in capped)
    assert "more changes: `codedesk changes`" in text_of(capped[-1])


# ---------------------------------------------------------------------------------- App Home


def summary(**kw: object) -> WeekSummary:
    base = dict(
        since=NOW - timedelta(days=7),
        until=NOW,
        questions=12,
        people=4,
        thumbs_up=3,
        thumbs_down=1,
        low_confidence=2,
        escalations_open=1,
        by_topic=False,
        top=[
            TopQuestion("code for type 2 diabetes with ckd stage 3?", 5, 11, None, "E11.22,N18.30"),
            TopQuestion("sepsis due to e. coli?", 2, 7, 3, "A41.51", decisions=1),
        ],
        open_low=[
            OpenItem("low_confidence", 9, "how do i bill for parking?", NOW, None, "Y92.830", "low")
        ],
        open_down=[
            OpenItem(
                "thumbs_down",
                4,
                "code for <b>CKD</b> 3",
                NOW,
                2,
                "N18.30",
                "medium",
                "Wrong code: should be N18.31",
            )
        ],
        open_low_total=1,
        open_down_total=6,
    )
    base.update(kw)
    return WeekSummary(**base)  # type: ignore[arg-type]


def test_lead_home_lists_top_questions_open_items_and_decision_buttons() -> None:
    view = R.lead_home_view(summary())
    assert view["type"] == "home"
    blocks = view["blocks"]
    assert_within_limits(blocks, max_blocks=100)
    text = text_of(blocks)
    assert "team lead review" in text and "*12* questions from *4* people" in text
    assert "helpful 75%" in text and "Most asked this week" in text
    assert "asked *5×*" in text and "`E11.22`" in text and "✅ 1 decision" in text
    assert "how do i bill for parking?" in text
    assert "Wrong code: should be N18.31" in text and "code for &lt;b&gt;CKD&lt;/b&gt; 3" in text
    assert "… and 5 more" in text  # 6 open 👎, one shown
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert [json.loads(b["value"])["query"] for b in buttons] == [11, 7, 9, 4]
    assert json.loads(buttons[1]["value"])["topic"] == 3 and all(
        b["action_id"] == R.ACTION_DECIDE for b in buttons
    )


def test_lead_home_with_topics_and_nothing_open() -> None:
    view = R.lead_home_view(
        summary(
            by_topic=True,
            top=[],
            open_low=[],
            open_down=[],
            open_low_total=0,
            open_down_total=0,
            questions=0,
            people=0,
        )
    )
    text = text_of(view["blocks"])
    assert "Top topics this week" in text and "No questions were asked" in text
    assert "No open low-confidence answers" in text and "No open 👎" in text


def test_coder_home_shows_the_guide_and_own_questions() -> None:
    rows = [
        SimpleNamespace(
            question="code for sepsis due to e. coli?",
            codes="A41.51,B96.20",
            confidence="high",
            created_at=NOW,
        )
    ]
    view = R.coder_home_view(rows)
    text = text_of(view["blocks"])
    assert "CodeDesk — medical coding help" in text and "Your recent questions" in text
    assert "code for sepsis due to e. coli?" in text and "`A41.51`" in text
    assert "team lead review" not in text
    assert R.ACTION_DECIDE not in text
    assert "haven't asked anything yet" in text_of(R.coder_home_view([])["blocks"])
    assert "answer log is off" in text_of(R.coder_home_view([], logging=False)["blocks"])


def test_home_never_passes_100_blocks() -> None:
    many = [OpenItem("low_confidence", i, f"question {i}", NOW) for i in range(60)]
    view = R.lead_home_view(
        summary(open_low=many, open_down=many, open_low_total=60, open_down_total=60)
    )
    assert len(view["blocks"]) == 100


# ---------------------------------------------------------------------------------- decision modal


def test_decision_modal_and_its_values() -> None:
    modal = R.decision_modal(
        query_id=11, topic_id=None, label="code for t2dm with ckd 3?", today=date(2026, 11, 30)
    )
    assert modal["callback_id"] == R.DECISION_MODAL and json.loads(modal["private_metadata"]) == {
        "query": 11,
        "topic": None,
    }
    ids = [b.get("block_id") for b in modal["blocks"]]
    assert ids[1:] == [
        R.DECISION_TEXT_BLOCK,
        R.DECISION_DATE_BLOCK,
        R.DECISION_BY_BLOCK,
        R.DECISION_DRAFT_BLOCK,
    ]
    assert modal["blocks"][2]["element"]["initial_date"] == "2026-11-30"
    assert len(modal["title"]["text"]) <= R.MAX_MODAL_TITLE

    values = {
        R.DECISION_TEXT_BLOCK: {R.DECISION_TEXT_ACTION: {"value": "  Assign E11.22 with N18.30. "}},
        R.DECISION_DATE_BLOCK: {R.DECISION_DATE_ACTION: {"selected_date": "2026-12-01"}},
        R.DECISION_BY_BLOCK: {R.DECISION_BY_ACTION: {"value": " Coding   committee "}},
        R.DECISION_DRAFT_BLOCK: {
            R.DECISION_DRAFT_ACTION: {"selected_options": [{"value": "draft"}]}
        },
    }
    given = R.decision_input(values)
    assert given == R.DecisionInput(
        "Assign E11.22 with N18.30.", date(2026, 12, 1), "Coding committee", True
    )
    assert R.decision_errors(given) == {}
    empty = R.decision_input({})
    assert empty.decided_by == R.DEFAULT_DECIDED_BY and not empty.draft and empty.effective is None
    assert R.decision_errors(empty) == {R.DECISION_TEXT_BLOCK: R.MSG_DECISION_EMPTY}


def test_decision_confirmation() -> None:
    result = SimpleNamespace(
        decision_id=3,
        topic_id=7,
        guideline_id="TG-004",
        status="approved",
        effective=date(2026, 12, 1),
        path=Path("/x/TG-004-code-for-t2dm.md"),
    )
    text = R.decision_recorded_text(result)
    assert (
        "Decision 3 recorded on topic 7" in text
        and "*TG-004*" in text
        and "`TG-004-code-for-t2dm.md`" in text
    )
    assert "codedesk ingest" in text


# ---------------------------------------------------------------------------------- weekly digest


def test_weekly_digest() -> None:
    discussions = [
        SimpleNamespace(replies=[1, 2], reactions={}),
        SimpleNamespace(replies=[3], reactions={}),
    ]
    r = R.weekly_digest(summary(), discussions=discussions)
    assert_within_limits(r.blocks)
    text = text_of(r.blocks)
    assert "CodeDesk weekly summary · 23 Nov – 30 Nov 2026" in text
    assert (
        "*Questions:* 12 from 4 people" in text
        and "helpful 75%" in text
        and "*Low confidence:* 2 (17%)" in text
    )
    assert "1. _code for type 2 diabetes with ckd stage 3?_ — 5×" in text
    assert "3 replies in 2 threads" in text
    assert r.text.startswith("CodeDesk this week: 12 questions")
    quiet = R.weekly_digest(summary(questions=0, people=0, top=[], thumbs_up=0, thumbs_down=0))
    assert "No questions were asked this week." in text_of(quiet.blocks) and "helpful —" in text_of(
        quiet.blocks
    )
