"""PHI scrubbing before anything is stored, with HIPAA Safe Harbor's 18 identifiers as the checklist.

`scrub(text)` replaces identifiers with tags (``[NAME]``, ``[DATE]``, ``[MRN]``, ``[AGE 90+]``…) and
counts what it removed by kind. It keeps what makes a coding question useful: ICD-10-CM/PCS,
HCPCS and CPT codes (E11.22, T39.1X1A, 0DTJ4ZZ, 99214), ages up to 89, years and fiscal years
(FY2025), stages and types, blood pressures, eponyms (Crohn's disease, Down syndrome, Jones
fracture) and code-set dates ("the April 1 update").

Passes run from the most to the least specific pattern, so a labelled MRN is tagged as an MRN
before the generic "long number" rule sees it. Tags never match a later pass, which makes
`scrub` idempotent: scrubbing scrubbed text changes nothing.

Names are also read against the 1990 US Census name lists (review/data/person_names.txt, built by
review/data/build_name_lists.py): in any case and order, alone or with particles, unless the word is
also an English, clinical or drug word and nothing else says it is a name. Words are folded (NFKD, and
ł ı đ ø by hand) before any lookup, and the name patterns read letters beyond ASCII (Yılmaz, Đang).

Names the lists do not hold are read by position (section 8c): after "pt", "saw", "call", a title; before
", 93 y/o", "(DOB …", "born", ", [DATE]", "at [PHONE]", "'s DOB"; at the start of a sentence before
"has", "was admitted", "seen", "lives"; two or more capitalised words none of which is a word; a first
name with a middle initial. There a word in no list (Cindoruk, Ayushman), a name that is also a word
(Faith, Warren, Kelly) and, after "pt"/"saw", any capitalised word is a name, while function words,
drugs (Keytruda), medical abbreviations in capitals (AKI, GERD), a clinical word with its value
(GOLD 3, stage IV) and two names that make an eponym in the ICD-10-CM index (Austin Flint, Ramsay
Hunt) are not. Particles, initials and hyphens join the pieces ("[NAME] van der Berg").

Not covered (text cannot carry them, or they need context we do not have): biometric
identifiers, full-face photographs; a name made only of everyday words with no cue; a first name
that is also a function, family or month word before a surname ("My", "Son", "April"); a place name
with a lower-case word inside it; a brand drug missing from the drug list right after a name is taken
as part of the name.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codedesk.codes import PROSE_CODE
from review._names import EPONYM_HEADS, EPONYMS, FIRST_NAMES, NOT_NAMES, SURNAMES, US_CITIES

TAGS = {
    "name": "[NAME]", "date": "[DATE]", "age": "[AGE 90+]", "ssn": "[SSN]", "mbi": "[MBI]",
    "mrn": "[MRN]", "account": "[ACCOUNT]", "member_id": "[MEMBER_ID]", "id": "[ID]",
    "license": "[LICENSE]", "certificate": "[CERTIFICATE]", "vehicle_id": "[VEHICLE_ID]",
    "device_id": "[DEVICE_ID]", "phone": "[PHONE]", "fax": "[FAX]", "email": "[EMAIL]",
    "url": "[URL]", "ip": "[IP]", "address": "[ADDRESS]", "location": "[LOCATION]", "zip": "[ZIP]",
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

    def sub(self, pattern: re.Pattern[str], kind: str | Callable[[re.Match[str]], str | None],
            group: int | str = 0) -> None:
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
            return whole[: start - base] + TAGS[k] + whole[end - base:]

        self.text = pattern.sub(repl, self.text)


# --- building blocks ---------------------------------------------------------------------------

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
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
    rf"^(?:{PROSE_CODE}"                # ICD-10-CM without the dot (E1122, T391X1A, QA171)
    r"|[0-9A-HJ-NP-Z]{7}"              # ICD-10-PCS (0DTJ4ZZ)
    r"|[A-V]\d{4}"                     # HCPCS Level II (G0438)
    r"|\d{4}[0-9FTU]"                  # CPT (99214, 1234F)
    r"|FY\d{2,4}|\d{1,4})$"
)

_US_STATES = ("AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC "
              "ND NE NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY").split()
# Abbreviations that are also clinical words (CT scan, MS, MD, PA…) count only before a ZIP code.
_AMBIGUOUS_STATES = set("AL AR CO CT DE GA HI IA ID IN LA MA MD ME MO MS NC ND NE OH OK OR PA SC SD VA".split())
_STATE_NAMES = ("Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Hawaii "
                "Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts "
                "Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon "
                "Pennsylvania Tennessee Texas Utah Vermont Wisconsin Wyoming").split()

# Letters beyond ASCII (Łukasz, Yılmaz, Đặng, Müller): names keep them, so the name patterns read them.
_UP = "A-Z" + "".join(c for c in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]) if c.isupper())
_LO = "a-z" + "".join(c for c in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]) if c.islower())
_AL = _UP + _LO
NAME_WORD = (rf"(?:[{_UP}][{_LO}]?['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?"
             rf"(?:-(?:[{_UP}][{_LO}]?['’])?[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?)*")

# --- 1. e-mail, web and network addresses ------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>|\"']*[^\s<>|\"'.,;:!?)]"
    r"|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"\.(?:com|org|net|edu|gov|io|us|info|biz|health|care)\b(?::\d+)?(?:/[^\s<>|\"']*[^\s<>|\"'.,;:!?)])?",
    re.IGNORECASE,
)
# "email jorge luis.bilgin@…": a given name typed with a space, just before the address.
EMAIL_NAME_PART = re.compile(r"(?:(?<=\bemail\s)|(?<=\be-mail\s))(?P<w>[a-z]+)\s+\[EMAIL\]", re.IGNORECASE)
# Public reference sites coders cite; kept unless a query string could carry an identifier.
_PUBLIC_HOSTS = ("cms.gov", "cdc.gov", "hhs.gov", "nih.gov", "ama-assn.org", "aapc.com", "ahima.org",
                 "icd10data.com", "findacode.com", "who.int")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)")
IPV6 = re.compile(r"(?<![\w:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
MAC = re.compile(r"(?<![\w:-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![\w:-])")


def _url_kind(m: re.Match[str]) -> str | None:
    url = m.group(0)
    host = re.sub(r"^(?:[a-z]+://)?(?:www\.)?", "", url.lower()).split("/")[0].split(":")[0]
    if "?" not in url and any(host == h or host.endswith("." + h) for h in _PUBLIC_HOSTS):
        return None
    return "url"


def _ipv4_kind(m: re.Match[str]) -> str | None:
    return "ip" if all(int(p) <= 255 for p in m.group(0).split(".")) else None


def _ipv6_kind(m: re.Match[str]) -> str | None:
    s = m.group(0)
    # "10:30:45" is a time; an address has letters, "::" or many groups.
    return "ip" if "::" in s or s.count(":") >= 5 or re.search(r"[A-Fa-f]", s) else None


# --- 2. numbers with a label: MRN 123, member ID W123, SSN …, serial number …, VIN … ------------

_CONNECT = r"(?:\s*(?:[#:=]|\bno\b\.?|\bnumbers?\b|\bnum\b\.?|\bnbr\b|\bid\b|\bis\b|\bwas\b)\s*)"
_VALUE = r"(?P<val>\(?[A-Za-z0-9](?:[A-Za-z0-9()/-]*[A-Za-z0-9])?)"
# (label regex, kind, needs an explicit #/no/number/id word, minimum value length)
_LABELS: list[tuple[str, str, bool, int]] = [
    (r"\bMRN\b|\bMR\s?#|\bmedical\s+record(?:\s+number)?|\bchart\b", "mrn", False, 3),
    (r"\bacct\b\.?|\baccount\b", "account", False, 4),
    (r"\bSSN\b|\bSS#|\bsocial\s+security(?:\s+number)?", "ssn", False, 4),
    (r"\bMBI\b|\bHICN?\b", "mbi", False, 6),
    (r"\bmember\b|\bsubscriber\b|\bpolicy\b|\bgroup\b|\bhealth\s+plan\b|\binsurance\b|\bbeneficiary\b"
     r"|\bMedicare\b|\bMedicaid\b", "member_id", True, 4),
    (r"\bFIN\b|\bCSN\b|\bICN\b|\bDCN\b|\baccession\b", "id", False, 4),
    (r"\bclaim\b|\bencounter\b|\bvisit\b|\bcase\b|\bspecimen\b|\border\b|\bpatient\b|\bpt\b"
     r"|\bauthorization\b|\bauth\b|\breferral\b", "id", True, 4),
    (r"\bdriver'?s\s+licen[sc]e\b|\blicen[sc]e\b(?!\s+plate)|\bDL\b|\bDEA\b|\bNPI\b", "license", False, 5),
    (r"\bcertificate\b|\bcert\b", "certificate", True, 4),
    (r"\bVIN\b|\b(?:license\s+)?plate\b", "vehicle_id", False, 5),
    (r"\bserial\b(?:\s+number)?|\bS/N\b|(?-i:\bSN\b)|\bUDI\b|\bIMEI\b|\bdevice\b|\blot\b", "device_id", False, 5),
]
LABELLED = [
    (re.compile(rf"(?:{label})(?P<conn>{_CONNECT}*|\s+){_VALUE}", re.IGNORECASE), kind, needs_word, min_len)
    for label, kind, needs_word, min_len in _LABELS
]


def _labelled_kind(kind: str, needs_word: bool, min_len: int) -> Callable[[re.Match[str]], str | None]:
    def decide(m: re.Match[str]) -> str | None:
        val = m.group("val")
        if kind == "vehicle_id" and re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", val, re.IGNORECASE) and val.isupper():
            return kind  # a VIN is 17 characters, with or without digits
        if not re.search(r"\d", val) or len(re.sub(r"\W", "", val)) < min_len:
            return None
        if needs_word and not re.search(r"#|\bno\b|\bnum|\bnbr\b|\bid\b", m.group("conn"), re.IGNORECASE):
            return None
        return kind

    return decide


# --- 3. identifiers recognisable by their shape -------------------------------------------------

_MBI_L = "[AC-HJKMNP-RT-Y]"
_MBI_A = "[AC-HJKMNP-RT-Y0-9]"
MBI = re.compile(rf"(?<![\w-])[1-9]{_MBI_L}{_MBI_A}\d-?{_MBI_L}{_MBI_A}\d-?{_MBI_L}{{2}}\d{{2}}(?![\w-])",
                 re.IGNORECASE)
CARD = re.compile(r"(?<![\w-])\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?![\w-])")  # payment card / account
SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?:[A-Z]{1,2}\d?)?(?![\w-])")

# --- 4. dates ------------------------------------------------------------------------------------

NUMERIC_DATE = re.compile(r"(?<![\w/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/]|[.-]\d)")
ISO_DATE = re.compile(rf"(?<![\w/.-]){YEAR}([/.-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?![\w/]|[.-]\d)")
WORD_DATE = re.compile(
    rf"\b(?:{MONTH}[\s/-]+{DAY}(?:\s*,?\s*{YEAR}|[/-]{YEAR})?|(?:(?:the|The|THE)\s+(?={DAY}\s+of\s))?{DAY}(?:\s+of\s+|[\s/-]+){MONTH}(?:\s*,?\s*{YEAR}|[/-]{YEAR})?"
    rf"|{MONTH}\s*,?\s+(?:of\s+)?{YEAR})(?![\w/])"
)
_SHORT_MD = r"(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])"
SHORT_DATE = re.compile(
    r"\b(?:on|since|from|dated|until|till|thru|through|DOS|DOB|D/C|DC|admitted|admit|discharged|seen|visit|date|born"
    r"|died|expired|delivered|injured|fell)\s*:?\s*"
    rf"(?P<d>{_SHORT_MD})(?![\w/])"
    rf"|(?<=\()\s*(?P<p>{_SHORT_MD})(?=\s*[),;])"  # "(3/14)": a date in parentheses
    rf"|(?<=,\s)(?P<l>{_SHORT_MD})(?=\s*,\s*(?:MRN|DOB|SSN|acct|account|MBI|\[MRN\]|\[SSN\]))",  # "(X, 6/22, MRN …)"
    re.IGNORECASE,
)
# "(dec 22)", "(may 3)": a lower-case month and day alone in parentheses.
PAREN_LOWER_MONTH = re.compile(r"(?<=\()\s*(?P<d>(?:may|march|mar|dec)\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?)"
                               r"(?=\s*[),;])", re.IGNORECASE)
# "(Nowak, 4/1, MRN …)": a month and day right after a name.
NAME_SHORT_DATE = re.compile(rf"\[NAME\]\s*,\s*(?P<d>{_SHORT_MD}|(?i:{MONTH}|may|march|mar|dec)\.?\s+{DAY})(?=\s*[,;)])")
# "dos may 23", "born march 3": the lower-case months that are also words, after a date word.
CUED_LOWER_MONTH = re.compile(r"\b(?:on|since|from|dated|until|till|DOS|DOB|admitted|discharged|seen|born|died|date)"
                              r"\s*:?\s*(?P<d>(?:may|march|mar|dec)\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?)\b"
                              r"(?!\s*(?:%|mg|mcg|units?|days?|weeks?|hours?|minutes?)\b)", re.IGNORECASE)
DATE_LABEL = re.compile(
    r"\b(?:DOB|D\.O\.B\.?|DOS|DOD|date\s+of\s+(?:birth|service|death|admission|discharge)|birth\s?date"
    r"|born(?:\s+(?:on|in))?|died(?:\s+(?:on|in))?)(?:\s*(?:[:=-]|is|was)\s*|\s+)(?P<d>\d[\d/.-]{2,9}\d)\b",
    re.IGNORECASE,
)
# "march 3rd 1931", "may 5th": the lower-case months that are also words, only with an ordinal or a year.
LOWER_MONTH_DATE = re.compile(r"\b(?:march|may|mar|dec)\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:(?:st|nd|rd|th)\b(?:\s*,?\s*(?:19|20)\d\d)?"
                              r"|\s*,?\s+(?:19|20)\d\d\b)|\b(?:the\s+)?(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)\s+of\s+(?:march|may|dec)\b"
                              r"|\b(?:0?[1-9]|[12]\d|3[01])[\s-](?:march|may|mar|dec)\.?[\s-](?:19|20)\d\d\b")
# "admitted on the 14th": a day of the month alone.
ORDINAL_DAY = re.compile(r"\b(?:on|since|from|until|till|by|before|after)\s+the\s+(?P<d>(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th))\b"
                         r"(?!\s+(?:day|week|month|year|visit|dose|cycle|session|toe|finger|rib|digit|percentile|degree|"
                         r"trimester|character|edition|grade|time)s?\b)", re.IGNORECASE)
# "the April 1 update", "codes effective October 1, 2024": code-set dates, not patient dates.
_CODESET_AFTER = re.compile(r"[ \t]+(?:[A-Za-z]+[ \t]+)?(?:update|addend|release|changes|code\s+set|codes?\b|guideline"
                            r"|ICD-10|tabular|edition|version|files?\b|effective)",
                            re.IGNORECASE)
_CODESET_BEFORE = re.compile(r"\beffective\s*$", re.IGNORECASE)
# 1 October and 1 April start code-set years: "DOS on or after 10/1/2024" asks about the code set.
_CODESET_DAY = re.compile(r"^(?:0?(?:10|4)[/.-]0?1[/.-]|(?:19|20)\d\d[/.-]0?(?:10|4)[/.-]0?1$"
                          r"|(?:Oct(?:ober)?|Apr(?:il)?)\.?\s+1(?:st)?\b)", re.IGNORECASE)
_BOUNDARY_BEFORE = re.compile(r"\b(?:on or after|on or before|prior to|before|after|starting|beginning|through"
                              r"|effective|as of|since)\s*$", re.IGNORECASE)


def _is_codeset_date(m: re.Match[str]) -> bool:
    before = m.string[max(0, m.start() - 16):m.start()]
    if _CODESET_AFTER.match(m.string, m.end()) or _CODESET_BEFORE.search(before):
        return True
    return bool(_CODESET_DAY.match(m.group(0)) and _BOUNDARY_BEFORE.search(before))


def _date_kind(m: re.Match[str]) -> str | None:
    return None if _is_codeset_date(m) else "date"


def _numeric_date_kind(m: re.Match[str]) -> str | None:
    a, b = int(m.group(1)), int(m.group(3))
    if not (1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12):
        return None
    return None if _is_codeset_date(m) else "date"


def _date_label_kind(m: re.Match[str]) -> str | None:
    # A bare year of service is useful and allowed ("DOS 2024"); a year of birth or death is not
    # (it gives away ages over 89).
    if re.fullmatch(r"(?:19|20)\d\d", m.group("d")) and re.match(r"(?i)DOS|date\s+of\s+(?:service|adm|dis)",
                                                                    m.group(0)):
        return None
    return "date"


# --- 5. phone and fax numbers --------------------------------------------------------------------

_EXT = r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6}\b)?"
PHONE = re.compile(
    rf"(?<![\w+.])(?:\+?1[\s.-]?)?(?:\(\d{{3}}\)\s?|\d{{3}}[\s./-])\d{{3}}[\s.-]\d{{4}}\b{_EXT}"
    rf"|(?:(?<=call\s)|(?<=cell\s)|(?<=phone\s)|(?<=fax\s)|(?<=tel\s)|(?<=at\s)|(?<=number\s)|(?<=text\s)|(?<=ph\s)"
    rf"|(?<=mobile\s)|(?<=contact\s)|(?<=[:#]\s))(?:\+?1)?[2-9]\d{{9}}\b{_EXT}"
    rf"|(?<![\w+])\+\d{{1,3}}[\s.-]?\d{{2,5}}(?:[\s.-]?\d{{2,8}}){{1,3}}\b{_EXT}"
    rf"|(?<![\w-])\d{{3}}-\d{{4}}(?![\w-])(?!\s*(?:mg|mcg|ml|mL|g|kg|units?|IU|mm|cm|%|patients|cases|codes))"
    rf"{_EXT}",
    re.IGNORECASE,
)


def _phone_kind(m: re.Match[str]) -> str:
    return "fax" if "fax" in m.string[max(0, m.start() - 24):m.start()].lower() else "phone"


# --- 6. street addresses, places, ZIP codes ------------------------------------------------------

_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|"
           r"Terrace|Ter|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Trail|Trl|Route|Rte|Plaza|Loop)")
_UNIT = r"(?:\s*,?\s*(?:Apt|Apartment|Unit|Suite|Ste|Rm|Room|Bldg|Fl|Floor|#)\.?\s*#?\s*[A-Za-z0-9-]+)?"
_STATE = r"(?:%s)" % "|".join(_US_STATES + _STATE_NAMES)
_STATE_NAMES_ALL = sorted(_STATE_NAMES + ["Georgia", "Virginia", "Washington", "New Hampshire", "New Jersey", "New Mexico",
                                          "New York", "North Carolina", "North Dakota", "South Carolina", "South Dakota",
                                          "Rhode Island", "West Virginia", "District of Columbia"], key=len, reverse=True)
_ANY_STATE = r"(?:%s)" % "|".join(_STATE_NAMES_ALL + _US_STATES)
STREET = re.compile(
    rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+|(?:North|South|East|West)\s+)?"
    rf"(?:(?:\d{{1,3}}(?:st|nd|rd|th)?|{NAME_WORD}|[A-Z])\s+){{1,4}}{_SUFFIX}\b\.?{_UNIT}"
    rf"(?:\s*,\s*{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}}(?=\s*(?:,|$|[—–-]|\s{_STATE}\b|\s+\d{{5}})))?"
    rf"(?:\s*,?\s*{_STATE}\b)?(?:\s+\d{{5}}(?:-\d{{4}})?\b)?"
    r"|\bP\.?\s?O\.?\s+Box\s+\d+\b",
)
LOWER_STREET = re.compile(
    rf"(?<![\w.-])\d{{1,6}}\s+(?:[nsew]\.?\s+|(?:north|south|east|west)\s+)?"
    rf"(?P<words>(?:(?:\d{{1,3}}(?:st|nd|rd|th)|[{_LO}][{_LO}'-]*)\s+){{1,3}}){_SUFFIX.lower()}\b\.?"
    rf"(?:\s*,?\s*(?:apt|apartment|unit|suite|ste|rm|room|#)\.?\s*#?\s*[a-z0-9-]+)?")


def _lower_street_kind(m: re.Match[str]) -> str | None:
    if not _is_lower_text(m.string) or any(w in _NEVER_NAME for w in m.group("words").split()):
        return None
    return "address"
CITY_STATE = re.compile(
    rf"(?:\b(?:St|Ste|Mt|Ft)\.?\s+)?\b(?P<city>{NAME_WORD}(?:\s+(?:(?:du|de|des|la|le|del|di|da)\s+)?{NAME_WORD}){{0,2}}),\s*(?P<state>{_ANY_STATE})\b(?!['’-])"
    rf"(?:\s+(?P<zip>\d{{5}}(?:-\d{{4}})?)\b)?"
)
LIVES_IN = re.compile(rf"\b(?:lives|living|resides|residing|resident|moved|relocated)\s+(?:in|of|to|near)\s+"
                      rf"(?P<place>{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})")
COUNTY = re.compile(rf"\b{NAME_WORD}(?:\s+{NAME_WORD})?\s+(?:County|Parish|Borough)\b")
CITY = re.compile(r"(?<![\w\[])(?:%s)(?![\w'’-])" % "|".join(
    re.escape(c) for c in sorted(US_CITIES, key=len, reverse=True)))
ZIP_LABEL = re.compile(r"\bzip(?:\s*code)?\s*[:#]?\s*(?P<z>\d{5}(?:-\d{4})?)\b", re.IGNORECASE)
ZIP4 = re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])")
# "Springfield IL 62704", "oregon city nh 56074": a state abbreviation or name and a ZIP code, with
# the place before it (up to three words) when it is written in capitals or follows "in/from/at".
_LOWER_STATE_OK = [a.lower() for a in _US_STATES if a.lower() not in
                   "in me or ok hi oh de co la ma md ms al ar id pa ne wa ga mo va ct".split()]
STATE_ZIP = re.compile(rf"(?P<place>(?:\b[^\W\d_][\w'.-]*,?\s+){{0,3}}?)\b(?P<state>(?:{'|'.join(_US_STATES)})\b"
                       rf"|(?i:{'|'.join(_STATE_NAMES_ALL)})\b"
                       rf"|(?:{'|'.join(_LOWER_STATE_OK)})\b)\.?,?\s+(?P<zip>\d{{5}}(?:-\d{{4}})?\b|\[ZIP\])")
PLACE_ZIP = re.compile(r"\[LOCATION\](?:,\s*[A-Za-z .]+?)?,?\s+(?P<z>\d{5}(?:-\d{4})?)\b")


_PLACE_STOP = re.compile(r"(?i)^(?:in|from|at|of|to|near|lives|living|resides|moved|address|pt|patient|the|and|[\[\]]|,)$")


def _scrub_state_zip(s: _Scrubber) -> None:
    def repl(m: re.Match[str]) -> str:
        words = m.group("place").split()
        # keep the words up to the last one that cannot be part of a place ("lives in", "from")
        keep_upto = 0
        lower = _is_lower_text(m.string)
        for i, w in enumerate(words):
            if _PLACE_STOP.match(w.strip(",")) or "[" in w or (w[0].islower() and not lower):
                keep_upto = i + 1
        place = words[keep_upto:]
        if m.group("zip") != TAGS["zip"]:
            s.found["zip"] += 1
        out = " ".join(words[:keep_upto])
        if place:
            s.found["location"] += 1
            out += (" " if out else "") + TAGS["location"]
        return (out + " " if out else "") + m.group("state") + " " + TAGS["zip"]

    s.text = STATE_ZIP.sub(repl, s.text)
    if _is_lower_text(s.text):
        def lower_repl(m: re.Match[str]) -> str:
            place = m.group("place").split()
            if any(w in _NEVER_NAME or _vocab(w) and _vocab(w) <= {"c", "a", "d"} for w in place) or all(
                    _vocab(w) and not _vocab(w) & {"f", "l"} for w in place):
                return m.group(0)  # "billed in office or 99214"
            s.found["location"] += 1
            s.found["zip"] += m.group("zip") != TAGS["zip"]
            return f"{m.group('pre')}{TAGS['location']} {m.group('state')} {TAGS['zip']}"

        s.text = LOWER_AMBIGUOUS_STATE_ZIP.sub(lower_repl, s.text)


# All in lower case, a state abbreviation that is also a word ("in", "or", "ct") before a ZIP code
# counts only after a place word: "pt from melrose park ct 04907".
LOWER_AMBIGUOUS_STATE_ZIP = re.compile(
    r"(?P<pre>\b(?:from|in|at|near|of|to)\s+|\[ADDRESS\],?\s+)(?P<place>[a-z][\w'.-]*(?:\s+[a-z][\w'.-]*){0,2}?)\s+"
    r"(?P<state>%s)\.?,?\s+(?P<zip>\d{5}(?:-\d{4})?\b|\[ZIP\])" % "|".join(
        a.lower() for a in _US_STATES if a.lower() not in _LOWER_STATE_OK))


def _scrub_city_state(s: _Scrubber) -> None:
    def repl(m: re.Match[str]) -> str:
        state, zip_code = m.group("state"), m.group("zip")
        at_end = re.match(r"\s*(?:[.?!;]|$)", m.string[m.end():])
        if state in _AMBIGUOUS_STATES and not zip_code and not at_end:
            return m.group(0)
        if m.group("city").split()[0] in NOT_NAMES:
            return m.group(0)
        s.found["location"] += 1
        out = f"{TAGS['location']}, {state}"
        if zip_code:
            s.found["zip"] += 1
            out += " " + TAGS["zip"]
        return out

    s.text = CITY_STATE.sub(repl, s.text)
    if _is_lower_text(s.text):
        s.sub(LOWER_CITY_STATE, _lower_city_kind, "city")
        s.sub(LOWER_CITY_STATE_ZIP, "zip", "zip")


# All in lower case ("pt from port hueneme, tennessee"): up to three words before ", state" at the
# end of the text or before a ZIP code, none of them a function or clinical word.
LOWER_CITY_STATE = re.compile(
    rf"\b(?P<city>[{_LO}][{_LO}'-]+(?:\s+[{_LO}][{_LO}'-]+){{0,2}}),\s*"
    rf"(?:{'|'.join(n.lower() for n in _STATE_NAMES_ALL)}|{'|'.join(a.lower() for a in _US_STATES)})\b"
    r"(?=\s*(?:[.?!;]\s*)?$|\s+(?:\d{5}|\[ZIP\]))")
LOWER_CITY_STATE_ZIP = re.compile(r"\[LOCATION\],\s*[a-z ]+\s+(?P<zip>\d{5}(?:-\d{4})?)\b")


def _lower_city_kind(m: re.Match[str]) -> str | None:
    words = m.group("city").split()
    zip_next = re.match(r"\s*,?\s*[a-z ]+\s+(?:\d{5}|\[ZIP\])", m.string[m.end("city"):]) is not None
    if any(w in _NEVER_NAME or not zip_next and _vocab(w) and _vocab(w) <= {"c", "a", "d"} for w in words[-1:]):
        return None  # "… for ckd, ok": a clinical word before a state-like word at the end is no place
    return "location"


def _is_lower_text(text: str) -> bool:
    """True when the text, outside its tags, has no capital letter (typed all in lower case)."""
    return not any(c.isupper() for c in TAG_RE.sub("", text))


# --- 7. ages over 89 -----------------------------------------------------------------------------

AGE_PATTERNS = [
    re.compile(rf"(?<![\w.])(?P<a>{AGE_90})(?=\+?\s*-?\s*(?:years?\b|yrs?\b|y/?o\b|y\.o\.|yo[MF]?\b|year-old|yr-old|"
               rf"[MF]\b|(?:male|female|man|woman)\b))", re.IGNORECASE),
    re.compile(rf"(?<!\[)\b(?:age|aged|ages)\s*:?\s*(?P<a>{AGE_90})\b", re.IGNORECASE),
    re.compile(rf"\b(?:he|she|pt|patient|who|they)(?:\s+(?:is|was|turned|turns|is\s+now)|['’]s)\s+(?P<a>{AGE_90})\b"
               rf"(?!\s*(?:%|mg|mcg|kg|lbs?|units?|days?|weeks?|months?|minutes?|mm|cm|bpm|percent|degrees?)\b)",
               re.IGNORECASE),
    re.compile(rf"\[NAME\]\s*,?\s*\(\s*(?P<a>{AGE_90})\s*(?:[MF]|yo|y/o)?\s*\)"),
    re.compile(rf"\[NAME\]\s*,\s*(?P<a>{AGE_90})\s*(?=[,;)]|$)"),  # "Pt [NAME], 94, fell"
]

_UNIT_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_TEEN_WORDS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
AGE_WORDS = (rf"(?:ninety(?:[\s-]+(?:{_UNIT_WORDS}))?|(?:one\s+|a\s+)?hundred(?:\s+(?:and\s+)?"
             rf"(?:{_TEEN_WORDS}|twenty(?:[\s-]+(?:{_UNIT_WORDS}))?|{_UNIT_WORDS}))?)")
AGE_PATTERNS += [
    re.compile(rf"\b(?P<a>{AGE_WORDS})(?=\s*-?\s*(?:years?\b|yrs?\b|y/?o\b|y\.o\.|year-old|yr-old))", re.IGNORECASE),
    re.compile(rf"\b(?:age|aged|is|was|turned|turns|now|he['’]s|she['’]s)\s*:?\s+(?P<a>{AGE_WORDS})\b(?![\s-]*(?:%|mg|units?|days?|weeks?|months?|percent))",
               re.IGNORECASE),
]

# --- 8. names ------------------------------------------------------------------------------------

_NAME_SEQ = rf"(?P<name>{NAME_WORD}(?:\s+[A-Z]\.)?(?:\s+{NAME_WORD}){{0,2}})"
TITLE_NAME = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|doctor|Prof|Professor)\.?\s+"
                        rf"(?P<name>(?:[A-Z]\.\s*)?{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})")
_TRIGGER = (r"\b(?:[Pp]atient|PATIENT|[Pp]t\.?|[Cc]lient|[Rr]esident|[Bb]aby(?:\s+(?:boy|girl))?|[Ii]nfant|"
            r"[Nn]ewborn|[Ss]on|[Dd]aughter|[Ww]ife|[Hh]usband|[Ss]pouse|[Pp]artner|[Mm]other|[Ff]ather|[Mm]om|"
            r"[Dd]ad|[Ss]ister|[Bb]rother|[Gg]randson|[Gg]randdaughter|[Gg]randmother|[Gg]randfather|"
            r"[Gg]uardian|[Cc]aregiver|[Nn]amed|[Nn]ame\s+is|[Nn]ame)")
TRIGGER_NAME = re.compile(rf"{_TRIGGER}(?:\s*[:,-]\s*|\s+){_NAME_SEQ}"
                          rf"(?:\s*,\s*(?P<first>{NAME_WORD}))?")
TRIGGER_INITIALS = re.compile(rf"{_TRIGGER}(?:\s*:\s*|\s+)(?P<name>[A-Z]\.(?:\s?[A-Z]\.){{1,2}})")
TRIGGER_LOWER = re.compile(rf"{_TRIGGER}(?:\s*:\s*|\s+)(?P<name>[{_LO}]+(?:\s+[{_LO}]+)?)\b")
FIRST_LAST = re.compile(rf"\b(?P<name>(?P<first>[{_UP}][{_LO}]+)(?:\s+[A-Z]\.)?(?:\s+{NAME_WORD}(?![\w'’])){{1,2}})")
LAST_FIRST = re.compile(rf"\b(?P<name>{NAME_WORD},\s*(?P<first>[{_UP}][{_LO}]+))\b")


def _followed_by_head(text: str, end: int) -> bool:
    """True when an eponym noun follows: "… syndrome", "…'s disease", "… type II fracture"."""
    m = re.match(r"(?:['’]s)?\s+([A-Za-z]+)", text[end:])
    return bool(m and m.group(1).lower() in EPONYM_HEADS)


def _possessive_eponym(words: list[str], text: str, end: int) -> bool:
    return words[-1] in EPONYMS and text[end:end + 2] in ("'s", "’s")


def _clean_name_words(words: list[str]) -> list[str]:
    """Cut the sequence at the first word that cannot be part of a name."""
    kept: list[str] = []
    for w in words:
        vocab = _vocab(w) if not re.fullmatch(r"[A-Z]\.", w) else set()
        if w in NOT_NAMES or "d" in vocab and "f" not in vocab or vocab and vocab <= {"c", "a", "d"}:
            break  # a drug or a clinical word that is no name ("Andrew Synthroid", "Kate Entresto")
        kept.append(w)
    return kept


# Lower-case words that commonly follow a lower-case first name ("pt mary has …"): not surnames.
_AFTER_NAME = frozenset("""
a about abt admitted age aged also an and are as at born c/o came can comes complains could denies
did does dob dos dx for from had has have hx in is just needs now of on or per presented presents
reports s/p said says seen she he should since states still that the their then there this to today
underwent w was were who will with without would yesterday yo y/o
""".split())


def _could_be_surname(word: str) -> bool:
    return word.isalpha() and len(word) >= 3 and word not in _AFTER_NAME


def _span_end(m: re.Match[str], words: list[str]) -> int:
    """End offset of the first len(words) words of the "name" group."""
    pos = m.start("name")
    for w in words:
        pos = m.string.index(w, pos) + len(w)
    return pos


def _scrub_names(s: _Scrubber) -> None:
    def tag(m: re.Match[str], end: int) -> str:
        """Tag m's "name" group up to `end`; the rest of the match stays as it was."""
        start, text = m.start("name"), m.string
        s.found["name"] += 1
        s.name_tokens.update(w for w in re.findall(NAME_WORD, text[start:end])
                             if len(w) > 2 and w not in NOT_NAMES and w not in EPONYMS)
        return text[m.start():start] + TAGS["name"] + text[end:m.end()]

    def title(m: re.Match[str]) -> str:  # always a name: "Dr. Patel", "Mrs. Okafor", "Mr. O'Brien"
        words = m.group("name").split()
        initials = [w for w in words if re.fullmatch(r"[A-Z]\.", w)]
        rest = _clean_name_words(words[len(initials):])
        if not rest:
            return m.group(0)
        return tag(m, _span_end(m, initials + rest))

    def trigger(m: re.Match[str]) -> str:  # "pt John Smith", "Patient Smith, Jennifer", "named X"
        words = _clean_name_words(m.group("name").split())
        if not words:
            return m.group(0)
        end = _span_end(m, words)
        if _followed_by_head(m.string, end) or _possessive_eponym(words, m.string, end):
            return m.group(0)
        if m.group("first") in FIRST_NAMES and end == m.end("name"):
            end = m.end("first")
        return tag(m, end)

    def trigger_lower(m: re.Match[str]) -> str:  # "pt mary smith"
        words = m.group("name").split()
        if words[0].capitalize() not in FIRST_NAMES:
            return m.group(0)
        n = 2 if len(words) > 1 and (words[1] in SURNAMES or _could_be_surname(words[1])) else 1
        return tag(m, _span_end(m, words[:n]))

    def first_last(m: re.Match[str]) -> str:  # a known first name + a capitalised word, anywhere
        words = m.group("name").split()
        rest = _clean_name_words(words[1:])
        if m.group("first") not in FIRST_NAMES or not rest:
            return m.group(0)
        if len(rest) > 1 and _possessive_eponym(rest, m.string, _span_end(m, [words[0], *rest])):
            rest = rest[:-1]  # "Jacob Duong Cushing's": the eponym stays
        end = _span_end(m, [words[0], *rest])
        return m.group(0) if _followed_by_head(m.string, end) else tag(m, end)

    def last_first(m: re.Match[str]) -> str:  # "Nowak, Anna"
        last = m.group("name").split(",")[0]
        if m.group("first") not in FIRST_NAMES or last in NOT_NAMES or last in FIRST_NAMES:
            return m.group(0)
        return tag(m, m.end("name"))

    for pattern, handler in ((TITLE_NAME, title), (TRIGGER_NAME, trigger), (TRIGGER_LOWER, trigger_lower),
                             (FIRST_LAST, first_last), (LAST_FIRST, last_first)):
        s.text = pattern.sub(handler, s.text)
    s.sub(TRIGGER_INITIALS, "name", "name")



