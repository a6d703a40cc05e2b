"""The "Conditions classifiable to …" inclusion notes of the history codes (Z80, Z85, Z86, Z87), read as
code ranges (codedesk.retrieval.alpha_index: a history code completed by the range that holds the site)."""

from __future__ import annotations

from codedesk.retrieval.alpha_index import _classifiable


def test_ranges_as_printed_in_the_tabular_list() -> None:
    assert _classifiable("Conditions classifiable to C15-C26") == [("C15", "C26")]
    assert _classifiable("Conditions classifiable to C50.-") == [("C50", "C50")]
    assert _classifiable("Conditions classifiable to C7A.022-C7A.025, C7A.029") == [
        ("C7A022", "C7A025"),
        ("C7A029", "C7A029"),
    ]
    assert _classifiable("Conditions classifiable to C00-C14, C40-C49, C69-C79") == [
        ("C00", "C14"),
        ("C40", "C49"),
        ("C69", "C79"),
    ]
    assert _classifiable("Conditions classifiable to I70.711 and I70.721") == [
        ("I70711", "I70711"),
        ("I70721", "I70721"),
    ]


def test_other_notes_are_not_ranges() -> None:
    assert _classifiable("Conditions classifiable to O62.-, except O62.3") is None
    assert _classifiable("Conditions classifiable to J86.9 with fistula") is None
    assert _classifiable("Malignant neoplasm of colon") is None
