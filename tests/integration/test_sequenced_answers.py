"""Answers ordered by the Official Guidelines' sequencing rules (codedesk/retrieval/data/sequencing.toml), through
`Answerer` with the real CMS files: pasted lists checked, table rows beside another condition, and the year
in effect today when it is not loaded. No vector index is built (lexical Tabular fallback)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codedesk.settings import Settings


@pytest.fixture(scope="module")
def answerer(cms_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from codedesk.retrieval.service import build_answerer

    settings = Settings(
        home=tmp_path_factory.mktemp("sequenced"),
        cms_data_dir=cms_data_dir,
        fiscal_year="2026",
        _env_file=None,
    )
    return build_answerer(settings, dense=False)


def test_a_pasted_list_is_checked_and_reordered(answerer) -> None:
    a = answerer.answer("E11.22, N18.32, I12.9 - right order?")
    assert [c.code for c in a.codes] == ["E11.22", "I12.9", "N18.32"]  # the suggested order
    assert "I12.9 should come before N18.32" in a.answer
    assert any(
        c.source_type == "guideline" and c.section == "I.C.9.a.2" and c.page for c in a.citations
    )
    assert a.confidence == "medium"  # a finding: never "high"


def test_a_code_pasted_again_is_one_finding_and_one_code(answerer) -> None:
    a = answerer.answer("N18.32, E11.22, N18.32, I12.9 right order?")
    assert [c.code for c in a.codes] == ["E11.22", "I12.9", "N18.32"]
    assert a.answer.count("N18.32 is listed twice") == 1
    wall = answerer.answer(
        "E11.22, " * 400 + "right order?"
    )  # truncated to 2,000 characters, answered briefly
    assert [c.code for c in wall.codes] == ["E11.22"] and "E11.22 is listed" in wall.answer
    assert len(wall.answer) < 3000


def test_a_list_in_order_keeps_its_order(answerer) -> None:
    a = answerer.answer("I12.9, N18.32 correct sequence?")
    assert [c.code for c in a.codes] == ["I12.9", "N18.32"]
    assert "no sequencing rule" in a.answer and a.confidence == "high"


def test_adverse_effect_nature_first_then_the_drug(answerer) -> None:
    """I.C.19.e.5.a: the nature of the adverse effect, then the T code from the Table of Drugs."""
    a = answerer.answer("angioedema due to lisinopril taken as prescribed, initial encounter")
    assert [c.code for c in a.codes[:2]] == ["T78.3XXA", "T46.4X5A"]
    assert "I.C.19.e.5.a" in a.answer
    assert {"drug_table", "index"} <= {c.source_type for c in a.citations}


def test_asked_for_the_drug_code_it_leads(answerer) -> None:
    a = answerer.answer(
        "angioedema due to lisinopril taken as prescribed, initial encounter - drug code?"
    )
    assert a.codes[0].code == "T46.4X5A"
    assert "T78.3XXA before T46.4X5A" in a.answer  # the order to report is still said


def test_a_toxic_effect_path_is_not_a_second_condition(answerer) -> None:
    """The Index sends "Toxic (poisoning)" to the Table of Drugs: beside the row it is the same event."""
    a = answerer.answer(
        "Digoxin toxicity in a patient taking the dose prescribed, initial encounter"
    )
    codes = [c.code for c in a.codes]
    assert codes[0] == "T46.0X5A" and not any(c.startswith(("T65", "T88")) for c in codes[:2])


def test_todays_year_not_loaded_answers_from_the_newest_and_says_so(tmp_path: Path) -> None:
    """A fresh install on 2 Dec 2026 has FY2026 only (no addenda folder): it answers, never silently."""
    from codedesk.retrieval.service import build_answerer

    settings = Settings(home=tmp_path, today=date(2026, 12, 2), cms_data_dir=None, _env_file=None)
    answerer = build_answerer(settings, dense=False)
    assert "2027" not in answerer.books
    a = answerer.answer("type 2 diabetes with CKD stage 3b")
    assert a.fiscal_year == "2026" and a.codes[0].code == "E11.22"
    assert any(
        "FY2027 is the ICD-10-CM code set in effect today" in w
        and "codedesk fetch --year 2027" in w
        for w in a.warnings
    )
    refused = answerer.answer(
        "type 2 diabetes with CKD stage 3b, DOS 2026-11-02"
    )  # a date asks for FY2027
    assert not refused.codes and "no ICD-10-CM code set for FY2027" in refused.answer
