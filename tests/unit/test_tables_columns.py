"""Which table column and which encounter a question's words point to (pure functions, no files)."""

from __future__ import annotations

import pytest

from codedesk.retrieval.tables import drug_role, encounter_char, neoplasm_behavior, neoplasm_spans

T_CODE_7TH = {"A": "initial encounter", "D": "subsequent encounter", "S": "sequela"}


@pytest.mark.parametrize(
    ("question", "role", "assumed"),
    [
        ("toddler swallowed two of grandpa's metoprolol tablets", "accidental", True),
        ("unintentional ingestion of lamp oil", "accidental", False),
        ("took an overdose of sertraline in a suicide attempt", "self_harm", False),
        ("swallowed a bottle of pills to kill herself", "self_harm", False),
        ("her boyfriend slipped GHB into her drink", "assault", False),
        ("poisoned by a coworker with arsenic", "assault", False),
        (
            "methadone overdose; the ED physician says intent could not be determined",
            "undetermined",
            False,
        ),
        ("angioedema from lisinopril taken as prescribed", "adverse", False),
        ("lithium level high on her usual maintenance dose", "adverse", False),
        ("hives after a correctly administered dose of ceftriaxone", "adverse", False),
        ("ran out of his furosemide a week ago", "underdosing", False),
        (
            "she has been cutting her metformin pills in half to make them last",
            "underdosing",
            False,
        ),
        ("missed three doses of levetiracetam", "underdosing", False),
        ("took twice the prescribed dose of oxycodone by mistake", "accidental", False),
        ("nurse gave the wrong medication", "accidental", True),
    ],
)
def test_drug_columns_from_words(question: str, role: str, assumed: bool) -> None:
    assert drug_role(question) == (role, assumed)


def test_unknown_intent_is_accidental_not_undetermined() -> None:
    # I.C.19.e.5.b: intent unknown or unspecified -> accidental; undetermined only when documented
    assert drug_role("acetaminophen overdose, intent unknown") == ("accidental", True)
    assert drug_role("OD on pills, unclear whether it was intentional")[0] == "accidental"
    assert drug_role("overdose, intent undetermined per the psychiatrist")[0] == "undetermined"


def test_condition_caused_by_a_medicine_is_an_adverse_effect_by_default() -> None:
    assert drug_role("hypothyroidism due to amiodarone") == ("adverse", True)
    assert drug_role("digoxin toxicity") == ("adverse", True)
    assert drug_role("lead poisoning from old paint")[0] == "accidental"


@pytest.mark.parametrize(
    ("question", "char", "assumed"),
    [
        ("accidental ibuprofen poisoning", "A", True),
        ("seen in the ED for a bee sting", "A", False),
        ("follow-up visit after the overdose, treatment completed", "D", False),
        ("recheck of the rash from amoxicillin", "D", False),
        ("sequela of carbon monoxide poisoning", "S", False),
        ("late effect of lead poisoning", "S", False),
    ],
)
def test_encounter_character(question: str, char: str, assumed: bool) -> None:
    assert encounter_char(question, T_CODE_7TH) == (char, assumed)


def test_encounter_character_respects_allowed_set() -> None:
    assert encounter_char("sequela of the burn", {"A": "initial encounter"}) == ("A", True)


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("cancer of the stomach", "primary"),
        ("carcinoma in situ of the vulva", "in_situ"),
        ("ductal carcinoma in situ", "in_situ"),
        ("benign neoplasm of the spleen", "benign"),
        ("adenoma of the adrenal gland", "benign"),
        ("neoplasm of uncertain behavior of the pleura", "uncertain"),
        ("tumor of the kidney", "unspecified"),
        ("neoplasm of the liver, behavior not documented", "unspecified"),
        ("malignant neoplasm, unspecified site", "primary"),
    ],
)
def test_neoplasm_behavior(text: str, role: str) -> None:
    assert neoplasm_behavior(text) == role


def test_metastatic_to_is_secondary_and_from_is_primary() -> None:
    spans = neoplasm_spans("metastatic adenocarcinoma to the liver from the sigmoid colon")
    assert [(r, p.strip()) for p, r in spans] == [
        ("secondary", "the liver"),
        ("primary", "the sigmoid colon"),
    ]
    spans = neoplasm_spans("stomach cancer metastatic to the peritoneum")
    assert [r for _, r in spans] == ["primary", "secondary"]


def test_site_before_metastases_is_secondary() -> None:
    assert [(p.strip(), r) for p, r in neoplasm_spans("adrenal metastases")] == [
        ("adrenal", "secondary")
    ]
    assert [r for _, r in neoplasm_spans("secondary cancer of the pleura")] == ["secondary"]


def test_metastatic_site_cancer_names_the_primary() -> None:
    # "metastatic prostate cancer": prostate primary, spread to a site not named (C79.9)
    spans = neoplasm_spans("metastatic prostate cancer")
    assert [r for _, r in spans] == ["primary", "secondary"] and spans[1][0] == ""


def test_metastatic_site_cancer_from_a_primary_is_the_spread() -> None:
    # "metastatic bone cancer from prostate": the bone is the secondary site, the prostate the primary (was C41.9,
    # a primary bone cancer, marked high); with "to" the site before is the primary, as above
    spans = neoplasm_spans("metastatic bone cancer from prostate")
    assert [(p.strip(), r) for p, r in spans] == [
        ("bone cancer", "secondary"),
        ("prostate", "primary"),
    ]
    spans = neoplasm_spans("metastatic prostate cancer to bone")
    assert [(p.strip(), r) for p, r in spans] == [
        ("prostate cancer", "primary"),
        ("bone", "secondary"),
    ]


def test_secondary_to_means_due_to() -> None:
    assert neoplasm_spans("anemia secondary to colon cancer") == [
        ("anemia secondary to colon cancer", "primary")
    ]


def test_several_secondary_sites() -> None:
    spans = neoplasm_spans("lung cancer with metastases to the liver and bone")
    assert [(p.strip(), r) for p, r in spans] == [
        ("lung cancer", "primary"),
        ("the liver", "secondary"),
        ("bone", "secondary"),
    ]
