"""Index-schema XML: Table of Drugs, Neoplasm Table and Index to External Causes (real FY2025 files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codedesk.cms.index_xml import IndexFile, IndexTerm, parse_index_xml
from codedesk.errors import SourceError
from codedesk.ingest.documents import index_docs


@pytest.fixture(scope="module")
def drug(fy2025_dir: Path) -> IndexFile:
    return parse_index_xml(fy2025_dir / "icd10cm-drug-2025.xml")


@pytest.fixture(scope="module")
def neoplasm(fy2025_dir: Path) -> IndexFile:
    return parse_index_xml(fy2025_dir / "icd10cm-neoplasm-2025.xml")


@pytest.fixture(scope="module")
def eindex(fy2025_dir: Path) -> IndexFile:
    return parse_index_xml(fy2025_dir / "icd10cm-eindex-2025.xml")


def _term(index: IndexFile, *path: str) -> IndexTerm:
    return next(t for t in index.terms if t.path == list(path))


def test_drug_table_columns_come_from_the_file(drug: IndexFile) -> None:
    assert drug.kind == "drug_table" and drug.version == "2025"
    assert [c.key for c in drug.columns] == [
        "substance",
        "poisoning_accidental",
        "poisoning_intentional_self_harm",
        "poisoning_assault",
        "poisoning_undetermined",
        "adverse_effect",
        "underdosing",
    ]
    assert drug.column("poisoning_accidental").heading == "Poisoning Accidental (unintentional)"
    assert len(drug.terms) == 7428 and sum(t.level == 0 for t in drug.terms) == 5177
    assert sum(len(t.cells) for t in drug.terms) == 43212


def test_drug_cells_nemod_and_see(drug: IndexFile) -> None:
    cells = {c.column: c.code for c in _term(drug, "Acetaminophen").cells}
    assert cells["poisoning_accidental"] == "T39.1X1"
    assert cells["adverse_effect"] == "T39.1X5" and cells["underdosing"] == "T39.1X6"
    acid = _term(drug, "Acid NEC")
    assert acid.nemod == "(corrosive)" and acid.full_title == "Acid (corrosive) NEC"
    assert {c.column: c.code for c in acid.cells}["adverse_effect"] is None  # printed "--"
    assert _term(drug, "Adrenalin").see == "Adrenaline"


def test_neoplasm_table_incomplete_codes_and_subterm_paths(neoplasm: IndexFile) -> None:
    assert neoplasm.kind == "neoplasm_table"
    assert [c.key for c in neoplasm.columns][1:] == [
        "malignant_primary",
        "malignant_secondary",
        "ca_in_situ",
        "benign",
        "uncertain_behavior",
        "unspecified_behavior",
    ]
    upper = _term(neoplasm, "Neoplasm, neoplastic", "lung", "upper lobe")
    primary = next(c for c in upper.cells if c.column == "malignant_primary")
    assert primary.code == "C34.1-" and primary.incomplete
    assert upper.level == 2
    wall = _term(neoplasm, "Neoplasm, neoplastic", "abdomen, abdominal", "wall")
    assert wall.see_also == "Neoplasm, abdomen, wall, skin"
    assert len(neoplasm.terms) == 1937  # its two "Note: …" rows are notes, not terms


def test_external_cause_index_terms(eindex: IndexFile) -> None:
    assert eindex.kind == "external_cause_index" and not eindex.columns
    abandonment = _term(eindex, "Abandonment NEC")
    assert (
        abandonment.nemod
        == "(causing exposure to weather conditions) (with intent to injure or kill)"
    )
    assert abandonment.codes == ["X58"]
    powered = _term(eindex, "Accident", "boat, boating", "striking swimmer", "powered")
    assert powered.codes == ["V94.11"] and powered.level == 3
    assert _term(eindex, "Accident", "aircraft").see_also == "Accident, transport, aircraft"
    assert any(c.endswith("-") for t in eindex.terms for c in t.codes)  # e.g. W55.89-like "xxx.xx-"
    assert len(eindex.terms) == 8064 and max(t.level for t in eindex.terms) == 8


def test_docs(drug: IndexFile, neoplasm: IndexFile, eindex: IndexFile) -> None:
    drug_docs = index_docs(drug, "2025")
    assert len({d.id for d in drug_docs}) == len(drug_docs)
    doc = next(
        d for d in drug_docs if d.id == "ICD-10-CM:2025:drug:Acetaminophen | poisoning_accidental"
    )
    assert doc.metadata["code"] == "T39.1X1" and doc.metadata["source_type"] == "drug_table"
    assert doc.metadata["column"] == "poisoning_accidental" and doc.embed_text == ""
    neo = {d.id: d for d in index_docs(neoplasm, "2025")}
    lung = neo[
        "ICD-10-CM:2025:neoplasm:Neoplasm, neoplastic > lung > upper lobe | malignant_primary"
    ]
    assert lung.metadata["incomplete"] is True and lung.metadata["source_type"] == "neoplasm_table"
    e_docs = index_docs(eindex, "2025")
    assert {d.metadata["source_type"] for d in e_docs} == {"index"}
    assert all(
        bool(d.embed_text) == (d.metadata["level"] == 0) for d in e_docs
    )  # vectors for main terms only
    for d in drug_docs[:200] + e_docs[:200]:
        assert all(isinstance(v, (str, int, float, bool)) for v in d.metadata.values())


def test_main_alphabetic_index_by_schema(tmp_path: Path) -> None:
    """The main index (not in shared data) has the same schema, with <manif> and <diff>."""
    path = tmp_path / "icd10cm-index-2025.xml"
    path.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index><version>2025</version><title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>
<letter><title>D</title>
 <mainTerm><title>Diabetes, diabetic<nemod>(mellitus) (sugar)</nemod></title><code>E11.9</code>
  <term level="1"><title>with</title>
   <term level="2"><title>amyotrophy</title><code>E11.44</code></term>
   <term level="2"><title>arthropathy NEC</title><code>E11.618</code><manif>M14.6-</manif></term>
  </term>
  <term level="1"><title>type 1</title><see>Diabetes, type 1</see></term>
 </mainTerm>
 <mainTerm><diff><unc>Dysplasia</unc><new> (new)</new></diff><code>Q89.9</code></mainTerm>
</letter></ICD10CM.index>""",
        encoding="utf-8",
    )
    index = parse_index_xml(path)
    assert index.kind == "index"
    arthro = _term(index, "Diabetes, diabetic", "with", "arthropathy NEC")
    assert arthro.codes == ["E11.618"] and arthro.manif == "M14.6-" and arthro.level == 2
    assert index.terms[0].nemod == "(mellitus) (sugar)"
    assert index.terms[-1].title == "Dysplasia (new)"
    ids = [d.id for d in index_docs(index, "2025")]
    assert "ICD-10-CM:2025:index:Diabetes, diabetic > with > amyotrophy" in ids
    assert "ICD-10-CM:2025:index:Diabetes, diabetic > with" not in ids  # grouping subterm, no code


