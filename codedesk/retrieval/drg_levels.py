"""CC/MCC levels of ICD-10-CM codes as secondary diagnoses, from CMS's MS-DRG tables, by fiscal year.

- Table 6I: the complete MCC list; Table 6J: the complete CC list (code, title).
- Table 6K: CC exclusions. Part 1 gives each CC/MCC code its level and a "PDX collection": the principal
  diagnoses that make it count as a non-CC; Part 2 the codes that are a CC/MCC only when the patient is
  discharged alive. (Part 3, exclusions in selected MS-DRGs, needs a DRG and is not read.)

Where the tables come from, newest wins per fiscal year:
- the `drg` package (Apache-2.0) ships CMS's FY2026 MS-DRG v43 tables as text (`drg/data/cms/mcc_list.txt`,
  `cc_list.txt`, `cc_exclusions.txt`); the package says "FY2026 v43.0", the files' own headers name only
  the table;
- a team that fetches newer tables from CMS puts them in `CODEDESK_CMS_DATA_DIR/cms/fy{N}/msdrg/` (the
  same three names, or CMS's names containing "6I", "6J", "6K").

Read lazily, once per process per folder (about a second: Table 6K is 17 MB). Levels are never guessed:
a code absent from a year's tables is "not in the FY… v… tables".
"""

from __future__ import annotations

import importlib.util
import logging
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from codedesk.codes import dotted as normalize_code
from codedesk.errors import SourceError
from codedesk.retrieval.schema import Citation

log = logging.getLogger(__name__)

PACKAGE = "drg"
PACKAGE_YEAR = (
    "2026"  # the drg 1.0.0 package's README: "Implements the CMS MS-DRG algorithm (FY2026 v43.0)"
)
FILES = {
    "6I": ("mcc_list.txt", "6i"),
    "6J": ("cc_list.txt", "6j"),
    "6K": ("cc_exclusions.txt", "6k"),
}
TABLE_TITLES = {
    "6I": "Table 6I (complete MCC list)",
    "6J": "Table 6J (complete CC list)",
    "6K": "Table 6K (complete list of CC exclusions)",
}
_PART1 = re.compile(r"^ ([A-Z0-9]{3,7})\s+(MCC|CC)\s+(?:(\d{4}):[\d,]+ codes?|No Excl)\s+(.*?)\s*$")
_COLLECTION = re.compile(r"^PDX collection (\d{4})\s*$")
_MEMBER = re.compile(r"^\s+([A-Z0-9]{3,7})\s+(.*?)\s*$")


def msdrg_version(fiscal_year: str) -> str:
    """MS-DRG grouper versions advance one a fiscal year: v43 is FY2026 (v37 was FY2020)."""
    return f"v{int(fiscal_year) - 1983}"


def plain(code: str) -> str:
    return code.replace(".", "").strip().upper()


@dataclass(frozen=True, slots=True)
class TableSource:
    fiscal_year: str
    folder: Path
    files: tuple[tuple[str, Path], ...]  # (6I / 6J / 6K, file)
    origin: str  # "drg 1.0.0 package" or the folder under CODEDESK_CMS_DATA_DIR

    @property
    def version(self) -> str:
        return msdrg_version(self.fiscal_year)

    def file(self, table: str) -> Path:
        return dict(self.files)[table]


@dataclass(slots=True)
class DrgTables:
    """One fiscal year's CC/MCC tables (codes without dots in the sets)."""

    source: TableSource
    mcc: dict[str, str] = field(default_factory=dict)  # 6I: code -> title
    cc: dict[str, str] = field(default_factory=dict)  # 6J
    pdx_collection: dict[str, str | None] = field(
        default_factory=dict
    )  # 6K Part 1: code -> collection (None: No Excl)
    level_6k: dict[str, str] = field(default_factory=dict)  # 6K Part 1: code -> CC | MCC
    collections: dict[str, frozenset[str]] = field(
        default_factory=dict
    )  # 6K: collection -> principal dx codes
    alive_only: frozenset[str] = frozenset()  # 6K Part 2
    seconds: float = 0.0  # how long reading took

    @property
    def fiscal_year(self) -> str:
        return self.source.fiscal_year

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year} MS-DRG {self.source.version}"

    def citation(self, table: str, code: str | None = None, quote: str | None = None) -> Citation:
        return Citation(
            source_type="drg_table",
            title=f"CMS {self.label} {TABLE_TITLES[table]}",
            section=f"Table {table}",
            code=code,
            fiscal_year=self.fiscal_year,
            quote=quote,
        )


def _read_lines(path: Path) -> list[str]:
    # The package's files are UTF-8 with CRLF; CMS's own are cp1252: accept both.
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return text.splitlines()


