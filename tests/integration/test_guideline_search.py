"""Official Guidelines search on the real FY2025 PDF: sections, pages, real quotes, gold hit@3, speed."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from codedesk.cms.pcs import load_pcs
from codedesk.ingest.team import load_team_guidelines
from codedesk.retrieval.evaluate import load_gold
from codedesk.retrieval.guidelines import (
    GuidelineSearcher,
    guideline_intent,
    load_guideline_searcher,
    pdf_page_text,
)

REPO = Path(__file__).resolve().parents[2]
PDF = "icd10cm-guidelines-fy2025.pdf"
TITLE = "ICD-10-CM Official Guidelines for Coding and Reporting FY2025"

# Our own questions (not the gold set): (question, acceptable sections, page of the first acceptable hit).
OWN = [
    (
        "Urgent care visit, the provider writes 'rule out strep throat'. Do I report strep?",
        {"IV.H"},
        112,
    ),
    (
        "Inpatient discharged with 'suspected pulmonary embolism' still unconfirmed - code the PE?",
        {"II.H", "III.C"},
        None,
    ),
    ("MRSA pneumonia: does the MRSA need its own code?", {"I.C.1.e.1.a"}, 26),
    ("Glaucoma in both eyes, but each eye has a different stage", {"I.C.7.a.3"}, 47),
    ("May an external cause code ever be the principal diagnosis?", {"I.C.20.a.6"}, 87),
    ("Pressure ulcer documented as healing: which stage do I assign?", {"I.C.12.a.5"}, 57),
    (
        "Patient with hypertension, heart disease and chronic kidney disease - one combination category?",
        {"I.C.9.a.3"},
        49,
    ),
    ("Negative blood cultures but the physician diagnosed sepsis", {"I.C.1.d.1.a.i"}, 22),
    (
        "Cholecystitis is confirmed and the patient also has nausea: is the nausea coded too?",
        {"I.B.5", "I.B.6", "I.C.18.b"},
        13,
    ),
]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@pytest.fixture(scope="module")
def pdf(fy2025_dir: Path) -> Path:
    return fy2025_dir / PDF


@pytest.fixture(scope="module")
def searcher(pdf: Path, tmp_path_factory: pytest.TempPathFactory) -> GuidelineSearcher:
    return load_guideline_searcher(pdf, "2025", tmp_path_factory.mktemp("guideline-cache"))


@pytest.fixture(scope="module")
def pages(pdf: Path) -> dict[int, str]:
    return {page: _norm(text) for page, text in pdf_page_text(pdf).items()}


@pytest.mark.parametrize(("question", "expected", "page"), OWN)
def test_own_questions_find_the_section_and_page(
    searcher: GuidelineSearcher, question: str, expected: set[str], page: int | None
) -> None:
    hits = searcher.search(question, k=3)
    cited = [h.section for h in hits if h.source_type == "guideline"]
    assert any(c in expected for c in cited), cited
    first = next(h for h in hits if h.section in expected)
    if page is not None:
        assert first.page == page
    assert cited.index(first.section) <= 1, cited  # not just anywhere in the three: near the top


def test_quotes_are_real_sentences_of_the_cited_page(
    searcher: GuidelineSearcher, pages: dict[int, str]
) -> None:
    for question, _, _ in OWN:
        for hit in searcher.search(question, k=3):
            quote = _norm(hit.quote.removesuffix("…"))
            assert 20 <= len(hit.quote) <= 300, hit.quote
            assert quote[:30] in pages[hit.page], (
                hit.section,
                hit.page,
                hit.quote,
            )  # it starts on that page
            assert quote in pages[hit.page] + pages.get(hit.page + 1, ""), (hit.section, hit.quote)


def test_cited_pages_are_within_the_section(searcher: GuidelineSearcher, pdf: Path) -> None:
    from codedesk.cms.guidelines_pdf import parse_guidelines_pdf

    spans = {s.id: (s.page_start, s.page_end) for s in parse_guidelines_pdf(pdf)}
    for question, _, _ in OWN:
        for hit in searcher.search(question, k=3):
            start, end = spans[hit.section]
            assert start <= hit.page <= end, (hit.section, hit.page, start, end)


def test_the_passage_is_a_citation_of_the_official_guidelines(searcher: GuidelineSearcher) -> None:
    hit = searcher.search(OWN[0][0])[0]
    cite = hit.passage().citation
    assert cite.source_type == "guideline" and cite.title == TITLE and cite.fiscal_year == "2025"
    assert cite.section == "IV.H" and not cite.section.startswith("Section")
    assert cite.page == 112 and cite.quote.startswith("Do not code diagnoses documented as")


def test_gold_guideline_questions_hit_at_3(searcher: GuidelineSearcher) -> None:
    """Floor below the 85% target (measured: lexical-only 97.6% hit@3, 88.1% hit@1 on FY2025)."""
    rows = load_gold(
        "all"
    )  # eval/dev.jsonl + eval/test.jsonl: the rows of the former eval/gold.jsonl and more
    rows = [r for r in rows if r["category"] == "guideline" and r.get("expected_sections")]
    assert len(rows) >= 30
    hits = 0
    for row in rows:
        cited = [
            h.section for h in searcher.search(row["question"], k=3) if h.source_type == "guideline"
        ][:3]
        hits += any(
            c == e or c.startswith(e + ".") for c in cited for e in row["expected_sections"]
        )
    assert hits / len(rows) >= 0.8


def test_intent_separates_rule_questions_from_code_requests() -> None:
    rows = load_gold(
        "all"
    )  # eval/dev.jsonl + eval/test.jsonl: the rows of the former eval/gold.jsonl and more
    rule = [guideline_intent(r["question"]) for r in rows if r["category"] == "guideline"]
    codes = [
        guideline_intent(r["question"])
        for r in rows
        if r["category"] in ("title", "paraphrase", "index")
    ]
    assert statistics.mean(rule) >= 0.4
    assert statistics.mean(codes) <= 0.1


def test_search_is_fast(searcher: GuidelineSearcher) -> None:
    questions = [q for q, _, _ in OWN] * 5
    searcher.search("warm up")
    times = []
    for question in questions:
        start = time.perf_counter()
        searcher.search(question, k=3)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) <= 0.010


def test_the_built_searcher_is_cached(pdf: Path, tmp_path: Path) -> None:
    first = load_guideline_searcher(pdf, "2025", tmp_path)
    assert len(list(tmp_path.glob("guidelines-*.pickle"))) == 1
    start = time.perf_counter()
    again = load_guideline_searcher(pdf, "2025", tmp_path)
    assert time.perf_counter() - start < 1.0
    question = OWN[1][0]
    assert [(h.section, h.page, h.quote) for h in again.search(question)] == [
        (h.section, h.page, h.quote) for h in first.search(question)
    ]


def test_pcs_and_team_guidelines_join_the_official_ones(pdf: Path, tmp_path: Path) -> None:
    team = load_team_guidelines(REPO / "guidelines" / "team")
    searcher = load_guideline_searcher(
        pdf, "2025", tmp_path, pcs_guidelines=load_pcs().guidelines, team=team
    )
    hits = searcher.search(
        "Biopsy followed by a more definitive excision in the same operative episode: "
        "which procedures are coded?"
    )
    assert hits[0].source_type == "pcs" and hits[0].section.startswith("B3.4")
    assert hits[0].passage().citation.title.startswith("ICD-10-PCS Official Guidelines")
    hits = searcher.search(
        "When should I query the provider about conflicting documentation from a nurse?", k=3
    )
    kinds = [h.source_type for h in hits]
    assert kinds[0] == "guideline" and "team_guideline" in kinds, (
        kinds
    )  # a team guideline never comes first ...
    team_hit = hits[kinds.index("team_guideline")]
    before = hits[
        kinds.index("team_guideline") - 1
    ]  # ... it follows the official section it refines
    assert any(before.section == r or before.section.startswith(r + ".") for r in team_hit.refines)
    assert team_hit.passage().citation.title.startswith("Team guideline TG-")
    assert kinds.count("guideline") == 3  # and it comes on top of the k official hits
