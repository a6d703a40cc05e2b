"""Guideline sequencing rules (codedesk/retrieval/data/sequencing.toml) on the real FY2026 code book.

Every example comes from the wording or the example of the guideline section the rule cites (the
section is named beside each), never from the gold set.
"""

from __future__ import annotations

import pytest

from codedesk.retrieval.sequencing import (
    answer_order_question,
    check_order,
    dropped_codes,
    encounter_reason,
    implied_codes,
    load_rules,
    missing_lookups,
    never_first,
    order_items,
    parse_order_question,
    replaced_codes,
    rules,
    sequence,
)

# (rule id, codes as given, the order `sequence` must give) — one row at least per order rule.
ORDER_EXAMPLES = [
    # I.A.13: "See category F02, Dementia in other diseases classified elsewhere, for an example"
    ("manifestation-never-first", ["F02.80", "G30.9"], ["G30.9", "F02.80"]),
    ("code-first-note", ["F02.80", "G30.9"], ["G30.9", "F02.80"]),
    # I.C.20.a.7: "a fall which results in striking against an object"; the injury it caused first
    ("external-cause-never-first", ["W01.10XA", "S06.0X0A"], ["S06.0X0A", "W01.10XA"]),
    ("external-cause-after-condition", ["W01.10XA", "S06.0X0A"], ["S06.0X0A", "W01.10XA"]),
    # I.C.20.d: place of occurrence after the main external cause
    (
        "place-activity-status-after-cause",
        ["S52.501A", "Y92.009", "W01.0XXA"],
        ["S52.501A", "W01.0XXA", "Y92.009"],
    ),
    # I.C.1.e: urinary tract infection due to MRSA, "along with code B95.62"
    ("organism-never-first", ["B95.62", "N39.0"], ["N39.0", "B95.62"]),
    # I.B.7: "a secondary code from category ... B96 ..."; the "use additional code" note is at the infection code
    ("use-additional-code-note", ["B96.20", "N39.0"], ["N39.0", "B96.20"]),
    # I.C.1.c: "Assign a code from category Z16 ... following the infection code"
    ("resistance-after-infection", ["Z16.11", "N39.0"], ["N39.0", "Z16.11"]),
    # I.C.1.d.1.b: "first a code for the underlying systemic infection, followed by ... R65.2"; organ dysfunction too
    ("severe-sepsis-never-first", ["R65.20", "A41.9", "N17.9"], ["A41.9", "R65.20", "N17.9"]),
    ("severe-sepsis-after-infection", ["N17.9", "R65.20", "A41.9"], ["A41.9", "R65.20", "N17.9"]),
    # I.C.1.d.5.b / c: the site of the postprocedural infection, sepsis following a procedure, then T81.12-
    (
        "septic-shock-never-first",
        ["T81.12XA", "T81.44XA", "T81.41XA"],
        ["T81.41XA", "T81.44XA", "T81.12XA"],
    ),
    ("postprocedural-infection-before-sepsis", ["T81.44XA", "T81.41XA"], ["T81.41XA", "T81.44XA"]),
    (
        "postprocedural-septic-shock-last",
        ["T81.41XA", "T81.12XA", "T81.44XA"],
        ["T81.41XA", "T81.44XA", "T81.12XA"],
    ),
    # I.C.1.g.1.c: "For a patient with acute respiratory failure due to COVID-19, assign code U07.1, and code J96.0-"
    ("covid-before-manifestations", ["J96.00", "U07.1"], ["U07.1", "J96.00"]),
    # I.C.1.g.1.m: "a code(s) for the specific symptom(s) … related to the previous COVID-19 infection … and code
    # U09.9"; dyspnea is a symptom U09.9's own "code first" examples do not list
    ("post-covid-after-condition", ["U09.9", "R06.00"], ["R06.00", "U09.9"]),
    # I.C.19.d.1: "Sequence first the code that reflects the highest degree of burn"
    ("burn-third-degree-first", ["T22.211A", "T24.312A"], ["T24.312A", "T22.211A"]),
    ("burn-second-degree-before-first", ["T23.101A", "T23.201A"], ["T23.201A", "T23.101A"]),
    # I.C.1.d.4: sepsis and a localized infection "such as pneumonia"
    ("sepsis-before-localized-infection", ["J18.9", "A41.9"], ["A41.9", "J18.9"]),
    # I.C.19.e.5.c: underdosing never first; "the medical condition itself should be coded"
    ("underdosing-never-first", ["T38.3X6A", "E11.65"], ["E11.65", "T38.3X6A"]),
    # I.B.14: BMI is secondary to the associated diagnosis ("overweight, obesity")
    ("secondary-only-data-elements", ["Z68.41", "E66.01"], ["E66.01", "Z68.41"]),
    # I.C.15.a.7 (39 weeks) with I.C.15.b.2's "O80, Encounter for full-term uncomplicated delivery"
    ("weeks-of-gestation-never-first", ["Z3A.39", "O80"], ["O80", "Z3A.39"]),
    # I.C.21.c.11: prophylactic removal of breasts due to a genetic susceptibility: Z40 first, then the risk
    ("genetic-susceptibility-never-first", ["Z15.01", "Z40.01"], ["Z40.01", "Z15.01"]),
    # I.C.15.b.5: "A code from category Z37, Outcome of delivery" (the Tabular: "for use as an additional code")
    ("tabular-additional-only", ["Z37.0", "O80"], ["O80", "Z37.0"]),
    # I.C.15.g: "a code from O24.- first, followed by the appropriate diabetes code(s) (E08-E13)"
    ("obstetric-codes-first", ["E11.9", "O24.111"], ["O24.111", "E11.9"]),
    # I.C.2.e.2: Z51.11 first, "The malignancy ... as a secondary diagnosis"
    ("antineoplastic-therapy-first", ["C18.9", "Z51.11"], ["Z51.11", "C18.9"]),
    # I.C.21.c.16: Z00 may only be first-listed
    ("first-listed-only-z-codes", ["E11.9", "Z00.01"], ["Z00.01", "E11.9"]),
    # I.C.2.d: "metastasis to another site ... The secondary site may be the principal or first-listed diagnosis"
    ("metastasis-before-history", ["Z85.3", "C78.00"], ["C78.00", "Z85.3"]),
    # I.C.21.c.8: "The follow-up code is sequenced first, followed by the history code."
    ("follow-up-first", ["Z85.038", "Z92.21", "Z08"], ["Z08", "Z85.038", "Z92.21"]),
    # I.C.21.c.7: "code Z95.1 ... may be used with code Z48.812"; the aftercare code generally first
    ("aftercare-first", ["Z95.1", "Z48.812"], ["Z48.812", "Z95.1"]),
    # I.C.21.c.3: weaning from a ventilator
    ("weaning-respiratory-failure-first", ["Z99.11", "J96.10"], ["J96.10", "Z99.11"]),
    # I.C.21.c.3 (Z79): "continuous use of a prescribed drug ... for the long-term treatment of a condition
    # ... (such as arthritis)": the condition, then the status code
    ("condition-before-status", ["Z79.899", "M19.90"], ["M19.90", "Z79.899"]),
    # I.C.4.a.5.a / b: insulin pump failure first, then the underdosing / the poisoning by insulin
    ("insulin-pump-underdose", ["T38.3X6A", "T85.614A"], ["T85.614A", "T38.3X6A"]),
    ("insulin-pump-overdose", ["T38.3X1A", "T85.614A"], ["T85.614A", "T38.3X1A"]),
    # I.C.19.e.5.b with I.C.20.a.8's "T36.0X1-, Poisoning by penicillins, accidental"; vomiting as manifestation
    ("poisoning-first", ["R11.10", "T36.0X1A"], ["T36.0X1A", "R11.10"]),
    # I.C.19.e.5.d: the toxic effect code first, then its manifestations
    ("toxic-effect-first", ["R51.9", "T58.01XA"], ["T58.01XA", "R51.9"]),
    # I.C.19.e.5.a: tachycardia (one of its examples) as the nature, T36.0X5- (its example) after
    ("adverse-effect-nature-first", ["T36.0X5A", "R00.0"], ["R00.0", "T36.0X5A"]),
    # I.C.9.a.2 / a.3 / a.1
    ("hypertensive-ckd-before-stage", ["N18.31", "I12.9"], ["I12.9", "N18.31"]),
    ("hypertensive-heart-ckd-before-stage", ["N18.4", "I13.0"], ["I13.0", "N18.4"]),
    (
        "hypertensive-heart-ckd-before-heart-failure",
        ["I50.9", "I13.0", "N18.4"],
        ["I13.0", "I50.9", "N18.4"],
    ),
    ("hypertensive-heart-before-heart-failure", ["I50.9", "I11.0"], ["I11.0", "I50.9"]),
    # I.C.4.a.3: Z79 codes are additional; insulin and oral drugs: both codes
    ("diabetes-before-drug-use", ["Z79.4", "E11.9", "Z79.84"], ["E11.9", "Z79.4", "Z79.84"]),
    # I.B.8: the same condition described as both acute and chronic (acute and chronic kidney failure)
    ("acute-before-chronic", ["N18.9", "N17.9"], ["N17.9", "N18.9"]),
]

