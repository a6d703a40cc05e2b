"""Pure text helpers of the guideline search: sentences, quotes, question vocabulary, intent, setting."""

from __future__ import annotations

import pytest

from codedesk.retrieval.guidelines import (
    MAX_QUOTE,
    clip_quote,
    doc_terms,
    guideline_intent,
    procedure_intent,
    question_terms,
    setting_of,
    split_sentences,
)


def test_sentences_keep_abbreviations_and_section_references_whole() -> None:
    text = (
        "Assign the code for the condition, e.g. pneumonia. See Section I.B.18. Use of Signs/Symptom/"
        "Unspecified Codes. Do not code it vs. the symptom."
    )
    assert split_sentences(text) == [
        "Assign the code for the condition, e.g. pneumonia.",
        "See Section I.B.18. Use of Signs/Symptom/Unspecified Codes.",
        "Do not code it vs. the symptom.",
    ]


def test_soft_line_breaks_join_and_list_lines_stay_apart() -> None:
    text = (
        "These exceptions include codes for:\n• Body Mass Index (BMI)\n• Laterality\n"
        "The BMI should only\nbe secondary."
    )
    assert split_sentences(text) == [
        "These exceptions include codes for:",
        "• Body Mass Index (BMI)",
        "• Laterality",
        "The BMI should only be secondary.",
    ]


def test_pdf_line_breaks_end_headings_but_not_wrapped_words() -> None:
    text = "Acute and Chronic Conditions\nAssign Y for acute conditions that are present at admission.\nN - No"
    assert split_sentences(text, hard_breaks=True) == [
        "Acute and Chronic Conditions",
        "Assign Y for acute conditions that are present at admission.",
        "N - No",
    ]
    assert split_sentences(
        "should never be assigned to R75 or Z21, Asymptomatic human\nimmunodeficiency virus.",
        hard_breaks=True,
    ) == ["should never be assigned to R75 or Z21, Asymptomatic human immunodeficiency virus."]
    markdown = "4. A nonspecific term has no code of its own and the provider must choose\n   (urosepsis).\n5. Next."
    assert split_sentences(markdown) == [
        "4. A nonspecific term has no code of its own and the provider must choose (urosepsis).",
        "5. Next.",
    ]


def test_quotes_are_at_most_300_characters_and_cut_at_a_boundary() -> None:
    short = "Code only confirmed cases."
    assert clip_quote(short) == short
    long = (
        "If the diagnosis is uncertain, " + ", ".join(f"clause number {i}" for i in range(40)) + "."
    )
    quote = clip_quote(long)
    assert len(quote) <= MAX_QUOTE and quote.endswith("…")
    assert long.startswith(quote[:-1])


def test_codes_become_terms_with_their_shorter_forms() -> None:
    terms = doc_terms("Assign code R65.21, Severe sepsis with septic shock.")
    assert {"@r65", "@r65.2", "@r65.21"} <= set(terms)
    asked = question_terms("can r65.21 be principal?")
    assert asked["@r65.21"] > 1.0  # a code the coder names weighs more than a word


def test_coding_vocabulary_widens_the_question_not_beyond_its_own_words() -> None:
    terms = question_terms("outpatient says rule out pneumonia")
    assert terms["uncertain"] == pytest.approx(0.5)  # "rule out" -> uncertain diagnosis
    assert terms["pneumonia"] >= 1.0
    first = question_terms("is the late effect listed first?")
    assert "sequela" in first and "princip" in first
    assert "instead" not in question_terms(
        "a symptom code instead of a diagnosis"
    )  # filler words dropped


@pytest.mark.parametrize(
    "question",
    [
        "Can I code a symptom when the diagnosis is confirmed?",
        "Office note says probable strep throat - is it appropriate to code strep?",
        "Which diagnosis is sequenced first when both are treated?",
        "What does the guideline say about borderline diagnoses?",
        "Is postoperative ileus always coded as a complication?",
    ],
)
def test_rule_questions_have_high_intent(question: str) -> None:
    assert guideline_intent(question) >= 0.5


@pytest.mark.parametrize(
    "question",
    [
        "code for type 2 diabetes with CKD stage 3?",
        "E11.22?",
        "What is the ICD-10-CM code for acute appendicitis with perforation",
        "Neoplasm of uncertain behavior of the left kidney",
        "left femoral neck fracture, initial encounter",
    ],
)
def test_code_requests_have_low_intent(question: str) -> None:
    assert guideline_intent(question) <= 0.3


def test_intent_is_a_number_between_zero_and_one() -> None:
    assert guideline_intent("") == 0.0
    wordy = "Per the official guidelines, can I code and sequence it first? Is it appropriate? When do I query?"
    assert 0.9 <= guideline_intent(wordy) <= 1.0


def test_setting_from_the_question_words() -> None:
    assert setting_of("Office visit: rule out MI") == "outpatient"
    assert setting_of("ED patient discharged home") == "outpatient"
    assert setting_of("Discharge summary says likely pneumonia") == "inpatient"
    assert setting_of("Admitted from the ED with chest pain") == "inpatient"
    assert setting_of("Is BMI coded?") is None


def test_procedure_intent() -> None:
    assert procedure_intent("Biopsy followed by excision: which root operation?") == 1.0
    assert procedure_intent("0DTJ4ZZ sequencing") == 1.0
    assert procedure_intent("Sepsis due to pneumonia: which first?") == 0.0
