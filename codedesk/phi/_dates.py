"""The passes for dates and for ages over 89 (sections 4 and 7 of the scrubber).

Dates in numbers, words and ISO form, month-and-day dates after a cue, days of the month alone and
dates labelled as birth, service or death; code-set dates ("the April 1 update", "on or after
10/1/2024") are kept. Ages from 90 up, in digits or words, are tagged; younger ages stay.
"""

from __future__ import annotations

import re

from codedesk.phi._tagging import AGE_90, DAY, MONTH, YEAR

# --- 4. dates ------------------------------------------------------------------------------------

NUMERIC_DATE = re.compile(r"(?<![\w/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/]|[.-]\d)")
ISO_DATE = re.compile(
    rf"(?<![\w/.-]){YEAR}([/.-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?![\w/]|[.-]\d)"
)
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
PAREN_LOWER_MONTH = re.compile(
    r"(?<=\()\s*(?P<d>(?:may|march|mar|dec)\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?)"
    r"(?=\s*[),;])",
    re.IGNORECASE,
)
# "(Nowak, 4/1, MRN …)": a month and day right after a name.
NAME_SHORT_DATE = re.compile(
    rf"\[NAME\]\s*,\s*(?P<d>{_SHORT_MD}|(?i:{MONTH}|may|march|mar|dec)\.?\s+{DAY})(?=\s*[,;)])"
)
# "dos may 23", "born march 3": the lower-case months that are also words, after a date word.
CUED_LOWER_MONTH = re.compile(
    r"\b(?:on|since|from|dated|until|till|DOS|DOB|admitted|discharged|seen|born|died|date)"
    r"\s*:?\s*(?P<d>(?:may|march|mar|dec)\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?)\b"
    r"(?!\s*(?:%|mg|mcg|units?|days?|weeks?|hours?|minutes?)\b)",
    re.IGNORECASE,
)
DATE_LABEL = re.compile(
    r"\b(?:DOB|D\.O\.B\.?|DOS|DOD|date\s+of\s+(?:birth|service|death|admission|discharge)|birth\s?date"
    r"|born(?:\s+(?:on|in))?|died(?:\s+(?:on|in))?)(?:\s*(?:[:=-]|is|was)\s*|\s+)(?P<d>\d[\d/.-]{2,9}\d)\b",
    re.IGNORECASE,
)
# "march 3rd 1931", "may 5th": the lower-case months that are also words, only with an ordinal or a year.
LOWER_MONTH_DATE = re.compile(
    r"\b(?:march|may|mar|dec)\.?\s+(?:0?[1-9]|[12]\d|3[01])(?:(?:st|nd|rd|th)\b(?:\s*,?\s*(?:19|20)\d\d)?"
    r"|\s*,?\s+(?:19|20)\d\d\b)|\b(?:the\s+)?(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)\s+of\s+(?:march|may|dec)\b"
    r"|\b(?:0?[1-9]|[12]\d|3[01])[\s-](?:march|may|mar|dec)\.?[\s-](?:19|20)\d\d\b"
)
# "admitted on the 14th": a day of the month alone.
ORDINAL_DAY = re.compile(
    r"\b(?:on|since|from|until|till|by|before|after)\s+the\s+(?P<d>(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th))\b"
    r"(?!\s+(?:day|week|month|year|visit|dose|cycle|session|toe|finger|rib|digit|percentile|degree|"
    r"trimester|character|edition|grade|time)s?\b)",
    re.IGNORECASE,
)
# "the April 1 update", "codes effective October 1, 2024": code-set dates, not patient dates.
_CODESET_AFTER = re.compile(
    r"[ \t]+(?:[A-Za-z]+[ \t]+)?(?:update|addend|release|changes|code\s+set|codes?\b|guideline"
    r"|ICD-10|tabular|edition|version|files?\b|effective)",
    re.IGNORECASE,
)
_CODESET_BEFORE = re.compile(r"\beffective\s*$", re.IGNORECASE)
# 1 October and 1 April start code-set years: "DOS on or after 10/1/2024" asks about the code set.
_CODESET_DAY = re.compile(
    r"^(?:0?(?:10|4)[/.-]0?1[/.-]|(?:19|20)\d\d[/.-]0?(?:10|4)[/.-]0?1$"
    r"|(?:Oct(?:ober)?|Apr(?:il)?)\.?\s+1(?:st)?\b)",
    re.IGNORECASE,
)
_BOUNDARY_BEFORE = re.compile(
    r"\b(?:on or after|on or before|prior to|before|after|starting|beginning|through"
    r"|effective|as of|since)\s*$",
    re.IGNORECASE,
)


def _is_codeset_date(m: re.Match[str]) -> bool:
    before = m.string[max(0, m.start() - 16) : m.start()]
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
    if re.fullmatch(r"(?:19|20)\d\d", m.group("d")) and re.match(
        r"(?i)DOS|date\s+of\s+(?:service|adm|dis)", m.group(0)
    ):
        return None
    return "date"


# --- 7. ages over 89 -----------------------------------------------------------------------------

AGE_PATTERNS = [
    re.compile(
        rf"(?<![\w.])(?P<a>{AGE_90})(?=\+?\s*-?\s*(?:years?\b|yrs?\b|y/?o\b|y\.o\.|yo[MF]?\b|year-old|yr-old|"
        rf"[MF]\b|(?:male|female|man|woman)\b))",
        re.IGNORECASE,
    ),
    re.compile(rf"(?<!\[)\b(?:age|aged|ages)\s*:?\s*(?P<a>{AGE_90})\b", re.IGNORECASE),
    re.compile(
        rf"\b(?:he|she|pt|patient|who|they)(?:\s+(?:is|was|turned|turns|is\s+now)|['’]s)\s+(?P<a>{AGE_90})\b"
        rf"(?!\s*(?:%|mg|mcg|kg|lbs?|units?|days?|weeks?|months?|minutes?|mm|cm|bpm|percent|degrees?)\b)",
        re.IGNORECASE,
    ),
    re.compile(rf"\[NAME\]\s*,?\s*\(\s*(?P<a>{AGE_90})\s*(?:[MF]|yo|y/o)?\s*\)"),
    re.compile(rf"\[NAME\]\s*,\s*(?P<a>{AGE_90})\s*(?=[,;)]|$)"),  # "Pt [NAME], 94, fell"
]

_UNIT_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_TEEN_WORDS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
AGE_WORDS = (
    rf"(?:ninety(?:[\s-]+(?:{_UNIT_WORDS}))?|(?:one\s+|a\s+)?hundred(?:\s+(?:and\s+)?"
    rf"(?:{_TEEN_WORDS}|twenty(?:[\s-]+(?:{_UNIT_WORDS}))?|{_UNIT_WORDS}))?)"
)
AGE_PATTERNS += [
    re.compile(
        rf"\b(?P<a>{AGE_WORDS})(?=\s*-?\s*(?:years?\b|yrs?\b|y/?o\b|y\.o\.|year-old|yr-old))",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:age|aged|is|was|turned|turns|now|he['’]s|she['’]s)\s*:?\s+(?P<a>{AGE_WORDS})\b(?![\s-]*(?:%|mg|units?|days?|weeks?|months?|percent))",
        re.IGNORECASE,
    ),
]
