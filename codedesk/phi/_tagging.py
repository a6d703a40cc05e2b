"""The scrubber's tags, its result and one scrub run, and the pattern pieces the passes share.

`TAGS` names the tag each identifier kind becomes and `TAG_RE` finds them; `ScrubResult` is what
`codedesk.phi.scrub.scrub` returns; `_Scrubber` holds the text being rewritten and the counts so
far. The building blocks (months, days, years, ages over 89, code shapes the id rules must leave
alone, US states, the letters names are written in) are shared by the date, place and name passes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from codedesk.codes import PROSE_CODE

TAGS = {
    "name": "[NAME]",
    "date": "[DATE]",
    "age": "[AGE 90+]",
    "ssn": "[SSN]",
    "mbi": "[MBI]",
    "mrn": "[MRN]",
    "account": "[ACCOUNT]",
    "member_id": "[MEMBER_ID]",
    "id": "[ID]",
    "license": "[LICENSE]",
    "certificate": "[CERTIFICATE]",
    "vehicle_id": "[VEHICLE_ID]",
    "device_id": "[DEVICE_ID]",
    "phone": "[PHONE]",
    "fax": "[FAX]",
    "email": "[EMAIL]",
    "url": "[URL]",
    "ip": "[IP]",
    "address": "[ADDRESS]",
    "location": "[LOCATION]",
    "zip": "[ZIP]",
}
TAG_RE = re.compile(r"\[(?:%s)\]" % "|".join(re.escape(t[1:-1]) for t in TAGS.values()))


@dataclass(frozen=True)
class ScrubResult:
    text: str
    found: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.found.values())

    def summary(self) -> str:
        """``kind:count`` pairs, e.g. ``date:1,name:2`` (safe to store and log)."""
        return ",".join(f"{kind}:{n}" for kind, n in sorted(self.found.items()))


class _Scrubber:
    """One scrub run: the text being rewritten and the counts so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: Counter[str] = Counter()
        self.name_tokens: set[str] = set()

    def sub(
        self,
        pattern: re.Pattern[str],
        kind: str | Callable[[re.Match[str]], str | None],
        group: int | str = 0,
    ) -> None:
        """Replace `group` of each match with the tag of `kind` (a callable decides per match;
        returning None keeps the match)."""

        def repl(m: re.Match[str]) -> str:
            k = kind(m) if callable(kind) else kind
            if k is None:
                return m.group(0)
            self.found[k] += 1
            start, end = m.span(group)
            base = m.start(0)
            whole = m.group(0)
            return whole[: start - base] + TAGS[k] + whole[end - base :]

        self.text = pattern.sub(repl, self.text)


# --- building blocks ---------------------------------------------------------------------------

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTH_ALTS: list[str] = []
for _m in _MONTHS:
    _MONTH_ALTS += [_m, _m.upper()]
    if _m not in ("May", "March"):  # "may" and "march" are common lower-case words
        _MONTH_ALTS.append(_m.lower())
    if len(_m) > 3:
        _MONTH_ALTS += [_m[:3], _m[:3].upper()]
        if _m not in ("May", "March", "December"):  # "mar", "may" as above; "dec" is "decreased"
            _MONTH_ALTS.append(_m[:3].lower())
_MONTH_ALTS += ["Sept", "SEPT", "sept"]
MONTH = r"(?:%s)\.?" % "|".join(sorted(set(_MONTH_ALTS), key=len, reverse=True))
DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th|ST|ND|RD|TH)?"
YEAR = r"(?:19|20)\d{2}"
AGE_90 = r"(?:9\d|1[0-2]\d)"  # 90..129

# Code-like tokens the generic id rules must leave alone.
_CODE_SEGMENT = re.compile(
    rf"^(?:{PROSE_CODE}"  # ICD-10-CM without the dot (E1122, T391X1A, QA171)
    r"|[0-9A-HJ-NP-Z]{7}"  # ICD-10-PCS (0DTJ4ZZ)
    r"|[A-V]\d{4}"  # HCPCS Level II (G0438)
    r"|\d{4}[0-9FTU]"  # CPT (99214, 1234F)
    r"|FY\d{2,4}|\d{1,4})$"
)

_US_STATES = (
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC "
    "ND NE NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY"
).split()
# Abbreviations that are also clinical words (CT scan, MS, MD, PA…) count only before a ZIP code.
_AMBIGUOUS_STATES = set(
    "AL AR CO CT DE GA HI IA ID IN LA MA MD ME MO MS NC ND NE OH OK OR PA SC SD VA".split()
)
_STATE_NAMES = (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Hawaii "
    "Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts "
    "Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon "
    "Pennsylvania Tennessee Texas Utah Vermont Wisconsin Wyoming"
).split()

# Letters beyond ASCII (Łukasz, Yılmaz, Đặng, Müller): names keep them, so the name patterns read them.
_UP = "A-Z" + "".join(
    c for c in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]) if c.isupper()
)
_LO = "a-z" + "".join(
    c for c in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]) if c.islower()
)
_AL = _UP + _LO
NAME_WORD = (
    rf"(?:[{_UP}][{_LO}]?['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?"
    rf"(?:-(?:[{_UP}][{_LO}]?['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?)*"
)


def _is_lower_text(text: str) -> bool:
    """True when the text, outside its tags, has no capital letter (typed all in lower case)."""
    return not any(c.isupper() for c in TAG_RE.sub("", text))