def _scrub_repeated_names(s: _Scrubber) -> None:
    """The same name again elsewhere in the message ("Patient Garcia … Garcia's A1c"), any case."""
    for token in sorted(s.name_tokens, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w\[]){re.escape(token)}(?![\w])", re.IGNORECASE)
        s.sub(pattern, lambda m: None if _followed_by_head(m.string, m.end()) else "name")
    s.text = re.sub(r"\[NAME\](?:\s+\[NAME\])+", TAGS["name"], s.text)


# --- 8b. names by dictionary: any case and order, single first names, particles ------------------
# The rules above need a trigger or a known "First Last" pair in normal case. This pass reads every
# word against the Census name lists (review/data/person_names.txt): a word that is a first name or
# surname and no English or clinical word (Whitfield, Priscilla, OKAFOR) is a name anywhere, in any
# case; a name that is also a word (Grace, Bell, Graves, Parkinson) only next to such a name or after
# a title. A name is grown over the capitalised words and particles (van, de, O') around it.

_LEXICON_PATH = Path(__file__).with_name("data") / "person_names.txt"


@functools.cache
def _lexicon() -> dict[str, frozenset[str]]:
    """f first names, l surnames, w English words, c clinical words, d drug names, a medical
    abbreviations (folded, lower case); read once."""
    kinds: dict[str, frozenset[str]] = {k: frozenset() for k in "flwcdae"}
    for line in _LEXICON_PATH.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, words = line.split("\t", 1)
            kinds[kind] = frozenset(words.split())
    return kinds


