"""Procedure codes end to end: ICD-10-PCS from the installed packages (tables, Index, affix table,
GEMs), HCPCS Level II from the real CMS 2020 file. Questions are written for these tests in the
words coders use at the desk; none comes from the gold set."""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
from datetime import date
from pathlib import Path

import pytest

from codedesk.cms.hcpcs import parse_hcpcs
from codedesk.retrieval.procedures import (
    HCPCS,
    PCS,
    ProcedureSearcher,
    load_procedure_searcher,
    read_pcs_index,
)

HCPCS_FILE = Path("cms") / "hcpcs-2020" / "HCPC2020_ANWEB_w_disclaimer.txt"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("procedures-cache")


@pytest.fixture(scope="module")
def pcs(cache_dir: Path) -> ProcedureSearcher:
    """PCS only: what a fresh install serves without CODEDESK_CMS_DATA_DIR."""
    return load_procedure_searcher(None, cache_dir)


@pytest.fixture(scope="module")
def hcpcs(cms_data_dir: Path) -> ProcedureSearcher:
    path = cms_data_dir / HCPCS_FILE
    return ProcedureSearcher.build(None, parse_hcpcs(path), "2020")


def top(searcher: ProcedureSearcher, question: str) -> str:
    hits = searcher.search(question, k=5)
    assert hits, question
    return hits[0].code


# --------------------------------------------------------------------------- ICD-10-PCS


def test_pcs_candidates_explain_their_seven_axes(pcs: ProcedureSearcher) -> None:
    hits = pcs.search("ICD-10-PCS for an open splenectomy", k=5)
    hit = hits[0]
    assert (hit.code, hit.system) == ("07TP0ZZ", PCS)
    assert hit.title == "Resection of Spleen, Open Approach"
    assert [name for name, _, _ in hit.axes] == [
        "Section",
        "Body System",
        "Root Operation",
        "Body Part",
        "Approach",
        "Device",
        "Qualifier",
    ]
    assert [char for _, char, _ in hit.axes] == list("07TP0ZZ")
    meanings = dict((name, meaning) for name, _, meaning in hit.axes)
    assert (
        meanings["Root Operation"]
        == "Resection: Cutting out or off, without replacement, all of a body part"
    )
    assert meanings["Approach"].startswith("Open: Cutting through the skin or mucous membrane")
    item = hit.item()
    assert item.system == "ICD-10-PCS" and item.billable
    assert item.note == (
        "Medical and Surgical · Lymphatic and Hemic Systems · Resection · Spleen · Open · "
        "No Device · No Qualifier"
    )
    cite = hit.citation()
    assert (cite.source_type, cite.code, cite.fiscal_year, cite.section) == (
        "pcs",
        "07TP0ZZ",
        "2025",
        "Table 07T",
    )
    assert "Resection of Spleen" in cite.quote
    assert all(h.system == PCS and len(h.code) == 7 for h in hits)


def test_laparoscopic_and_open_are_different_approaches(pcs: ProcedureSearcher) -> None:
    lap = pcs.search("laparoscopic removal of the whole right kidney", k=3)[0]
    opened = pcs.search("open removal of the whole right kidney", k=3)[0]
    assert (lap.code, opened.code) == ("0TT04ZZ", "0TT00ZZ")
    assert lap.labels[4] == "Percutaneous Endoscopic" and opened.labels[4] == "Open"
    # A robotic or video-assisted approach is percutaneous endoscopic too; a scope through a natural
    # opening is not ("opening" in its name is not the Open approach).
    assert top(pcs, "robotic-assisted total hysterectomy") == "0UT94ZZ"
    assert top(pcs, "cystoscopy with removal of a bladder stone") == "0TCB8ZZ"


def test_whole_organ_is_resection_and_part_is_excision(pcs: ProcedureSearcher) -> None:
    assert top(pcs, "laparoscopic total nephrectomy, left") == "0TT14ZZ"
    assert top(pcs, "laparoscopic partial nephrectomy, left") == "0TB14ZZ"
    assert top(pcs, "thoracoscopic wedge resection, right upper lobe of the lung") == "0BBC4ZZ"
    assert (
        top(pcs, "EGD with biopsy of the stomach") == "0DB68ZX"
    )  # biopsy: Excision, qualifier Diagnostic


def test_index_and_coder_words_reach_the_right_table(pcs: ProcedureSearcher) -> None:
    assert (
        top(pcs, "left below-knee amputation, mid level") == "0Y6J0Z2"
    )  # Amputation: see Detachment
    assert (
        top(pcs, "open repair of a left inguinal hernia with mesh") == "0YU60JZ"
    )  # mesh: Supplement
    assert top(pcs, "open repair of a left inguinal hernia without mesh") == "0YQ60ZZ"
    assert top(pcs, "vacuum-assisted vaginal delivery") == "10D07Z6"
    assert top(pcs, "open reduction internal fixation, left radius") == "0PSJ04Z"
    assert top(pcs, "exploratory laparotomy") == "0WJG0ZZ"


