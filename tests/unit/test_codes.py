"""The one definition of an ICD-10-CM code's shape (codedesk.codes), and every reader that uses it."""

from __future__ import annotations

import re

import pytest

from codedesk import codes
from codedesk.cms.codebook import normalize_code
from codedesk.codes import dotted, is_code
from codedesk.retrieval.notes import note_specs
from codedesk.retrieval.query import parse_question
from codedesk.retrieval.versions import VersionError, parse_prefix

PROSE = re.compile(rf"(?<![A-Za-z0-9.])({codes.PROSE_CODE})(?![A-Za-z0-9])", re.I)


@pytest.mark.parametrize(
    "code",
    [
        "E11",
        "E11.22",
        "E1122",
        "T39.1X1A",
        "S30.1XXA",
        "C4A.0",
        "Z3A.20",
        "M1A.0110",
        # FY2027: a letter in the 3rd position (J4B, K6A, Q87.A) and in the 2nd (QA1)
        "J4B",
        "J4B.0",
        "K6A01",
        "K6A.01",
        "K6A8",
        "Q87A",
        "Q87.A",
        "QA171",
        "QA1.71",
        "QA1790",
        "QA1.790",
        "QA0.0101",
    ],
)
def test_code_shapes(code: str) -> None:
    assert is_code(code)
    assert PROSE.fullmatch(code) and PROSE.fullmatch(code.lower())


@pytest.mark.parametrize(
    "code, expected",
    [
        ("K6A01", "K6A.01"),
        ("QA171", "QA1.71"),
        ("QA1790", "QA1.790"),
        ("Q87A", "Q87.A"),
        ("J4B", "J4B"),
        ("E1122", "E11.22"),
    ],
)
def test_dotted(code: str, expected: str) -> None:
    assert dotted(code) == expected == normalize_code(code)


@pytest.mark.parametrize(
    "word",
    [
        "CKD",
        "BMI",
        "DOS",
        "FY2026",
        "FY26",
        "fy2027",
        "T2DM",
        "H1N1",
        "CO2",
        "CD4",
        "PO2",
        "TP53",
        "COPD",
        "E11.22.3",
        "E112233A",
    ],
)
def test_words_that_are_not_codes_in_prose(word: str) -> None:
    assert not PROSE.fullmatch(word)


def test_files_accept_any_letter_in_the_2nd_and_3rd_position() -> None:
    """A future release is read, not rejected: the addenda and Tabular List accept any letter there."""
    assert is_code("QB1") and is_code("K6C01") and not is_code("Q1") and not is_code("E11.22222")


def test_questions_read_the_new_shapes() -> None:
    q = parse_question(
        "Is QA171 valid? And K6A01, J4B, Q87A and QA1.790 — and T2DM, CKD, BMI 18, DOS 2026-11-02, CD4"
    )
    assert [m.first for m in q.mentions] == ["QA171", "K6A01", "J4B", "Q87A", "QA1.790"]
    assert q.fiscal_year == "2027"


def test_notes_and_prefixes_read_the_new_shapes() -> None:
    assert note_specs("Use additional code (QA1.7-) and category K6A") == [
        ("QA1.7", None),
        ("K6A", None),
    ]
    assert note_specs("Excludes2 (J4A-J4B)") == [("J4A", "J4B")]
    assert (
        parse_prefix("qa1") == "QA1"
        and parse_prefix("K6A0") == "K6A.0"
        and parse_prefix("Q") == "Q"
    )
    with pytest.raises(VersionError):
        parse_prefix("N1$")
