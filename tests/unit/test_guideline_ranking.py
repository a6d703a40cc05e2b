"""Section-aware ranking on a small guideline book written for these tests (no files read)."""

from __future__ import annotations

import pickle
from datetime import date

import numpy as np
import pytest

from codedesk.cms.guidelines_pdf import GuidelineSection, Paragraph
from codedesk.cms.pcs import PcsGuideline
from codedesk.ingest.team import TeamGuideline, TeamSection
from codedesk.retrieval.guidelines import CM_TITLE, GuidelineSearcher


def _s(sid: str, title: str, page: int, *texts: str, parent: str | None = None) -> GuidelineSection:
    level = 1 if parent is None else sid.count(".") + 1
    return GuidelineSection(
        sid, title, level, parent, page, page, [Paragraph(page, t) for t in texts]
    )


BOOK = [
    _s("I", "Conventions, general coding guidelines and chapter specific guidelines", 7),
    _s("I.B", "General Coding Guidelines", 12, parent="I"),
    _s(
        "I.B.4",
        "Signs and symptoms",
        13,
        "Codes that describe signs and symptoms are acceptable when a related definitive diagnosis has not been "
        "established by the provider.",
        parent="I.B",
    ),
    _s(
        "I.B.5",
        "Conditions that are an integral part of a disease process",
        13,
        "Signs and symptoms that are associated routinely with a disease process should not be assigned as "
        "additional codes, unless otherwise instructed by the classification.",
        parent="I.B",
    ),
    _s("I.C", "Chapter-Specific Coding Guidelines", 19, parent="I"),
    _s(
        "I.C.4",
        "Chapter 4: Endocrine, Nutritional, and Metabolic Diseases (E00-E89)",
        38,
        parent="I.C",
    ),
    _s(
        "I.C.4.a",
        "Diabetes mellitus",
        38,
        "The diabetes mellitus codes are combination codes.",
        parent="I.C.4",
    ),
    _s(
        "I.C.4.a.4",
        "Diabetes mellitus in pregnancy and gestational diabetes",
        39,
        "See Section I.C.15. Diabetes mellitus in pregnancy.",
        parent="I.C.4.a",
    ),
    _s("I.C.9", "Chapter 9: Diseases of the Circulatory System (I00-I99)", 48, parent="I.C"),
    _s(
        "I.C.9.a",
        "Hypertension",
        48,
        "The classification presumes a causal relationship between hypertension and heart involvement and "
        "between hypertension and kidney involvement.",
        parent="I.C.9",
    ),
    _s(
        "I.C.9.a.2",
        "Hypertensive Chronic Kidney Disease",
        49,
        "Assign codes from category I12 when both hypertension and a condition classifiable to category N18 are "
        "present. CKD should not be coded as hypertensive if the provider indicates the CKD is not related to the "
        "hypertension.",
        parent="I.C.9.a",
    ),
    _s(
        "I.C.15",
        "Chapter 15: Pregnancy, Childbirth, and the Puerperium (O00-O9A)",
        61,
        parent="I.C",
    ),
    _s(
        "I.C.15.g",
        "Diabetes mellitus in pregnancy",
        65,
        "Pregnant patients who are diabetic should be assigned a code from category O24 first, followed by the "
        "diabetes code from Chapter 4.",
        parent="I.C.15",
    ),
    _s("I.C.18", "Chapter 18: Symptoms, signs, and abnormal findings (R00-R99)", 73, parent="I.C"),
    _s(
        "I.C.18.f",
        "Functional quadriplegia",
        75,
        "GUIDELINE HAS BEEN DELETED EFFECTIVE OCTOBER 1, 2017",
        parent="I.C.18",
    ),
    _s(
        "II",
        "Selection of Principal Diagnosis",
        106,
        "The principal diagnosis is the condition established after study to be chiefly responsible for the "
        "admission.",
    ),
    _s(
        "II.H",
        "Uncertain Diagnosis",
        107,
        "If the diagnosis documented at the time of discharge is qualified as probable, suspected, likely or "
        "questionable, code the condition as if it existed or was established.",
        parent="II",
    ),
    _s(
        "IV",
        "Diagnostic Coding and Reporting Guidelines for Outpatient Services",
        110,
        "These guidelines apply to outpatient encounters.",
    ),
    _s(
        "IV.H",
        "Uncertain diagnosis",
        112,
        "Do not code diagnoses documented as probable, suspected, questionable or rule out. Rather, code the "
        "condition to the highest degree of certainty for that encounter, such as symptoms.",
        parent="IV",
    ),
]

