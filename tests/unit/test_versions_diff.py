"""Versions, diff, cross-check and validity by date on small flat code lists (no files).

The lists copy real ICD-10-CM edge cases: S30.1XXA made unreportable when S30.1 gained children
(FY2026), C86.0 expanded into C86.00/C86.01 (FY2025), an accent-only title difference between the
plain-text code list and the XML (Ménière), and an April addition (valid from 1 April only).
"""

from __future__ import annotations

from datetime import date

import pytest

from codedesk.cms.addenda import Addenda, CodeChange
from codedesk.retrieval.changes import answer_changes
from codedesk.retrieval.query import parse_question
from codedesk.retrieval.versions import (
    Version,
    VersionError,
    VersionSet,
    day_text,
    diff,
    fold,
    parse_prefix,
)

FY2024 = {
    "C86.0": "Extranodal NK/T-cell lymphoma, nasal type",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "H81.01": "Meniere's disease, right ear",
    "S30.1XXA": "Contusion of abdominal wall, initial encounter",
    "S30.1XXD": "Contusion of abdominal wall, subsequent encounter",
    "Q75.009": "Craniosynostosis unspecified",
    "Z99.89": "Dependence on other enabling machines and devices",
}
FY2025 = {
    "C86.00": "Extranodal NK/T-cell lymphoma, nasal type not having achieved remission",
    "C86.01": "Extranodal NK/T-cell lymphoma, nasal type, in remission",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "H81.01": "Ménière's disease, right ear",
    "S30.1XXA": "Contusion of abdominal wall, initial encounter",
    "S30.1XXD": "Contusion of abdominal wall, subsequent encounter",
    "Q75.009": "Craniosynostosis, unspecified",
    "Z99.89": "Dependence on other enabling machines and devices",
    "Z68.54": "Body mass index [BMI] pediatric, greater than or equal to 120% of the 95th percentile",
}


def addenda_2025(*extra: CodeChange) -> Addenda:
    return Addenda(
        "icd10cm_order_addenda_2025.txt",
        "order",
        [
            CodeChange("add", "C86.00", FY2025["C86.00"], header=False),
            CodeChange("add", "C86.01", FY2025["C86.01"], header=False),
            CodeChange("delete", "C86.0", FY2024["C86.0"], header=False),
            CodeChange(
                "revise", "Q75.009", FY2025["Q75.009"], header=False, old_title=FY2024["Q75.009"]
            ),
            *extra,
        ],
    )


@pytest.fixture()
def versions() -> VersionSet:
    v24 = Version("2024", "icd10cm-codes-2024.txt", flat=dict(FY2024))
    v25 = Version(
        "2025", "icd10cm-tabular-April-2025.xml", flat=dict(FY2025), update_date=date(2025, 4, 1)
    )
    v26 = Version(
        "2026",
        "icd10c-tabular-April-1-2026.xml",
        flat={
            **{k: v for k, v in FY2025.items() if not k.startswith("S30.1")},
            "E11.A": "Type 2 diabetes mellitus without complications in remission",
            "S30.11XA": "Contusion of abdominal wall, initial encounter",
            "S30.11XD": "Contusion of abdominal wall, subsequent encounter",
            "S30.12XA": "Contusion of groin, initial encounter",
            "S30.12XD": "Contusion of groin, subsequent encounter",
        },
        update_date=date(2026, 4, 1),
    )
    return VersionSet([v26, v24, v25], addenda={"2025": addenda_2025()})


def test_effective_dates_and_order(versions: VersionSet) -> None:
    assert versions.years == ["2024", "2025", "2026"]
    v = versions.get("FY2025")
    assert (v.start, v.end) == (date(2024, 10, 1), date(2025, 9, 30))
    assert versions.get("25") is v
    assert versions.version_for(date(2024, 9, 30)).fiscal_year == "2024"
    assert versions.version_for(date(2024, 10, 1)).fiscal_year == "2025"
    assert versions.version_for(date(2023, 9, 30)) is None
    assert day_text(date(2025, 10, 1)) == "1 Oct 2025"


def test_unknown_year_is_a_clear_error(versions: VersionSet) -> None:
    with pytest.raises(VersionError, match="FY2023 is loaded. Loaded: FY2024, FY2025, FY2026"):
        versions.get("2023")


@pytest.mark.parametrize(
    "raw, expected",
    [("n18", "N18"), ("E11.A", "E11.A"), ("s301", "S30.1"), ("N18-", "N18"), ("Z", "Z")],
)
def test_parse_prefix(raw: str, expected: str) -> None:
    assert parse_prefix(raw) == expected


