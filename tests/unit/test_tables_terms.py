"""Term matching over small in-memory tables (no files): nonessential modifiers, cross-references,
spellings and the most specific subterm the words support."""

from __future__ import annotations

import pytest

from codedesk.cms.index_xml import IndexCell, IndexColumn, IndexFile, IndexTerm
from codedesk.retrieval.tables import TableSearcher

DRUG_COLS = [
    IndexColumn(1, "Substance", "substance"),
    IndexColumn(2, "Poisoning Accidental (unintentional)", "poisoning_accidental"),
    IndexColumn(6, "Adverse effect", "adverse_effect"),
]
NEO_COLS = [
    IndexColumn(1, "Neoplasm", "neoplasm"),
    IndexColumn(2, "Malignant Primary", "malignant_primary"),
    IndexColumn(3, "Malignant Secondary", "malignant_secondary"),
]


def _file(kind: str, columns: list[IndexColumn], rows: list[tuple]) -> IndexFile:
    """rows: (level, title, nemod, codes by col, see, see_also)"""
    terms: list[IndexTerm] = []
    stack: list[IndexTerm] = []
    by_col = {c.col: c for c in columns}
    for level, title, nemod, codes, see, see_also in rows:
        stack = stack[:level]
        parent = stack[-1] if stack else None
        term = IndexTerm(
            ordinal=len(terms),
            letter=title[0].upper(),
            level=level,
            title=title,
            nemod=nemod,
            full_title=f"{title} {nemod}".strip(),
            path=[*(parent.path if parent else []), title],
            parent=parent.ordinal if parent else None,
            see=see,
            see_also=see_also,
        )
        term.cells = [
            IndexCell(col, by_col[col].key, by_col[col].heading, code)
            for col, code in codes.items()
        ]
        terms.append(term)
        stack.append(term)
    return IndexFile("memory.xml", kind, kind, "2025", columns, terms)


@pytest.fixture(scope="module")
def searcher() -> TableSearcher:
    drug = _file(
        "drug_table",
        DRUG_COLS,
        [
            (0, "Naproxen", "", {2: "T39.311", 6: "T39.315"}, None, None),
            (0, "Aleve", "", {}, "Naproxen", None),
            (0, "Kerosene, kerosine", "(fuel) (solvent)", {2: "T52.0X1"}, None, None),
            (0, "Carbon", "", {}, None, None),
            (1, "monoxide", "(from incomplete combustion)", {2: "T58.91"}, None, None),
            (2, "exhaust gas", "(motor)", {2: "T58.01"}, None, None),
            (3, "motor vehicle, not in transit", "", {2: "T58.01"}, None, None),
            (0, "Gastrointestinal drug", "", {2: "T47.91", 6: "T47.95"}, None, None),
            (0, "Tablets", "", {2: "T50.901", 6: "T50.905"}, None, None),
        ],
    )
    neo = _file(
        "neoplasm_table",
        NEO_COLS,
        [
            (0, "Neoplasm, neoplastic", "", {2: "C80.1", 3: "C79.9"}, None, None),
            (1, "colon", "", {2: "C18.9", 3: "C78.5"}, None, "Neoplasm, intestine, large"),
            (1, "intestine, intestinal", "", {2: "C26.0", 3: "C78.80"}, None, None),
            (2, "large", "", {2: "C18.9", 3: "C78.5"}, None, None),
            (3, "colon", "", {2: "C18.9", 3: "C78.5"}, None, None),
            (4, "sigmoid", "(flexure)", {2: "C18.7", 3: "C78.5"}, None, None),
            (1, "bowel", "", {}, "Neoplasm, intestine", None),
            (1, "lung", "", {2: "C34.9-", 3: "C78.0-"}, None, None),
            (2, "upper lobe", "", {2: "C34.1-", 3: "C78.0-"}, None, None),
        ],
    )
    return TableSearcher.build(drug, neo, None)


def test_see_reference_lends_its_name(searcher: TableSearcher) -> None:
    assert searcher.terms("overdose of Aleve", "drug_table")[0][0] == "Naproxen"


def test_spellings_and_nonessential_modifiers(searcher: TableSearcher) -> None:
    assert (
        searcher.terms("kerosene ingestion", "drug_table")[0][0]
        == "Kerosene, kerosine (fuel) (solvent)"
    )


def test_most_specific_subterm_the_words_support(searcher: TableSearcher) -> None:
    assert searcher.terms("carbon monoxide poisoning", "drug_table")[0][0].endswith(
        "monoxide (from incomplete combustion)"
    )
    best = searcher.terms("carbon monoxide from a car running in the garage", "drug_table")[0][0]
    assert best.endswith("motor vehicle, not in transit")


def test_condition_before_from_does_not_choose_the_substance(searcher: TableSearcher) -> None:
    assert searcher.terms("GI bleed from naproxen - drug code?", "drug_table")[0][0] == "Naproxen"


def test_dosage_forms_are_not_substances(searcher: TableSearcher) -> None:
    assert searcher.terms("swallowed naproxen tablets", "drug_table")[0][0] == "Naproxen"


def test_see_also_path_and_specific_site(searcher: TableSearcher) -> None:
    assert searcher.terms("cancer of the sigmoid colon", "neoplasm_table")[0][0].endswith(
        "> sigmoid (flexure)"
    )
    assert (
        searcher.terms("cancer of the lung, upper lobe", "neoplasm_table")[0][0]
        == "Lung > upper lobe"
    )
    # "bowel — see Neoplasm, intestine": the intestine rows answer for it
    assert (
        searcher.terms("cancer of the large bowel", "neoplasm_table")[0][0]
        == "Intestine, intestinal > large"
    )


def test_columns_come_from_the_headings(searcher: TableSearcher) -> None:
    assert searcher.tables["drug_table"].roles == {
        "accidental": "poisoning_accidental",
        "adverse": "adverse_effect",
    }
    assert searcher.tables["neoplasm_table"].roles == {
        "primary": "malignant_primary",
        "secondary": "malignant_secondary",
    }


def test_match_needs_a_code_book(searcher: TableSearcher) -> None:
    with pytest.raises(ValueError, match="code book"):
        searcher.match("overdose of Aleve")