TEAM = [
    TeamGuideline(
        "TG-009",
        "Hypertension linkage queries",
        date(2025, 2, 1),
        "Coding committee",
        "approved",
        ["I.C.9.a"],
        "guidelines/team/TG-009-hypertension.md",
        "body",
        [
            TeamSection(
                "When to query",
                "when-to-query",
                "Query the provider when hypertension and kidney disease are documented and the record says the "
                "kidney disease has another cause.",
            )
        ],
    )
]
DRAFT = TeamGuideline(
    "TG-010",
    "Draft",
    date(2025, 3, 1),
    "Committee",
    "draft",
    ["I.C.9.a.2"],
    "x.md",
    "b",
    [TeamSection("", "intro", "Hypertension with kidney disease is always linked.")],
)
PCS = [
    PcsGuideline(
        "B3.4b",
        "Biopsy followed by more definitive treatment",
        "Root Operation",
        "If a diagnostic Excision procedure (biopsy) is followed by a more definitive procedure on the "
        "same body part, both the biopsy and the more definitive treatment are coded.",
    )
]


@pytest.fixture(scope="module")
def searcher() -> GuidelineSearcher:
    return GuidelineSearcher.build(BOOK, "2025", team=[*TEAM, DRAFT], pcs_guidelines=PCS)


def _sections(searcher: GuidelineSearcher, question: str, k: int = 3) -> list[str]:
    return [h.section for h in searcher.search(question, k) if h.source_type == "guideline"]


def test_the_most_specific_section_wins_and_the_decisive_sentence_is_quoted(
    searcher: GuidelineSearcher,
) -> None:
    hits = searcher.search(
        "Patient has hypertension and CKD; the provider did not link them. Hypertensive CKD?"
    )
    assert hits[0].section == "I.C.9.a.2"
    assert hits[0].page == 49
    assert "should not be coded as hypertensive" in hits[0].quote


def test_a_symptom_beside_a_confirmed_diagnosis_is_the_integral_rule(
    searcher: GuidelineSearcher,
) -> None:
    assert _sections(searcher, "Can I code a symptom with a confirmed diagnosis?")[0] == "I.B.5"
    assert _sections(searcher, "When is a symptom code acceptable?")[0] == "I.B.4"


def test_outpatient_words_prefer_section_iv_and_inpatient_words_section_ii(
    searcher: GuidelineSearcher,
) -> None:
    assert (
        _sections(searcher, "Clinic visit, the note says rule out pneumonia. Do I code pneumonia?")[
            0
        ]
        == "IV.H"
    )
    assert (
        _sections(searcher, "Discharge summary: probable pneumonia. Code it as confirmed?")[0]
        == "II.H"
    )


def test_a_see_section_pointer_sends_the_reader_to_its_target(searcher: GuidelineSearcher) -> None:
    hits = _sections(
        searcher, "Pregnant patient with diabetes mellitus: which chapter comes first?"
    )
    assert hits[0] == "I.C.15.g"


def test_deleted_guidelines_are_never_cited(searcher: GuidelineSearcher) -> None:
    assert "I.C.18.f" not in searcher.sections()
    assert "I.C.18.f" not in _sections(searcher, "functional quadriplegia guideline", k=10)


def test_hit_gives_a_citation_passage(searcher: GuidelineSearcher) -> None:
    hit = searcher.search(
        "Can I report signs and symptoms when the definitive diagnosis is not established?"
    )[0]
    passage = hit.passage()
    cite = passage.citation
    assert (cite.source_type, cite.section, cite.page, cite.fiscal_year) == (
        "guideline",
        "I.B.4",
        13,
        "2025",
    )
    assert (
        cite.title
        == CM_TITLE.format(fy="2025")
        == "ICD-10-CM Official Guidelines for Coding and Reporting FY2025"
    )
    assert cite.quote == hit.quote and cite.quote in passage.text and len(cite.quote) <= 300
    assert 0.0 < hit.score <= 1.0


