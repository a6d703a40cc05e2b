"""The clinical vocabulary is data with provenance, and never contradicts the Alphabetic Index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codedesk.cms.index_xml import parse_index_xml
from codedesk.retrieval.text import tokens
from codedesk.vocabulary import VOCABULARY, load_vocabulary


def test_every_entry_names_its_source_and_compiles() -> None:
    assert len(VOCABULARY) > 300
    for e in VOCABULARY:
        assert e.source.strip(), e
        if e.kind == "phrase":
            re.compile(e.key)


def test_an_entry_without_a_source_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "v.toml"
    bad.write_text('[[abbreviation]]\nterm = "htn"\nmeans = "hypertension"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="needs term, means and source"):
        load_vocabulary(bad)


@pytest.fixture(scope="module")
def index_terms(fy2025_dir: Path) -> dict[str, object]:
    terms = parse_index_xml(fy2025_dir / "icd10cm-index-2025.xml").terms
    return {" > ".join(t.path): t for t in terms}


def test_index_sources_are_in_the_index(index_terms: dict[str, object]) -> None:
    """An entry that cites the Index cites a path the Index has."""
    cited = [e for e in VOCABULARY if e.source.startswith("Index: ")]
    assert len(cited) >= 10
    for e in cited:
        path = (
            re.split(r",? see\b| [A-Z]\d", e.source.removeprefix("Index: "))[0]
            .split(" / ")[0]
            .strip()
        )
        assert path in index_terms, (e.key, path)


def test_no_rewrite_contradicts_an_index_code(index_terms: dict[str, object], codebook) -> None:
    """A lay term the Index codes directly ("Heartburn R12") is not rewritten into other words: the
    rewrite must keep the words of the title of the code the Index gives."""
    for e in VOCABULARY:
        if e.kind not in ("phrase", "fold"):
            continue
        term = (
            e.key
            if e.kind == "fold"
            else re.sub(r"\\b|\(\?:.*|[^a-z ]", "", e.key.split("|")[0]).strip()
        )
        entry = index_terms.get(term.capitalize())
        if entry is None or not entry.codes or entry.see:
            continue
        info = codebook.lookup(entry.codes[0].rstrip("-"))
        if not info.exists:
            continue
        title_words = set(tokens(info.title))
        assert set(tokens(e.value)) & title_words, (e.key, e.value, entry.codes[0], info.title)
