"""How procedure questions are read: coder words to PCS vocabulary and axis values, number ranges,
Index subterm matching, intent, CPT redaction. Pure functions, no files."""

from __future__ import annotations

from codedesk.retrieval.procedures import (
    _level_matches,
    _ranges,
    _split_approach,
    doc_tokens,
    intent,
    redact_cpt,
    rewrite_question,
)

APPROACHES = [
    "Via Natural or Artificial Opening With Percutaneous Endoscopic Assistance",
    "Via Natural or Artificial Opening Endoscopic",
    "Via Natural or Artificial Opening",
    "Percutaneous Endoscopic",
    "Percutaneous",
    "Open",
    "External",
]


def test_approach_words_become_axis_values() -> None:
    text, named = rewrite_question("laparoscopic cholecystectomy")
    assert named == {"4"} and "app4" in text and "laparoscopic" not in text
    assert rewrite_question("robotic-assisted prostatectomy")[1] == {"4"}
    assert rewrite_question("open appendectomy")[1] == {"0"}
    # "Opening" is not the Open approach; a scope through a natural opening is approach 8.
    assert rewrite_question("via natural or artificial opening endoscopic")[1] == {"8"}
    text, named = rewrite_question("colonoscopy with polypectomy")
    assert named == {"8"} and "colonoscopy" in text  # the noun stays for the Index
    assert rewrite_question("closed reduction of the left wrist")[1] == {"X"}
    assert rewrite_question("open wound of the scalp")[1] == set()  # a diagnosis, not an approach


def test_coder_words_in_pcs_vocabulary() -> None:
    text, named = rewrite_question("PTCA of the LAD")
    assert "coronary angioplasty" in text and named == {"3"}
    assert "intraluminal device" in rewrite_question("two drug-eluting stents")[0]
    assert "synthetic substitute" in rewrite_question("hernia repair with mesh")[0]
    assert "herniorrhaphy" in rewrite_question("hernia repair with mesh")[0]
    text = rewrite_question("open inguinal hernia repair without mesh")[0]
    assert "synthetic" not in text and "mesh" not in text  # what was not used is not asked for
    assert "less than 6" in rewrite_question("dialysis under 6 hours")[0]
    assert (
        "excision diagnostic" in rewrite_question("needle biopsy of the liver")[0]
        or "biopsy diagnostic" in rewrite_question("needle biopsy of the liver")[0]
    )
    assert "excision" in rewrite_question("wedge resection of the lung")[0]
    assert "extirpation matter" in rewrite_question("removal of a kidney stone")[0]
    assert "excision resection" in rewrite_question("removal of the gallbladder")[0]
    assert "removal" in rewrite_question("removal of a ureteral stent")[0]  # a device: Removal


def test_hcpcs_questions_keep_their_words() -> None:
    text, named = rewrite_question("syringe with needle, box of 100", approaches=False)
    assert named == set() and "needle" in text and "per 100" in text
    assert "influenza virus vaccine" in rewrite_question("giving a flu shot", approaches=False)[0]


def test_number_ranges_in_titles_and_questions() -> None:
    assert _ranges("Respiratory Ventilation, 24-96 Consecutive Hours") == [(24.0, 96.0, "hour")]
    ((lo, hi, unit),) = _ranges("Intermittent, Less than 6 Hours Per Day")
    assert lo == 0.0 and 5.9 < hi < 6 and unit == "hour"
    ((lo, hi, _),) = _ranges("Continuous, Greater than 18 hours Per Day")
    assert 18 < lo < 18.1 and hi == float("inf")
    assert _ranges("for 48 consecutive hours") == [(48.0, 48.0, "hour")]


def test_titles_lose_their_approach_segment() -> None:
    assert _split_approach(
        "Resection of Appendix, Percutaneous Endoscopic Approach", APPROACHES
    ) == ("Resection of Appendix", True)
    assert _split_approach(
        "Excision of Stomach, Via Natural or Artificial Opening Endoscopic, Diagnostic", APPROACHES
    ) == ("Excision of Stomach, Diagnostic", True)
    assert _split_approach("Plain Radiography of Chest", APPROACHES) == (
        "Plain Radiography of Chest",
        False,
    )


def test_index_subterms() -> None:
    q = set(doc_tokens("excisional debridement of the left foot"))
    assert _level_matches("Excisional", frozenset(doc_tokens("Excisional")), q)
    assert not _level_matches("Non-excisional", frozenset(doc_tokens("Non-excisional")), q)
    total = set(doc_tokens("total knee replacement"))
    assert _level_matches("Partial or total", frozenset(doc_tokens("Partial or total")), total) == {
        "total"
    }
    assert not _level_matches(
        "Products of Conception",
        frozenset(doc_tokens("Products of Conception")),
        set(doc_tokens("manually assisted delivery")),
    )


def test_intent_without_data() -> None:
    assert intent("ICD-10-PCS: open appendectomy")[0] == "pcs"
    assert intent("HCPCS code for a quad cane")[0] == "hcpcs"
    assert intent("ondansetron injection 4 mg")[0] == "hcpcs"
    assert intent("0DTJ4ZZ")[0] == "pcs"
    assert intent("is E0601 covered")[0] == "hcpcs"
    assert intent("history of appendectomy")[0] is None
    assert intent("low birth weight newborn, 1000-1249 grams")[0] is None
    assert intent("E11.22 with CKD stage 3") == (None, 0.0)


def test_cpt_numbers_are_not_shown() -> None:
    assert (
        redact_cpt("(list separately in addition to 77065 or 77066)")
        == "(list separately in addition to [CPT code] or [CPT code])"
    )
    assert (
        redact_cpt("panel other than codes 80002-80019, g0058")
        == "panel other than codes [CPT code], g0058"
    )
    assert (
        redact_cpt("Injection, heparin sodium, per 10000 units")
        == "Injection, heparin sodium, per 10000 units"
    )