# (rule id, codes in the order given, finding kind on the code) for selection rules.
FINDING_EXAMPLES = [
    (
        "valid-code",
        ["S52.501", "W01.0XXA"],
        "invalid",
        "S52.501",
    ),  # I.B.2: the 7th character is missing
    ("valid-code", ["E11.2", "Z79.4"], "invalid", "E11.2"),  # I.B.2: a subcategory is not a code
    ("unique-code", ["E11.9", "E11.9"], "duplicate", "E11.9"),  # I.B.12
    ("manifestation-needs-etiology", ["F02.80"], "missing", "F02.80"),  # I.A.13
    # I.C.13.d.2: "A code from category M80, not a traumatic fracture code, should be used …"
    ("osteoporotic-fracture-not-traumatic", ["M80.08XA", "S32.019A"], "not_together", "M80.08XA"),
    # I.C.9.e.5: "If a type 2 AMI is described as NSTEMI or STEMI, only assign code I21.A1."
    ("type-2-infarction-not-type-1", ["I21.A1", "I21.4"], "not_together", "I21.A1"),
    ("weeks-of-gestation-needs-obstetric-code", ["Z3A.39"], "missing", "Z3A.39"),
    (
        "normal-pregnancy-not-with-obstetric",
        ["Z34.01", "O09.511"],
        "not_together",
        "Z34.01",
    ),  # I.C.15.b.1
    (
        "incidental-pregnancy-not-with-obstetric",
        ["Z33.1", "O99.891"],
        "not_together",
        "Z33.1",
    ),  # I.C.15.a.1
    ("antineoplastic-therapy-needs-malignancy", ["Z51.11"], "missing", "Z51.11"),  # I.C.2.e.2
    (
        "history-not-with-current-same-site",
        ["C50.911", "Z85.3"],
        "not_together",
        "Z85.3",
    ),  # I.C.2.d
    ("follow-up-needs-history", ["Z08"], "missing", "Z08"),  # I.C.21.c.8
    (
        "hypertensive-heart-ckd-combination",
        ["I13.0", "I50.22", "N18.4", "I12.9"],
        "not_together",
        "I12.9",
    ),  # I.C.9.a.3: I13 includes the conditions of I11 and I12
    ("recurrence-replaces-follow-up", ["Z08", "C18.9"], "not_together", "Z08"),  # I.C.21.c.8
    (
        "aftercare-status-not-together",
        ["Z43.0", "Z93.0"],
        "not_together",
        "Z43.0",
    ),  # I.C.21.c.7's own example
    (
        "transplant-status-not-with-complication",
        ["T86.20", "Z94.1"],
        "not_together",
        "Z94.1",
    ),  # I.C.21.c.3
    ("adverse-effect-needs-nature", ["T36.0X5A"], "missing", "T36.0X5A"),  # I.C.19.e.5.a
    ("underdosing-intent", ["E11.65", "T38.3X6A"], "missing", "T38.3X6A"),  # I.C.19.e.5.c
    ("severe-sepsis-needs-infection", ["R65.20", "N17.9"], "missing", "R65.20"),  # I.C.1.d.1.b
    (
        "postprocedural-septic-shock-not-r65-21",
        ["T81.41XA", "T81.12XA", "R65.21"],
        "not_together",
        "T81.12XA",
    ),
    ("hypertensive-ckd-needs-stage", ["I12.9"], "missing", "I12.9"),  # I.C.9.a.2
    ("hypertensive-heart-ckd-needs-stage", ["I13.0", "I50.9"], "missing", "I13.0"),  # I.C.9.a.3
    (
        "hypertensive-heart-and-ckd-combination",
        ["I11.9", "I12.9", "N18.30"],
        "not_together",
        "I11.9",
    ),  # I.C.9.a.3
    (
        "hypertensive-combination-not-with-parts",
        ["I13.10", "I10"],
        "not_together",
        "I13.10",
    ),  # I.C.9.a.3
    ("excludes1-note", ["F45.8", "G47.63"], "excludes1", "F45.8"),  # I.A.12.a's own example
]


