"""Every sequencing rule cites the real FY2025 Official Guidelines: its section exists, its page is in
that section, and its quoted sentence is printed on that page."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from codedesk.cms.guidelines_pdf import parse_guidelines_pdf, section_index
from codedesk.retrieval.sequencing import load_rules

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " "})


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_QUOTES)).strip()


@pytest.fixture(scope="module")
def pdf(fy2025_dir: Path) -> Path:
    return fy2025_dir / "icd10cm-guidelines-fy2025.pdf"


@pytest.fixture(scope="module")
def pages(pdf: Path) -> dict[int, str]:
    """Printed page number ("Page N of 120") -> the page's text, whitespace and quotes normalized."""
    out = {}
    with pymupdf.open(pdf) as doc:
        for page in doc:
            text = page.get_text()
            m = re.search(r"Page\s+(\d+)\s+of\s+\d+", text)
            if m:
                out[int(m.group(1))] = _norm(text)
    return out


def test_the_rules_cite_this_pdf(pdf: Path) -> None:
    rules = load_rules()
    assert rules.rules and all(r.edition == "FY2025" for r in rules.rules)
    assert pdf.is_file()


def test_every_rule_section_page_and_quote(pdf: Path, pages: dict[int, str]) -> None:
    by_id = section_index(parse_guidelines_pdf(pdf))
    problems = []
    for rule in load_rules().rules:
        section = by_id.get(rule.section)
        if section is None:
            problems.append(f"{rule.id}: no section {rule.section}")
            continue
        if not section.page_start <= rule.page <= section.page_end:
            problems.append(
                f"{rule.id}: page {rule.page} outside {rule.section} "
                f"(pages {section.page_start}-{section.page_end})"
            )
        if _norm(rule.quote) not in pages.get(rule.page, ""):
            problems.append(f"{rule.id}: quote not on page {rule.page}: {rule.quote[:80]}")
        if not _norm(section.title).lower().startswith(_norm(rule.title).lower()[:30]):
            problems.append(
                f"{rule.id}: title {rule.title!r} is not the heading of {rule.section} ({section.title!r})"
            )
    assert problems == []
