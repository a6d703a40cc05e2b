"""PHI scrubbing before anything is stored, with HIPAA Safe Harbor's 18 identifiers as the checklist.

`scrub(text)` replaces identifiers with tags (``[NAME]``, ``[DATE]``, ``[MRN]``, ``[AGE 90+]``…) and
counts what it removed by kind. It keeps what makes a coding question useful: ICD-10-CM/PCS,
HCPCS and CPT codes (E11.22, T39.1X1A, 0DTJ4ZZ, 99214), ages up to 89, years and fiscal years
(FY2025), stages and types, blood pressures, eponyms (Crohn's disease, Down syndrome, Jones
fracture) and code-set dates ("the April 1 update").

Passes run from the most to the least specific pattern, so a labelled MRN is tagged as an MRN
before the generic "long number" rule sees it. Tags never match a later pass, which makes
`scrub` idempotent: scrubbing scrubbed text changes nothing.

Not covered (text cannot carry them, or they need context we do not have): biometric
identifiers, full-face photographs, and names written without a trigger word and outside the
first-name list (e.g. "Okafor called" on its own).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

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
    if len(_m) > 4:
        _MONTH_ALTS += [_m[:3], _m[:3].upper()]
_MONTH_ALTS += ["Sept", "SEPT"]
MONTH = r"(?:%s)\.?" % "|".join(sorted(set(_MONTH_ALTS), key=len, reverse=True))
DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
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

NAME_WORD = r"(?:[A-Z][a-z]?['’])?[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:-(?:[A-Z][a-z]?['’])?[A-Z][a-z]+)*"

# --- 1. e-mail, web and network addresses ------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>|\"']*[^\s<>|\"'.,;:!?)]"
    r"|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"\.(?:com|org|net|edu|gov|io|us|info|biz|health|care)\b(?::\d+)?(?:/[^\s<>|\"']*[^\s<>|\"'.,;:!?)])?",
    re.IGNORECASE,
)
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
    rf"\b(?:{MONTH}[\s/-]+{DAY}(?:\s*,?\s*{YEAR}|[/-]{YEAR})?|{DAY}(?:\s+of\s+|[\s/-]+){MONTH}(?:\s*,?\s*{YEAR}|[/-]{YEAR})?"
    rf"|{MONTH}\s*,?\s+(?:of\s+)?{YEAR})(?![\w/])"
)
SHORT_DATE = re.compile(
    r"\b(?:on|since|from|dated|until|till|DOS|DOB|admitted|discharged|seen|visit|date)\s*:?\s*"
    r"(?P<d>(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))(?![\w/])",
    re.IGNORECASE,
)
DATE_LABEL = re.compile(
    r"\b(?:DOB|D\.O\.B\.?|DOS|DOD|date\s+of\s+(?:birth|service|death|admission|discharge)|birth\s?date"
    r"|born(?:\s+(?:on|in))?|died(?:\s+(?:on|in))?)(?:\s*(?:[:=-]|is|was)\s*|\s+)(?P<d>\d[\d/.-]{2,9}\d)\b",
    re.IGNORECASE,
)
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
    rf"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{{3}}\)\s?|\d{{3}}[\s.-])\d{{3}}[\s.-]\d{{4}}\b{_EXT}"
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
STREET = re.compile(
    rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+|(?:North|South|East|West)\s+)?"
    rf"(?:(?:\d{{1,3}}(?:st|nd|rd|th)|{NAME_WORD})\s+){{1,3}}{_SUFFIX}\b\.?{_UNIT}"
    rf"(?:\s*,\s*{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}}(?=\s*(?:,|$|[—–-]|\s{_STATE}\b|\s+\d{{5}})))?"
    rf"(?:\s*,?\s*{_STATE}\b)?(?:\s+\d{{5}}(?:-\d{{4}})?\b)?"
    r"|\bP\.?\s?O\.?\s+Box\s+\d+\b",
)
CITY_STATE = re.compile(
    rf"\b(?P<city>{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}}),\s*(?P<state>{_STATE})\b(?!['’-])"
    rf"(?:\s+(?P<zip>\d{{5}}(?:-\d{{4}})?)\b)?"
)
LIVES_IN = re.compile(rf"\b(?:lives|living|resides|residing|resident|moved|relocated)\s+(?:in|of|to|near)\s+"
                      rf"(?P<place>{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})")
COUNTY = re.compile(rf"\b{NAME_WORD}(?:\s+{NAME_WORD})?\s+(?:County|Parish|Borough)\b")
CITY = re.compile(r"(?<![\w\[])(?:%s)(?![\w'’-])" % "|".join(
    re.escape(c) for c in sorted(US_CITIES, key=len, reverse=True)))
ZIP_LABEL = re.compile(r"\bzip(?:\s*code)?\s*[:#]?\s*(?P<z>\d{5}(?:-\d{4})?)\b", re.IGNORECASE)
ZIP4 = re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])")


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


# --- 7. ages over 89 -----------------------------------------------------------------------------

AGE_PATTERNS = [
    re.compile(rf"(?<![\w.])(?P<a>{AGE_90})(?=\s*-?\s*(?:years?\b|yrs?\b|y/?o\b|y\.o\.|yo[MF]?\b|year-old|yr-old|"
               rf"[MF]\b|(?:male|female|man|woman)\b))", re.IGNORECASE),
    re.compile(rf"(?<!\[)\b(?:age|aged|ages)\s*:?\s*(?P<a>{AGE_90})\b", re.IGNORECASE),
    re.compile(rf"\b(?:he|she|pt|patient|who|they)(?:\s+(?:is|was|turned|turns|is\s+now)|['’]s)\s+(?P<a>{AGE_90})\b"
               rf"(?!\s*(?:%|mg|mcg|kg|lbs?|units?|days?|weeks?|months?|minutes?|mm|cm|bpm|percent|degrees?)\b)",
               re.IGNORECASE),
    re.compile(rf"\[NAME\]\s*,?\s*\(\s*(?P<a>{AGE_90})\s*(?:[MF]|yo|y/o)?\s*\)"),
    re.compile(rf"\[NAME\]\s*,\s*(?P<a>{AGE_90})\s*(?=[,;)]|$)"),  # "Pt [NAME], 94, fell"
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
TRIGGER_LOWER = re.compile(rf"{_TRIGGER}(?:\s*:\s*|\s+)(?P<name>[a-z]+(?:\s+[a-z]+)?)\b")
FIRST_LAST = re.compile(rf"\b(?P<name>(?P<first>[A-Z][a-z]+)(?:\s+[A-Z]\.)?(?:\s+{NAME_WORD}){{1,2}})")
LAST_FIRST = re.compile(rf"\b(?P<name>{NAME_WORD},\s*(?P<first>[A-Z][a-z]+))\b")


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
        if w in NOT_NAMES:
            break
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

    # The same name again elsewhere in the message ("Patient Garcia … Garcia's A1c").
    for token in sorted(s.name_tokens, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w\[]){re.escape(token)}(?![\w])")
        s.sub(pattern, lambda m: None if _followed_by_head(m.string, m.end()) else "name")
    s.text = re.sub(r"\[NAME\](?:\s+\[NAME\])+", TAGS["name"], s.text)


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
    s.sub(SHORT_DATE, "date", "d")
    s.sub(PHONE, _phone_kind)
    s.sub(STREET, "address")
    s.sub(ZIP_LABEL, "zip", "z")
    s.sub(ZIP4, "zip")
    _scrub_city_state(s)
    s.sub(LIVES_IN, "location", "place")
    s.sub(COUNTY, "location")
    s.sub(CITY, "location")
    _scrub_names(s)
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