def _finding(findings, kind, code, rule_id):
    return [f for f in findings if f.kind == kind and f.code == code and f.rule.id == rule_id]


@pytest.mark.parametrize(
    "rule_id, given, expected",
    ORDER_EXAMPLES,
    ids=[f"{r[0]}:{','.join(r[1])}" for r in ORDER_EXAMPLES],
)
def test_sequence_follows_the_guideline_example(codebook, rule_id, given, expected) -> None:
    for code in given:
        assert codebook.lookup(code).reportable, code
    result = sequence(codebook, given)
    assert result.codes == expected
    cited = {m.rule.id for m in result.moves} | {
        r.id for c in given if (r := never_first(codebook, c))
    }
    assert rule_id in cited
    # the list in the expected order breaks no order rule
    assert [f for f in check_order(codebook, expected) if f.kind in ("order", "never_first")] == []


@pytest.mark.parametrize(
    "rule_id, given, kind, code",
    FINDING_EXAMPLES,
    ids=[f"{r[0]}:{','.join(r[1])}" for r in FINDING_EXAMPLES],
)
def test_check_order_reports_the_guideline_example(codebook, rule_id, given, kind, code) -> None:
    found = _finding(check_order(codebook, given), kind, code, rule_id)
    assert found, check_order(codebook, given)
    citation = found[0].citation()
    assert citation.source_type == "guideline" and citation.section == found[0].rule.section
    assert citation.page and citation.quote and citation.fiscal_year == "2025"