_FOLD = str.maketrans("łŁıđĐøØðþßæœ", "lLidDOodtsao")


def _fold(text: str) -> str:
    """Accents off (Müller -> Muller) and the Latin letters NFKD keeps (ł, ı, đ, ø) mapped by hand: the
    lists are looked up in plain ASCII."""
    if text.isascii():
        return text
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.translate(_FOLD)


def _vocab(word: str) -> set[str]:
    """The lists (f l w c d a) that a word, folded and without a possessive, is in."""
    lex = _lexicon()
    low = re.sub(r"['’]s?$", "", _fold(word).lower())
    return {k for k in "flwcda" if low in lex[k]}


_TOKEN = re.compile(rf"(?<![\w\[@/.#-])(?:[{_AL}]+['’])*[{_AL}]+(?:['’][a-z]{{1,2}}\b)?(?:-(?:[{_AL}]['’])?[{_AL}]+)*"
                    r"(?![\w\]@/-]|\.\w)")
_PARTICLES = frozenset("van von der den de del della la le du da das dos di bin ben al el st ter ten het des zu vom "
                       "ibn abu y".split())
_TITLE_WORDS = frozenset("mr mrs ms miss mx dr doctor prof".split())
# Words after a name that say it is the subject of a clinical sentence ("Priscilla has CKD").
_CLINICAL_VERBS = frozenset("""has had have is was seen presents presented came comes complains complained reports
reported denies denied admitted underwent lives lived called fell states stated says said needs needed
developed died passed got gets takes took brought arrived""".split())
# Words that never join a name, whatever the lists say (function words, question words, coding words).
_NEVER_NAME = frozenset("""a an and are as at be but by can code codes coding for from he her his how i if in is it
its me my no not of on or our pt she so that the their them then there they this to us was we were what when
where which who why will with you your per vs dx hx fy icd cpt hcpcs pcs dos dob mrn type stage grade class
left right bilateral status post january february march april may june july august september october
november december jan feb mar apr jun jul aug sep sept oct nov dec""".split())
_ORDINAL_WORD = re.compile(r"^\d")


