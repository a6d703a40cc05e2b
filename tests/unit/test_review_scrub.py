"""PHI scrubbing: the dev corpus (tuned on: every identifier caught, every term kept), the held-out test
corpus (a floor, never tuned on) and targeted cases."""

from __future__ import annotations

import json
import re

import pytest

from codedesk.phi.report import DEV2_CORPUS, DEV_CORPUS, TEST_CORPUS, evaluate, identifier_survives
from codedesk.phi.scrub import normalize, scrub


def test_dev_corpus_identifiers_caught_and_clinical_terms_kept() -> None:
    report = evaluate(DEV_CORPUS)
    print("\n" + report.summary("dev"))
    assert report.identifiers_total >= 300 and report.clinical_total >= 600
    assert report.missed == [], f"identifiers left in the text: {report.missed}"
    assert report.dropped == [], f"clinical terms removed: {report.dropped}"


def test_held_out_corpus_floor() -> None:
    """The test part is never tuned on; this only stops a regression below the measured numbers."""
    report = evaluate(TEST_CORPUS)
    print("\n" + report.summary("test"))
    assert report.identifiers_total >= 400 and report.clinical_total >= 600
    assert report.caught_ratio >= 0.99
    assert report.kept_ratio >= 0.99
    assert report.ms_per_question < 20


@pytest.mark.parametrize(
    ("text", "identifiers"),
    [  # issue 14: each of these was stored word for word
        ("PATRICIA WHITFIELD has type 2 diabetes with CKD stage 4", ["PATRICIA", "WHITFIELD"]),
        ("Whitfield Patricia seen today for E11.22", ["Whitfield", "Patricia"]),
        ("Nguyen Thi Lan, 90+ y/o, dementia", ["Nguyen", "Thi", "Lan", "90"]),
        ("Mr. O'BRIEN-McCARTHY fell at home, W19.XXXA", ["BRIEN", "McCARTHY"]),
        ("ninety-three year old with sepsis A41.9", ["ninety"]),
        ("aged one hundred and two, CHF I50.9", ["hundred"]),
        ("dob march 3rd 1931, COPD J44.9", ["march", "3rd", "1931"]),
        ("lives at 12 Oak Lane Springfield IL 62704, HTN I10", ["Oak", "Springfield", "62704"]),
        ("Priscilla has CKD stage 4", ["Priscilla"]),
        ("Pieter van den Berg with Crohn's disease K50.90", ["Pieter", "Berg"]),
        ("seen the 3rd of March, MARCH 3RD and on the 14th", ["3rd", "March", "MARCH", "14th"]),
    ],
)
def test_identifiers_in_any_case_order_and_spelling(text: str, identifiers: list[str]) -> None:
    out = scrub(text).text
    for identifier in identifiers:
        assert not identifier_survives(identifier, out), out


@pytest.mark.parametrize(
    "text",
    [
        "CKD stage 4 with type 2 DM: E11.22 and N18.32 in FY2027?",
        "QA171 and T36.0X1A",
        "Will E11.22 be valid?",
        "May I code Cushing's and Addison together?",
        "Graves disease E05.00",
        "Down syndrome with Alzheimer's",
        "Bell palsy vs Ramsay Hunt",
        "HODGKIN LYMPHOMA C81.10 PLUS DOWN SYNDROME",
        "Austin Flint murmur",
        "What changed in the April 1 update?",
        "question about 99213 E/M",
        "Meniere's disease H81.09",
    ],
)
def test_clinical_sentences_unchanged(text: str) -> None:
    assert scrub(text).text == text


def test_scrub_is_idempotent_on_the_corpus() -> None:
    for line in DEV_CORPUS.read_text().splitlines() + TEST_CORPUS.read_text().splitlines():
        once = scrub(json.loads(line)["question"])
        twice = scrub(once.text)
        assert twice.text == once.text
        assert twice.found == {}


@pytest.mark.parametrize(
    "code",
    [
        "E11.22",
        "T39.1X1A",
        "S72.001A",
        "0DTJ4ZZ",
        "G20.A1",
        "W19.XXXA",
        "Z79.4",
        "E1122",
        "C81.94",
        "H35.3211",
        "M80.08XA",
        "99214",
        "G0438",
        "J1815",
        "F32.A",
        "N18.31",
        "S06.0X0A",
        "V43.52XA",
    ],
)
def test_codes_survive(code: str) -> None:
    text = f"pt Maria Lopez 3/4/1950, is {code} right for this?"
    out = scrub(text).text
    assert code in out
    assert "Lopez" not in out and "1950" not in out


