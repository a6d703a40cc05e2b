"""Parser of the official CMS ICD-10-CM Tabular List XML (`<ICD10CM.tabular>`), any fiscal year.

Yields typed `TabularNode` records for chapters, blocks (sections), categories, subcategories and
codes, each with its own instructional notes. Inheritance and 7th-character expansion live in
`codedesk.cms.codebook`, which is built from these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree as ET

from codedesk.errors import SourceError

# XML element -> the note kind used in answers and citations (snake_case kinds).
NOTE_KINDS: dict[str, str] = {
    "includes": "includes",
    "inclusionTerm": "inclusion_term",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "note",
    "sevenChrNote": "seventh_character",
}
NOTE_LABELS: dict[str, str] = {
    "includes": "Includes",
    "inclusion_term": "Inclusion term",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "code_first": "Code first",
    "use_additional_code": "Use additional code",
    "code_also": "Code also",
    "note": "Note",
    "seventh_character": "7th character",
}


@dataclass(slots=True)
class TabularNode:
    """One node of the Tabular List: chapter, block, category, subcategory or code."""

    code: str  # "4" for a chapter, "E08-E13" for a block, "E11.22" for a code
    kind: str  # chapter | block | category | subcategory | code
    title: str
    parent: str | None
    chapter: str
    depth: int
    children: list[str] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    seventh: dict[str, str] = field(default_factory=dict)  # own sevenChrDef: char -> meaning


@dataclass(slots=True)
class TabularFile:
    fiscal_year: str
    path: str
    nodes: dict[str, TabularNode]
    order: list[str]  # document order of every node


def _text(el: ET.Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _notes(el: ET.Element) -> tuple[dict[str, list[str]], dict[str, str]]:
    notes: dict[str, list[str]] = {}
    seventh: dict[str, str] = {}
    for child in el:
        kind = NOTE_KINDS.get(child.tag)
        if kind:
            texts = [_text(n) for n in child.findall("note")]
            if texts:
                notes.setdefault(kind, []).extend(t for t in texts if t)
        elif child.tag == "sevenChrDef":
            for ext in child.findall("extension"):
                seventh[ext.get("char", "").strip().upper()] = _text(ext)
    return notes, seventh


_YEAR_IN_NAME = re.compile(r"(20\d\d)")


def parse_tabular(path: str | Path, fiscal_year: str | None = None) -> TabularFile:
    """Parse a Tabular List XML file. Raises `SourceError` naming the file and line if malformed."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    try:
        root = ET.parse(str(path), ET.XMLParser(remove_comments=True, huge_tree=True)).getroot()
    except ET.XMLSyntaxError as err:
        raise SourceError(path, f"malformed XML ({err.msg})", line=err.lineno) from None
    if root.tag != "ICD10CM.tabular":
        raise SourceError(path, f"not an ICD-10-CM Tabular List (root element <{root.tag}>)")
    version = (root.findtext("version") or "").strip()
    named = _YEAR_IN_NAME.search(path.name)
    fy: str = fiscal_year or version or (named[1] if named else "")
    nodes: dict[str, TabularNode] = {}
    order: list[str] = []

    def add(node: TabularNode) -> None:
        nodes[node.code] = node
        order.append(node.code)
        if node.parent:
            nodes[node.parent].children.append(node.code)

    def walk_diag(el: ET.Element, parent: str, chapter: str, depth: int) -> None:
        code = (el.findtext("name") or "").strip().upper()
        if not code:
            raise SourceError(path, f"<diag> without <name> under {parent}")
        notes, seventh = _notes(el)
        kind = (
            "category"
            if len(code) == 3
            else ("subcategory" if el.find("diag") is not None else "code")
        )
        add(
            TabularNode(
                code,
                kind,
                _text(el.find("desc")),
                parent,
                chapter,
                depth,
                notes=notes,
                seventh=seventh,
            )
        )
        for sub in el.findall("diag"):
            walk_diag(sub, code, chapter, depth + 1)

    chapters = root.findall("chapter")
    if not chapters:
        raise SourceError(path, "no <chapter> elements: the file is empty or truncated")
    for ch in chapters:
        name = (ch.findtext("name") or "").strip()
        notes, seventh = _notes(ch)
        add(
            TabularNode(
                name, "chapter", _text(ch.find("desc")), None, name, 0, notes=notes, seventh=seventh
            )
        )
        for sec in ch.findall("section"):
            block = sec.get("id", "").strip().upper()
            if "-" not in block:  # a one-category block ("B10") must not share the category's key
                block = f"{block}-{block}"
            notes, seventh = _notes(sec)
            title = re.sub(r"\s*\([A-Z0-9.\-]+\)\s*$", "", _text(sec.find("desc")))
            add(TabularNode(block, "block", title, name, name, 1, notes=notes, seventh=seventh))
            for diag in sec.findall("diag"):
                walk_diag(diag, block, name, 2)
    return TabularFile(fiscal_year=fy, path=str(path), nodes=nodes, order=order)