@pytest.mark.parametrize("raw", ["18N", "N1$8", "", "E11.22222", "diabetes"])
def test_bad_prefix(raw: str) -> None:
    with pytest.raises(VersionError, match="not an ICD-10-CM code prefix"):
        parse_prefix(raw)


def test_diff_flat_lists(versions: VersionSet) -> None:
    d = versions.diff("2024", "2025")
    assert [a.code for a in d.added] == ["C86.00", "C86.01", "Z68.54"]
    assert [x.code for x in d.deleted] == ["C86.0"]
    # the accent is no revision; the comma is
    assert [(r.code, r.new_title) for r in d.revised] == [
        ("Q75.009", "Craniosynostosis, unspecified")
    ]
    assert fold("Ménière's") == "Meniere's"
    assert [(e.code, e.no_longer_reportable, e.now_reportable) for e in d.became_header] == [
        ("C86.0", ["C86.0"], ["C86.00", "C86.01"])
    ]
    assert not d.notes_compared


def test_seventh_character_codes_become_header(versions: VersionSet) -> None:
    d = versions.diff("2025", "2026")
    exp = {e.code: e for e in d.became_header}
    assert exp["S30.1"].no_longer_reportable == ["S30.1XXA", "S30.1XXD"]
    assert exp["S30.1"].now_reportable == ["S30.11XA", "S30.11XD", "S30.12XA", "S30.12XD"]
    assert {"S30.1XXA", "S30.1XXD"} <= {x.code for x in d.deleted}  # also counted as deleted
    assert d.to_json()["became_header"] == [
        {"code": "S30.1", "no_longer_reportable": ["S30.1XXA", "S30.1XXD"]}
    ]


def test_json_has_exactly_the_issue_keys(versions: VersionSet) -> None:
    data = versions.diff("2024", "2025").to_json()
    assert list(data) == [
        "from",
        "to",
        "added",
        "deleted",
        "revised",
        "became_header",
        "notes_changed",
    ]
    assert (data["from"], data["to"]) == ("2024", "2025")
    assert set(data["added"][0]) == {"code", "title"}
    assert set(data["revised"][0]) == {"code", "old_title", "new_title"}


def test_prefix_filter(versions: VersionSet) -> None:
    d = versions.diff("2025", "2026", prefix="s30")
    assert d.prefix == "S30"
    assert {a.code for a in d.added} == {"S30.11XA", "S30.11XD", "S30.12XA", "S30.12XD"}
    assert versions.diff("2025", "2026", prefix="E11").to_json()["added"] == [
        {"code": "E11.A", "title": "Type 2 diabetes mellitus without complications in remission"}
    ]
    with pytest.raises(VersionError, match="No code starts with N18"):
        versions.diff("2025", "2026", prefix="N18")


def test_diff_between_any_two_versions(versions: VersionSet) -> None:
    d = diff(versions.get("2024"), versions.get("2026"))
    assert {"C86.00", "E11.A", "S30.12XA"} <= {a.code for a in d.added}
    assert {"C86.0", "S30.1XXA"} <= {x.code for x in d.deleted}


def test_cross_check_agrees(versions: VersionSet) -> None:
    cc = versions.cross_check(versions.diff("2024", "2025"))
    assert cc is not None
    # Z68.54 is in the diff but not in these (cut-down) addenda: reported, with the April explanation
    assert [(x.kind, x.code) for x in cc.disagreements] == [("added_not_in_addenda", "Z68.54")]
    assert "April 2025" in cc.disagreements[0].explanation
    assert cc.agreed == {"add": 2, "delete": 1, "revise": 1}
    assert versions.cross_check(versions.diff("2025", "2026")) is None  # no FY2026 addenda


def test_cross_check_reports_what_the_diff_misses(versions: VersionSet) -> None:
    extra = CodeChange("delete", "E11.9", FY2024["E11.9"], header=False)
    vs = VersionSet(list(versions.versions.values()), addenda={"2025": addenda_2025(extra)})
    cc = vs.cross_check(vs.diff("2024", "2025"))
    kinds = {(x.kind, x.code) for x in cc.disagreements}
    assert ("addenda_delete_not_in_diff", "E11.9") in kinds
    assert any("still reportable" in x.explanation for x in cc.disagreements if x.code == "E11.9")
    assert "disagreement" in "\n".join(cc.lines())


