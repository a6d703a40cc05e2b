"""What a question asks: code mentions and ranges, fiscal year or date of service, encounter words.

Pure functions over the question text; nothing here touches an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from codedesk.codes import PROSE_CODE
from codedesk.settings import fiscal_year_of  # also imported from here (tests, callers)

# A code as coders type it: E11.22, e1122, T39.1X1A, C4A.0, Z3A.20, J4B, K6A01, QA171 (the shapes:
# codedesk.codes); ranges E08-E13, N18.1-N18.6; E11.2- = "and below".
_CODE = PROSE_CODE
# A code-shaped piece of a longer identifier ("license D1234-5678-9012", "5678-D1234") is not a code.
CODE_RE = re.compile(
    rf"(?<![A-Za-z0-9.])(?<![0-9]-)({_CODE})(?:\s*(?:-|–|to|through)\s*({_CODE}))?(-)?"
    r"(?![A-Za-z0-9]|-[0-9])",
    re.I,
)
# The number after an identifier's label is never a code mention, whatever its shape ("MRN E1234567").
_ID_LABEL_RE = re.compile(
    r"(?:\b(?:licen[cs]e|lic|mrn|acct|account|policy|member|serial|plate|vin|ssn|id)"
    r"|#)\s*(?:no\.?|number|#)?\s*[:#]?\s*$",
    re.I,
)
# T10-T12 name thoracic vertebrae ("compression fracture of T12", "T12-L1 disc"), no ICD-10-CM category: in a
# question about the spine they are words, not code mentions.
_VERTEBRA_RE = re.compile(r"[Tt]1[0-2]")
_SPINE_RE = re.compile(r"vertebr|spin[ae]|thoracic|lumbar|disc\b|disk\b|compression|kyphopl", re.I)
_FY_RE = re.compile(r"\b(?:fy|fiscal year)\s*'?(20\d\d|\d\d)\b", re.I)
_DOS_RE = re.compile(
    r"\b(?:dos|date of service|discharged?|admitted|service date|seen)\b[^0-9]{0,12}"
    r"(20\d\d)-(\d\d?)-(\d\d?)|\b(?:dos|date of service)\b[^0-9]{0,12}(\d\d?)/(\d\d?)/(20\d\d)",
    re.I,
)
_ISO_DATE_RE = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
_YEAR_WORD_RE = re.compile(r"\b(?:in|for|during)\s+(20\d\d)\b", re.I)


@dataclass(slots=True)
class CodeMention:
    text: str  # as written
    first: str
    last: str | None = None  # end of a range
    and_below: bool = False  # written with a trailing dash (E11.2-)


@dataclass(slots=True)
class ParsedQuestion:
    text: str
    mentions: list[CodeMention] = field(default_factory=list)
    fiscal_year: str | None = None
    date_of_service: date | None = None
    date_error: str | None = (
        None  # a date of service that does not exist ("DOS 2024-02-30"): say so, never ignore
    )

    @property
    def is_code_lookup(self) -> bool:
        """Mostly a code or two and little else ("E11.22?", "is E11.2 billable")."""
        rest = CODE_RE.sub(" ", self.text)
        return bool(self.mentions) and len(re.findall(r"[A-Za-z]{3,}", rest)) <= 8


def parse_question(text: str) -> ParsedQuestion:
    q = ParsedQuestion(text=text)
    for m in CODE_RE.finditer(text):
        first, last, dash = m.group(1), m.group(2), m.group(3)
        # Lower case without a dot is a code when its tail has a digit ("e1122", "i10", "t391x1a"), not an
        # abbreviation that happens to have a code's shape ("q12h" = every 12 hours).
        looks_typed = (
            "." in first
            or first[0].isupper()
            or first[1:3].isdigit()
            and (len(first) <= 3 or any(c.isdigit() for c in first[3:]))
        )
        if not looks_typed or _ID_LABEL_RE.search(text[max(0, m.start() - 24) : m.start()]):
            continue
        if _VERTEBRA_RE.fullmatch(first) and last is None and _SPINE_RE.search(text):
            continue
        q.mentions.append(CodeMention(m.group(0).strip(), first, last, bool(dash)))
    fy = _FY_RE.search(text)
    if fy:
        year = fy.group(1)
        q.fiscal_year = year if len(year) == 4 else f"20{year}"
    dos = _DOS_RE.search(text) or _ISO_DATE_RE.search(text)
    if dos:
        g = [x for x in dos.groups() if x]
        year, month, day = (g[0], g[1], g[2]) if len(g[0]) == 4 else (g[2], g[0], g[1])
        try:
            q.date_of_service = date(int(year), int(month), int(day))
        except ValueError:
            q.date_of_service = None
            written = f"{g[0]}-{g[1]}-{g[2]}" if len(g[0]) == 4 else f"{g[0]}/{g[1]}/{g[2]}"
            q.date_error = (
                f"{written} is not a valid date (year {year}, month {month}, day {day}): the date of "
                "service decides the code set, so please write it again (YYYY-MM-DD or MM/DD/YYYY)."
            )
        if q.date_of_service and not q.fiscal_year:
            q.fiscal_year = fiscal_year_of(q.date_of_service)
    if not q.fiscal_year:
        yw = _YEAR_WORD_RE.search(text)
        if yw:
            q.fiscal_year = yw.group(1)
    return q
