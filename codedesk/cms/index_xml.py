"""Parser of the ICD-10-CM index-schema XML (`<ICD10CM.index>`, icd10cm-index-*.xsd).

One schema serves four official files: the Alphabetic Index to Diseases and Injuries, the Index to
External Causes, the Table of Drugs and Chemicals and the Neoplasm Table. Each `mainTerm` and
nested `term level=N` becomes one `IndexTerm` with its full path of titles, its nonessential
modifiers (`nemod`) kept apart from the title, its cross-references (`see`, `seeAlso`, `seecat`,
`subcat`) and its code exactly as printed, the incomplete marker `-` included (`T39.1-`, `C34.1-`).
Tables add one `IndexCell` per `<cell col=N>`, whose meaning comes from the file's own
`<indexHeading><head col=N>` — never from a hard-coded column list.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree as ET

from codedesk.errors import SourceError

log = logging.getLogger(__name__)

SYSTEM = "ICD-10-CM"
ROOT = "ICD10CM.index"
# Children a term may have (xsd `termGroup`); anything else means another schema.
_TERM_CHILDREN = {
    "title",
    "diff",
    "see",
    "seeAlso",
    "code",
    "seecat",
    "subcat",
    "manif",
    "warning",
    "cell",
    "term",
}
_NO_CODE = {"", "-", "--", "—"}

# kind -> (doc kind in ids, source_type in metadata, human title)
KINDS: dict[str, tuple[str, str, str]] = {
    "index": ("index", "index", "ICD-10-CM Alphabetic Index"),
    "external_cause_index": ("eindex", "index", "ICD-10-CM Index to External Causes"),
    "drug_table": ("drug", "drug_table", "ICD-10-CM Table of Drugs and Chemicals"),
    "neoplasm_table": ("neoplasm", "neoplasm_table", "ICD-10-CM Neoplasm Table"),
    "table": ("table", "index", "ICD-10-CM index table"),
}


@dataclass(slots=True, frozen=True)
class IndexColumn:
    col: int  # the `col` attribute; column 1 is the term itself
    heading: str  # as printed: "Poisoning Accidental (unintentional)"
    key: str  # stable slug: "poisoning_accidental"


@dataclass(slots=True)
class IndexCell:
    col: int
    column: str  # IndexColumn.key
    heading: str  # IndexColumn.heading
    code: str | None  # as printed ("T39.1X1", "C79.8-"); None where the table shows "--" or "-"

    @property
    def incomplete(self) -> bool:
        """The table marks codes that need more characters with a trailing '-'."""
        return bool(self.code and self.code.endswith("-"))


@dataclass(slots=True)
class IndexTerm:
    ordinal: int  # position in the file, 0-based
    letter: str
    level: int  # 0 = mainTerm, N = term level=N
    title: str  # without nonessential modifiers: "Acid NEC"
    nemod: str  # "(corrosive)"; "" when none
    full_title: str  # as printed: "Acid (corrosive) NEC"
    path: list[str]  # titles (no nemod) from the main term down to this term
    parent: int | None  # ordinal of the enclosing term
    codes: list[str] = field(default_factory=list)  # `<code>` values, '-' marker preserved
    see: str | None = None
    see_also: str | None = None
    seecat: str | None = None  # "see category"
    subcat: str | None = None  # "see subcategory"
    manif: str | None = None  # manifestation code or text printed in brackets
    warning: str | None = None
    cells: list[IndexCell] = field(default_factory=list)
    line: int = 0  # source line of the term, for messages


@dataclass(slots=True)
class IndexFile:
    path: str
    kind: str  # index | external_cause_index | drug_table | neoplasm_table | table
    title: str
    version: str
    columns: list[IndexColumn]
    terms: list[IndexTerm]

    def column(self, key: str) -> IndexColumn:
        return next(c for c in self.columns if c.key == key)


def column_key(heading: str) -> str:
    """'Poisoning Accidental (unintentional)' -> 'poisoning_accidental'; 'Ca in situ' -> 'ca_in_situ'."""
    bare = re.sub(r"\([^)]*\)", " ", heading)
    return "_".join(re.findall(r"[a-z0-9]+", bare.lower())) or "column"


def _text(el: ET._Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _title_parts(el: ET._Element) -> tuple[str, str, str]:
    """(title without nemod, nemod, full title) from `<title>` or an addenda `<diff>`."""
    if el.tag == "diff":  # addenda files: keep what the entry reads now (unchanged and new parts)
        parts = [el.text or ""]
        for child in el:
            if child.tag in ("unc", "new"):
                parts.append("".join(child.itertext()))
            parts.append(child.tail or "")
        now = " ".join("".join(parts).split())
        return now, "", now
    own: list[str] = [el.text or ""]
    printed: list[str] = [el.text or ""]  # the printed order: "Acid (corrosive) NEC"
    nemod: list[str] = []
    for child in el:
        if child.tag == "nemod":
            nemod.append(_text(child))
            printed.append(f" {_text(child)} ")
        else:
            own.append(_text(child))
            printed.append(_text(child))
        own.append(child.tail or "")
        printed.append(child.tail or "")
    return " ".join("".join(own).split()), " ".join(nemod), " ".join("".join(printed).split())


def _detect_kind(title: str, columns: list[IndexColumn]) -> str:
    if columns:
        first = columns[0].heading.lower()
        if "substance" in first or "drug" in first:
            return "drug_table"
        if "neoplasm" in first:
            return "neoplasm_table"
        return "table"
    return "external_cause_index" if "external cause" in title.lower() else "index"


def _is_note(el: ET._Element) -> bool:
    """A `<term>` that is an instructional note ("Note: The Tabular must be reviewed …"), not a term."""
    return _text(el.find("title")).lower().startswith("note:")


def parse_index_xml(path: str | Path) -> IndexFile:
    """Parse one index-schema file; raise SourceError (file, line) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    try:
        tree = ET.parse(
            str(path), ET.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        )
    except ET.XMLSyntaxError as exc:
        raise SourceError(path, f"not well-formed XML ({exc.msg})", line=exc.lineno) from exc
    root = tree.getroot()
    if root.tag != ROOT:
        raise SourceError(
            path,
            f"wrong schema: root element <{root.tag}>, expected <{ROOT}>",
            line=root.sourceline,
        )
    version = _text(root.find("version"))
    title = _text(root.find("title"))
    columns = []
    heading = root.find("indexHeading")
    if heading is not None:
        for head in heading.findall("head"):
            try:
                col = int(head.get("col", ""))
            except ValueError:
                raise SourceError(
                    path, f"<head> without a numeric col: {head.get('col')!r}", line=head.sourceline
                ) from None
            columns.append(IndexColumn(col, _text(head), column_key(_text(head))))
    kind = _detect_kind(title, columns)
    by_col = {c.col: c for c in columns}
    letters = root.findall("letter")
    if not letters:
        raise SourceError(
            path, "no <letter> elements: not an ICD-10-CM index file", line=root.sourceline
        )
    terms: list[IndexTerm] = []

    def visit(
        el: ET._Element, letter: str, level: int, parent: IndexTerm | None, shift: int = 0
    ) -> IndexTerm:
        head = el.find("title")
        if head is None:
            head = el.find("diff")
        if head is None:
            raise SourceError(path, f"<{el.tag}> without a <title>", line=el.sourceline)
        if el.tag == "term":
            declared = el.get("level")
            if declared != str(level + shift):  # shift: below a note, one level deeper as printed
                raise SourceError(
                    path, f"<term level={declared!r}> nested at level {level}", line=el.sourceline
                )
        own, nemod, full = _title_parts(head)
        term = IndexTerm(
            ordinal=len(terms),
            letter=letter,
            level=level,
            title=own,
            nemod=nemod,
            full_title=full,
            path=[*(parent.path if parent else []), own],
            parent=parent.ordinal if parent else None,
            line=el.sourceline or 0,
        )
        terms.append(term)
        children: list[ET._Element] = []
        for child in el:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            if child.tag not in _TERM_CHILDREN:
                raise SourceError(
                    path, f"unexpected <{child.tag}> in <{el.tag}>", line=child.sourceline
                )
            if child.tag == "code":
                term.codes.append(_text(child))
            elif child.tag in ("see", "seeAlso", "seecat", "subcat", "manif", "warning"):
                setattr(term, {"seeAlso": "see_also"}.get(child.tag, child.tag), _text(child))
            elif child.tag == "cell":
                term.cells.append(_cell(path, child, by_col))
            elif child.tag == "term":
                children.append(child)
        previous: IndexTerm | None = None
        for child in children:
            if not _is_note(child):
                previous = visit(child, letter, level + 1, term, shift)
                continue
            # A printed note is no term: the FY2025 XML nests the subterms printed after "Failure, heart >
            # Note: heart failure stages A, B, C, and D …" (stage A … systolic … valvular) under the note, one
            # level up; they are the subterms of the term the note follows, as in the printed Index.
            for grandchild in child.findall("term"):
                if previous is None:
                    visit(grandchild, letter, level + 1, term, shift + 1)
                else:
                    visit(grandchild, letter, level + 2, previous, shift)
        return term

    for letter_el in letters:
        letter = _text(letter_el.find("title"))
        for main in letter_el:
            if main.tag == "mainTerm":
                visit(main, letter, 0, None)
            elif isinstance(main.tag, str) and main.tag not in ("title", "diff"):
                raise SourceError(
                    path, f"unexpected <{main.tag}> in <letter>", line=main.sourceline
                )
    if not terms:
        raise SourceError(path, "no <mainTerm> entries")
    log.info(
        "index_xml parsed path=%s kind=%s terms=%d cells=%d",
        path,
        kind,
        len(terms),
        sum(len(t.cells) for t in terms),
    )
    return IndexFile(str(path), kind, title or KINDS[kind][2], version, columns, terms)


def _cell(path: Path, el: ET._Element, by_col: dict[int, IndexColumn]) -> IndexCell:
    try:
        col = int(el.get("col", ""))
    except ValueError:
        raise SourceError(
            path, f"<cell> without a numeric col: {el.get('col')!r}", line=el.sourceline
        ) from None
    column = by_col.get(col)
    if column is None:
        raise SourceError(
            path,
            f"<cell col={col}> has no matching <head col={col}> in <indexHeading>",
            line=el.sourceline,
        )
    value = _text(el)
    return IndexCell(col, column.key, column.heading, None if value in _NO_CODE else value)
