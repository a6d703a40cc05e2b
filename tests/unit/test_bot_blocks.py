"""codedesk.bot.blocks: pure Block Kit builders checked as plain dicts, within Slack's limits."""

from __future__ import annotations

import json

from codedesk.bot import blocks as B
from codedesk.retrieval.schema import Answer, Citation, CodeItem


def ckd_answer(**overrides) -> Answer:
    data = dict(
        question="code for type 2 diabetes with CKD stage 3?",
        answer="Assign **E11.22** and a code from **N18.3-** for the stage.\n- Use additional code for the CKD stage.",
        codes=[
            CodeItem(
                code="E11.22",
                description="Type 2 diabetes mellitus with diabetic chronic kidney disease",
                billable=True,
            ),
            CodeItem(
                code="N18.3",
                description="Chronic kidney disease, stage 3 (moderate)",
                billable=False,
                note="Pick N18.30-N18.32 for the sub-stage",
            ),
            CodeItem(
                code="S52.501",
                description="Unspecified fracture of the lower end of right radius",
                billable=False,
                needs_seventh=True,
            ),
        ],
        citations=[
            Citation(
                source_type="guideline",
                title="ICD-10-CM Official Guidelines FY2026",
                section="I.C.4.a.3",
                page=40,
                fiscal_year="2026",
                quote="…",
            ),
            Citation(
                source_type="tabular",
                title="Tabular List",
                section="use_additional_code",
                code="E11.22",
                fiscal_year="2026",
                quote="Use additional code to identify stage of chronic kidney disease (N18.1-N18.6)",
            ),
        ],
        confidence="high",
        fiscal_year="2026",
    )
    data.update(overrides)
    return Answer(**data)


def all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def assert_within_limits(blocks: list[dict]) -> None:
    assert len(blocks) <= B.MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= B.MAX_SECTION_TEXT
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= B.MAX_CONTEXT_ELEMENTS
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["value"]) <= B.MAX_BUTTON_VALUE


def test_answer_blocks_have_text_codes_notes_sources_confidence_and_buttons() -> None:
    rendered = B.answer_blocks(ckd_answer(), log_id=42)
    blocks = rendered.blocks
    assert_within_limits(blocks)
    assert rendered.overflow == []
    assert rendered.text.startswith("E11.22 — Type 2 diabetes")
    assert blocks[0] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": (
                "Assign *E11.22* and a code from *N18.3-* for the stage.\n• Use additional code for the CKD stage."
            ),
        },
    }
    codes = blocks[1]["text"]["text"]
    assert codes.startswith("*Codes*\n")
    assert (
        "• `E11.22` — Type 2 diabetes mellitus with diabetic chronic kidney disease · _reportable_"
        in codes
    )
    assert (
        "• `N18.3` — Chronic kidney disease, stage 3 (moderate) · _header — not reportable" in codes
    )
    assert "↳ Pick N18.30-N18.32 for the sub-stage" in codes
    assert "`S52.501`" in codes and "_needs a 7th character_" in codes
    notes = blocks[2]["text"]["text"]
    assert (
        notes.startswith("*Notes that apply*")
        and "*Use additional code* (E11.22): Use additional code" in notes
    )
    sources = blocks[3]
    assert sources["type"] == "context"
    texts = [e["text"] for e in sources["elements"]]
    assert texts[0] == "*Sources*"
    assert texts[1] == "📘 ICD-10-CM Official Guidelines FY2026 · §I.C.4.a.3 · p. 40"
    assert texts[2] == "📑 Tabular List · `E11.22` · Use additional code · FY2026"
    assert blocks[4] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Confidence: 🟢 high · FY2026 code set"}],
    }
    actions = blocks[5]
    assert actions["type"] == "actions" and actions["block_id"] == B.FEEDBACK_BLOCK_ID
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [B.ACTION_UP, B.ACTION_DOWN, B.ACTION_ESCALATE]
    assert json.loads(actions["elements"][0]["value"]) == {"id": 42}
    assert (
        json.loads(actions["elements"][2]["value"])["q"]
        == "code for type 2 diabetes with CKD stage 3?"
    )
    assert B.NO_CITATION_WARNING not in all_text(blocks)