def test_acute_before_chronic_only_for_the_same_condition(codebook) -> None:
    # I.B.8 speaks of "the same condition": chronic kidney disease with acute bronchitis keeps its order
    assert sequence(codebook, ["N18.32", "J20.9"]).codes == ["N18.32", "J20.9"]
    assert sequence(codebook, ["K86.1", "K85.90"]).codes == [
        "K85.90",
        "K86.1",
    ]  # acute and chronic pancreatitis


# I.C.6.b.1.a.ii's own example: "encounter for pain management for acute neck pain from trauma is assigned code
# G89.11, Acute pain due to trauma, followed by code M54.2, Cervicalgia"
PAIN_EXAMPLE = "encounter for pain management for acute neck pain from trauma"


def test_pain_control_first_only_when_the_question_says_so(codebook) -> None:
    result = sequence(codebook, ["M54.2", "G89.11"], question=PAIN_EXAMPLE)
    assert result.codes == ["G89.11", "M54.2"]
    assert [m.rule.id for m in result.moves] == ["pain-control-first"]
    assert sequence(codebook, ["M54.2", "G89.11"]).codes == [
        "M54.2",
        "G89.11",
    ]  # another reason: as given
    found = check_order(codebook, ["M54.2", "G89.11"], question=PAIN_EXAMPLE)
    assert [f.rule.id for f in found] == ["pain-control-first"]


def test_therapy_complication_before_the_neoplasm(codebook) -> None:
    # I.C.2.c.2: "the anemia code is sequenced first followed by the appropriate codes for the neoplasm and the
    # adverse effect (T45.1X5-, …)"
    q = "anemia associated with an adverse effect of the administration of chemotherapy"
    result = sequence(codebook, ["C50.919", "T45.1X5A", "D64.81"], question=q)
    assert result.codes == ["D64.81", "C50.919", "T45.1X5A"]
    assert "therapy-complication-before-neoplasm" in [m.rule.id for m in result.moves]
    # I.C.2.c.1: an anemia of the malignancy itself keeps the malignancy first (no therapy named as its cause)
    assert sequence(codebook, ["C50.919", "D63.0"], question="anemia in the malignancy").codes == [
        "C50.919",
        "D63.0",
    ]


def test_an_answer_drops_the_traumatic_fracture_of_an_osteoporotic_patient(codebook) -> None:
    # I.C.13.d.2: M80, not a traumatic fracture code; only the rules marked `drops` take a code out of an answer
    dropped = dropped_codes(codebook, ["S32.019A", "M80.08XA", "W19.XXXA"])
    assert [(c, r.id) for c, r in dropped] == [("S32.019A", "osteoporotic-fracture-not-traumatic")]
    assert (
        dropped_codes(codebook, ["S32.019A", "M81.0"]) == []
    )  # osteoporosis without fracture: nothing
    assert (
        dropped_codes(codebook, ["Z34.00", "O99.89"]) == []
    )  # a not_together rule without `drops`