def _read_list(path: Path, table: str) -> dict[str, str]:
    lines = _read_lines(path)
    if not lines or f"TABLE {table}" not in lines[0].upper():
        raise SourceError(
            path,
            f"not CMS Table {table} (its first line is {lines[0][:60]!r})" if lines else "empty",
        )
    out = {}
    for line in lines[1:]:
        code, _, title = line.partition("\t")
        code = plain(code)
        if code and code != "DIAGNOSISCODE" and not code.startswith("DIAGNOSIS"):
            out[code] = title.strip()
    return out


def _read_exclusions(path: Path, tables: DrgTables) -> None:
    lines = _read_lines(path)
    if not lines or "TABLE 6K" not in lines[0].upper():
        raise SourceError(path, "not CMS Table 6K")
    part, current, members = 0, None, []
    collections: dict[str, frozenset[str]] = {}
    alive: set[str] = set()
    for line in lines:
        if line.startswith("K Part "):
            part = int(line[7])
            continue
        if part == 1:
            m = _PART1.match(line)
            if m:
                tables.level_6k[m.group(1)] = m.group(2)
                tables.pdx_collection[m.group(1)] = m.group(3)
                continue
            c = _COLLECTION.match(line)
            if c:
                if current:
                    collections[current] = frozenset(members)
                current, members = c.group(1), []
                continue
            if current:
                mm = _MEMBER.match(line)
                if mm:
                    members.append(mm.group(1))
        elif part == 2:
            mm = _MEMBER.match(line)
            if mm:
                alive.add(mm.group(1))
        elif part == 3:
            break
    if current:
        collections[current] = frozenset(members)
    tables.collections = collections
    tables.alive_only = frozenset(alive)


@lru_cache(maxsize=4)
def read_tables(source: TableSource) -> DrgTables:
    """The three tables of one source, parsed once per process."""
    start = time.perf_counter()
    tables = DrgTables(source)
    tables.mcc = _read_list(source.file("6I"), "6I")
    tables.cc = _read_list(source.file("6J"), "6J")
    _read_exclusions(source.file("6K"), tables)
    tables.seconds = time.perf_counter() - start
    log.info(
        "msdrg tables read fy=%s mcc=%d cc=%d collections=%d seconds=%.2f",
        source.fiscal_year,
        len(tables.mcc),
        len(tables.cc),
        len(tables.collections),
        tables.seconds,
    )
    return tables


def _table_files(folder: Path) -> tuple[tuple[str, Path], ...] | None:
    """The 6I/6J/6K files of a folder, by the drg package's names or CMS's ("…Table 6I…")."""
    out = {}
    names = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
    for table, (package_name, marker) in FILES.items():
        found = next((p for p in names if p.name == package_name), None) or next(
            (
                p
                for p in names
                if re.search(
                    rf"(?<![a-z0-9]){marker}(?![a-z0-9])", p.name.lower().replace("table", " ")
                )
            ),
            None,
        )
        if found is None:
            return None
        out[table] = found
    return tuple(out.items())


def package_source() -> TableSource | None:
    spec = importlib.util.find_spec(PACKAGE)  # finds the folder without importing the grouper
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "cms"
    files = _table_files(folder) if folder.is_dir() else None
    if files is None:
        return None
    from importlib.metadata import version

    return TableSource(PACKAGE_YEAR, folder, files, f"{PACKAGE} {version(PACKAGE)} package")