def test_no_citation_gives_a_warning_and_no_sources() -> None:
    blocks = B.answer_blocks(ckd_answer(citations=[], confidence="low"), log_id=1).blocks
    text = all_text(blocks)
    assert "⚠️ " + B.NO_CITATION_WARNING in text
    assert "*Sources*" not in text and "🔴 low" in text


def test_answer_warnings_are_shown() -> None:
    blocks = B.answer_blocks(ckd_answer(warnings=["FY2025 was asked; answered from FY2026"])).blocks
    assert any(
        b["type"] == "context"
        and b["elements"][0]["text"] == "⚠️ FY2025 was asked; answered from FY2026"
        for b in blocks
    )


def test_no_log_id_hides_feedback_but_keeps_escalation() -> None:
    actions = B.answer_blocks(ckd_answer(), log_id=None).blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == [B.ACTION_ESCALATE]


def test_share_button_first_on_ephemeral_answers() -> None:
    actions = B.answer_blocks(ckd_answer(), log_id=7, share=True).blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == [
        B.ACTION_SHARE,
        B.ACTION_UP,
        B.ACTION_DOWN,
        B.ACTION_ESCALATE,
    ]
    assert json.loads(actions["elements"][0]["value"]) == {
        "id": 7,
        "q": ckd_answer().question,
        "fy": "2026",
    }


def test_notices_come_first() -> None:
    blocks = B.answer_blocks(ckd_answer(), notices=["Your message was long"]).blocks
    assert blocks[0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "ℹ️ Your message was long"}],
    }


def test_long_answer_text_is_split_into_sections_without_losing_words() -> None:
    paragraph = "Sequencing rule " + "word " * 400
    text = "\n\n".join(f"{i}. {paragraph.strip()}" for i in range(5))  # ~10,000 characters
    rendered = B.answer_blocks(ckd_answer(answer=text))
    assert_within_limits(rendered.blocks)
    sections = [
        b["text"]["text"]
        for b in rendered.blocks
        if b["type"] == "section" and not b["text"]["text"].startswith("*")
    ]
    assert len(sections) >= 4
    assert " ".join(" ".join(sections).split()) == " ".join(text.split())


def test_too_many_blocks_overflow_to_further_messages() -> None:
    many = [
        CodeItem(code=f"T39.1X{i % 10}A", description="Poisoning " + "x" * 2900, billable=True)
        for i in range(80)
    ]
    rendered = B.answer_blocks(ckd_answer(codes=many), log_id=3)
    assert_within_limits(rendered.blocks)
    assert len(rendered.blocks) == B.MAX_BLOCKS
    assert rendered.blocks[-1]["type"] == "actions"  # buttons stay on the first message
    assert B.CONTINUED_NOTICE in all_text(rendered.blocks[-3:])
    assert rendered.overflow
    for message in rendered.overflow:
        assert_within_limits(message)
    shown = all_text(rendered.blocks) + "".join(all_text(m) for m in rendered.overflow)
    assert shown.count("Poisoning") == 80  # nothing lost


def test_split_text_hard_cuts_a_single_huge_word() -> None:
    pieces = B.split_text("x" * 7000, 3000)
    assert [len(p) for p in pieces] == [3000, 3000, 1000]


def test_button_value_shortens_the_question_to_fit() -> None:
    value = B.button_value({"id": 1, "q": "é" * 5000, "fy": "2026"})
    assert len(value) <= B.MAX_BUTTON_VALUE and json.loads(value)["id"] == 1
    assert (
        B.parse_value("not json") == {} and B.parse_value(None) == {} and B.parse_value("[1]") == {}
    )


def test_many_citations_make_context_blocks_of_at_most_ten() -> None:
    cites = [
        Citation(source_type="guideline", title="Guidelines", section=f"I.C.{i}", page=i)
        for i in range(25)
    ]
    blocks = B.citation_blocks(cites)
    assert len(blocks) == 3 and all(len(b["elements"]) <= 10 for b in blocks)