def test_numbers_fall_in_the_title_range(pcs: ProcedureSearcher) -> None:
    assert top(pcs, "mechanical ventilation for 48 consecutive hours") == "5A1945Z"
    assert top(pcs, "continuous hemodialysis for 30 hours") == "5A1D90Z"
    hit = pcs.search("mechanical ventilation for 48 consecutive hours", k=1)[0]
    assert hit.fiscal_year == "2024" and "FY2024" in (
        hit.item().note or ""
    )  # outside the packaged tables


def test_pcs_lookup(pcs: ProcedureSearcher) -> None:
    ok = pcs.lookup("0dtj4zz")
    assert ok.valid and ok.system == PCS and ok.hit is not None and "Appendix" in ok.message
    assert ok.hit.labels[2] == "Resection"
    bad = pcs.lookup("0DTJ4Z1")
    assert (
        not bad.valid
        and "not a valid ICD-10-PCS code" in bad.message
        and "0DTJ4ZZ" in bad.suggestions
    )
    partial = pcs.lookup("0DTJ")
    assert (
        not partial.valid and "7 characters" in partial.message and "0DTJ4ZZ" in partial.suggestions
    )
    letter_o = pcs.lookup("0DTJ4ZO")
    assert not letter_o.valid and "I and O" in letter_o.message
    assert pcs.search("0DTJ4ZZ?")[0].code == "0DTJ4ZZ"


def test_intent(pcs: ProcedureSearcher) -> None:
    for q in (
        "ICD-10-PCS root operation for taking out the gallbladder",
        "laparoscopic cholecystectomy",
        "which PCS approach is a colonoscopy?",
        "newborn circumcision",
        "0SRC0J9",
    ):
        assert pcs.intent(q)[0] == "pcs", q
    for q in (
        "HCPCS code for a standard walker",
        "J-code for ondansetron 4 mg injection",
        "ambulance mileage",
        "KX modifier",
    ):
        assert pcs.intent(q)[0] == "hcpcs", q
    for q in (
        "type 2 diabetes with stage 3 chronic kidney disease",
        "history of appendectomy",
        "open fracture of the right femur, initial encounter",
        "acute appendicitis with perforation",
        "can I code a symptom with a confirmed diagnosis?",
        "E11.22",
        "CPT 99213",
    ):
        assert pcs.intent(q)[0] is None, q
    label, confidence = pcs.intent("ICD-10-PCS: open appendectomy")
    assert label == "pcs" and 0.5 < confidence <= 1.0


def test_cache_is_reused(pcs: ProcedureSearcher, cache_dir: Path) -> None:
    files = list(cache_dir.glob("procedures-*.pickle"))
    assert len(files) == 1
    start = time.perf_counter()
    again = load_procedure_searcher(None, cache_dir)
    assert time.perf_counter() - start < 10  # a load, not a rebuild (~20 s on 2 cores)
    q = "laparoscopic appendectomy"
    assert [h.code for h in again.search(q)] == [h.code for h in pcs.search(q)]


def test_search_latency(pcs: ProcedureSearcher) -> None:
    questions = [
        "open splenectomy",
        "laparoscopic total hysterectomy",
        "cystoscopy with removal of bladder stone",
        "percutaneous needle biopsy of liver",
        "right total hip replacement, uncemented, open",
        "insertion of dual chamber pacemaker generator into chest subcutaneous tissue",
        "mechanical ventilation for 48 consecutive hours",
        "PTCA with two drug-eluting stents",
    ]
    for q in questions:
        pcs.search(q)
    times = []
    for _ in range(3):
        for q in questions:
            start = time.perf_counter()
            pcs.search(q)
            times.append((time.perf_counter() - start) * 1000)
    assert statistics.median(times) <= 15, times


