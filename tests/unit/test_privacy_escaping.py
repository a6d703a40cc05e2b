"""Issue 14: user text is inert everywhere it is echoed. Each output typed with `<!channel>`,
`<!here>`, `<@U123>`, a disguised link `<url|label>`, `<script>`, ESC/BEL and `=HYPERLINK(…)`:
the escalation post's `text` (Slack), the App Home and the weekly digest (Slack blocks), and the
Markdown and CSV reports."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime

import pytest

from codedesk.bot import blocks as B
from codedesk.bot import blocks_review as R
from codedesk.bot.text import escape_mrkdwn
from codedesk.retrieval.schema import Answer, CodeItem
from codedesk.review.escaping import csv_cell, md_text
from codedesk.review.home import OpenItem, TopQuestion, WeekSummary
from codedesk.review.models import QueryLog
from codedesk.review.report import (
    ReportItem,
    ReportTopic,
    ReviewReport,
    items_csv,
    to_markdown,
    topics_csv,
)
from codedesk.review.topics import TopicStats

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
HOSTILE = [
    "<!channel> code for CKD?",
    "<!here> code for CKD?",
    "<@U123> code for CKD?",
    "<https://evil.example|click here> code for CKD?",
    "<script>alert(1)</script> code for CKD?",
    "\x1b]8;;https://evil.example\x07click\x1b[2J code for CKD?",
    '=HYPERLINK("https://evil.example","click") code for CKD?',
]
# What must never appear in a Slack message: live mentions, broadcasts or links from user text.
SLACK_LIVE = (
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<https://evil.example",
    "<script>",
    "\x1b",
    "\x07",
)


def _answer(question: str) -> Answer:
    return Answer(
        question=question,
        answer="Use **N18.9** for CKD, unspecified.",
        confidence="medium",
        fiscal_year="2026",
        codes=[
            CodeItem(code="N18.9", description="Chronic kidney disease, unspecified", billable=True)
        ],
    )


def _slack_strings(obj: object) -> str:
    """Every text Slack renders in `obj` (mrkdwn and plain text objects; button values are data)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, value in node.items():
                if key != "value":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(obj)
    return "\n".join(found)


@pytest.mark.parametrize("question", HOSTILE)
def test_escalation_post_text_and_blocks_keep_typed_markup_as_text(question: str) -> None:
    rendered = B.escalation_blocks(
        _answer(question),
        asked_by="U0ASKER",
        channel="C0CODING",
        usergroup="S0LEADS",
        team_leads=[],
        log_id=7,
        permalink=None,
    )
    assert rendered.text.startswith("Escalation from <@U0ASKER>: ")  # our own mention stays live
    question_part = rendered.text.removeprefix("Escalation from <@U0ASKER>: ")
    for live in SLACK_LIVE:
        assert live not in question_part
        assert live not in _slack_strings(rendered.blocks).replace(
            "<!subteam^S0LEADS>", ""
        ).replace("<@U0ASKER>", "").replace("<#C0CODING>", "")
    assert "code for CKD?" in question_part


def test_escape_mrkdwn_is_the_one_slack_helper() -> None:
    assert (
        escape_mrkdwn("<!channel> & <@U123> <https://evil.example|x>")
        == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil.example|x&gt;"
    )
    assert escape_mrkdwn("a\x1b[2Jb\x07c\nd") == "a[2Jbc\nd"


def _summary() -> WeekSummary:
    top = [TopQuestion(label=q, count=2, query_id=i + 1) for i, q in enumerate(HOSTILE)]
    low = [OpenItem("low_confidence", i + 1, q, NOW, detail=None) for i, q in enumerate(HOSTILE)]
    down = [
        OpenItem("thumbs_down", i + 1, "ok question", NOW, detail=q) for i, q in enumerate(HOSTILE)
    ]
    return WeekSummary(
        since=NOW,
        until=NOW,
        questions=14,
        people=3,
        top=top[:5],
        open_low=low[:5],
        open_down=down[:5],
        open_low_total=7,
        open_down_total=7,
    )


def _assert_inert_in_blocks(blocks: object) -> None:
    dumped = _slack_strings(blocks)
    for live in SLACK_LIVE:
        assert live not in dumped, live


def test_app_home_shows_typed_markup_as_text() -> None:
    _assert_inert_in_blocks(R.lead_home_view(_summary())["blocks"])
    rows = [
        QueryLog(
            question=q,
            normalized=q,
            surface="slack_dm",
            codes="N18.9",
            confidence="low",
            created_at=NOW,
        )
        for q in HOSTILE
    ]
    _assert_inert_in_blocks(R.coder_home_view(rows)["blocks"])


def test_weekly_digest_shows_typed_markup_as_text() -> None:
    rendered = R.weekly_digest(_summary())
    _assert_inert_in_blocks(rendered.blocks)
    assert not any(live in rendered.text for live in SLACK_LIVE)


def _report() -> ReviewReport:
    items = [
        ReportItem(
            kind="low_confidence",
            created_at=NOW,
            query_id=i + 1,
            topic_id=None,
            question=q,
            answer_summary=q,
            codes="N18.9",
            confidence="low",
            detail=q,
        )
        for i, q in enumerate(HOSTILE)
    ]
    topics = [
        ReportTopic(
            topic_id=i + 1,
            label=q,
            count=2,
            share=0.1,
            total=2,
            stats=TopicStats(
                count=2,
                examples=[q, "[link](javascript:alert(1))"],
                answer_summary=q,
                codes=[("N18.9", 2)],
                confidence=Counter(low=2),
            ),
        )
        for i, q in enumerate(HOSTILE)
    ]
    return ReviewReport(
        since=NOW,
        until=NOW,
        generated_at=NOW,
        questions=14,
        people=2,
        surfaces=Counter(slack_dm=14),
        confidence=Counter(low=14),
        topics=topics,
        low_confidence=items,
        thumbs_down_items=items,
        escalations=items,
    )


def test_markdown_report_is_inert() -> None:
    md = to_markdown(_report())
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\x1b" not in md and "\x07" not in md
    assert "<!channel>" not in md and "<https://evil.example" not in md
    assert (
        "](javascript:" not in md and "javascript:" not in md
    )  # no live link, no scheme left to autolink
    assert (
        "[link](" not in md and "[link\\](" in md
    )  # the link syntax is broken where a link would close
    # tables keep their shape: a typed | does not add a cell
    assert md_text("a | b") == "a \\| b"


def test_csv_reports_are_inert_in_a_spreadsheet() -> None:
    report = _report()
    for text in (items_csv(report), topics_csv(report)):
        assert "\x1b" not in text and "\x07" not in text
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.lstrip().startswith(("=", "+", "@")), cell
    assert csv_cell('  =HYPERLINK("x")').startswith("'")
    assert csv_cell('\uff1dHYPERLINK("x")').startswith("'")  # full-width equals sign
    assert csv_cell(3) == 3
