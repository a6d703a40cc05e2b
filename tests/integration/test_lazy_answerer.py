"""Issue 13 item 7: the answer service loads what a question needs, from the caches, on first use. A
diagnosis question in FY2027 loads the FY2027 book and searcher only — not FY2025's, not the ICD-10-PCS
titles or HCPCS, not the versions — and the answers are those of a service that had everything loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codedesk.retrieval.service import _UNSET, build_answerer
from codedesk.settings import Settings

TODAY = date(2026, 12, 2)  # FY2027: a year built from its addenda over the embedded FY2026 book
DIAGNOSIS = "type 2 diabetes with CKD stage 3a"
PROCEDURE = "laparoscopic appendectomy"


@pytest.fixture(scope="module")
def settings(cms_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Three years (FY2025 Tabular List, FY2026 embedded, FY2027 from its addenda) and no tables, Index or
    guidelines: the parts whose loading is tested, built once into the cache."""
    data = tmp_path_factory.mktemp("cms-data")
    for rel in (
        "cms/fy2025/icd10cm-tabular-April-2025.xml",
        "cms/fy2027/icd10cm_codes_addenda_2027.txt",
    ):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).symlink_to(cms_data_dir / rel)
    return Settings(
        home=tmp_path_factory.mktemp("home"),
        cms_data_dir=data,
        today=TODAY,
        tabular_xml=None,
        _env_file=None,
    )


QUESTIONS = (DIAGNOSIS, PROCEDURE, f"{DIAGNOSIS} in FY2025")


@pytest.fixture(scope="module")
def reference(settings: Settings) -> dict[str, list[str]]:
    """Answers of a first service, which builds the cache entries (procedure codes: fully in memory)."""
    answerer = build_answerer(settings, dense=False)
    return {q: [c.code for c in answerer.answer(q).codes] for q in QUESTIONS}


def test_a_diagnosis_question_loads_its_year_only(
    settings: Settings, reference: dict[str, list[str]]
) -> None:
    answerer = build_answerer(settings, dense=False)
    assert answerer.searchers.loaded() == ["2027"]  # today's year, loaded at start
    answer = answerer.answer(DIAGNOSIS)
    assert [c.code for c in answer.codes] == reference[DIAGNOSIS]
    assert answerer.books.loaded() == ["2027"] and answerer.searchers.loaded() == ["2027"]
    procedures = answerer.procedures
    assert (
        "pcs_titles" not in procedures.__dict__ and "hc_items" not in procedures.__dict__
    )  # still on disk
    assert (
        answerer.versions._value is _UNSET
    )  # the versions: only for a question about changes or validity

    assert [c.code for c in answerer.answer(PROCEDURE).codes] == reference[PROCEDURE]
    assert "pcs_titles" in procedures.__dict__  # read for the procedure question

    assert [c.code for c in answerer.answer(QUESTIONS[2]).codes] == reference[QUESTIONS[2]]
    assert answerer.searchers.loaded() == ["2025", "2027"]  # FY2026 never asked: never loaded
