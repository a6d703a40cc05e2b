"""The Alphabetic Index road (codedesk/retrieval/alpha_index.py) over the real FY2025 Index to Diseases and Injuries,
completed and verified in the real Tabular Lists. Questions are the Index's own entries."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from codedesk.cms.codebook import load_codebook
from codedesk.retrieval.alpha_index import (
    DATA_PATH,
    AlphaIndex,
    cover,
    load_alpha_index,
    load_vocabulary,
)
from codedesk.retrieval.routing import DATA_PATH as ROUTING_PATH
from codedesk.retrieval.routing import route


@pytest.fixture(scope="module")
def alpha(fy2025_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AlphaIndex:
    return load_alpha_index(
        fy2025_dir / "icd10cm-index-2025.xml", tmp_path_factory.mktemp("alpha-cache")
    )


@pytest.fixture(scope="module")
def book2025(fy2025_dir: Path):
    return load_codebook(fy2025_dir / "icd10cm-tabular-April-2025.xml", None, "2025")


def first(alpha: AlphaIndex, book, question: str):
    hits = alpha.search(question, book)
    assert hits, question
    return hits[0]


def test_index_phrasing_follows_subterms_below_due_to(alpha, codebook) -> None:
    hit = first(alpha, codebook, "Chyluria, due to, Wuchereria")
    assert hit.code == "B74.0"
    assert hit.path == "Chyluria (nonfilarial) > due to > Wuchereria (bancrofti)"
    assert (
        set(hit.explained) == {"chyluria", "wuchereria"} and not hit.unexplained and not hit.assumed
    )
    cite = hit.citation()
    assert cite.source_type == "index" and cite.code == "B74.0" and "Wuchereria" in cite.section


def test_main_term_code_when_no_subterm_fits_and_nonessential_modifiers_not_required(
    alpha, codebook
) -> None:
    hit = first(alpha, codebook, "Chyluria")
    assert hit.code == "R82.0" and hit.coverage == 1.0
    assert (
        first(alpha, codebook, "Abasia").code == "F44.4"
    )  # "(-astasia) (hysterical)" not required
    said = first(alpha, codebook, "hysterical abasia")  # … but counted when the question says it
    assert said.code == "F44.4" and "hysterical" in said.explained


def test_a_subterm_not_said_falls_back_to_the_default_with_the_assumption_named(
    alpha, codebook
) -> None:
    hit = first(alpha, codebook, "Thrombosis, mural")
    assert hit.code == "I82.90"
    assert any("default" in a for a in hit.assumed)
    assert first(alpha, codebook, "Thrombosis, mural, old").code == "I51.3"


def test_with_convention_matches_the_condition_named_anywhere(alpha, codebook) -> None:
    # Anemia > due to (in) (with) > chronic kidney disease, whichever order the question says it in
    assert first(alpha, codebook, "Anemia in chronic kidney disease").code == "D63.1"
    assert first(alpha, codebook, "chronic kidney disease with anemia").code == "D63.1"
    assert (
        first(alpha, codebook, "CKD with anemia").code == "D63.1"
    )  # abbreviations from the vocabulary


def test_see_reference_is_followed(alpha, codebook) -> None:
    hit = first(alpha, codebook, "Milky urine")
    assert hit.code == "R82.0"
    assert hit.path.startswith("Milky urine → Chyluria")


def test_see_also_is_not_taken_when_the_entry_itself_answers(alpha, codebook) -> None:
    # Pick's > disease or syndrome (brain) > with behavioral disturbance has its own code and a "see also"
    hit = first(alpha, codebook, "Pick's disease of brain with behavioral disturbance")
    assert hit.code == "G31.01" and "→" not in hit.path


def test_implied_personal_history(alpha, codebook) -> None:
    hit = first(alpha, codebook, "history of breast cancer")
    assert hit.code == "Z85.3"
    assert any("personal" in a for a in hit.assumed)
    assert first(alpha, codebook, "family history of breast cancer").code == "Z80.3"


def test_without_is_not_with(alpha, codebook) -> None:
    hit = first(
        alpha, codebook, "encounter for routine adult health examination without abnormal findings"
    )
    assert hit.code == "Z00.00"
    assert first(alpha, codebook, "type 2 diabetes without complications").code == "E11.9"
    assert first(alpha, codebook, "type 2 diabetes with complication").code == "E11.8"


def test_number_in_a_range_subterm(alpha, codebook) -> None:
    assert first(alpha, codebook, "BMI 42, adult").code == "Z68.41"


def test_a_range_subterm_followed_by_its_unit_holds_the_number_said(
    tmp_path: Path, codebook
) -> None:
    # Index to External Causes, as printed: Blood alcohol level > 120-199mg/100ml Y90.6
    xml = tmp_path / "index.xml"
    xml.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index><version>2025</version><title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>
<letter><title>B</title>
<mainTerm><title>Blood alcohol level</title><code>Y90.9</code>
  <term level="1"><title>100-119mg/100ml</title><code>Y90.5</code></term>
  <term level="1"><title>120-199mg/100ml</title><code>Y90.6</code></term>
</mainTerm>
</letter></ICD10CM.index>""",
        encoding="utf-8",
    )
    alpha = load_alpha_index(xml)
    assert first(alpha, codebook, "blood alcohol level 150 mg/100 ml").code == "Y90.6"


