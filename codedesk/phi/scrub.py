"""PHI scrubbing before anything is stored, with HIPAA Safe Harbor's 18 identifiers as the checklist.

`scrub(text)` replaces identifiers with tags (``[NAME]``, ``[DATE]``, ``[MRN]``, ``[AGE 90+]``…) and
counts what it removed by kind. It keeps what makes a coding question useful: ICD-10-CM/PCS,
HCPCS and CPT codes (E11.22, T39.1X1A, 0DTJ4ZZ, 99214), ages up to 89, years and fiscal years
(FY2025), stages and types, blood pressures, eponyms (Crohn's disease, Down syndrome, Jones
fracture) and code-set dates ("the April 1 update").

Passes run from the most to the least specific pattern, so a labelled MRN is tagged as an MRN
before the generic "long number" rule sees it. Tags never match a later pass, which makes
`scrub` idempotent: scrubbing scrubbed text changes nothing.

Names are also read against the 1990 US Census name lists (codedesk/phi/data/person_names.txt, built by
codedesk/phi/data/build_name_lists.py): in any case and order, alone or with particles, unless the word is
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

This module holds the public API (`scrub`, `normalize`, `TAGS`, `TAG_RE`, `ScrubResult`) and the
order the passes run in; the passes live beside it: `_tagging` (tags, one run, shared pattern
pieces), `_identifiers` (network addresses, labelled and shaped numbers, phones, other long
numbers), `_dates` (dates, ages over 89), `_places` (addresses, places, ZIP codes), `_lexicon` (the
name and word lists), and the name passes `_names_by_cue` (8), `_names_by_dictionary` (8b) and
`_names_by_position` (8c).
"""

from __future__ import annotations

import re

from codedesk.phi._dates import (
    AGE_PATTERNS,
    CUED_LOWER_MONTH,
    DATE_LABEL,
    ISO_DATE,
    LOWER_MONTH_DATE,
    NAME_SHORT_DATE,
    NUMERIC_DATE,
    ORDINAL_DAY,
    PAREN_LOWER_MONTH,
    SHORT_DATE,
    WORD_DATE,
    _date_kind,
    _date_label_kind,
    _numeric_date_kind,
)
from codedesk.phi._identifiers import (
    CARD,
    EMAIL,
    EMAIL_NAME_PART,
    HASH_NUMBER,
    IPV4,
    IPV6,
    LABELLED,
    LONG_TOKEN,
    MAC,
    MBI,
    PHONE,
    SSN,
    URL,
    _ipv4_kind,
    _ipv6_kind,
    _labelled_kind,
    _long_token_kind,
    _phone_kind,
    _url_kind,
)
from codedesk.phi._lexicon import _vocab
from codedesk.phi._names_by_cue import _scrub_names, _scrub_repeated_names
from codedesk.phi._names_by_dictionary import _scrub_dictionary_names
from codedesk.phi._names_by_position import _merge_name_pieces, _scrub_context_names
from codedesk.phi._places import (
    CITY,
    COUNTY,
    LIVES_IN,
    LOWER_STREET,
    PLACE_ZIP,
    STREET,
    ZIP4,
    ZIP_LABEL,
    _lower_street_kind,
    _scrub_city_state,
    _scrub_state_zip,
)
from codedesk.phi._tagging import TAG_RE, TAGS, ScrubResult, _Scrubber

__all__ = ["TAGS", "TAG_RE", "ScrubResult", "normalize", "scrub"]


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
    t = re.sub(
        r"(?<!\w)[.'-]+|[.'-]+(?!\w)", " ", t
    )  # punctuation not inside a token (E11.22 stays)
    return re.sub(r"\s+", " ", t).strip()
