"""codedesk.bot.text: Slack markup cleaned before retrieval, huge messages cut with a notice."""

from __future__ import annotations

import pytest

from codedesk.bot.text import clean_slack_text, markdown_to_mrkdwn, shorten, truncate_question


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "<@UCODEDESK> code for type 2 diabetes with CKD stage 3?",
            "code for type 2 diabetes with CKD stage 3?",
        ),
        ("<@UCODEDESK|codedesk> what is E11.22", "what is E11.22"),
        (
            "see <https://www.cms.gov/medicare/icd-10|the CMS page> for N18",
            "see the CMS page for N18",
        ),
        ("see <https://www.cms.gov/icd10>", "see https://www.cms.gov/icd10"),
        ("asked in <#C0CODING|coding> and <#C0OTHER>", "asked in #coding and"),
        ("<!here> is `E11.22` right?", "is E11.22 right?"),
        ("```T39.1X1A\nS52.501A```", "T39.1X1A\nS52.501A"),
        ("CKD &amp; HTN &lt;stage 3&gt;", "CKD & HTN <stage 3>"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
        ("ask <!subteam^S0LEADS|@coding-leads> about Z79.4", "ask @coding-leads about Z79.4"),
        ("", ""),
        (None, ""),
        ("  lots   of\t space  \n\n\n\nnext ", "lots of space\n\nnext"),
        ("<mailto:lead@example.org|lead@example.org> knows", "lead@example.org knows"),
    ],
)
def test_clean_slack_text(raw: str | None, clean: str) -> None:
    assert clean_slack_text(raw) == clean


def test_only_a_mention_is_empty() -> None:
    assert clean_slack_text("<@UCODEDESK>   ") == ""


def test_truncate_question_short_is_untouched() -> None:
    assert truncate_question("code for asthma", 2000) == ("code for asthma", None)


def test_truncate_question_long_cuts_at_a_word_with_notice() -> None:
    text = "word " * 1000
    cut, notice = truncate_question(text.strip(), 2000)
    assert len(cut) <= 2002
    assert cut.endswith(" …") and not cut.endswith("wor …")
    assert notice is not None and "2,000" in notice


def test_shorten() -> None:
    assert shorten("a  b\nc", 10) == "a b c"
    out = shorten("Type 2 diabetes mellitus with diabetic chronic kidney disease", 30)
    assert len(out) <= 30 and out.endswith("…")


def test_markdown_to_mrkdwn() -> None:
    md = "## Answer\n**E11.22** is <reportable> & [cited](https://www.cms.gov/x)\n- one\n* two"
    out = markdown_to_mrkdwn(md)
    assert out.splitlines() == [
        "*Answer*",
        "*E11.22* is &lt;reportable&gt; &amp; <https://www.cms.gov/x|cited>",
        "• one",
        "• two",
    ]
