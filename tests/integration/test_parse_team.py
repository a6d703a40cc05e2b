"""Team guideline markdown files: the real TG-001 and malformed front matter."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codedesk.errors import SourceError
from codedesk.ingest.team import load_team_guidelines, parse_team_guideline, to_docs

TEAM_DIR = Path(__file__).resolve().parents[2] / "guidelines" / "team"


def test_tg001_physician_query_policy() -> None:
    (tg,) = [g for g in load_team_guidelines(TEAM_DIR) if g.id == "TG-001"]
    assert tg.title == "Physician query policy" and tg.status == "approved"
    assert tg.effective == date(2025, 1, 15) and tg.approved_by
    assert "I.A.19" in tg.refines and "III.B" in tg.refines
    assert tg.citation == "Team guideline TG-001, effective 2025-01-15"
    anchors = [s.anchor for s in tg.sections]
    assert {
        "official-basis",
        "when-to-query",
        "how-to-write-a-compliant-query",
        "what-we-never-do",
    } <= set(anchors)
    docs = to_docs([tg], "2025")
    assert len({d.id for d in docs}) == len(docs) == len(tg.sections)
    doc = next(d for d in docs if d.id == "TEAM:2025:team_guideline:TG-001#when-to-query")
    assert doc.metadata["source_type"] == "team_guideline" and doc.metadata["section"] == "TG-001"
    assert doc.metadata["refines"].startswith("I.A.19") and doc.text.startswith(
        "Team guideline TG-001"
    )
    assert 0 < len(doc.embed_text.split()) <= 40


GOOD = """---
id: TG-002
title: Sepsis sequencing
effective: 2025-03-01
approved_by: Coding committee
status: {status}
---
Intro text.

## Rule
Sequence it first.
"""


def test_drafts_are_not_indexed(tmp_path: Path) -> None:
    path = tmp_path / "TG-002-sepsis.md"
    path.write_text(GOOD.format(status="draft"))
    tg = parse_team_guideline(path)
    assert tg.refines == [] and [s.anchor for s in tg.sections] == ["intro", "rule"]
    assert to_docs([tg], "2025") == []


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("TG-002-x.md", "no front matter\n", "missing front matter"),
        (
            "TG-002-x.md",
            GOOD.format(status="approved").replace("effective: 2025-03-01", "effective: March 1"),
            "effective must be a date",
        ),
        ("TG-002-x.md", GOOD.format(status="maybe"), "status 'maybe'"),
        ("TG-003-x.md", GOOD.format(status="approved"), "file name must start with its id TG-002"),
        (
            "TG-002-x.md",
            GOOD.format(status="approved").replace("title: Sepsis sequencing\n", ""),
            "lacks title",
        ),
        (
            "TG-002-x.md",
            GOOD.format(status="approved").replace("approved_by: Coding committee", "approved by"),
            "not 'key: value'",
        ),
    ],
)
def test_bad_front_matter(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SourceError, match=message) as err:
        load_team_guidelines(tmp_path)
    assert str(path) in str(err.value)