def test_a_requires_rule_with_index_words_names_what_to_look_up(codebook) -> None:
    # I.C.21.c.8: Z08 "may be used in conjunction with history codes": looked up as History > personal > …
    [(rule, subject)] = missing_lookups(codebook, ["Z08"])
    assert subject == "Z08" and rule.find == "personal history of malignant neoplasm"
    assert missing_lookups(codebook, ["Z08", "Z85.038"]) == []
    # "… history codes to provide the full picture of the healed condition and its treatment": the treatment
    # only when the question names one
    q = "follow-up after completed radiation therapy for breast cancer"
    assert [(r.id, s) for r, s in missing_lookups(codebook, ["Z08", "Z85.3"], q)] == [
        ("follow-up-needs-treatment-history", "Z08")
    ]
    assert missing_lookups(codebook, ["Z08", "Z85.3", "Z92.3"], q) == []
    assert (
        missing_lookups(codebook, ["Z08", "Z85.3"], "follow-up after breast cancer surgery") == []
    )


def test_weeks_of_gestation_with_a_normal_pregnancy(codebook) -> None:
    # I.C.21.c.11, after Z34: "Codes in category Z3A, Weeks of gestation, may be assigned to provide additional
    # information about the pregnancy": looked up when the question gives the weeks, and no finding beside Z34
    q = "routine prenatal visit, first pregnancy, 10 weeks"
    assert [(r.id, s) for r, s in missing_lookups(codebook, ["Z34.01"], q)] == [
        ("normal-pregnancy-weeks-of-gestation", "Z34.01")
    ]
    assert missing_lookups(codebook, ["Z34.01"], "routine prenatal visit, first pregnancy") == []
    assert [f for f in check_order(codebook, ["Z34.01", "Z3A.10"], q) if f.kind == "missing"] == []


def test_encounter_reason_codes(codebook) -> None:
    # I.C.21.c.16: Z codes that may only be first-listed name the reason for the encounter
    assert encounter_reason(codebook, "Z51.11") and encounter_reason(codebook, "Z00.00")
    assert not encounter_reason(codebook, "Z85.3") and not encounter_reason(codebook, "D64.81")


def test_sepsis_with_organ_dysfunction_adds_severe_sepsis(codebook) -> None:
    q = "sepsis and associated acute organ dysfunction"  # I.C.1.d.1.a.iii's own words
    assert [(c, a) for c, _, a in implied_codes(codebook, ["A41.9", "N17.9"], q)] == [
        ("R65.20", "A41.9")
    ]
    assert implied_codes(codebook, ["A41.9", "N17.9"]) == []  # nothing links them: nothing added
    assert (
        implied_codes(codebook, ["A41.9", "N17.9", "R65.21"], q) == []
    )  # septic shock says it already
    assert implied_codes(codebook, ["J18.9", "N17.9"], q) == []  # no systemic infection
    found = check_order(codebook, ["A41.9", "N17.9"], question=q)
    assert [f.rule.id for f in found] == ["sepsis-with-organ-dysfunction-adds-severe-sepsis"]
    # once added, I.C.1.d.1.b's order: the infection, R65.20, the organ dysfunction
    assert sequence(codebook, ["N17.9", "A41.9", "R65.20"]).codes == ["A41.9", "R65.20", "N17.9"]
    # the dysfunction due to another condition: nothing added (I.C.1.d.1.a.iv)
    assert (
        implied_codes(
            codebook, ["A41.9", "N17.9"], "sepsis and acute kidney failure due to dehydration"
        )
        == []
    )
    assert [
        c
        for c, _, _ in implied_codes(
            codebook, ["A41.9", "N17.9"], "acute kidney failure due to sepsis"
        )
    ] == ["R65.20"]


def test_severe_sepsis_without_its_infection_adds_a41_9(codebook) -> None:
    # I.C.1.d.1.b: "If the causal organism is not documented, assign code A41.9 … for the infection."
    assert [(c, a) for c, _, a in implied_codes(codebook, ["R65.20", "N17.9"])] == [
        ("A41.9", "R65.20")
    ]
    assert (
        implied_codes(codebook, ["A40.0", "R65.21"]) == []
    )  # streptococcal sepsis is the infection
    assert implied_codes(codebook, ["T81.44XA", "R65.20"]) == []  # sepsis following a procedure