def test_index_parser_reads_continued_rows_and_wrapped_use_lines(tmp_path: Path) -> None:
    db = tmp_path / "index.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE pcs_index (term TEXT NOT NULL, content TEXT NOT NULL)")
    con.executemany(
        "INSERT INTO pcs_index VALUES (?, ?)",
        [
            ("Appendectomy", "see Excision, Appendix **0DBJ**\nsee Resection, Appendix **0DTJ**"),
            ("Excision", "Artery\n\tFemoral\n\t\tLeft **04BL**"),
            (
                "Excision",
                "(continued)\nArtery (continued)\n\tFemoral (continued)\n\t\tRight **04BK**",
            ),
            (
                "Stent graft system ",
                "use Intraluminal Device, Drug-eluting in\nHeart and Great Vessels",
            ),
            ("Debridement", "Excisional see Excision\nNon-excisional see Extraction"),
        ],
    )
    con.commit()
    con.close()
    roots = {r.label: r for r in read_pcs_index(db)}
    assert roots["Appendectomy"].codes == ["0DBJ", "0DTJ"]
    femoral = roots["Excision"].children[0].children[0]
    assert [(c.label, c.codes) for c in femoral.children] == [
        ("Left", ["04BL"]),
        ("Right", ["04BK"]),
    ]
    assert roots["Stent graft system"].use == [
        "Intraluminal Device, Drug-eluting in Heart and Great Vessels"
    ]
    assert [(c.label, c.see) for c in roots["Debridement"].children] == [
        ("Excisional", ["Excision"]),
        ("Non-excisional", ["Extraction"]),
    ]
    assert read_pcs_index(tmp_path / "missing.db") == []


# --------------------------------------------------------------------------- HCPCS Level II


def test_hcpcs_questions_return_hcpcs_codes(hcpcs: ProcedureSearcher) -> None:
    cases = {
        "HCPCS for ondansetron injection, 1 mg": "J2405",
        "folding walker with wheels": "E0143",
        "ground ambulance mileage, per statute mile": "A0425",
        "lancets, box of 100": "A4259",
        "giving the hepatitis B vaccine": "G0010",
        "heated humidifier for a CPAP": "E0562",
    }
    for question, code in cases.items():
        hits = hcpcs.search(question, k=5)
        assert hits[0].code == code, (question, [h.code for h in hits])
        assert all(h.system == HCPCS for h in hits)
    item = hcpcs.search("HCPCS for ondansetron injection, 1 mg")[0].item()
    assert (item.system, item.billable, item.description) == (
        "HCPCS",
        True,
        "Injection, ondansetron hydrochloride, per 1 mg",
    )
    cite = hcpcs.search("HCPCS for ondansetron injection, 1 mg")[0].citation()
    assert (cite.source_type, cite.title, cite.code, cite.fiscal_year) == (
        "hcpcs",
        "HCPCS Level II 2020",
        "J2405",
        "2020",
    )


def test_hcpcs_lookup_gives_descriptions_and_dates(hcpcs: ProcedureSearcher) -> None:
    found = hcpcs.lookup("e0601")
    assert found.valid and found.system == HCPCS and found.hit is not None
    assert found.hit.title == "Continuous positive airway pressure (cpap) device"
    assert found.hit.short_title == "Cont airway pressure device"
    assert (
        found.hit.details["add_date"] == "1988-01-01"
        and "termination_date" not in found.hit.details
    )
    assert "1988-01-01" in found.message
    missing = hcpcs.lookup("E9999")
    assert not missing.valid and "not a valid HCPCS Level II code" in missing.message
    modifier = hcpcs.lookup("LT")
    assert modifier.valid and modifier.hit is not None and modifier.hit.kind == "modifier"
    assert not modifier.hit.item().billable  # a modifier goes with a code
    assert [h.code for h in hcpcs.search("what does modifier KX mean")][:1] == ["KX"]


def test_terminated_code_is_flagged(hcpcs: ProcedureSearcher) -> None:
    gone = hcpcs.lookup("A4466")  # terminated 31 December 2016
    assert not gone.valid and "terminated on 2016-12-31" in gone.message
    assert gone.hit is not None and not gone.hit.item().billable
    assert "terminated 2016-12-31" in (gone.hit.item().note or "")
    assert hcpcs.lookup("A4466", as_of=date(2016, 6, 30)).valid  # still valid before that date
    hits = hcpcs.search("enteral nutrition infusion pump without alarm", k=5)
    assert hits[0].valid  # a live code ranks before the terminated one that says the same
    b9000 = next(h for h in hits if h.code == "B9000")
    assert not b9000.valid and b9000.status and "terminated" in b9000.status


def test_no_cpt(hcpcs: ProcedureSearcher, pcs: ProcedureSearcher) -> None:
    for searcher in (hcpcs, pcs):
        cpt = searcher.lookup("99213")
        assert not cpt.valid and cpt.system is None and "AMA" in cpt.message and cpt.hit is None
        assert searcher.search("CPT 99213") == []
        assert searcher.search("what is 0001U") == []
    level_one = re.compile(r"^\d{4}[0-9FTU]$")
    for q in (
        "office visit established patient",
        "digital breast tomosynthesis",
        "chronic care management",
        "nursing care in the home per hour",
        "scleral contact lens",
    ):
        for hit in hcpcs.search(q, k=10, system="hcpcs"):
            assert not level_one.match(hit.code)
            assert not re.search(r"\b\d{4}[0-9FTU]\b", hit.title), (
                hit.title
            )  # CPT numbers are not shown
    assert "[CPT code]" in hcpcs.lookup("G0279").message
