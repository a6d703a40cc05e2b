"""The passes for street addresses, places and ZIP codes (section 6 of the scrubber).

Street addresses in normal and lower case, city and state pairs, "lives in …", counties, the US
cities on the list, ZIP codes after a label, ZIP+4, and a state with a ZIP code together with the
place before it. State abbreviations that are also clinical or everyday words (CT, MS, OR, in)
count only where a ZIP code or the end of the text says they are states.
"""

from __future__ import annotations

import re

from codedesk.phi._lexicon import _NEVER_NAME, _vocab
from codedesk.phi._names import NOT_NAMES, US_CITIES
from codedesk.phi._tagging import (
    _AMBIGUOUS_STATES,
    _LO,
    _STATE_NAMES,
    _US_STATES,
    NAME_WORD,
    TAGS,
    _is_lower_text,
    _Scrubber,
)

# --- 6. street addresses, places, ZIP codes ------------------------------------------------------

_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|"
    r"Terrace|Ter|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Trail|Trl|Route|Rte|Plaza|Loop)"
)
_UNIT = (
    r"(?:\s*,?\s*(?:Apt|Apartment|Unit|Suite|Ste|Rm|Room|Bldg|Fl|Floor|#)\.?\s*#?\s*[A-Za-z0-9-]+)?"
)
_STATE = r"(?:%s)" % "|".join(_US_STATES + _STATE_NAMES)
_STATE_NAMES_ALL = sorted(
    _STATE_NAMES
    + [
        "Georgia",
        "Virginia",
        "Washington",
        "New Hampshire",
        "New Jersey",
        "New Mexico",
        "New York",
        "North Carolina",
        "North Dakota",
        "South Carolina",
        "South Dakota",
        "Rhode Island",
        "West Virginia",
        "District of Columbia",
    ],
    key=len,
    reverse=True,
)
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
    rf"(?:\s*,?\s*(?:apt|apartment|unit|suite|ste|rm|room|#)\.?\s*#?\s*[a-z0-9-]+)?"
)


def _lower_street_kind(m: re.Match[str]) -> str | None:
    if not _is_lower_text(m.string) or any(w in _NEVER_NAME for w in m.group("words").split()):
        return None
    return "address"


CITY_STATE = re.compile(
    rf"(?:\b(?:St|Ste|Mt|Ft)\.?\s+)?\b(?P<city>{NAME_WORD}(?:\s+(?:(?:du|de|des|la|le|del|di|da)\s+)?{NAME_WORD}){{0,2}}),\s*(?P<state>{_ANY_STATE})\b(?!['’-])"
    rf"(?:\s+(?P<zip>\d{{5}}(?:-\d{{4}})?)\b)?"
)
LIVES_IN = re.compile(
    rf"\b(?:lives|living|resides|residing|resident|moved|relocated)\s+(?:in|of|to|near)\s+"
    rf"(?P<place>{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})"
)
COUNTY = re.compile(rf"\b{NAME_WORD}(?:\s+{NAME_WORD})?\s+(?:County|Parish|Borough)\b")
CITY = re.compile(
    r"(?<![\w\[])(?:%s)(?![\w'’-])"
    % "|".join(re.escape(c) for c in sorted(US_CITIES, key=len, reverse=True))
)
ZIP_LABEL = re.compile(r"\bzip(?:\s*code)?\s*[:#]?\s*(?P<z>\d{5}(?:-\d{4})?)\b", re.IGNORECASE)
ZIP4 = re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])")
# "Springfield IL 62704", "oregon city nh 56074": a state abbreviation or name and a ZIP code, with
# the place before it (up to three words) when it is written in capitals or follows "in/from/at".
_LOWER_STATE_OK = [
    a.lower()
    for a in _US_STATES
    if a.lower() not in "in me or ok hi oh de co la ma md ms al ar id pa ne wa ga mo va ct".split()
]
STATE_ZIP = re.compile(
    rf"(?P<place>(?:\b[^\W\d_][\w'.-]*,?\s+){{0,3}}?)\b(?P<state>(?:{'|'.join(_US_STATES)})\b"
    rf"|(?i:{'|'.join(_STATE_NAMES_ALL)})\b"
    rf"|(?:{'|'.join(_LOWER_STATE_OK)})\b)\.?,?\s+(?P<zip>\d{{5}}(?:-\d{{4}})?\b|\[ZIP\])"
)
PLACE_ZIP = re.compile(r"\[LOCATION\](?:,\s*[A-Za-z .]+?)?,?\s+(?P<z>\d{5}(?:-\d{4})?)\b")


_PLACE_STOP = re.compile(
    r"(?i)^(?:in|from|at|of|to|near|lives|living|resides|moved|address|pt|patient|the|and|[\[\]]|,)$"
)


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
            if any(
                w in _NEVER_NAME or _vocab(w) and _vocab(w) <= {"c", "a", "d"} for w in place
            ) or all(_vocab(w) and not _vocab(w) & {"f", "l"} for w in place):
                return m.group(0)  # "billed in office or 99214"
            s.found["location"] += 1
            s.found["zip"] += m.group("zip") != TAGS["zip"]
            return f"{m.group('pre')}{TAGS['location']} {m.group('state')} {TAGS['zip']}"

        s.text = LOWER_AMBIGUOUS_STATE_ZIP.sub(lower_repl, s.text)


# All in lower case, a state abbreviation that is also a word ("in", "or", "ct") before a ZIP code
# counts only after a place word: "pt from melrose park ct 04907".
LOWER_AMBIGUOUS_STATE_ZIP = re.compile(
    r"(?P<pre>\b(?:from|in|at|near|of|to)\s+|\[ADDRESS\],?\s+)(?P<place>[a-z][\w'.-]*(?:\s+[a-z][\w'.-]*){0,2}?)\s+"
    r"(?P<state>%s)\.?,?\s+(?P<zip>\d{5}(?:-\d{4})?\b|\[ZIP\])"
    % "|".join(a.lower() for a in _US_STATES if a.lower() not in _LOWER_STATE_OK)
)


def _scrub_city_state(s: _Scrubber) -> None:
    def repl(m: re.Match[str]) -> str:
        state, zip_code = m.group("state"), m.group("zip")
        at_end = re.match(r"\s*(?:[.?!;]|$)", m.string[m.end() :])
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
    r"(?=\s*(?:[.?!;]\s*)?$|\s+(?:\d{5}|\[ZIP\]))"
)
LOWER_CITY_STATE_ZIP = re.compile(r"\[LOCATION\],\s*[a-z ]+\s+(?P<zip>\d{5}(?:-\d{4})?)\b")


def _lower_city_kind(m: re.Match[str]) -> str | None:
    words = m.group("city").split()
    zip_next = (
        re.match(r"\s*,?\s*[a-z ]+\s+(?:\d{5}|\[ZIP\])", m.string[m.end("city") :]) is not None
    )
    if any(
        w in _NEVER_NAME or not zip_next and _vocab(w) and _vocab(w) <= {"c", "a", "d"}
        for w in words[-1:]
    ):
        return (
            None  # "… for ckd, ok": a clinical word before a state-like word at the end is no place
        )
    return "location"