def test_an_examination_that_found_a_condition_is_with_abnormal_findings(codebook) -> None:
    # IV.P: "a condition/diagnosis that is newly identified or a change in severity of a chronic condition
    # (such as uncontrolled hypertension …) during a routine physical examination"
    q = "general medical examination, uncontrolled hypertension"
    assert [(o, n) for o, n, _ in replaced_codes(codebook, ["Z00.00", "I10"], q)] == [
        ("Z00.00", "Z00.01")
    ]
    q = "routine child health examination, 12 months, newly identified heart murmur"
    assert [(o, n) for o, n, _ in replaced_codes(codebook, ["Z00.129", "R01.1"], q)] == [
        ("Z00.129", "Z00.121")
    ]
    # a condition only noted (I.C.21.c.13: pre-existing conditions as additional codes) keeps "without"
    assert replaced_codes(codebook, ["Z00.00", "I10"], "annual physical, history of HTN") == []
    assert replaced_codes(codebook, ["Z00.00"], "annual physical, nothing new found") == []


def test_every_rule_has_an_example() -> None:
    tested = (
        {r[0] for r in ORDER_EXAMPLES}
        | {r[0] for r in FINDING_EXAMPLES}
        | {
            "insulin-and-oral-both",
            "pain-control-first",
            "sepsis-with-organ-dysfunction-adds-severe-sepsis",
            "severe-sepsis-adds-unspecified-organism",
            "examination-with-abnormal-findings",
            "therapy-complication-before-neoplasm",
            "follow-up-needs-treatment-history",
            "normal-pregnancy-weeks-of-gestation",
        }
    )
    assert {r.id for r in rules().rules} - tested == set()


def test_order_rules_are_not_broken_by_the_right_order(codebook) -> None:
    # I.C.9.a.2 with I.C.4.a: diabetic and hypertensive CKD both before the stage; either may lead
    assert check_order(codebook, ["E11.22", "I12.9", "N18.32"]) == []
    assert check_order(codebook, ["I12.9", "E11.22", "N18.32"]) == []
    # I.C.4.a.3: "both code Z79.4 ... and code Z79.84 ... should be assigned"
    assert check_order(codebook, ["E11.9", "Z79.4", "Z79.84"]) == []
    # I.C.2.e.2: "more than one of these codes may be assigned, in any sequence"
    assert sequence(codebook, ["Z51.0", "Z51.11", "C34.90"]).codes == ["Z51.0", "Z51.11", "C34.90"]
    assert sequence(codebook, ["Z51.11", "Z51.0", "C34.90"]).codes == ["Z51.11", "Z51.0", "C34.90"]


def test_pasted_list_order_question(codebook) -> None:
    check = answer_order_question("E11.22, N18.32, I12.9 — right order?", codebook)
    assert check is not None and check.codes == ["E11.22", "N18.32", "I12.9"]
    order = [f for f in check.findings if f.kind == "order"]
    assert [(f.code, f.others, f.rule.section) for f in order] == [
        ("I12.9", ("N18.32",), "I.C.9.a.2")
    ]
    assert check.suggested == ["E11.22", "I12.9", "N18.32"]
    assert "I.C.9.a.2" in check.text and "Suggested order: E11.22, I12.9, N18.32" in check.text
    assert any(c.section == "I.C.9.a.2" and c.page == 49 for c in check.citations())


def test_an_earlier_rule_wins_a_conflict(codebook) -> None:
    # I.C.4.a.5.b puts T85.6- before the poisoning that I.C.19.e.5.b would otherwise put first
    result = sequence(codebook, ["T38.3X1A", "T85.614A"])
    assert result.codes == ["T85.614A", "T38.3X1A"]
    assert [m.rule.section for m in result.moves] == ["I.C.4.a.5.b"]
    # a poisoning's manifestation listed under the T36-T50 "code first" note still follows the T code
    assert sequence(codebook, ["K29.70", "T39.011A"]).codes == ["T39.011A", "K29.70"]


