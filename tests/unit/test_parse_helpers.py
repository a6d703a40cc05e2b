"""Pure helpers of the parsers: no files."""

from __future__ import annotations

from codedesk.cms.addenda import dotted
from codedesk.cms.guidelines_pdf import GuidelineSection, Paragraph, _hyphen_joins, chunk_sections
from codedesk.cms.index_xml import column_key
from codedesk.ingest.documents import guideline_docs


def _section(sid: str, parent: str | None, paragraphs: list[tuple[int, str]]) -> GuidelineSection:
    return GuidelineSection(
        sid,
        f"Title {sid}",
        sid.count(".") + 1,
        parent,
        paragraphs[0][0] if paragraphs else 1,
        paragraphs[-1][0] if paragraphs else 1,
        [Paragraph(p, t) for p, t in paragraphs],
    )


def test_chunks_never_cross_sections_and_carry_their_start_page() -> None:
    rule = "Assign the code for the condition. " * 8
    sections = [
        _section("I", None, [(7, "Intro of section one.")]),
        _section(
            "I.A",
            "I",
            [(7, rule), (8, "For example, code E11.9 is assigned here."), (8, rule), (9, rule)],
        ),
        _section("I.B", "I", []),
        _section("II", None, [(20, "Second section text.")]),
    ]
    chunks = list(chunk_sections(sections, max_chars=300))
    assert [c.section_id for c in chunks] == ["I", "I.A", "I.A", "I.A", "II"]
    first_a = chunks[1]
    assert (
        first_a.page == 7 and "For example, code E11.9" in first_a.text
    )  # example kept with its rule
    assert [c.page for c in chunks[2:4]] == [8, 9]
    assert [c.index for c in chunks[1:4]] == [0, 1, 2]
    assert chunks[1].path == ["Title I", "Title I.A"]
    docs = guideline_docs(chunks, "2025")
    assert [d.id for d in docs][:2] == [
        "ICD-10-CM:2025:guideline:I#0",
        "ICD-10-CM:2025:guideline:I.A#0",
    ]
    assert docs[1].text.startswith("Section I.A. Title I > Title I.A\n")


def test_long_paragraph_is_split_at_sentences() -> None:
    text = " ".join(f"Sentence number {i} ends here." for i in range(60))
    chunks = list(chunk_sections([_section("IV.A", None, [(110, text)])], max_chars=200))
    assert len(chunks) > 5 and all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_hyphen_at_line_end() -> None:
    assert _hyphen_joins("use of Long-", "term insulin")
    assert _hyphen_joins("the ICD-", "10-CM")
    assert _hyphen_joins("anomaly codes, Q00-", "Q99, are")
    assert not _hyphen_joins("function. Code T86.1-", "Complications of kidney")
    assert not _hyphen_joins("see category E11-", "Type 2")


def test_column_keys_and_dotted_codes() -> None:
    assert column_key("Poisoning Accidental (unintentional)") == "poisoning_accidental"
    assert column_key("Poisoning Intentional self-harm") == "poisoning_intentional_self_harm"
    assert column_key("Ca in situ") == "ca_in_situ"
    assert dotted("e11a") == "E11.A" and dotted("T391X1A") == "T39.1X1A" and dotted("A00") == "A00"
