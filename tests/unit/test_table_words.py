"""Words the official tables do not print (codedesk/retrieval/data/tables.toml): data with sources."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from codedesk.errors import SourceError
from codedesk.retrieval.tables import (
    _NEO_PHRASES,
    _TABLE_PHRASES,
    BRANDS,
    DRUG_CLASSES,
    INDEX_CLASSES,
    TABLES_DATA_PATH,
    _load_table_words,
)


def test_every_entry_has_a_known_source_and_one_meaning() -> None:
    data = tomllib.loads(TABLES_DATA_PATH.read_text(encoding="utf-8"))
    kinds = ("brand", "class_row", "drug_phrase", "neoplasm_phrase", "index_class")
    sources = {e["source"] for kind in kinds for e in data[kind]}
    assert all(s for s in sources)
    names = [e["name"] for e in data["brand"]]
    assert len(names) == len(set(names)), "a brand listed twice"
    generics = [n for e in data["class_row"] for n in e["names"]]
    assert len(generics) == len(set(generics)), "a generic in two class rows"
    assert BRANDS["coumadin"] == "warfarin" and DRUG_CLASSES["apixaban"] == "Anticoagulant NEC"
    assert len(_TABLE_PHRASES) == len(data["drug_phrase"]) and _NEO_PHRASES
    assert INDEX_CLASSES["alendronate"] == "bisphosphonates" and not set(INDEX_CLASSES) & set(
        DRUG_CLASSES
    )


def test_an_entry_without_a_source_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "drugs.toml"
    bad.write_text('[[brand]]\nname = "tylenol"\nmeans = "acetaminophen"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="without a source"):
        _load_table_words(bad)
    bad.write_text('[[drug_phrase]]\npattern = "x"\nreplace = "y"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="without a source"):
        _load_table_words(bad)