@functools.lru_cache(maxsize=16384)
def _word_kind(word: str) -> str:
    """'strong' (a name and no word), 'weak' (a name that is also a word), 'word', or 'unknown'.

    Drug names count as words, and so do medical abbreviations written in capitals (AKI, GERD)."""
    lex = _lexicon()
    first, last, english, clinical, drugs = lex["f"], lex["l"], lex["w"], lex["c"], lex["d"]
    abbrev = lex["a"] if word.isupper() else frozenset()
    low = _fold(word).lower().replace("’", "'")
    if low in _NEVER_NAME:
        return "word"
    parts = [p for p in low.split("-") if p]
    kinds = []
    for part in parts:
        stem = re.sub(r"^(?:o'|d'|l')", "", part)
        stem = re.sub(r"'s?$", "", stem)
        cands = [stem] + ([stem[2:]] if stem.startswith("mc") else []) + ([stem[3:]] if stem.startswith("mac") else [])
        is_name = any(c in first or c in last for c in cands)
        is_word = (stem in english or stem in clinical or stem in _NEVER_NAME or stem in drugs
                   or stem in abbrev)
        if part.startswith(("o'", "d'")) and len(stem) > 2:
            is_name, is_word = True, stem in clinical  # O'Brien, D'Angelo: the apostrophe makes a name
        kinds.append("strong" if is_name and not is_word else "weak" if is_name else "word" if is_word
                     else "unknown")
    if all(k == "word" for k in kinds):
        return "word"
    if len(parts) > 1 and re.sub(r"'s?$", "", low) in clinical:
        return "word"  # an eponym compound from the ICD-10-CM titles: Stevens-Johnson, Wolff-Parkinson-White
    if "strong" in kinds:
        return "strong"
    if "weak" in kinds:
        return "weak"
    return "unknown" if "unknown" in kinds else "word"


