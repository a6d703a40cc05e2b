"""Ranking rules a coder applies without thinking: numbers inside a title's range, codes that are
never listed first, the codes an instructional note asks for, and room for more than one category
among the candidates. On the embedded FY2026 code book; no index needed."""

from __future__ import annotations

import pytest

from codedesk.retrieval.codesearch import Candidate, _diverse
from codedesk.retrieval.ranker import _lead_first, companions
from codedesk.retrieval.text import number_ranges, question_numbers, range_terms


@pytest.mark.parametrize(
    "title, number, before, inside",
    [
        ("Body mass index [BMI] 40.0-44.9, adult", 42, "BMI", True),
        ("Body mass index [BMI] 40.0-44.9, adult", 45, "BMI", False),
        ("Body mass index [BMI] 70 or greater, adult", 71.5, "BMI", True),
        ("Body mass index [BMI] 19.9 or less, adult", 19, "BMI", True),
        ("Blood alcohol level of less than 20 mg/100 ml", 19, "blood alcohol level", True),
        ("Blood alcohol level of less than 20 mg/100 ml", 20, "blood alcohol level", False),
        ("Blood alcohol level of 240 mg/100 ml or more", 300, "blood alcohol level", True),
        (
            "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease",
            3,
            "stage",
            True,
        ),
        # the same number after another word is not the range's
        (
            "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease",
            2,
            "type",
            False,
        ),
    ],
)
def test_a_number_inside_a_title_range(
    title: str, number: float, before: str, inside: bool
) -> None:
    hits, terms = range_terms(number_ranges(title), question_numbers(f"{before} {number}"))
    assert (hits == [number]) is inside and bool(terms) is inside


def test_question_numbers_skip_codes_and_dates() -> None:
    assert [
        n for n, _ in question_numbers("BMI 42.5, E11.22 and T39.1X1A on 2024-06-01 or 6/1/2024")
    ] == [42.5]


def _cands(*codes: str) -> list[Candidate]:
    return [Candidate(code, 1.0 - i / 100) for i, code in enumerate(codes)]


def test_at_most_four_of_a_category_while_others_wait() -> None:
    ranked = _cands(*(f"Z68.{n}" for n in range(20, 30)), "E66.01", "E66.9")
    out = [c.code for c in _diverse(ranked, 6)]
    assert out == ["Z68.20", "Z68.21", "Z68.22", "Z68.23", "E66.01", "E66.9"]
    only_one_category = _cands(*(f"Z68.{n}" for n in range(20, 30)))
    assert [c.code for c in _diverse(only_one_category, 6)] == [f"Z68.{n}" for n in range(20, 26)]


def test_a_secondary_only_code_goes_after_the_condition_asking_for_it(codebook) -> None:
    q = "morbid obesity, BMI 42"
    out = [c.code for c in _lead_first(codebook, _cands("Z68.41", "Z68.45", "E66.9", "E66.01"), q)]
    assert out == ["E66.01", "Z68.41", "Z68.45", "E66.9"]  # the condition that says "morbid"
    assert [c.code for c in _lead_first(codebook, _cands("Z68.41", "J45.909"), q)] == [
        "Z68.41",
        "J45.909",
    ]


@pytest.mark.parametrize(
    "base, question, expected",
    [
        ("E66.01", "morbid obesity, BMI 42", ["Z68.41"]),  # the range holds 42
        (
            "I13.2",
            "hypertension and chronic kidney disease stage 5 with heart failure",
            ["N18.5", "I50.9"],
        ),
        (
            "I12.9",
            "hypertensive CKD stage 4",
            ["N18.4"],
        ),  # "stage 4 (severe)": the parenthesis is not needed
        ("I12.9", "hypertensive chronic kidney disease", ["N18.9"]),
        (
            "I11.0",
            "hypertensive heart disease with heart failure",
            ["I50.9"],
        ),  # unspecified before "other"
        ("E11.9", "type 2 diabetes", []),
    ],
)
def test_companions_the_notes_ask_for(
    codebook, base: str, question: str, expected: list[str]
) -> None:
    assert [code for code, _ in companions(codebook, base, question, {base})] == expected


def test_a_long_title_matching_one_leftover_word_needs_retrieval_behind_it(codebook) -> None:
    q = "hypertension with CKD stage 3a"
    assert companions(codebook, "N18.31", q, {"N18.31"}) == []
    [(code, note)] = companions(codebook, "N18.31", q, {"N18.31"}, ["I12.9", "I13.10", "I12.0"])
    assert code == "I12.9" and note.kind == "code_first"


def test_no_pregnancy_companion_unless_the_question_speaks_of_pregnancy(codebook) -> None:
    assert companions(codebook, "I82.412", "acute DVT, left femoral vein", {"I82.412"}) == []
    [(code, note)] = companions(
        codebook, "I82.412", "acute DVT left femoral vein, postpartum", {"I82.412"}
    )
    assert code == "O87.1" and note.kind == "code_first"


@pytest.mark.parametrize(
    "question, expected",
    [
        ("twin pregnancy 32 weeks", "third trimester"),
        ("pregnant, 13 weeks 6 days, hyperemesis", "first trimester"),
        ("pregnant patient 14 wks with UTI", "second trimester"),
        ("preeclampsia at 27+6 weeks pregnant", "second trimester"),
        ("pregnancy at 28 weeks", "third trimester"),
        ("pregnancy, second trimester, 30 weeks", ""),  # the trimester the question names stands
        ("knee pain for 3 weeks", ""),  # weeks, but no pregnancy
    ],
)
def test_weeks_of_pregnancy_give_the_trimester(question: str, expected: str) -> None:
    from codedesk.retrieval.codesearch import trimester_terms
    from codedesk.retrieval.text import tokens

    assert trimester_terms(question, tokens(question)) == tokens(expected)


def test_a_history_of_cancer_is_the_personal_history_code() -> None:
    from codedesk.retrieval.ranker import _history_first

    cands = _cands("C18.9", "Z85.038", "C18.6")
    assert [c.code for c in _history_first(cands, "hx of colon cancer, resected")][:2] == [
        "Z85.038",
        "C18.9",
    ]
    assert _history_first(cands, "colon cancer on chemotherapy") == cands  # a current cancer
    assert _history_first(cands, "family history of colon cancer") == cands  # Z80, not Z85


def test_large_intestine_is_said_as_colon() -> None:
    from codedesk.retrieval.text import tokens

    assert "colon" in tokens("Personal history of other malignant neoplasm of large intestine")