def test_dash_code_completed_with_seventh_character(alpha, codebook) -> None:
    hit = first(alpha, codebook, "fracture of neck of right femur, initial encounter, closed")
    assert hit.printed == "S72.00-" and hit.code == "S72.001A"
    assert not hit.assumed and "initial" in hit.explained
    assumed = first(alpha, codebook, "pacemaker malfunction")
    assert assumed.code == "T82.119A"
    assert any("7th character" in a for a in assumed.assumed)


def test_fy2025_code_that_became_a_header_is_completed_in_the_year_answered(
    alpha, codebook, book2025
) -> None:
    # The FY2025 Index prints B88.0 for Acariasis: reportable in FY2025, a header in FY2026
    assert book2025.lookup("B88.0").reportable
    assert not codebook.lookup("B88.0").reportable
    old = first(alpha, book2025, "Acariasis")
    assert old.code == "B88.0" and old.fiscal_year == "2025"
    new = first(alpha, codebook, "Acariasis")
    assert new.printed == "B88.0" and new.code.startswith("B88.0") and new.code != "B88.0"
    assert codebook.lookup(new.code).reportable and new.assumed  # which subcode: said to check
    for hit in alpha.search("Acariasis", codebook):
        assert codebook.lookup(hit.code).reportable


def test_every_code_is_reportable_in_the_book_answered(alpha, codebook) -> None:
    for question in (
        "Anemia",
        "Fracture, femur",
        "Diabetes, type 2, with, chronic kidney disease",
        "History",
    ):
        for hit in alpha.search(question, codebook):
            assert codebook.lookup(hit.code).reportable, (question, hit.code)


def test_cover_adds_a_second_condition(alpha, codebook) -> None:
    hits = alpha.search("type 2 diabetes with CKD stage 3b", codebook)
    assert {"E11.22", "N18.32"} <= {h.code for h in cover(hits)}


def test_official_schema_fields_manif_and_subcat_are_read(tmp_path: Path, codebook) -> None:
    # The official file prints the manifestation code in brackets (<manif>) and "see category" (<seecat>):
    # these entries are written in that schema from entries of the FY2025 Index.
    xml = tmp_path / "index.xml"
    xml.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index><version>2025</version><title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>
<letter><title>P</title>
<mainTerm><title>Pick's</title>
  <term level="1"><title>disease or syndrome <nemod>(brain)</nemod></title><code>G31.01</code>
    <term level="2"><title>with behavioral disturbance</title><code>G31.01</code><manif>F02.81-</manif></term>
  </term>