def _is_cap(word: str) -> bool:
    return word[0].isupper() or (len(word) > 2 and word[1] in "'’" and word[2].isupper())


def _scrub_dictionary_names(s: _Scrubber) -> None:
    text = s.text
    tokens = [m for m in _TOKEN.finditer(text)
              if not (m.start() > 0 and text[m.start() - 1] == "[" and m.group(0).isupper())]
    if not tokens:
        return
    kinds = [_word_kind(m.group(0)) for m in tokens]
    n = len(tokens)
    all_caps_text = sum(1 for m in tokens if m.group(0).isupper()) > 0.6 * n

    def gap(i: int) -> str:  # the characters between token i and token i+1
        return text[tokens[i].end():tokens[i + 1].start()]

    def joined(i: int) -> bool:  # tokens i and i+1 belong to one phrase (space or "Last, First")
        g = gap(i)
        return g in (" ", "  ") or (g == ", " and kinds[i + 1] in ("strong", "weak")
                                    and tokens[i + 1].group(0).lower() in _lexicon()["f"])

    def next_word(i: int) -> str:
        return tokens[i + 1].group(0).lower() if i + 1 < n and gap(i).strip() in ("", ",") else ""

    def capish(i: int) -> bool:
        w = tokens[i].group(0)
        return _is_cap(w) and not (w.isupper() and len(w) <= 3 and not all_caps_text)

    seeds: set[int] = set()
    for i, m in enumerate(tokens):
        w, k = m.group(0), kinds[i]
        after_title = i > 0 and tokens[i - 1].group(0).lower() in _TITLE_WORDS and gap(i - 1) in (". ", " ", ".")
        if after_title and k != "word" or after_title and _is_cap(w) and w.lower() not in _NEVER_NAME:
            seeds.add(i)
        elif k == "strong" and capish(i) and len(w) > 2:
            seeds.add(i)
        elif k == "strong" and len(w) > 2 and (next_word(i) in _CLINICAL_VERBS and _LEFT_BOUNDARY.search(text[:m.start()]) or
                                               (i + 1 < n and joined(i) and kinds[i + 1] == "strong")):
            seeds.add(i)  # lower case: "priscilla has ckd", "mary okafor"
        elif (k == "unknown" and _is_cap(w) and not w.isupper() and len(w) > 2 and next_word(i) in _CLINICAL_VERBS
              and (i == 0 or gap(i - 1).strip() in (".", "?", "!", ":", ";", "-", "—") or
                   tokens[i - 1].group(0).lower() in ("saw", "see", "call", "called", "and", "pt", "patient"))):
            seeds.add(i)  # "Okafor has …": an unknown capitalised word as the subject of a clinical verb
        elif (w.lower() in _PARTICLES and 0 < i < n - 1 and joined(i - 1) and joined(i)
              and _is_cap(tokens[i - 1].group(0)) and kinds[i - 1] != "word" and i - 1 not in seeds):
            j = i
            while j + 1 < n and tokens[j + 1].group(0).lower() in _PARTICLES and joined(j):
                j += 1
            if j + 1 < n and joined(j) and _is_cap(tokens[j + 1].group(0)):
                seeds.update({i - 1, j + 1})  # "Pieter van den Berg", "Esperanza de la Cruz"

    spans: list[tuple[int, int]] = []
    for i in sorted(seeds):
        lo = hi = i
        lower = not _is_cap(tokens[i].group(0))
        def joins(j: int) -> bool:
            w, k = tokens[j].group(0), kinds[j]
            if k == "word" and w.lower() not in _PARTICLES:
                return False
            if re.search(r"['’]s$", w) and ("c" in _vocab(w) or w[:-2] in EPONYMS):
                return False  # "Mees Hodgkin's": the eponym is not part of the name
            if lower:
                return k in ("strong", "weak") or w.lower() in _PARTICLES
            return _is_cap(w) and k in ("strong", "weak", "unknown") or w.lower() in _PARTICLES
        while lo > 0 and joined(lo - 1) and joins(lo - 1) and tokens[lo - 1].group(0).lower() not in _TITLE_WORDS:
            lo -= 1
        while hi + 1 < n and joined(hi) and joins(hi + 1):
            hi += 1
        while lo < i and tokens[lo].group(0).lower() in _PARTICLES:
            lo += 1
        while hi > i and tokens[hi].group(0).lower() in _PARTICLES:
            hi -= 1
        end = tokens[hi].end()
        after_title = lo > 0 and tokens[lo - 1].group(0).lower() in _TITLE_WORDS
        if not after_title and (_followed_by_head(text, end) or
                                (hi + 1 < n and joined(hi) and _is_cap(tokens[hi + 1].group(0))
                                 and _followed_by_head(text, tokens[hi + 1].end())) or
                                (text[end:end + 2] in ("'s", "’s") and kinds[hi] != "strong")):
            continue  # an eponym: "Graves disease", "Hunt syndrome", "Addison's"
        spans.append((tokens[lo].start(), end))

    if not spans:
        return
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(text[pos:a])
        out.append(TAGS["name"])
        s.found["name"] += 1
        s.name_tokens.update(w for w in re.findall(rf"[{_AL}][{_AL}'’-]+", text[a:b])
                             if len(w) > 2 and w.lower() not in _PARTICLES and w not in NOT_NAMES
                             and w not in EPONYMS and _word_kind(w) == "strong")
        pos = b
    out.append(text[pos:])
    s.text = re.sub(r"\[NAME\](?:,?\s+\[NAME\])+", TAGS["name"], "".join(out))