def test_a_printed_note_is_no_term_and_its_subterms_belong_to_the_term_it_follows(
    tmp_path: Path,
) -> None:
    """The FY2025 XML nests "Failure, heart > … systolic …" under "Note: heart failure stages A, B, C, and D
    …", a level-1 sibling of "heart": in the printed Index they are subterms of "heart"."""
    path = tmp_path / "icd10cm-index-2025.xml"
    path.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index><version>2025</version><title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>
<letter><title>F</title>
 <mainTerm><title>Failure, failed</title>
  <term level="1"><title>heart</title><code>I50.9</code>
   <term level="2"><title>specified NEC</title><code>I50.89</code></term>
  </term>
  <term level="1"><title>Note: heart failure stages A, B, C, and D are based on …</title>
   <term level="2"><title>stage A</title><code>Z91.89</code></term>
   <term level="2"><title>systolic</title><code>I50.20</code>
    <term level="3"><title>acute</title><code>I50.21</code></term>
   </term>
  </term>
  <term level="1"><title>kidney</title><code>N19</code></term>
 </mainTerm>
 <mainTerm><title>Pregnancy</title><code>Z33.1</code>
  <term level="1"><title>Note: The Tabular must be reviewed for the trimester</title></term>
  <term level="1"><title>abdominal</title><code>O00.00</code></term>
 </mainTerm>
</letter></ICD10CM.index>""",
        encoding="utf-8",
    )
    index = parse_index_xml(path)
    heart = _term(index, "Failure, failed", "heart")
    acute = _term(index, "Failure, failed", "heart", "systolic", "acute")
    assert acute.codes == ["I50.21"] and acute.level == 3
    assert _term(index, "Failure, failed", "heart", "systolic").parent == heart.ordinal
    assert _term(index, "Failure, failed", "kidney").level == 1
    assert not any(t.title.lower().startswith("note") for t in index.terms)
    assert _term(index, "Pregnancy", "abdominal").codes == ["O00.00"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '<?xml version="1.0"?><ICD10CM.tabular><chapter/></ICD10CM.tabular>',
            "wrong schema: root element <ICD10CM.tabular>",
        ),
        (
            '<?xml version="1.0"?><ICD10CM.index><letter><title>A</title><mainTerm><title>x</title>',
            "not well-formed XML",
        ),
        (
            '<ICD10CM.index><letter><title>A</title><mainTerm><title>x</title><cell col="3">A00</cell>'
            "</mainTerm></letter></ICD10CM.index>",
            "no matching <head col=3>",
        ),
        (
            '<ICD10CM.index><letter><title>A</title><mainTerm><title>x</title><term level="2"><title>y</title>'
            "</term></mainTerm></letter></ICD10CM.index>",
            "nested at level 1",
        ),
        (
            "<ICD10CM.index><letter><title>A</title><mainTerm><title>x</title><diag>A00</diag>"
            "</mainTerm></letter></ICD10CM.index>",
            "unexpected <diag>",
        ),
    ],
)
def test_bad_xml_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=message) as err:
        parse_index_xml(path)
    assert str(path) in str(err.value) and err.value.line
