"""The Official Guidelines PDF parser on the real FY2025 file (and damaged copies of it)."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from codedesk.cms.guidelines_pdf import (
    GuidelineSection,
    chunk_sections,
    parse_guidelines_pdf,
    section_index,
)
from codedesk.errors import SourceError
from codedesk.ingest.documents import guideline_docs

PDF = "icd10cm-guidelines-fy2025.pdf"
MARKER = re.compile(
    r"^(?:Section\s+([IVX]+)\.|([A-Z])\.|(\d+)\.|([a-z])\.|(\d+)\)|\(([a-z]+)\))\s*"
)


@pytest.fixture(scope="module")
def pdf_path(fy2025_dir: Path) -> Path:
    return fy2025_dir / PDF


@pytest.fixture(scope="module")
def sections(pdf_path: Path) -> list[GuidelineSection]:
    return parse_guidelines_pdf(pdf_path)


@pytest.fixture(scope="module")
def by_id(sections: list[GuidelineSection]) -> dict[str, GuidelineSection]:
    return section_index(sections)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def test_every_toc_heading_is_a_section(pdf_path: Path, sections: list[GuidelineSection]) -> None:
    with pymupdf.open(pdf_path) as doc:
        toc = doc.get_toc(simple=True)
    assert (
        len(toc) > 400
    )  # the FY2025 PDF has a full outline; parse the TOC pages if this ever fails
    missing = []
    for level, title, page in toc:
        title = " ".join(title.split())
        m = MARKER.match(title)
        value = next((g for g in m.groups() if g), None) if m else None
        bare = _norm(title[m.end() :] if m else title)
        hits = [
            s
            for s in sections
            if s.page_start == page
            and s.id == title
            or s.page_start == page
            and (_norm(s.title).startswith(bare[:40]) or bare.startswith(_norm(s.title)[:40]))
            and (value is None or s.id.split(".")[-1] == value)
        ]
        if not hits:
            missing.append((level, title, page))
    assert missing == []


def test_known_sections_ids_titles_pages(by_id: dict[str, GuidelineSection]) -> None:
    expect = {
        "I": ("Conventions, general coding guidelines and chapter specific guidelines", 7),
        "I.A.12.a": ("Excludes1", 9),
        "I.A.19": ("Code assignment and Clinical Criteria", 12),
        "I.B.4": ("Signs and symptoms", 13),
        "I.C.1.a.2.i": (
            "HIV managed by antiretroviral medication",
            21,
        ),  # a letter (i), not a roman numeral
        "I.C.1.d.1.a.i": (
            "Negative or inconclusive blood cultures and sepsis",
            22,
        ),  # a roman numeral
        "I.C.4.a.3": (
            "Diabetes mellitus and the use of insulin, oral hypoglycemics, and injectable "
            "non-insulin drugs",
            39,
        ),
        "I.C.5.d": ("Dementia", 43),  # the PDF outline misfiles it one level deeper
        "II.H": ("Uncertain Diagnosis", 107),
        "IV.H": ("Uncertain diagnosis", 112),
        "IV.Q": ("Encounters for routine health screenings", 114),
        "Appendix I": ("Present on Admission Reporting Guidelines", 115),
    }
    for sid, (title, page) in expect.items():
        assert by_id[sid].title == title, sid
        assert by_id[sid].page_start == page, sid
    assert by_id["I.C.4.a.3"].parent_id == "I.C.4.a"
    assert by_id["I.A"].page_end == 12 and by_id["I"].page_end == 106
    assert by_id["Appendix I"].page_end == 120


def test_ids_never_say_section_and_tree_is_consistent(
    sections: list[GuidelineSection], by_id: dict[str, GuidelineSection]
) -> None:
    assert len(by_id) == len(sections)
    for s in sections:
        assert "Section" not in s.id
        assert s.page_start <= s.page_end
        if s.parent_id is not None:
            parent = by_id[s.parent_id]
            assert s.id.startswith(parent.id + ".") and s.level == parent.level + 1
            assert parent.page_start <= s.page_start and s.page_end <= parent.page_end


def test_heading_missing_from_toc_is_found_and_flagged_bold(
    by_id: dict[str, GuidelineSection],
) -> None:
    new = by_id["I.C.4.a.1.a"]  # FY2025 addition, absent from the PDF outline
    assert new.title == "Presymptomatic Type 1 Diabetes Mellitus" and not new.in_toc
    assert new.bold and "E10.A-" in new.changes[0]
    assert not by_id["I.A.19"].bold


def test_text_is_clean(
    sections: list[GuidelineSection], by_id: dict[str, GuidelineSection]
) -> None:
    for s in sections:
        if s.level == 0:
            continue
        assert not re.search(r"Page \d+ of \d+", s.text), s.id
        assert "ICD-10-CM Official Guidelines for Coding and Reporting FY 2025" not in s.text, s.id
        assert not re.search(r"\.{6,}", s.text), s.id  # no table-of-contents dot leaders
    rule = by_id["I.A.19"].text
    assert rule.startswith(
        "The assignment of a diagnosis code is based on the provider’s diagnostic statement"
    )
    assert rule.endswith(
        "If there is conflicting medical record documentation, query the provider."
    )
    assert "7th character" in by_id["I.A.5"].text  # superscript "th" joined to its number
    # Words hyphenated over a line break are joined; an incomplete code at a line end is not.
    assert "Z79.84, Long-term (current) use of oral" in by_id["I.C.4.a.6.a"].text
    assert "kidney function. Code T86.1- should be assigned" in " ".join(
        by_id["I.C.19.g.3.b"].text.split()
    )


def test_chunks_stay_inside_sections_and_keep_examples(
    sections: list[GuidelineSection], by_id: dict[str, GuidelineSection]
) -> None:
    chunks = list(chunk_sections(sections, max_chars=400))
    for chunk in chunks:
        section = by_id[chunk.section_id]
        assert " ".join(chunk.text.split()) in " ".join(section.text.split())
        assert section.page_start <= chunk.page <= section.page_end
        assert len(chunk.text) <= 2 * 400
    example = next(c for c in chunks if "For example, cases of “tuberculosis of bones”" in c.text)
    assert example.section_id == "I.A.14"
    assert example.text.index("For example") > 0  # glued to the rule before it
    insulin = [c for c in chunks if c.section_id == "I.C.4.a.3"]
    assert insulin[0].page == 39 and insulin[0].path[-1] == by_id["I.C.4.a.3"].title


def test_to_docs_ids_and_metadata(sections: list[GuidelineSection]) -> None:
    docs = guideline_docs(chunk_sections(sections, max_chars=1500), "2025")
    assert len({d.id for d in docs}) == len(docs)
    doc = next(d for d in docs if d.id == "ICD-10-CM:2025:guideline:I.A.19#0")
    assert doc.metadata["section"] == "I.A.19" and doc.metadata["page"] == 12
    assert doc.metadata["source_type"] == "guideline" and doc.metadata["fiscal_year"] == "2025"
    for d in docs:
        assert all(isinstance(v, (str, int, float, bool)) for v in d.metadata.values())
        assert d.embed_text and len(d.embed_text.split()) <= 40


def test_truncated_pdf_is_an_error(pdf_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(pdf_path.read_bytes()[:400_000])
    with pytest.raises(SourceError, match="truncated") as err:
        parse_guidelines_pdf(cut)
    assert str(cut) in str(err.value)


def test_pdf_missing_pages_is_an_error(pdf_path: Path, tmp_path: Path) -> None:
    short = tmp_path / "first-30-pages.pdf"
    with pymupdf.open(pdf_path) as doc:
        doc.select(list(range(30)))
        doc.save(short)
    with pytest.raises(
        SourceError, match="truncated: its footers count 120 pages, the file has 30"
    ):
        parse_guidelines_pdf(short)


def test_other_pdf_or_other_file_is_an_error(tmp_path: Path) -> None:
    other = tmp_path / "other.pdf"
    with pymupdf.open() as doc:
        doc.new_page().insert_text((72, 72), "Quarterly newsletter")
        doc.save(other)
    with pytest.raises(SourceError, match="Section I"):
        parse_guidelines_pdf(other)
    text = tmp_path / "notes.pdf"
    text.write_text("hello")
    with pytest.raises(SourceError, match="not a PDF"):
        parse_guidelines_pdf(text)


def test_pdf_without_outline_gives_the_same_tree(
    pdf_path: Path, tmp_path: Path, sections: list[GuidelineSection]
) -> None:
    """Headings are found from their numbering and type, the outline only helps: a PDF saved
    without bookmarks yields the same section ids and pages."""
    bare = tmp_path / "no-outline.pdf"
    with pymupdf.open(pdf_path) as doc:
        doc.set_toc([])
        doc.save(bare)
    again = parse_guidelines_pdf(bare)
    assert [(s.id, s.page_start) for s in again] == [(s.id, s.page_start) for s in sections]