@pytest.mark.parametrize(
    "term",
    [
        "Type 2",
        "stage 3",
        "in FY2025",
        "Crohn's disease",
        "Parkinson's",
        "Hodgkin lymphoma",
        "Down syndrome",
        "COPD",
        "CKD",
        "Jones fracture",
        "Bell's palsy",
        "Barrett's esophagus",
        "Guillain-Barre syndrome",
        "Salter-Harris type II",
        "Ramsay Hunt syndrome",
        "E. coli",
        "BP 140/90",
    ],
)
def test_clinical_terms_survive(term: str) -> None:
    assert term in scrub(f"Coding question about {term} for my patient, which code?").text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("92-year-old with COPD", "[AGE 90+]-year-old with COPD"),
        ("a 101 yo female", "a [AGE 90+] yo female"),
        ("age 90, CKD 4", "age [AGE 90+], CKD 4"),
        ("she is 95; E11.9", "she is [AGE 90+]; E11.9"),
        ("89-year-old with COPD", "89-year-old with COPD"),
        ("45 year old male", "45 year old male"),
    ],
)
def test_ages_over_89_only(text: str, expected: str) -> None:
    assert scrub(text).text == expected


@pytest.mark.parametrize(
    "date",
    [
        "03/14/1952",
        "3-14-52",
        "2024-06-01",
        "March 14, 1952",
        "14 Mar 2024",
        "Jan 3rd 2025",
        "14-Mar-2024",
        "12.02.2023",
        "October 3, 2024",
    ],
)
def test_dates_any_format(date: str) -> None:
    result = scrub(f"DOS {date} for sepsis A41.9")
    assert result.text == "DOS [DATE] for sepsis A41.9"
    assert result.found == {"date": 1}


def test_code_set_dates_are_not_patient_dates() -> None:
    assert (
        scrub("What changed in the April 1 update?").text == "What changed in the April 1 update?"
    )
    assert scrub("codes effective October 1, 2024").text == "codes effective October 1, 2024"
    assert (
        scrub("DOS on or after 10/1/2024: FY2025 codes?").text
        == "DOS on or after 10/1/2024: FY2025 codes?"
    )
    assert scrub("DOS 2024 or 2025?").text == "DOS 2024 or 2025?"  # a bare year of service is kept
    assert (
        scrub("DOB 1931, seen 10/1/2024").text == "DOB [DATE], seen [DATE]"
    )  # not a code-set boundary


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("MBI 1EG4-TE5-MK73", "[MBI]"),
        ("SSN 123-45-6789", "[SSN]"),
        ("MRN: A7734521", "[MRN]"),
        ("call (555) 867-5309", "[PHONE]"),
        ("fax 312-555-0147", "[FAX]"),
        ("jane.doe@example.com", "[EMAIL]"),
        ("https://portal.example.org/p/1", "[URL]"),
        ("from 10.0.12.45", "[IP]"),
        ("42 Elm Street", "[ADDRESS]"),
        ("zip 60302", "[ZIP]"),
        ("VIN 1HGCM82633A004352", "[VEHICLE_ID]"),
        ("serial number PJN123456H", "[DEVICE_ID]"),
        ("member ID W123456789", "[MEMBER_ID]"),
        ("Dr. Patel", "[NAME]"),
        ("patient named Robert Lee", "[NAME]"),
        ("my patient Fatima Al-Sayed", "[NAME]"),
        ("Mrs. O'Brien", "[NAME]"),
    ],
)
def test_identifier_kinds(text: str, tag: str) -> None:
    out = scrub(text).text
    assert tag in out, out


def test_found_counts_kinds_and_summary() -> None:
    result = scrub("Pt John Smith DOB 03/14/1952, MRN 00482913, call 312-555-0147")
    assert result.found == {"name": 1, "date": 1, "mrn": 1, "phone": 1}
    assert result.summary() == "date:1,mrn:1,name:1,phone:1"
    assert result.total == 4


def test_repeated_name_is_removed_everywhere() -> None:
    out = scrub("Patient Garcia has CKD 3a. Garcia's eGFR is 52.").text
    assert "Garcia" not in out
    assert "CKD 3a" in out and "eGFR is 52" in out


