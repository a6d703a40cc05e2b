"""Parser of the CMS HCPCS Level II alpha-numeric file (HCPCYYYY_ANWEB*.txt, 320-character records).

Level II only: procedure and modifier codes A–V with their CMS descriptions. (Level I is CPT,
owned by the AMA; this file holds none of its descriptors and this parser adds none.)

Record layout (1-based columns, as in the CMS record layout and the .xls headers of the same file):
  1-5 HCPC (modifiers right-aligned: "   AD"), 6-10 sequence number, 11 record id
  (3 = procedure, 4 = procedure continuation, 7 = modifier, 8 = modifier continuation),
  12-91 long description, 92-119 short description, 120-127 pricing indicators (4 x 2),
  128 multiple pricing indicator, 129-146 CIM refs, 147-170 MCM refs, 171-180 statute,
  181-204 lab certification (8 x 3), 205-229 cross references (5 x 5), 230 coverage,
  231-232 ASC group, 233-240 ASC date, 241-243 OPPS, 244 OPPS PI, 245-252 OPPS date,
  253-256 processing note, 257-259 BETOS, 260 filler, 261-265 type of service (5 x 1),
  266-268 anesthesia base units, 269-276 code added date, 277-284 action effective date,
  285-292 termination date, 293 action code.
Long descriptions longer than 80 characters continue on records 4/8 of the same code.
The "_w_disclaimer" edition starts with a free-text note, skipped up to the first record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from codedesk.errors import SourceError

log = logging.getLogger(__name__)

SYSTEM = "HCPCS"
FIRST_RECORD_LEN = 293  # up to and including the action code
_RECORD_RE = re.compile(r"^[ A-Z0-9]{5}\d{5}[3478]")

ACTION_CODES = {
    "A": "added",
    "B": "change in both administrative data and long description",
    "C": "change in long description",
    "D": "discontinued",
    "F": "change in administrative data",
    "N": "no maintenance",
    "P": "payment change",
    "R": "re-added",
    "S": "change in short description",
    "T": "miscellaneous change",
}
COVERAGE_CODES = {
    "C": "carrier judgment",
    "D": "special coverage instructions apply",
    "I": "not payable by Medicare",
    "M": "non-covered by Medicare",
    "S": "non-covered by Medicare statute",
}


@dataclass(slots=True)
class HcpcsCode:
    code: str  # "A0021", or a modifier "AD"
    kind: str  # procedure | modifier
    sequence: str  # sequence number of the first record, "00100"
    long_description: str  # continuation records joined
    short_description: str
    action_code: str  # ACTION_CODES key
    add_date: date | None
    action_effective_date: date | None
    termination_date: date | None
    coverage: str  # COVERAGE_CODES key or ""
    betos: str
    pricing: list[str] = field(default_factory=list)
    multiple_pricing: str = ""
    type_of_service: list[str] = field(default_factory=list)
    asc_group: str = ""
    processing_note: str = ""
    anesthesia_base_units: str = ""
    line: int = 0  # line of the first record

    @property
    def terminated(self) -> bool:
        return self.termination_date is not None


def _date(path: Path, number: int, value: str, name: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise SourceError(path, f"bad {name} {value!r} (expected YYYYMMDD)", line=number) from None


def _decode(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # CMS ships Windows-1252 ("CMS’")
    return text.splitlines()


def parse_hcpcs(path: str | Path) -> list[HcpcsCode]:
    """Parse the fixed-width file; raise SourceError (file, line) for short or malformed records."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    codes: list[HcpcsCode] = []
    started = False
    for number, raw in enumerate(_decode(path), 1):
        line = raw.rstrip("\r\n")
        if not started:
            if not _RECORD_RE.match(line):
                continue  # disclaimer preamble
            started = True
        if not line.strip():
            continue
        if not _RECORD_RE.match(line):
            raise SourceError(path, f"not an HCPCS record: {line[:30].strip()!r}", line=number)
        code, record_id = line[0:5].strip(), line[10]
        if record_id in "48":  # continuation of the previous code's long description
            if not codes or codes[-1].code != code:
                raise SourceError(
                    path, f"continuation record for {code} without its first record", line=number
                )
            codes[-1].long_description = " ".join(
                f"{codes[-1].long_description} {line[11:91]}".split()
            )
            continue
        if len(line) < FIRST_RECORD_LEN:
            raise SourceError(
                path,
                f"short record for {code}: {len(line)} characters, expected at least "
                f"{FIRST_RECORD_LEN} (320 in the layout)",
                line=number,
            )
        action = line[292]
        if action not in ACTION_CODES:
            raise SourceError(
                path, f"unknown action code {action!r} for {code} (column 293)", line=number
            )
        codes.append(
            HcpcsCode(
                code=code,
                kind="procedure" if record_id == "3" else "modifier",
                sequence=line[5:10],
                long_description=" ".join(line[11:91].split()),
                short_description=" ".join(line[91:119].split()),
                action_code=action,
                add_date=_date(path, number, line[268:276], "code added date"),
                action_effective_date=_date(path, number, line[276:284], "action effective date"),
                termination_date=_date(path, number, line[284:292], "termination date"),
                coverage=line[229].strip(),
                betos=line[256:259].strip(),
                pricing=[p for i in range(119, 127, 2) if (p := line[i : i + 2].strip())],
                multiple_pricing=line[127].strip(),
                type_of_service=[t for t in line[260:265] if t.strip()],
                asc_group=line[230:232].strip(),
                processing_note=line[252:256].strip(),
                anesthesia_base_units=line[265:268].strip(),
                line=number,
            )
        )
    if not codes:
        raise SourceError(path, "no HCPCS records found (not the fixed-width alpha-numeric file?)")
    log.info("hcpcs parsed path=%s codes=%d", path, len(codes))
    return codes