# --- 8c. names by position: where the sentence says a name stands ---------------------------------
# Coders type names that no list holds (Cindoruk, Ayushman, Sezer Micheletto), in capitals or in lower
# case, and first names that are also words (Faith, Mark, Warren). A name stands after "pt", "saw",
# "call" and the like; before ", 93 y/o", "(DOB …", "born", ", [DATE]", "at [PHONE]"; and at the start
# of a sentence before "has", "was", "seen", "lives" or " - ". There the words that can be a name (in a
# name list, or in no word list at all; after "pt"/"saw"/"call" a capitalised word too) are tagged.
# Without such a cue, two or more capitalised words that can be names and are not all everyday words
# (Sezer Micheletto, GATES PAOLO), or a name with a middle initial (Hilde R. Pace), are a name.
# Particles (van, de, al-) and initials join a name to a tag next to it: "[NAME] van der Berg".

_LEFT_CUES = frozenset("""pt pts patient client resident saw call called calling phoned texted named name contact
contacted visited son daughter wife husband spouse partner mother father mom dad sister brother grandson
granddaughter grandmother grandfather guardian caregiver baby infant newborn mr mrs ms miss mx dr""".split())
_WEAK_AFTER = _CLINICAL_VERBS | frozenset("seen presenting returns returned".split())
_NOT_IN_NAMES = frozenset("born dob age aged yo old year years".split())
_MONTH_WORDS = frozenset(m.lower() for m in _MONTHS) | frozenset("jan feb apr jun jul aug sep sept oct nov dec".split())
_DAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow".split())
# What follows a name: an age, a date or birth, an identifier tag, "at [PHONE]", "'s DOB".
_RIGHT_CUE = re.compile(r"""(?ix)\s*(?:
    ,?\s*\(?\s*(?:\[AGE\ 90\+\]|\d{1,3}\s*\+?\s*(?:y/?o\b|yo[mf]?\b|y\.o\.|years?\b|yrs?\b|-?year-old|-?yr-old
                                               |[mf]\b(?!\s*[/-])))
  | ,?\s*\(?\s*(?:\[DATE\]|DOB\b|D\.O\.B|MRN\b|born\b|aged?\s*:?\s*(?:\d|ninety|one\s+hundred))
  | ,\s*\[(?:MRN|SSN|PHONE|MBI|MEMBER_ID)\]
  | (?:at|@|on|\#)\s*:?\s*\[(?:PHONE|FAX|EMAIL)\]
  | ['’]s\s+(?:DOB|MRN|SSN|date\s+of\s+birth|birthday|address|phone|\[)
)""")
_DASH_AFTER = re.compile(r"\s+[-–—]\s")
# Verbs said of a person, not of a condition ("Sole was admitted", not "Sepsis was present").
_PERSON_VERB = re.compile(r"\s+(?:(?:was|is|got|been)\s+(?:admitted|seen|discharged|transferred|readmitted|born)"
                          r"|seen\s+today|presents|presented|complains|complained|denies|denied|underwent|lives|lived"
                          r"|came|comes|fell|died|states|stated|says|said|reports|reported|called|arrived)\b",
                          re.IGNORECASE)
_LEFT_BOUNDARY = re.compile(r"(?:^|[.?!;:(—–\n]|\s[-–—]|\bQ:|\band)\s*$", re.IGNORECASE)
_ELEMENT = re.compile(r"\[NAME\]|" + _TOKEN.pattern)
_CAPS_WORD_OK = re.compile(r"[AEIOUY]", re.IGNORECASE)
_PARTICLE_PREFIX = re.compile(rf"(?i:al|el|bin|ben|abu|ibn|ould|van|von|de|di|da|du|la|le|del)-[{_AL}]")


def _element_class(word: str, lower_text: bool) -> str:
    """How a word can take part in a name.

    'P' particle, 'I' initial, 'N' can be a name (a listed name, or no listed word), 'W' an everyday
    word written like a name, 'x' cannot be part of a name here."""
    low = _fold(word).lower()
    if low in _PARTICLES and len(word) > 1 and not (word.isupper() and word in _US_STATES):
        return "P"
    if len(word) == 1:
        return "I" if word.isupper() or lower_text else "x"
    if low in _NEVER_NAME or low in _WEAK_AFTER or low in _DAYS or low in _LEFT_CUES or low in _NOT_IN_NAMES:
        return "x"
    if word in NOT_NAMES or word.capitalize() in NOT_NAMES:
        return "W" if word.isupper() and len(word) > 2 and not lower_text else "x"
    if _PARTICLE_PREFIX.match(word):
        return "N"  # al-Rashid, bin-Laden: the particle makes a name
    if not lower_text and not _is_cap(word):
        return "x"
    kind, vocab = _word_kind(word), _vocab(word)
    if re.search(r"['’]s$", word) and ("c" in vocab or word[:-2] in EPONYMS):
        return "x"  # Cushing's, Bell's: an eponym
    if "d" in vocab and "f" not in vocab:
        return "x" if lower_text or word.isupper() and "c" in vocab else "W"  # a drug: Depakote, Keytruda
    if word.isupper() and not lower_text and len(word) < 3 and kind != "strong":
        return "N" if len(word) == 2 and vocab & {"f", "l"} and word not in _US_STATES else "x"  # PE, MI; but LE, VU
    if (word.isupper() or lower_text) and "a" in vocab:
        return "N" if vocab & {"f", "l"} else "x"  # CKD, GERD; but RICE, MAI can be names
    if kind in ("strong", "weak"):
        return "N"
    if kind == "unknown":
        if not _CAPS_WORD_OK.search(word) or len(word) < 2:
            return "x"
        return "N"
    if lower_text and vocab & {"d", "a"}:
        return "x"
    return "W"


def _clinical_next(word: str, lower_text: bool) -> bool:
    """A clinical word that can follow a name opening the text: in lower case, a possessive eponym
    (Baker's), or no English word; a capitalised English word may be the second half of an eponym
    ("Ann Arbor staging")."""
    return lower_text or not _is_cap(word) or bool(re.search(r"['’]s$", word)) or "w" not in _vocab(word)


def _is_eponym_pair(a: str, b: str) -> bool:
    return _fold(a).lower() + "_" + re.sub(r"['’]s$", "", _fold(b).lower()) in _lexicon()["e"]