</mainTerm>
<mainTerm><title>Pyarthrosis</title><seecat>M00</seecat></mainTerm>
</letter></ICD10CM.index>""",
        encoding="utf-8",
    )
    alpha = load_alpha_index(xml)
    hit = first(alpha, codebook, "Pick's disease with behavioral disturbance")
    assert hit.code == "G31.01" and hit.manifestation and hit.manifestation.startswith("F02.81")
    assert first(alpha, codebook, "Pyarthrosis").code.startswith("M00.")


def test_vocabulary_entries_have_sources() -> None:
    vocab = load_vocabulary()
    assert "with" in vocab.connectors and vocab.implied["history"][0] == "personal"
    for path in (DATA_PATH, ROUTING_PATH):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for kind, entries in data.items():
            for entry in entries:
                assert entry.get("source"), (path.name, kind, entry)


def test_route_by_code_system() -> None:
    # a status in a diagnosis question is no procedure to code
    assert route("end stage renal disease on hemodialysis with hypertension", True, 0.83) == route(
        "end stage renal disease on hemodialysis with hypertension", True, 0.83
    )
    r = route("end stage renal disease on hemodialysis with hypertension", True, 0.83)
    assert r.diagnosis and not r.procedure
    assert not route("laparoscopic appendectomy", True, 0.0).diagnosis
    both = route(
        "dx and ICD-10-PCS code for laparoscopic appendectomy for acute appendicitis", True, 0.5
    )
    assert both.diagnosis and both.procedure and "both" in both.why
    assert route("ICD-10-PCS code for hemodialysis", True, 0.9).procedure


def test_on_enters_long_term_drug_therapy_and_dependence(alpha, codebook) -> None:
    """ "on <drug>" is Long-term (current) drug therapy > <drug>, "on <machine>" Dependence > on > <machine>
    (Index main terms; I.C.21.c.3), though the question never says "long-term" or "dependence"."""
    hits = alpha.search("breast cancer, on tamoxifen", codebook)
    assert any(h.code == "Z79.810" and h.path.startswith("Long-term") for h in hits)
    hits = alpha.search("end stage renal disease on hemodialysis", codebook)
    assert any(h.code == "Z99.2" and h.path.startswith("Dependence") for h in hits)
    assert any(
        h.code == "Z79.82"
        for h in alpha.search("coronary artery disease, on daily aspirin", codebook)
    )
    # the cue enters a main term only for the words said after it
    assert not any(
        h.code.startswith(("Z79", "Z99")) for h in alpha.search("pain on urination", codebook)
    )
    assert not any(
        h.code.startswith("Z79") for h in alpha.search("aspirin allergy, on exam", codebook)
    )


def test_a_drug_the_index_does_not_list_is_read_as_its_table_of_drugs_class(
    alpha, codebook, fy2025_dir, tmp_path_factory
) -> None:
    """Long-term drug therapy lists classes; the Table of Drugs says which class a drug codes to
    (Metformin -> T38.3 "… insulin and oral hypoglycemic [antidiabetic] drugs" -> Long-term > oral >
    hypoglycemic Z79.84); a drug whose class has no subterm is "drug, specified NEC" (Z79.899)."""
    from codedesk.retrieval.tables import load_table_searcher

    tables = load_table_searcher(
        fy2025_dir / "icd10cm-drug-2025.xml",
        None,
        codebook,
        tmp_path_factory.mktemp("tables-cache"),
    )
    assert "oral hypoglycemic" in tables.drug_class("metformin")
    assert tables.drug_class("warfarin").endswith(
        "anticoagulants"
    )  # the subcategory T45.51, not T45.5
    hits = alpha.search("type 2 diabetes, on metformin", codebook, drug_class=tables.drug_class)
    z79 = [h for h in hits if h.code.startswith("Z79")]
    assert [h.code for h in z79] == ["Z79.84"] and z79[0].cued and "metformin" in z79[0].explained
    assert any("Table of Drugs class" in a for a in z79[0].assumed)
    assert "Z79.01" in [
        h.code
        for h in alpha.search(
            "atrial fibrillation on warfarin", codebook, drug_class=tables.drug_class
        )
    ]
    assert "Z79.899" in [
        h.code
        for h in alpha.search("hypertension on lisinopril", codebook, drug_class=tables.drug_class)
    ]
    # conditions lead, the status path follows (I.C.21.c.3)
    assert [
        h.code for h in cover(alpha.search("end stage renal disease on hemodialysis", codebook))
    ][-1] == "Z99.2"


def test_see_references_name_the_main_term_in_the_plural_and_two_levels_in_one_part(alpha) -> None:
    # "see Complications, …": the main term is printed "Complication (s) (from) (of)"; "cardiovascular device or
    # implant" names the subterm "cardiovascular device, graft or implant"
    node = alpha.resolve("Complications, cardiovascular device or implant, electronic")
    assert node is not None and alpha.entries[node].printed == "electronic"
    # "Complication, coronary artery (bypass) graft": the subterm "coronary artery (bypass)", its first words
    node = alpha.resolve("Complication, coronary artery (bypass) graft")
    assert node is not None and alpha.entries[node].printed == "coronary artery (bypass)"
    # "Pregnancy, complicated by, preterm labor": "complicated by", not "complicated NOS"
    node = alpha.resolve("Pregnancy, complicated by, preterm labor")
    assert node is not None and alpha.entries[node].printed == "preterm labor"


def test_a_following_subterm_needs_the_question_to_say_what_came_first(alpha, book2025) -> None:
    # Hemiplegia > following > cerebrovascular disease > cerebral infarction I69.35- (I.C.9.d): a current stroke
    # with hemiplegia is no sequela
    assert first(alpha, book2025, "hemiplegia following cerebral infarction").code.startswith(
        "I69.35"
    )
    assert first(alpha, book2025, "residual hemiplegia after stroke").code.startswith("I69.35")
    codes = [h.code for h in alpha.search("acute cerebral infarction with hemiplegia", book2025)]
    assert not codes[0].startswith("I69")


def test_the_dominant_side_defaults_of_the_guidelines(alpha, book2025) -> None:
    # I.C.6.a, I.C.9.d.1: the left side affected is the non-dominant one, the right side the dominant one, unless
    # the record says otherwise
    assert first(alpha, book2025, "left hemiplegia").code == "G81.94"
    assert first(alpha, book2025, "right hemiplegia").code == "G81.91"
    assert first(alpha, book2025, "left hemiplegia, dominant side").code == "G81.92"
    assert first(alpha, book2025, "hemiplegia following stroke, left side").code == "I69.354"


def test_a_codeless_subterm_whose_subterms_all_code_the_same_codes_it(alpha, book2025) -> None:
    # Disorder > attention-deficit hyperactivity > combined > presentation F90.2, type F90.2
    assert (
        first(alpha, book2025, "attention-deficit hyperactivity disorder, combined").code == "F90.2"
    )


def test_a_parents_nonessential_words_need_not_be_said_again(alpha, book2025) -> None:
    # Degeneration > macula, macular (acquired) (age-related) (senile) > dry age-related H35.31-; the stage is
    # not said, so the 7th character is "stage unspecified"
    assert first(alpha, book2025, "dry macular degeneration, bilateral").code == "H35.3130"


def test_a_subterm_one_level_down_says_what_the_code_above_left(alpha, book2025) -> None:
    # Shock > anaphylactic T78.2 > due to food (nonpoisonous) > peanuts T78.01
    assert first(alpha, book2025, "anaphylactic shock due to peanuts").code == "T78.01XA"