def test_usually_rules_can_be_left_out(codebook) -> None:
    # I.C.1.d.4: localized infection first when sepsis developed after admission
    assert sequence(codebook, ["J18.9", "A41.9"], strengths=("must",)).codes == ["J18.9", "A41.9"]
    found = _finding(
        check_order(codebook, ["J18.9", "A41.9"]),
        "order",
        "A41.9",
        "sepsis-before-localized-infection",
    )
    assert found and found[0].severity == "check"


def test_never_first_code_alone_is_reported(codebook) -> None:
    result = sequence(codebook, ["W01.0XXA", "Y92.009"])
    assert result.codes == ["W01.0XXA", "Y92.009"]
    assert [f.rule.section for f in result.notes] == ["I.C.20.a.6"]


def test_selectors_agree_with_the_tabular(codebook) -> None:
    """The 5th-or-6th character reading of I.C.19.e.5 against every T36-T50 title of the year."""
    table = {r.id: r for r in rules().rules}
    adverse = table["adverse-effect-nature-first"].other
    under = table["underdosing-never-first"].subject
    poison = table["poisoning-first"].subject
    seen = 0
    for code in codebook.order:
        if not ("T36" <= code[:3] <= "T50") or not codebook.is_leaf(code):
            continue
        title = codebook.nodes[code].title
        seen += 1
        assert adverse.matches(codebook, code) == title.startswith("Adverse effect"), code
        assert under.matches(codebook, code) == title.startswith("Underdosing"), code
        assert poison.matches(codebook, code) == title.startswith("Poisoning"), code
    assert seen > 1000
    manifestation = table["manifestation-never-first"].subject
    assert manifestation.matches(codebook, "G63") and manifestation.matches(codebook, "M36.0")
    assert not manifestation.matches(codebook, "B95.62") and not manifestation.matches(
        codebook, "G30.9"
    )
    additional = table["tabular-additional-only"].subject
    for code in ("B95.2", "Z16.11", "Z37.0", "W01.0XXA", "Y90.8"):
        assert additional.matches(codebook, code), code
    assert not additional.matches(codebook, "N39.0")
    data = table["secondary-only-data-elements"].subject
    # I.B.14 and I.C.21.c.17's own SDOH example (Z59.41, Food insecurity)
    for code in ("Z68.41", "R40.2142", "R29.742", "Y90.8", "Z59.41", "Z28.310"):
        assert data.matches(codebook, code), code
    first_only = table["first-listed-only-z-codes"].subject
    assert first_only.matches(codebook, "Z00.00") and not first_only.matches(codebook, "Z00.6")
    assert first_only.matches(codebook, "Z52.3") and not first_only.matches(codebook, "Z52.9")


@pytest.mark.parametrize(
    "text, codes",
    [
        ("E11.22, N18.32, I12.9 — right order?", ["E11.22", "N18.32", "I12.9"]),
        ("e1122 n1832 i129", ["E11.22", "N18.32", "I12.9"]),
        ("is Z51.11 then C50.911 the correct sequence", ["Z51.11", "C50.911"]),
        (
            "QA171 and E11.9 - which is first?",
            ["QA1.71", "E11.9"],
        ),  # FY2027's letter in the 2nd position
        ("What is the code for E11.22?", None),
        ("type 2 diabetes with CKD stage 3a and BMI 42", None),
        (
            "patient with E11.22 who was seen last week for a review of glucose logs and N18.32",
            None,
        ),
    ],
)
def test_parse_order_question(text, codes) -> None:
    assert parse_order_question(text) == codes


def test_order_items_keeps_the_objects(codebook) -> None:
    from codedesk.retrieval.schema import CodeItem

    items = [
        CodeItem(code=c, description=codebook.title(c), billable=True)
        for c in ("N18.31", "I12.9", "N18.31")
    ]
    ordered, moves = order_items(codebook, items)
    assert [i.code for i in ordered] == ["I12.9", "N18.31"] and ordered[0] is items[1]
    assert [m.rule.section for m in moves] == ["I.C.9.a.2"]


def test_not_an_order_question(codebook) -> None:
    assert (
        answer_order_question("What is the ICD-10-CM code for Other hydronephrosis?", codebook)
        is None
    )


def test_rule_file_is_checked(tmp_path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text(
        '[[rule]]\nid = "x"\nkind = "sideways"\nstrength = "must"\nsection = "I"\ntitle = "t"\n'
        'page = 1\nquote = "q"\nmessage = "m"\n'
    )
    with pytest.raises(ValueError):
        load_rules(bad)