def _scrub_context_names(s: _Scrubber) -> None:
    """Tag the names that section 8c describes; run again after the dictionary pass, it joins its tags
    to the particles, initials and hyphenated pieces next to them ("[NAME] van der Berg")."""
    text = s.text
    lower_text = _is_lower_text(text)
    els = list(_ELEMENT.finditer(text))
    if not els:
        return
    words = [m.group(0) for m in els]
    classes = ["T" if w == TAGS["name"] else _element_class(w, lower_text) for w in words]
    for i in range(len(els)):
        if (classes[i] == "x" and _fold(words[i]).lower() in _MONTH_WORDS and (_is_cap(words[i]) or lower_text)
                and not re.match(r"\s*[.,]?\s*\d", text[els[i].end():])
                and not re.search(r"\d(?:st|nd|rd|th)?\s*(?:of\s+)?$", text[:els[i].start()])):
            classes[i] = "N" if "f" in _vocab(words[i]) else "W"  # "Saw August for …", "JANUARY KEMP has"
        if (classes[i] == "x" and words[i].isupper() and words[i].lower() in _PARTICLES and any(
                0 <= k < len(els) and words[k].isupper() and (classes[k] == "N" or words[k].lower() in _PARTICLES)
                for k in (i - 1, i + 1))):
            classes[i] = "P"  # "SHANNAN DE BOER", "DE LA O …": a particle, not Delaware
        if classes[i] in "NW" and "c" in _vocab(words[i]) and re.match(
                r"\s+(?:\d+(?:\.\d+)?(?!\d|\s*\+?\s*-?(?:y|yo|yrs?|years?|[MF])\b|/)|[IVX]+\b)", text[els[i].end():]):
            classes[i] = "x"  # a clinical word with its value: "GOLD 3", "stage IV", "grade 2"
    def gap(i: int) -> str:
        return text[els[i].end():els[i + 1].start()]

    for i in range(len(els)):
        nxt_gap = gap(i) if i + 1 < len(els) else ""
        if classes[i] == "P" and _is_cap(words[i]) and (
                nxt_gap == ", " and i + 1 < len(els) and classes[i + 1] in "NT"
                or _RIGHT_CUE.match(text, els[i].end()) and (i == 0 or classes[i - 1] in "NT" or
                                                            _LEFT_BOUNDARY.search(text[:els[i].start()]))
                or i > 0 and words[i - 1].lower() in _LEFT_CUES and (i + 1 == len(els) or classes[i + 1] not in "NPT"
                                                                    or nxt_gap != " ")):
            classes[i] = "N"  # "Le, Charity", "Saw Al for": the particle is the surname or the name

    def style(i: int) -> str:
        w = words[i]
        return "T" if classes[i] in "TPI" else "U" if w.isupper() and len(w) > 1 else "t"

    def cue_after(i: int) -> bool:
        return bool(_RIGHT_CUE.match(text, els[i].end())) or (
            i + 1 < len(els) and gap(i) == " " and words[i + 1].lower() in _WEAK_AFTER)

    def joins(i: int) -> bool:  # elements i and i+1 can be parts of one name
        g = gap(i)
        if classes[i] == "I":
            return g in (". ", ".", " ")
        if g == ", ":  # "Nowak, Anna": one comma between two names
            pair = {classes[i], classes[i + 1]}
            return (pair <= set("NTW") and pair & {"N"} and pair != {"T"} and (i == 0 or gap(i - 1) != ", ")
                    and (style(i) == style(i + 1) or "T" in pair)
                    and not ("W" in pair and ("w" in _vocab(words[i + 1]) and not cue_after(i + 1) or lower_text)))
        if g not in (" ", "  ", "-", "'", "’") and not (g == ". " and classes[i] == "T" and classes[i + 1] in "NP"):
            return False
        a, b = style(i), style(i + 1)
        return lower_text or a == "T" or b == "T" or a == b

    runs: list[list[int]] = []
    i, n = 0, len(els)
    while i < n:
        if classes[i] == "x":
            i += 1
            continue
        run = [i]
        while i + 1 < n and classes[i + 1] != "x" and joins(i):
            i += 1
            run.append(i)
        runs.append(run)
        i += 1

    spans: list[tuple[int, int, bool]] = []
    for run in runs:
        # particles and initials do not start (unless a name follows) or end a name
        full_end = els[run[-1]].end()
        cue_after_full = bool(_RIGHT_CUE.match(text, full_end) or _DASH_AFTER.match(text, full_end)) or bool(
            run[-1] + 1 < n and gap(run[-1]) in (" ", ", ") and words[run[-1] + 1].lower() in _WEAK_AFTER)
        if not (cue_after_full and classes[run[-1]] == "P" and any(classes[j] in "NT" for j in run)):
            while run and classes[run[-1]] in "PI":
                run = run[:-1]  # "Igor von Le, 93 y/o" keeps its particles; "Smith van" does not
        else:
            classes[run[-1]] = "N"
        while run and classes[run[0]] in "I":
            run = run[1:]
        if not run:
            continue
        start, end = els[run[0]].start(), els[run[-1]].end()
        before = text[:start]
        prev = re.search(r"([A-Za-z]+)\s*[:.,-]?\s*$", before)
        left_cue = bool(prev and prev.group(1).lower() in _LEFT_CUES
                        and len(before) - prev.start(1) <= len(prev.group(1)) + 3)
        names = [j for j in run if classes[j] in "NT"]
        if not names and not (left_cue and classes[run[0]] == "W") and not (run == [0] and classes[0] == "W"):
            continue
        boundary = bool(_LEFT_BOUNDARY.search(before))
        nxt = run[-1] + 1
        right_strong = bool(_RIGHT_CUE.match(text, end))
        dash_only = not (nxt < n and gap(run[-1]) in (" ", ", ") and words[nxt].lower() in _WEAK_AFTER)
        right_weak = bool(not dash_only or _DASH_AFTER.match(text, end))
        kinds = {j: _word_kind(words[j]) for j in names if classes[j] == "N"}
        solid = [j for j, k in kinds.items() if k in ("strong", "unknown") and len(words[j]) > 2
                 and not (words[j].isupper() and "a" in _vocab(words[j]))
                 or re.match(r"(?i)(?:al|el|bin|ben|abu|ibn|ould)-", words[j])]
        firsts = [j for j in kinds if "f" in _vocab(words[j]) and not (words[j].isupper() and "a" in _vocab(words[j]))]
        # what to keep as words: W only after a left cue, or in a capitals run with a solid name
        caps_run = all(style(j) == "U" for j in names if classes[j] == "N") and not lower_text
        cued = left_cue or right_strong or (right_weak and boundary)
        keep_w = caps_run and (bool(solid) or left_cue or right_strong or right_weak and boundary)
        if not keep_w:
            # cut at everyday words; keep the part next to the cue or with a solid name
            parts, cur = [], []
            name_like = [j for j in run if j in solid or j in firsts]
            for j in run:
                after_initial = (j > run[0] and classes[j - 1] in "IP" and j - 2 >= run[0] and classes[j - 2] in "NTIP"
                                 or j + 2 <= run[-1] and classes[j + 1] == "P" and classes[j + 2] in "NT")
                opening = (j == run[0] == run[-1] and j == 0 and right_weak and not _DASH_AFTER.match(text, end)
                           and len(words[j]) > 2 and (not _vocab(words[j]) & {"c", "d", "a"}
                                                      or _PERSON_VERB.match(text, end) is not None))
                at_start_strong = (right_strong and run[0] == 0 and j < run[-1] and classes[j + 1] == "N"
                                   and not _vocab(words[j]) & {"d", "a"}
                                   and ("c" not in _vocab(words[j]) or "w" not in _vocab(words[j]) or gap(j) == ", "))
                # an everyday word right before the cue, after a name: "frederique wilms has", "(John Eze, …"
                last_before_cue = (j == run[-1] and (j - 1 in solid or right_strong and classes[j - 1] == "N"
                                                      and "w" not in _vocab(words[j]))
                                   and (right_strong or right_weak and boundary)
                                   and not _vocab(words[j]) & {"d", "a"})
                if classes[j] == "W" and not (j == run[0] and (left_cue or boundary and j + 1 in solid
                                                               and "c" not in _vocab(words[j]))
                                              and style(j) == "t") and not after_initial and not opening \
                        and not last_before_cue and not at_start_strong \
                        and not (right_strong and "c" not in _vocab(words[j]) and "d" not in _vocab(words[j])
                                 and (name_like or j == run[-1])):
                    if cur:
                        parts.append(cur)
                    cur = []
                else:
                    cur.append(j)
            if cur:
                parts.append(cur)
        else:
            parts = [run]
            if not cued:
                cut, cur = [], []
                for j in run:
                    if classes[j] == "W" and "c" in _vocab(words[j]):
                        if cur:
                            cut.append(cur)
                        cur = []
                    else:
                        cur.append(j)
                parts = cut + ([cur] if cur else [])
        for part in parts:
            if part[-1] != run[-1] or not cue_after_full:
                while part and classes[part[-1]] in "PI":
                    part = part[:-1]
            while part and classes[part[0]] == "I":
                part = part[1:]
            pnames = [j for j in part if classes[j] in "NTW"]
            if not pnames:
                continue
            if not (left_cue and part[0] == run[0]) and any(
                    _is_eponym_pair(words[a], words[b])
                    for a, b in zip(part, part[1:]) if classes[a] == classes[b] == "N"):
                continue  # "Austin Flint", "Ramsay Hunt", "Riley Day": two names that make an eponym
            p_start, p_end = els[part[0]].start(), els[part[-1]].end()
            p_left = left_cue and part[0] == run[0]
            p_right_strong = right_strong and part[-1] == run[-1] and (
                len(pnames) > 1 or any(j in part for j in solid + firsts) or "T" in (classes[j] for j in part)
                or style(pnames[0]) == "t" and "c" not in _vocab(words[pnames[0]]))
            p_right_weak = (right_weak and part[-1] == run[-1] and (boundary and part[0] == run[0])
                            and not (dash_only and len(pnames) < 2 and not any(j in part for j in firsts))
                            and (any(j in part for j in solid + firsts) or caps_run and len(pnames) >= 2
                                 or part == [0] and style(0) == "t" and (not _vocab(words[0]) & {"c", "d", "a"}
                                                                        or _PERSON_VERB.match(text, p_end) is not None)))
            p_solid = [j for j in solid if j in part]
            p_tag = any(classes[j] == "T" for j in part)
            initial = any(classes[j] == "I" for j in part) and len(pnames) >= 2
            ns = [j for j in pnames if classes[j] == "N"]
            pair = len(ns) >= 2 and (bool(p_solid) or not lower_text and ns[1] == ns[0] + 1 and (
                "f" in _vocab(words[ns[0]]) and "l" in _vocab(words[ns[1]])
                or style(ns[0]) == "U" and "l" in _vocab(words[ns[0]]) and "f" in _vocab(words[ns[1]]))
                and not any(words[j].isupper() and "a" in _vocab(words[j]) for j in ns[:2]))
            lower_pair = (lower_text and len(pnames) >= 2 and "f" in _vocab(words[pnames[0]])
                          and classes[pnames[1]] == "N")
            # a name in no list opening the text, before a clinical term: "Wojciech Meckel diverticulum"
            start_unknown = (part[0] == 0 and len(pnames) == 1 and classes[part[0]] == "N"
                             and _word_kind(words[part[0]]) == "unknown" and len(words[part[0]]) > 2
                             and not (words[0].isupper() and len(words[0]) <= 4)  # POA, NSTEMI-like
                             and (part[-1] + 1 < n and gap(part[-1]) == " "
                                  and bool(_vocab(words[part[-1] + 1]) & {"c", "d"})
                                  and _clinical_next(words[part[-1] + 1], lower_text)
                                  and words[part[-1] + 1].lower() not in _NEVER_NAME | _WEAK_AFTER | _NOT_IN_NAMES))
            code_next = (part[0] == 0 and len(pnames) == 1 and "f" in _vocab(words[part[0]])
                         and not (words[0].isupper() and ("a" in _vocab(words[0]) or len(words[0]) <= 4))
                         and (re.match(r"\s+(?:\d|[A-Za-z]\d|[A-Z]{2,}\b)", text[p_end:]) is not None
                              or part[-1] + 1 < n and "c" in _vocab(words[part[-1] + 1])
                              and re.match(r"\s+[A-Za-z]+\s+\d", text[p_end:]) is not None
                              or part[-1] + 1 < n and gap(part[-1]) == " " and classes[part[-1] + 1] in "xW"
                              and _vocab(words[part[-1] + 1]) & {"c", "d"}
                              and _clinical_next(words[part[-1] + 1], lower_text)
                              and words[part[-1] + 1].lower() not in _NEVER_NAME | _WEAK_AFTER | _NOT_IN_NAMES))
            joined_to_tag = p_tag and (len(part) > 1) and (any(classes[j] in "PI" for j in part)
                                                           or any(gap(j) in ("-", "'", "’") for j in part[:-1]))
            if not (p_left or p_right_strong or p_right_weak or initial or pair or (lower_pair and not lower_text) or
                    (lower_pair and (boundary or p_left or p_right_strong or p_right_weak)) or code_next or joined_to_tag
                    or start_unknown):
                continue
            lower_start_pair = (lower_text and 2 <= len(ns) <= 3 and bool(p_solid) and boundary and part[0] == run[0]
                                and any(_word_kind(words[j]) == "unknown" for j in ns))
            if lower_text and not (p_left or p_right_strong or p_right_weak or lower_pair or initial or joined_to_tag
                                   or code_next or lower_start_pair or start_unknown):
                continue
            # an eponym at the end: "Seth Abiola Parkinson's disease", "Lou Gehrig disease"
            if (_followed_by_head(text, p_end) and _word_kind(words[part[-1]]) != "unknown"
                    and not (re.match(r"\s+(?:stage|score|grade|class)\s+(?:[IVX]+|\d)", text[p_end:], re.I)
                             and not ("c" in _vocab(words[part[-1]]) or words[part[-1]] in EPONYMS))
                    or _possessive_eponym([words[part[-1]]], text, p_end)):
                rest = [j for j in pnames if j != part[-1]]
                eponym = words[part[-1]]
                clinical_eponym = "c" in _vocab(eponym) or re.sub(r"['’]s$", "", eponym) in EPONYMS
                if len(pnames) <= 2 and not (p_left or p_tag) and not any(
                        _word_kind(words[j]) == "unknown" or clinical_eponym and "f" in _vocab(words[j]) for j in rest):
                    continue  # "Lou Gehrig disease"; but "Michael Turner syndrome" has a first name before it
                part = part[:-1]
                while part and classes[part[-1]] in "PI":
                    part = part[:-1]
                if not part:
                    continue
                p_end = els[part[-1]].end()
            if not (p_left or p_right_strong or p_right_weak):
                for k, j in enumerate(part[:-1]):
                    if "-" in words[j] and classes[j] == "N" and k >= 1 and classes[part[k + 1]] in "NW":
                        part = part[:k + 1]  # a hyphenated surname ends the name
                        p_end = els[part[-1]].end()
                        break
            if not p_left and len([j for j in part if classes[j] in "NW"]) >= 3 and words[part[-1]] in EPONYMS:
                part = part[:-1]  # "Adelasia E. Lambregt Addison": the eponym after a full name
                p_end = els[part[-1]].end()
            if all(classes[j] == "T" for j in part):
                continue
            spans.append((p_start, p_end, p_tag))
            s.name_tokens.update(words[j] for j in part
                                 if classes[j] == "N" and _word_kind(words[j]) in ("strong", "unknown")
                                 and len(words[j]) > 2 and words[j] not in EPONYMS)

    if not spans:
        return
    out, pos = [], 0
    for a, b, had_tag in sorted(spans):
        if a < pos:
            continue
        out.append(text[pos:a])
        out.append(TAGS["name"])
        if not had_tag:
            s.found["name"] += 1
        pos = b
    out.append(text[pos:])
    s.text = "".join(out)