def test_validity_by_date_on_the_edges(versions: VersionSet) -> None:
    assert versions.valid_on("C86.0", date(2024, 9, 30))[0] is True
    ok, v, why = versions.valid_on("C86.0", date(2024, 10, 1))
    assert (
        not ok and v.fiscal_year == "2025" and "needs more characters (e.g. C86.00, C86.01)" in why
    )
    assert (
        "not in the ICD-10-CM FY2025 code list" in versions.valid_on("Q99.9", date(2024, 10, 1))[2]
    )
    assert versions.valid_on("C86.00", date(2024, 9, 30))[0] is False
    assert versions.valid_on("c8600", date(2024, 10, 1))[0] is True
    ok, v, why = versions.valid_on("E11.9", date(2022, 1, 1))
    assert not ok and v is None and "FY2022" in why


def test_april_addition_valid_from_1_april_only(versions: VersionSet) -> None:
    """Z68.54 is in the FY2025 (April) file and not in the October addenda: valid from 1 Apr 2025."""
    assert versions.april_additions("2025") == frozenset({"Z68.54"})
    ok, v, why = versions.valid_on("Z68.54", date(2025, 3, 31))
    assert not ok and v.fiscal_year == "2025" and "1 Apr 2025" in why
    assert versions.valid_on("Z68.54", date(2025, 4, 1))[0] is True
    assert (
        versions.valid_on("C86.00", date(2025, 3, 31))[0] is True
    )  # an October code is unaffected
    assert (
        versions.april_additions("2026") == frozenset()
    )  # no addenda to tell: all of FY2026 from 1 October


def test_flat_header_status(versions: VersionSet) -> None:
    st = versions.get("2026").status("S30.1")
    assert st.exists and not st.reportable and st.header
    assert not versions.get("2026").status("S30.1XXA").exists


# ---- answers on the small lists -----------------------------------------------------------------------
def ask(versions: VersionSet, q: str, default: str = "2026"):
    return answer_changes(q, parse_question(q), versions, default)


@pytest.mark.parametrize(
    "q",
    [
        "code for type 2 diabetes with CKD stage 3",
        "is E11.9 billable?",
        "code for change in mental status",
        "E11.9 with hypoglycemia, what else?",
        "should I use Z68.54 instead of E11.9?",
        "is E11.9 a valid principal diagnosis?",
        "code for hip replacement status with E11.9",
        "what's different between E11.9 and Z68.54?",
    ],
)
def test_not_a_change_question(versions: VersionSet, q: str) -> None:
    assert ask(versions, q) is None


def test_replacement_from_the_lists(versions: VersionSet) -> None:
    a = ask(versions, "what do I use now instead of S30.1XXD?")
    assert [i.code for i in a.items] == ["S30.11XD", "S30.12XD"]
    assert a.fiscal_year == "2026" and "S30.1 was expanded" in a.text


def test_validity_answer_never_offers_an_invalid_code(versions: VersionSet) -> None:
    a = ask(versions, "is E11.A valid for DOS 2024-06-01?")
    assert a.text.startswith("**No") and a.items == [] and a.fiscal_year == "2024"
    assert "1 Oct 2025" in a.text
    a = ask(versions, "is Z68.54 valid for DOS 2025-03-31?")
    assert a.text.startswith("**No") and a.items == []
    a = ask(versions, "is Z68.54 valid for DOS 2025-04-01?")
    assert [i.code for i in a.items] == ["Z68.54"]


def test_expanded_code_is_not_valid_and_its_successors_are_offered(versions: VersionSet) -> None:
    a = ask(versions, "can I still use S30.1XXA for DOS 2025-10-15?")
    assert a.kind == "validity" and a.fiscal_year == "2026" and a.text.startswith("**No")
    assert [i.code for i in a.items] == ["S30.11XA", "S30.12XA"]
    a = ask(versions, "is S30.1XXA valid in FY2025?")
    assert a.text.startswith("**Yes") and [i.code for i in a.items] == ["S30.1XXA"]
    assert "no longer valid from FY2026 (1 Oct 2025)" in a.text


@pytest.mark.parametrize(
    "q, old, new",
    [
        ("what changed this year?", "2025", "2026"),
        ("what changed last year?", "2024", "2025"),
        ("what changed in 2025 for C86?", "2024", "2025"),
        ("what changed from FY2024 to FY2026?", "2024", "2026"),
    ],
)
def test_which_years_a_change_question_compares(
    versions: VersionSet, q: str, old: str, new: str
) -> None:
    a = ask(versions, q)
    assert a.kind == "changes" and a.fiscal_year == new
    assert f"FY{old} → FY{new}" in a.text


def test_change_question_for_a_year_not_loaded(versions: VersionSet) -> None:
    a = ask(versions, "what changed in FY2024?")
    assert a.confidence == "low" and "FY2023" in a.text and a.items == []