def test_a_sentence_gets_the_page_where_it_is_printed() -> None:
    para = GuidelineSection(
        "I.A.1",
        "The Alphabetic Index and Tabular List",
        2,
        "I",
        7,
        8,
        [
            Paragraph(
                7,
                "The Alphabetic Index lists terms. The Tabular List is a chronological list of codes divided into "
                "chapters based on body system or condition.",
            )
        ],
    )
    pages = {
        7: "I.A.1 The Alphabetic Index lists terms. The Tabular List is a",
        8: "chronological list of codes divided into chapters based on body system or condition.",
    }
    searcher = GuidelineSearcher.build([BOOK[0], para], "2025", page_text=pages)
    assert searcher.search("alphabetic index terms")[0].page == 7
    # the second sentence starts on page 7 too (it only ends on page 8)
    assert searcher.search("tabular chronological list chapters body system")[0].page == 7
    moved = {
        7: "I.A.1 The Alphabetic Index lists terms.",
        8: "The Tabular List is a chronological list of codes divided into chapters based on body system.",
    }
    searcher = GuidelineSearcher.build([BOOK[0], para], "2025", page_text=moved)
    assert searcher.search("tabular chronological list chapters body system")[0].page == 8


def test_a_team_guideline_follows_the_official_section_it_refines(
    searcher: GuidelineSearcher,
) -> None:
    hits = searcher.search(
        "When do I query about hypertension and kidney disease with another cause?", k=3
    )
    kinds = [(h.source_type, h.section) for h in hits]
    assert kinds[0][0] == "guideline"
    team = [i for i, (kind, _) in enumerate(kinds) if kind == "team_guideline"]
    assert team, kinds
    refined = kinds[team[0] - 1][1]
    assert refined.startswith("I.C.9.a")  # right after the official section it refines
    cite = hits[team[0]].passage().citation
    assert cite.title == "Team guideline TG-009: Hypertension linkage queries" and cite.page is None
    assert all(h.section != "TG-010" for h in hits)  # drafts are never cited


def test_pcs_guidelines_answer_procedure_questions_only(searcher: GuidelineSearcher) -> None:
    hit = searcher.search(
        "Biopsy followed by excision of the same body part: code both procedures?"
    )[0]
    assert (hit.source_type, hit.section, hit.fiscal_year) == ("pcs", "B3.4b", "2025")
    assert hit.passage().citation.title.startswith("ICD-10-PCS Official Guidelines")
    assert all(
        h.source_type != "pcs"
        for h in searcher.search("Is a more definitive treatment coded as diagnosis?")
    )


def test_dense_vectors_are_used_when_an_embedder_is_given() -> None:
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        rows = np.asarray(
            [
                [1.0, 0.0] if "uncertain" in t.lower() or "maybe" in t.lower() else [0.0, 1.0]
                for t in texts
            ],
            np.float32,
        )
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    searcher = GuidelineSearcher.build(BOOK, "2025", embed=embed)
    assert calls and calls[0] > 0 and searcher.vectors is not None
    hits = searcher.search(
        "maybe", k=3
    )  # no word of the question is in the book: only the vectors find it
    assert hits and hits[0].section in {"II.H", "IV.H"}

    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("model unavailable")

    searcher.embed = broken
    assert _sections(searcher, "Clinic visit: rule out pneumonia")[0] == "IV.H"  # lexical fallback


def test_pickles_without_the_embedder(searcher: GuidelineSearcher) -> None:
    searcher.embed = lambda texts: np.zeros((len(texts), 2), np.float32)
    copy = pickle.loads(pickle.dumps(searcher))
    assert copy.embed is None
    question = "Clinic visit, rule out pneumonia"
    assert [h.section for h in copy.search(question)] == [
        h.section for h in searcher.search(question)
    ]
    searcher.embed = None


def test_empty_questions_find_nothing(searcher: GuidelineSearcher) -> None:
    assert searcher.search("") == [] and searcher.search("   ") == []
    assert searcher.search("zzzz qqqq") == []