def test_escalation_mentions_the_usergroup_and_quotes_the_question() -> None:
    rendered = B.escalation_blocks(
        ckd_answer(),
        asked_by="U0ASKER",
        channel="C0CODING",
        usergroup="S0LEADS",
        team_leads=["U0LEAD"],
        log_id=9,
        permalink="https://x.slack.com/archives/C/p1",
    )
    text = all_text(rendered.blocks)
    assert rendered.blocks[0]["text"]["text"].startswith("🙋 <!subteam^S0LEADS>: <@U0ASKER> asked")
    assert "> code for type 2 diabetes with CKD stage 3?" in text
    assert "E11.22" in text and "<https://x.slack.com/archives/C/p1|Open the conversation>" in text
    assert not any(b["type"] == "actions" for b in rendered.blocks)
    assert_within_limits(rendered.blocks)
    leads = B.escalation_blocks(
        ckd_answer(),
        asked_by="U1",
        channel=None,
        usergroup=None,
        team_leads=["U7", "U8"],
        log_id=None,
        permalink=None,
    )
    assert leads.blocks[0]["text"]["text"].startswith("🙋 <@U7> <@U8>:")


def test_feedback_modal_and_reason() -> None:
    view = B.feedback_modal(log_id=5, channel="C0CODING", message_ts="1.2")
    assert view["type"] == "modal" and view["callback_id"] == B.FEEDBACK_MODAL
    assert json.loads(view["private_metadata"]) == {"id": 5, "channel": "C0CODING", "ts": "1.2"}
    state = {
        B.REASON_BLOCK: {
            B.REASON_ACTION: {"selected_options": [{"value": "wrong_code"}, {"value": "citation"}]}
        },
        B.DETAILS_BLOCK: {B.DETAILS_ACTION: {"value": " should be E11.21 "}},
    }
    assert B.feedback_reason(state) == "Wrong code; Wrong or missing citation: should be E11.21"
    assert B.feedback_reason({}) is None


def test_home_view_and_messages() -> None:
    home = B.home_view()
    assert home["type"] == "home" and len(home["blocks"]) <= B.MAX_BLOCKS
    msg = B.message_blocks("index down", warning=True)
    assert msg.blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": "⚠️ index down"}}]


def test_notes_are_grouped_by_kind_and_code_and_the_prose_loses_what_blocks_show() -> None:
    tab = "ICD-10-CM Tabular List FY2026"
    cites = [
        Citation(
            source_type="tabular",
            title=tab,
            section="code",
            code="N18.30",
            quote="Chronic kidney disease",
        ),
        Citation(
            source_type="tabular",
            title=tab,
            section="code_first",
            code="N18",
            quote="any associated:",
        ),
        Citation(
            source_type="tabular",
            title=tab,
            section="code_first",
            code="N18",
            quote="diabetic chronic kidney disease (E11.22)",
        ),
        Citation(
            source_type="tabular",
            title=tab,
            section="code_first",
            code="N18",
            quote="hypertensive chronic kidney disease (I12.-, I13.-)",
        ),
        Citation(
            source_type="tabular",
            title=tab,
            section="use_additional_code",
            code="19",
            quote=", code to identify any retained foreign body (Z18.-)",
        ),
    ]
    notes = B.notes_text(cites)
    assert notes == (
        "*Notes that apply*\n"
        "• *Code first* (N18): any associated: diabetic chronic kidney disease (E11.22); "
        "hypertensive chronic kidney disease (I12.-, I13.-)\n"
        "• *Use additional code* (chapter 19): code to identify any retained foreign body (Z18.-)"
    )
    md = (
        "**N18.30** — CKD stage 3\n\nNotes that apply to N18.30:\n- Code first …\n\n"
        "Why: words matched\n\nSources: Tabular"
    )
    assert (
        B.answer_prose(md, drop_notes=True, drop_sources=True)
        == "**N18.30** — CKD stage 3\n\nWhy: words matched"
    )
    assert B.answer_prose(md, drop_notes=False, drop_sources=False) == md
    rendered = B.answer_blocks(ckd_answer(answer=md, citations=cites))
    assert "Notes that apply to N18.30" not in all_text(rendered.blocks)
    assert "📑 ICD-10-CM Tabular List FY2026 · chapter 19 · Use additional code" in all_text(
        rendered.blocks
    )