def table_sources(cms_data_dir: Path | None) -> dict[str, TableSource]:
    """{fiscal year: where its tables are}: the drg package's FY2026, then cms/fy{N}/msdrg/ folders."""
    out: dict[str, TableSource] = {}
    pkg = package_source()
    if pkg is not None:
        out[pkg.fiscal_year] = pkg
    root = cms_data_dir / "cms" if cms_data_dir else None
    for folder in sorted(root.glob("fy20[0-9][0-9]/msdrg")) if root and root.is_dir() else []:
        files = _table_files(folder)
        if files:
            fy = folder.parent.name[2:]
            out[fy] = TableSource(fy, folder, files, str(folder))
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class Level:
    """A code's CC/MCC level as a secondary diagnosis in one year's tables, with a principal diagnosis
    applied when one is given."""

    code: str  # dotted
    fiscal_year: str  # of the tables read
    version: str  # v43
    level: str | None  # MCC | CC | None (not in 6I/6J)
    in_tables: bool  # False: not in the tables' code set at all (e.g. new after them)
    principal: str | None = None
    excluded: bool = False  # the principal is in the code's PDX collection: it counts as a non-CC
    collection: str | None = None
    collection_size: int = 0
    alive_only: bool = False
    table: str = ""  # 6I | 6J
    title: str = ""
    note: str = ""  # a year fallback, said in the text

    @property
    def counts_as(self) -> str:
        """What the code counts as with this principal: MCC, CC or non-CC."""
        return "non-CC" if self.level is None or self.excluded else self.level

    def text(self) -> str:
        label = f"FY{self.fiscal_year} MS-DRG {self.version}"
        if self.level is None:
            if not self.in_tables:
                return f"{self.code}: not in the {label} tables (no CC/MCC level can be given)"
            return f"{self.code}: not a CC or MCC ({label}: in neither Table 6I nor Table 6J)"
        head = f"{self.code}: {self.level} ({label}, Table {self.table})"
        if self.principal is None:
            out = head
            if self.collection:
                out += (
                    f"; it counts as a non-CC when the principal diagnosis is one of the {self.collection_size} "
                    f"codes of its PDX exclusion collection {self.collection} (Table 6K)"
                )
            elif self.collection is None:
                out += "; no principal diagnosis excludes it (Table 6K: No Excl)"
        elif self.principal == self.code:
            out = (
                f"{head}, but with {self.code} itself as the principal diagnosis it does not count: "
                f"{self.code} is in its own PDX exclusion collection {self.collection} (Table 6K)"
                if self.excluded
                else f"{head}; it is the principal diagnosis itself"
            )
        elif self.excluded:
            out = (
                f"{head}, but with principal diagnosis {self.principal} it does not count: {self.principal} is "
                f"in its PDX exclusion collection {self.collection} (Table 6K), so it counts as a non-CC"
            )
        else:
            why = (
                f"{self.principal} is not in its PDX exclusion collection {self.collection}"
                if self.collection
                else "Table 6K lists no exclusions for it"
            )
            out = (
                f"{head}; with principal diagnosis {self.principal} it still counts as {_a(self.level)} "
                f"({why}, Table 6K)"
            )
        if self.alive_only:
            out += "; a CC/MCC only if the patient is discharged alive (Table 6K Part 2)"
        return out + (f". {self.note}" if self.note else "")


def _a(level: str) -> str:
    return f"an {level}" if level == "MCC" else f"a {level}"


class DrgLevels:
    """CC/MCC levels by fiscal year; tables are read on first use."""

    def __init__(self, cms_data_dir: Path | None = None) -> None:
        self.sources = table_sources(cms_data_dir)

    @property
    def years(self) -> list[str]:
        return list(self.sources)

    def tables_for(self, fiscal_year: str) -> tuple[DrgTables | None, str]:
        """The tables of the year, or the newest before it with a sentence that says so ("" when exact)."""
        if fiscal_year in self.sources:
            return read_tables(self.sources[fiscal_year]), ""
        older = [y for y in self.sources if y < fiscal_year]
        if not older:
            have = ", ".join(f"FY{y}" for y in self.sources) or "none"
            return None, f"No MS-DRG CC/MCC tables for FY{fiscal_year} (loaded: {have})."
        fy = max(older)
        return read_tables(self.sources[fy]), (
            f"The FY{fiscal_year} MS-DRG {msdrg_version(fiscal_year)} tables are not available: levels are from "
            f"FY{fy} {msdrg_version(fy)}. Put CMS's FY{fiscal_year} Tables 6I/6J/6K in "
            f"CODEDESK_CMS_DATA_DIR/cms/fy{fiscal_year}/msdrg/ to use them."
        )

    def level(
        self, code: str, fiscal_year: str, principal: str | None = None, known: bool = True
    ) -> Level | None:
        """None when no tables are loaded for the year or before it."""
        tables, note = self.tables_for(fiscal_year)
        if tables is None:
            return None
        return level_in(tables, code, principal, note, known)


def level_in(
    tables: DrgTables, code: str, principal: str | None = None, note: str = "", known: bool = True
) -> Level:
    """`known`: the code is valid in the tables' fiscal year (False: "not in the FY… tables")."""
    p = plain(code)
    pdx = plain(principal) if principal else None
    table = "6I" if p in tables.mcc else "6J" if p in tables.cc else ""
    level = "MCC" if table == "6I" else "CC" if table == "6J" else None
    # the tables list only CCs and MCCs: whether an unlisted code is a non-CC of their year or a code the
    # year does not have (new after the tables) is the code book's to say (`known`)
    in_tables = level is not None or known
    collection = tables.pdx_collection.get(p) if level else None
    members = tables.collections.get(collection, frozenset()) if collection else frozenset()
    return Level(
        normalize_code(p),
        tables.fiscal_year,
        tables.source.version,
        level,
        in_tables,
        normalize_code(pdx) if pdx else None,
        bool(pdx and pdx in members),
        collection,
        len(members),
        p in tables.alive_only,
        table,
        (tables.mcc.get(p) or tables.cc.get(p) or ""),
        note,
    )


@lru_cache(maxsize=4)
def drg_levels(cms_data_dir: Path | None = None) -> DrgLevels:
    """One `DrgLevels` per data folder per process."""
    return DrgLevels(cms_data_dir)


__all__ = [
    "DrgLevels",
    "DrgTables",
    "Level",
    "drg_levels",
    "level_in",
    "msdrg_version",
    "read_tables",
    "table_sources",
]