def test_public_reference_urls_are_kept() -> None:
    assert (
        scrub("see https://www.cms.gov/medicare/coding for the tables").text.count("cms.gov") == 1
    )


def test_identifier_survives_checks_every_word() -> None:
    assert identifier_survives("John Smith", "pt [NAME] Smith has E11.9")
    assert not identifier_survives("92", "[AGE 90+]-year-old")


def test_normalize_folds_case_punctuation_and_keeps_codes() -> None:
    assert (
        normalize("Code for  Type 2 DM with CKD stage 3 — E11.22?")
        == "code for type 2 dm with ckd stage 3 e11.22"
    )
    assert normalize("pt [NAME], DOB [DATE]: E11.9!") == "pt [name] dob [date] e11.9"


# --- issue: Safe Harbor classes the held-out part showed missing (each a pattern class, not a string) ---


def test_dev2_corpus_from_the_test_generator() -> None:
    """More dev data from the held-out part's generator with another seed (build_phi_dev_corpus.py)."""
    report = evaluate(DEV2_CORPUS)
    print("\n" + report.summary("dev2"))
    assert report.identifiers_total >= 400 and report.clinical_total >= 600
    assert report.caught_ratio >= 0.995, report.missed
    assert report.kept_ratio >= 0.99, report.dropped


@pytest.mark.parametrize(
    "phone",
    [
        "664/768-8543",
        "+1 664 768 8543",
        "1-664-768-8543",
        "(664)768-8543",
        "664.768.8543",
        "+1-664-768-8543",
        "664 768 8543 ext 204",
    ],
)
def test_phone_numbers_in_any_grouping(phone: str) -> None:
    out = scrub(f"cell {phone} — CVA: I63.9").text
    assert out == "cell [PHONE] — CVA: I63.9", out
    assert scrub("call 6647688543 about E11.9").text == "call [PHONE] about E11.9"
    assert (
        scrub("FY2026 I95.1 368/943-3189").text == "FY2026 I95.1 [PHONE]"
    )  # the code keeps its last digit


@pytest.mark.parametrize(
    ("text", "identifiers"),
    [
        ("born JUL 4: S31.45XS", ["JUL"]),
        ("seen 4 July for COPD", ["July"]),
        ("dob 25 Jun 2017, J44.9", ["25", "Jun"]),
        ("(eve kelly, 21 aug 1980, mrn 1234567)", ["aug", "1980"]),
        ("dos may 23 for parkinsonism", ["may", "23"]),
        ("my pt Ruth Okafor (the 3rd of february) with DVT", ["the", "3rd", "february"]),
        ("discharged the 12th of january; M60.004", ["the", "12th", "january"]),
        ("my pt (2/13) with PE", ["2/13"]),
        ("Is E11.9 right? (Peter, 6/22, MRN 00482913)", ["Peter", "6/22"]),
        ("seen MARCH 3RD", ["MARCH", "3RD"]),
    ],
)
def test_every_date_element_but_the_year(text: str, identifiers: list[str]) -> None:
    out = scrub(text).text
    for identifier in identifiers:
        assert not identifier_survives(identifier, out), out


