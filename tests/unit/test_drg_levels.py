"""CC/MCC levels read from the real CMS FY2026 MS-DRG v43 Tables 6I, 6J and 6K the `drg` package ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from codedesk.retrieval.drg_levels import (
    DrgLevels,
    level_in,
    msdrg_version,
    read_tables,
    table_sources,
)


@pytest.fixture(scope="module")
def levels() -> DrgLevels:
    return DrgLevels(None)


@pytest.fixture(scope="module")
def v43(levels: DrgLevels):
    tables, note = levels.tables_for("2026")
    assert note == ""
    return tables


def test_the_package_ships_fy2026_v43(levels: DrgLevels, v43) -> None:
    assert levels.years == ["2026"]
    assert v43.label == "FY2026 MS-DRG v43" and v43.source.origin.startswith("drg 1.0.0")
    assert msdrg_version("2027") == "v44"
    # the real tables' sizes: 6I, 6J, the 6K Part 1 rows (every CC and MCC), PDX collections, Part 2
    assert (len(v43.mcc), len(v43.cc), len(v43.level_6k), len(v43.alive_only)) == (
        3354,
        15078,
        18432,
        8,
    )
    assert len(v43.collections) > 1900


def test_table_6k_agrees_with_6i_and_6j(v43) -> None:
    assert set(v43.level_6k) == set(v43.mcc) | set(v43.cc)
    assert all(v43.level_6k[c] == "MCC" for c in v43.mcc) and all(
        v43.level_6k[c] == "CC" for c in v43.cc
    )


def test_j9601_is_an_mcc_excluded_by_itself_and_its_collection(levels: DrgLevels) -> None:
    alone = levels.level("J96.01", "2026")
    assert (alone.level, alone.table, alone.counts_as, alone.collection) == (
        "MCC",
        "6I",
        "MCC",
        "0998",
    )
    assert "MCC (FY2026 MS-DRG v43, Table 6I)" in alone.text()
    itself = levels.level("J96.01", "2026", principal="J96.01")
    assert itself.excluded and itself.counts_as == "non-CC" and "does not count" in itself.text()
    j80 = levels.level("J9601", "2026", principal="J80")  # dots optional
    assert j80.excluded and "J80 is in its PDX exclusion collection 0998 (Table 6K)" in j80.text()
    other = levels.level("J96.01", "2026", principal="I21.09")
    assert (
        not other.excluded and other.counts_as == "MCC" and "still counts as an MCC" in other.text()
    )


def test_ckd_stage_4_with_hypertensive_ckd_principal(levels: DrgLevels) -> None:
    lv = levels.level("N18.4", "2026", principal="I12.9")
    assert (lv.level, lv.table, lv.excluded) == ("CC", "6J", False)
    assert "I12.9 is not in its PDX exclusion collection" in lv.text()
    assert levels.level(
        "N18.4", "2026", principal="N18.5"
    ).excluded  # another CKD stage as principal


def test_non_cc_alive_only_and_no_exclusions(levels: DrgLevels) -> None:
    assert levels.level("E11.22", "2026").counts_as == "non-CC"
    assert "in neither Table 6I nor Table 6J" in levels.level("E11.22", "2026").text()
    assert levels.level("I46.9", "2026").alive_only  # Table 6K Part 2
    assert levels.level("J12.82", "2026").collection is None  # "No Excl"


def test_fy2027_answers_from_v43_and_says_so(levels: DrgLevels) -> None:
    lv = levels.level("J96.01", "2027")
    assert lv.fiscal_year == "2026" and "FY2027 MS-DRG v44 tables are not available" in lv.note
    new = levels.level("QA1.71", "2027", known=False)  # FY2027 addenda code: no v43 level
    assert new.level is None and "not in the FY2026 MS-DRG v43 tables" in new.text()
    assert levels.level("J96.01", "2025") is None  # nothing before FY2026: no level is invented


def test_a_team_folder_of_cms_tables_is_read(tmp_path: Path, v43) -> None:
    """CMS's own file names in cms/fy{N}/msdrg/ (here the same real v43 files, linked)."""
    folder = tmp_path / "cms" / "fy2026" / "msdrg"
    folder.mkdir(parents=True)
    for table, name in (
        ("6I", "FY 2026 Table 6I.txt"),
        ("6J", "FY 2026 Table 6J.txt"),
        ("6K", "FY 2026 Table 6K.txt"),
    ):
        (folder / name).symlink_to(v43.source.file(table))
    src = table_sources(tmp_path)["2026"]
    assert src.origin == str(folder)
    tables = read_tables(src)
    assert level_in(tables, "J96.01", "J80").excluded and len(tables.mcc) == 3354