# "[NAME] van [LOCATION]", "van [NAME]", "[NAME]-[NAME]": particles and joins between tags.
_PARTICLE_RE = r"(?:van|von|der|den|de|del|della|la|le|du|da|das|dos|di|bin|ben|al|el|ter|ten|het|des|zu|vom|ibn|abu)"
_TAG_HYPHEN = re.compile(rf"\[NAME\]-(?i:{_PARTICLE_RE})(?:\s+(?i:{_PARTICLE_RE}))*\s+[{_UP}][{_AL}'’-]+"  # -van Gent
                         rf"|\[NAME\](?:-[{_AL}]+)+|(?<![\w-])[{_AL}]+(?:-[{_AL}]+)*-\[NAME\]"   # Martineau-[NAME]
                         rf"|\[NAME\]['’](?!s\b)[{_AL}]{{2,}}")                                   # [NAME]'Brien
_TAG_PARTICLE_TAG = re.compile(rf"\[NAME\](?:\s*[-\s]\s*(?i:{_PARTICLE_RE}))+[-\s]\s*\[(?:NAME|LOCATION)\]")
_PARTICLE_TAG = re.compile(rf"(?<![\w\]-])(?:(?i:{_PARTICLE_RE})[-\s]\s*)+\[NAME\]"
                           rf"|(?<=\b[Pp]t\s)(?:(?i:{_PARTICLE_RE})[-\s]\s*)+\[LOCATION\]")


def _merge_name_pieces(s: _Scrubber) -> None:
    for _ in range(2):
        s.text = _TAG_PARTICLE_TAG.sub(TAGS["name"], s.text)
        s.text = _PARTICLE_TAG.sub(TAGS["name"], s.text)
        s.text = re.sub(r"\[NAME\](?:[-'’ ]\s*\[NAME\])+", TAGS["name"], s.text)
        s.text = _TAG_HYPHEN.sub(TAGS["name"], s.text)
        s.text = re.sub(r"\[NAME\],?\s+(?:Jr|Sr|II|III|JR|SR)\b\.?", TAGS["name"], s.text)  # "Dr. [NAME] II"
        s.text = re.sub(rf"\[NAME\][{_AL}]+|[{_AL}]+\[NAME\]", TAGS["name"], s.text)  # never half a word


# --- 9. any other unique identifying number ------------------------------------------------------

HASH_NUMBER = re.compile(r"(?<![\w&])#\s?\d{4,}\b")
LONG_TOKEN = re.compile(r"(?<![\w.\-/\[])(?:\(\d+\))?[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w\-/]|\.\w)")
NDC_BEFORE = re.compile(r"\bNDC\s*[:#]?\s*$", re.IGNORECASE)


def _long_token_kind(m: re.Match[str]) -> str | None:
    token = m.group(0)
    alnum = re.sub(r"[^A-Za-z0-9]", "", token)
    digits = sum(c.isdigit() for c in alnum)
    if len(alnum) < 8 or digits < 5:
        return None
    if all(_CODE_SEGMENT.match(seg) for seg in token.split("-")):
        return None  # "99202-99215", "G0438-G0439", "FY2024-FY2025"
    if NDC_BEFORE.search(m.string[max(0, m.start() - 8):m.start()]):
        return None
    return "id"


# --- the pipeline --------------------------------------------------------------------------------

def scrub(text: str) -> ScrubResult:
    """Remove PHI from `text`; see the module docstring for what is removed and what is kept."""
    s = _Scrubber(text)
    s.sub(EMAIL, "email")
    s.sub(EMAIL_NAME_PART, lambda m: "email" if "f" in _vocab(m.group("w")) else None)
    s.sub(URL, _url_kind)
    s.sub(MAC, "device_id")
    s.sub(IPV4, _ipv4_kind)
    s.sub(IPV6, _ipv6_kind)
    s.sub(CARD, "account")
    s.sub(SSN, "ssn")
    s.sub(MBI, "mbi")
    s.sub(DATE_LABEL, _date_label_kind, "d")
    for pattern, kind, needs_word, min_len in LABELLED:
        s.sub(pattern, _labelled_kind(kind, needs_word, min_len), "val")
    s.sub(ISO_DATE, _date_kind)
    s.sub(NUMERIC_DATE, _numeric_date_kind)
    s.sub(WORD_DATE, _date_kind)
    s.sub(LOWER_MONTH_DATE, _date_kind)
    s.sub(ORDINAL_DAY, "date", "d")
    s.sub(SHORT_DATE, lambda m: "date" if m.group("d") else None, "d")
    s.sub(SHORT_DATE, lambda m: "date" if m.group("p") else None, "p")
    s.sub(SHORT_DATE, lambda m: "date" if m.group("l") else None, "l")
    s.sub(PAREN_LOWER_MONTH, "date", "d")
    s.sub(CUED_LOWER_MONTH, "date", "d")
    s.sub(PHONE, _phone_kind)
    s.sub(STREET, "address")
    s.sub(LOWER_STREET, _lower_street_kind)
    s.sub(ZIP_LABEL, "zip", "z")
    s.sub(ZIP4, "zip")
    _scrub_state_zip(s)
    _scrub_city_state(s)
    s.sub(LIVES_IN, "location", "place")
    s.sub(COUNTY, "location")
    s.sub(CITY, "location")
    s.sub(PLACE_ZIP, "zip", "z")
    _scrub_names(s)
    _scrub_context_names(s)
    _scrub_dictionary_names(s)
    _merge_name_pieces(s)
    _scrub_context_names(s)
    _merge_name_pieces(s)
    _scrub_repeated_names(s)
    s.sub(NAME_SHORT_DATE, "date", "d")
    for pattern in AGE_PATTERNS:
        s.sub(pattern, "age", "a")
    s.sub(HASH_NUMBER, "id")
    s.sub(LONG_TOKEN, _long_token_kind)
    return ScrubResult(s.text, dict(s.found))


def normalize(text: str) -> str:
    """A comparison key for near-identical questions: lower case, tags and codes kept, punctuation
    and spacing folded."""
    t = text.lower().replace("’", "'")
    t = re.sub(r"[^\w\s\[\]+./'-]", " ", t)
    t = re.sub(r"(?<!\w)[.'-]+|[.'-]+(?!\w)", " ", t)  # punctuation not inside a token (E11.22 stays)
    return re.sub(r"\s+", " ", t).strip()