@pytest.mark.parametrize(
    ("text", "identifiers"),
    [
        # capitals or lower case, in no list, where the sentence puts a name
        ("CINDORUK MADAN HAS Jardiance, S49.112G?", ["CINDORUK", "MADAN"]),
        ("GATES PAOLO seen today for Dupuytren contracture", ["GATES", "PAOLO"]),
        ("catharina has still's disease, s61.159d?", ["catharina"]),
        ("saw alfonzo for haldol: v68.0xxd", ["alfonzo"]),
        ("lutfi zagozdzon born 3/4/1950: m89.155", ["lutfi", "zagozdzon"]),
        ("Sezer Micheletto seen today for Fallopian tube", ["Sezer", "Micheletto"]),
        ("Q: Roisin 93yo F w/ Narcan — S29.009A?", ["Roisin"]),
        ("heart failure in Safura born 3/4/1950: Z28.39", ["Safura"]),
        ("Is E11.9 right? (Corlu, Nikolai, 3/4/1950, MRN 00482913)", ["Corlu", "Nikolai"]),
        ("Hilde R. Pace 93yo F w/ gabapentin", ["Hilde", "Pace"]),
        ("Romolo A. Ergul Zosyn S32.454G", ["Romolo", "Ergul"]),
        # first names that are words, in name position
        ("Saw Faith for Ehlers-Danlos syndrome: S85.151S", ["Faith"]),
        ("Mark has Bactrim, S92.592D?", ["Mark"]),
        ("call Warren at 312-555-0147 about I50.22", ["Warren"]),
        ("Valentine was admitted for J18.9", ["Valentine"]),
        ("Q: Kelly 93yo F w/ COPD", ["Kelly"]),
        ("Tony 99214 S50.851S", ["Tony"]),
        ("Saw August for J44.1", ["August"]),
        # letters beyond ASCII, particles, hyphens, apostrophes
        ("PINEAU MIKOŁAJ has DVT", ["PINEAU", "MIKOŁAJ"]),
        ("Leigh Zimmerman-Yılmaz - osteoarthritis M70.22", ["Yılmaz"]),
        ("Iwo Đang-Tevetoglu - creatinine 2.4 H27.9", ["Iwo", "Đang", "Tevetoglu"]),
        ("QA171. Pt Gary de Jackson Harrisonburg, MI", ["Gary", "de", "Jackson", "Harrisonburg"]),
        ("my pt Sara van der Abiola (3/4/1950) with MRSA", ["Sara", "van", "der", "Abiola"]),
        ("Angela al-Roach has Zosyn", ["Angela", "Roach"]),
        ("German McO'neil seen today", ["German", "neil"]),
        ("Seth Abiola Parkinson's disease S62.305D", ["Seth", "Abiola"]),
    ],
)
def test_names_by_position(text: str, identifiers: list[str]) -> None:
    out = scrub(text).text
    for identifier in identifiers:
        assert not identifier_survives(identifier, out), out


@pytest.mark.parametrize(
    ("text", "identifiers"),
    [
        ("pt from Vincennes OK 12345-6789 with eGFR 28", ["Vincennes"]),
        (
            "lives at 5409 s. thrift drive, port hueneme, tennessee 12345 — lovenox",
            ["5409", "thrift", "port", "hueneme"],
        ),
        ("Pt John Mortati Elk Grove Village, South Carolina", ["Elk", "Grove", "Village"]),
        ("pt from melrose park ct 04907 with gabapentin", ["melrose", "04907"]),
        ("lives at 12 Oak St, moore, ma 03298 — ckd stage 4", ["moore", "03298"]),
        ("Pt Ann Lee St. George, UT", ["George"]),
        ("email miłosz.chukwu@yahoo.com re DVT", ["miłosz"]),
        ("VIN PEPPRYKAUKJTMHBJA, car crash", ["PEPPRYKAUKJTMHBJA"]),
    ],
)
def test_places_addresses_and_other_identifiers(text: str, identifiers: list[str]) -> None:
    out = scrub(text).text
    for identifier in identifiers:
        assert not identifier_survives(identifier, out), out


@pytest.mark.parametrize(
    "text",
    [
        "Lou Gehrig disease G12.21",
        "Wolff-Parkinson-White - is I45.6 ok",
        "Ann Arbor staging for Hodgkin lymphoma",
        "Ramsay Hunt syndrome vs Bell palsy",
        "Stevens-Johnson syndrome L51.1",
        "Sepsis was present on admission",
        "Blue Shield says N18.6 needs Z99.2",
        "DOS 3/4/2024 for AKI: N17.9",
        "GOLD 3 COPD, stage IV CKD",
        "Keytruda and Eliquis together?",
        "Henoch-Schonlein purpura D69.0",
        "Waldenstrom macroglobulinemia C88.0",
        "Achilles tendon rupture S86.011A",
        "Eustachian tube dysfunction H69.80",
    ],
)
def test_eponyms_drugs_and_abbreviations_are_kept(text: str) -> None:
    out = scrub(text).text
    assert "[NAME]" not in out and "[LOCATION]" not in out, out
    for word in text.split():
        if not re.search(r"\d/", word):  # the date in "DOS 3/4/2024" goes
            assert word in out, out


def test_names_next_to_clinical_terms_leave_the_terms() -> None:
    assert scrub("Kate Entresto K74.1").text == "[NAME] Entresto K74.1"  # a drug after a first name
    assert "Cushing's" in scrub("Jacob Duong Cushing's F50.20").text
    assert "Hodgkin's" in scrub("Mees Hodgkin's T84.82XD").text
    out = scrub("Michael Turner syndrome Q96.9").text
    assert "Michael" not in out and "Turner syndrome" in out
