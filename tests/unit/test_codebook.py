"""The code book on real edge cases of the FY2026 Tabular List (parsed from the embedded XML)."""

from __future__ import annotations

import pytest

from codedesk.cms.codebook import CodeBook, normalize_code


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("e1122", "E11.22"),
        ("E11.22", "E11.22"),
        (" t391x1a ", "T39.1X1A"),
        ("N18", "N18"),
        ("e11.2-", "E11.2"),
        ("e08-e13", "E08-E13"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_code(raw) == expected


def test_reportable_leaf(codebook: CodeBook) -> None:
    info = codebook.lookup("E1122")
    assert info.exists and info.reportable
    assert info.title == "Type 2 diabetes mellitus with diabetic chronic kidney disease"


def test_header_is_not_reportable_and_lists_children(codebook: CodeBook) -> None:
    info = codebook.lookup("E11.2")
    assert info.exists and not info.reportable
    assert "header" in info.reason
    assert codebook.reportable_under("E11.2") == ["E11.21", "E11.22", "E11.29"]


@pytest.mark.parametrize(
    "code, title_end",
    [
        ("T39.1X1A", "accidental (unintentional), initial encounter"),
        ("S72.001A", "neck of right femur, initial encounter for closed fracture"),
        ("S30.0XXA", "Contusion of lower back and pelvis, initial encounter"),
    ],
)
def test_seventh_character_codes_are_derived(codebook: CodeBook, code: str, title_end: str) -> None:
    info = codebook.lookup(code)
    assert info.exists and info.reportable, info.reason
    assert info.title.endswith(title_end)
    assert info.base is not None


def test_base_code_needing_seventh_is_not_reportable(codebook: CodeBook) -> None:
    info = codebook.lookup("T39.1X1")
    assert info.exists and not info.reportable and info.needs_seventh
    assert "T39.1X1A" in info.reason


@pytest.mark.parametrize(
    "code, why",
    [
        ("E99.99", "does not exist"),
        ("T39.1X1Z", "not a valid 7th character"),
        ("S30.0XA", "does not exist"),
        ("S30.0A", "does not exist"),
        ("ABC", "not in the form"),
    ],
)
def test_invalid_codes_say_why(codebook: CodeBook, code: str, why: str) -> None:
    info = codebook.lookup(code)
    assert not info.reportable
    assert why in info.reason


def test_placeholder_is_required(codebook: CodeBook) -> None:
    assert codebook.with_seventh("S30.0", "A") == "S30.0XXA"
    assert codebook.with_seventh("T39.1X1", "D") == "T39.1X1D"
    assert codebook.lookup("S30.0XXA").reportable


def test_seventh_character_limits_from_category_note(codebook: CodeBook) -> None:
    # "7th characters D and S do not apply to codes in category S06 with 6th character 7 … or 8"
    assert codebook.lookup("S06.337A").reportable
    assert not codebook.lookup("S06.337D").exists
    assert codebook.lookup("S06.336D").reportable


def test_notes_are_inherited_with_their_source(codebook: CodeBook) -> None:
    notes = codebook.inherited_notes("E11.22")
    own = [n for n in notes if n.source == "E11.22"]
    assert own and own[0].kind == "use_additional_code" and "N18.1-N18.6" in own[0].text
    assert any(n.kind == "excludes1" and n.source == "E11" and "E10" in n.text for n in notes)
    assert any(n.source == "4" for n in notes)  # chapter notes reach every code


def test_seventh_character_notes_inherited_by_7th_character_codes(codebook: CodeBook) -> None:
    kinds = {(n.kind, n.source) for n in codebook.inherited_notes("S72.001A")}
    assert ("seventh_character", "S72") in kinds
    assert ("excludes1", "S72") in kinds


def test_block_and_chapter(codebook: CodeBook) -> None:
    assert codebook.lookup("E08-E13").kind == "block"
    assert codebook.lookup("4").kind == "chapter"
    assert codebook.codes_in_range("E08", "E13") == ["E08", "E09", "E10", "E11", "E13"]
    assert codebook.codes_in_range("N18.1", "N18.6") == [
        "N18.1",
        "N18.2",
        "N18.3",
        "N18.4",
        "N18.5",
        "N18.6",
    ]


def test_one_category_block_does_not_shadow_its_category(codebook: CodeBook) -> None:
    assert codebook.lookup("B10").kind == "category"
    assert codebook.nodes["B10-B10"].kind == "block"


def test_nearest_valid_codes(codebook: CodeBook) -> None:
    near = codebook.nearest("E11.99")
    assert near and all(codebook.lookup(c).reportable for c in near)
    assert all(c.startswith("E11") for c in near)
    assert all(codebook.lookup(c).reportable for c in codebook.nearest("E99.99"))


def test_all_reportable_codes_match_the_official_code_list(codebook: CodeBook) -> None:
    """Every code the book derives (7th characters included) is on CMS's FY2026 code list, and back."""
    from importlib import resources

    listed = {
        line.strip()
        for line in resources.files("simple_icd_10_cm.data")
        .joinpath("code-list-April-2026.txt")
        .read_text()
        .splitlines()
        if line.strip()
    }
    mine = {c.replace(".", "") for c in codebook.reportable_codes()}
    headers = {
        c.replace(".", "") for c, n in codebook.nodes.items() if n.kind not in ("chapter", "block")
    }
    official_codes = {c for c in listed if c[0].isalpha() and "-" not in c}
    assert mine | headers == official_codes
    assert len(mine) > 74_000
