"""The name pass by position (section 8c), and the joining of name pieces around tags.

Names that no list holds are read where the sentence says a name stands: after "pt", "saw",
"call"; before an age, a date of birth, an identifier tag or a phone; at the start of a sentence
before a clinical verb. `_merge_name_pieces` then joins particles, hyphens and suffixes to the
[NAME] tags next to them ("[NAME] van der Berg", "Martineau-[NAME]", "[NAME] Jr").
"""

from __future__ import annotations

import re

from codedesk.phi._lexicon import (
    _CLINICAL_VERBS,
    _NEVER_NAME,
    _PARTICLES,
    _TOKEN,
    _fold,
    _is_cap,
    _lexicon,
    _vocab,
    _word_kind,
)
from codedesk.phi._names import EPONYMS, NOT_NAMES
from codedesk.phi._names_by_cue import _followed_by_head, _possessive_eponym
from codedesk.phi._tagging import _AL, _MONTHS, _UP, _US_STATES, TAGS, _is_lower_text, _Scrubber

# --- 8c. names by position: where the sentence says a name stands ---------------------------------
# Coders type names that no list holds (Cindoruk, Ayushman, Sezer Micheletto), in capitals or in lower
# case, and first names that are also words (Faith, Mark, Warren). A name stands after "pt", "saw",
# "call" and the like; before ", 93 y/o", "(DOB …", "born", ", [DATE]", "at [PHONE]"; and at the start
# of a sentence before "has", "was", "seen", "lives" or " - ". There the words that can be a name (in a
# name list, or in no word list at all; after "pt"/"saw"/"call" a capitalised word too) are tagged.
# Without such a cue, two or more capitalised words that can be names and are not all everyday words
# (Sezer Micheletto, GATES PAOLO), or a name with a middle initial (Hilde R. Pace), are a name.
# Particles (van, de, al-) and initials join a name to a tag next to it: "[NAME] van der Berg".

_LEFT_CUES = frozenset(
    """pt pts patient client resident saw call called calling phoned texted named name contact
contacted visited son daughter wife husband spouse partner mother father mom dad sister brother grandson
granddaughter grandmother grandfather guardian caregiver baby infant newborn mr mrs ms miss mx dr""".split()
)
_WEAK_AFTER = _CLINICAL_VERBS | frozenset("seen presenting returns returned".split())
_NOT_IN_NAMES = frozenset("born dob age aged yo old year years".split())
_MONTH_WORDS = frozenset(m.lower() for m in _MONTHS) | frozenset(
    "jan feb apr jun jul aug sep sept oct nov dec".split()
)
_DAYS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow".split()
)
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
_PERSON_VERB = re.compile(
    r"\s+(?:(?:was|is|got|been)\s+(?:admitted|seen|discharged|transferred|readmitted|born)"
    r"|seen\s+today|presents|presented|complains|complained|denies|denied|underwent|lives|lived"
    r"|came|comes|fell|died|states|stated|says|said|reports|reported|called|arrived)\b",
    re.IGNORECASE,
)
_LEFT_BOUNDARY = re.compile(r"(?:^|[.?!;:(—–\n]|\s[-–—]|\bQ:|\band)\s*$", re.IGNORECASE)
_ELEMENT = re.compile(r"\[NAME\]|" + _TOKEN.pattern)
_CAPS_WORD_OK = re.compile(r"[AEIOUY]", re.IGNORECASE)
_PARTICLE_PREFIX = re.compile(
    rf"(?i:al|el|bin|ben|abu|ibn|ould|van|von|de|di|da|du|la|le|del)-[{_AL}]"
)


def _element_class(word: str, lower_text: bool) -> str:
    """How a word can take part in a name.

    'P' particle, 'I' initial, 'N' can be a name (a listed name, or no listed word), 'W' an everyday
    word written like a name, 'x' cannot be part of a name here."""
    low = _fold(word).lower()
    if low in _PARTICLES and len(word) > 1 and not (word.isupper() and word in _US_STATES):
        return "P"
    if len(word) == 1:
        return "I" if word.isupper() or lower_text else "x"
    if (
        low in _NEVER_NAME
        or low in _WEAK_AFTER
        or low in _DAYS
        or low in _LEFT_CUES
        or low in _NOT_IN_NAMES
    ):
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
        return (
            "x" if lower_text or word.isupper() and "c" in vocab else "W"
        )  # a drug: Depakote, Keytruda
    if word.isupper() and not lower_text and len(word) < 3 and kind != "strong":
        return (
            "N" if len(word) == 2 and vocab & {"f", "l"} and word not in _US_STATES else "x"
        )  # PE, MI; but LE, VU
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
    return (
        lower_text
        or not _is_cap(word)
        or bool(re.search(r"['’]s$", word))
        or "w" not in _vocab(word)
    )


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
        if (
            classes[i] == "x"
            and _fold(words[i]).lower() in _MONTH_WORDS
            and (_is_cap(words[i]) or lower_text)
            and not re.match(r"\s*[.,]?\s*\d", text[els[i].end() :])
            and not re.search(r"\d(?:st|nd|rd|th)?\s*(?:of\s+)?$", text[: els[i].start()])
        ):
            classes[i] = (
                "N" if "f" in _vocab(words[i]) else "W"
            )  # "Saw August for …", "JANUARY KEMP has"
        if (
            classes[i] == "x"
            and words[i].isupper()
            and words[i].lower() in _PARTICLES
            and any(
                0 <= k < len(els)
                and words[k].isupper()
                and (classes[k] == "N" or words[k].lower() in _PARTICLES)
                for k in (i - 1, i + 1)
            )
        ):
            classes[i] = "P"  # "SHANNAN DE BOER", "DE LA O …": a particle, not Delaware
        if (
            classes[i] in "NW"
            and "c" in _vocab(words[i])
            and re.match(
                r"\s+(?:\d+(?:\.\d+)?(?!\d|\s*\+?\s*-?(?:y|yo|yrs?|years?|[MF])\b|/)|[IVX]+\b)",
                text[els[i].end() :],
            )
        ):
            classes[i] = "x"  # a clinical word with its value: "GOLD 3", "stage IV", "grade 2"

    def gap(i: int) -> str:
        return text[els[i].end() : els[i + 1].start()]

    for i in range(len(els)):
        nxt_gap = gap(i) if i + 1 < len(els) else ""
        if (
            classes[i] == "P"
            and _is_cap(words[i])
            and (
                nxt_gap == ", "
                and i + 1 < len(els)
                and classes[i + 1] in "NT"
                or _RIGHT_CUE.match(text, els[i].end())
                and (
                    i == 0
                    or classes[i - 1] in "NT"
                    or _LEFT_BOUNDARY.search(text[: els[i].start()])
                )
                or i > 0
                and words[i - 1].lower() in _LEFT_CUES
                and (i + 1 == len(els) or classes[i + 1] not in "NPT" or nxt_gap != " ")
            )
        ):
            classes[i] = "N"  # "Le, Charity", "Saw Al for": the particle is the surname or the name

    def style(i: int) -> str:
        w = words[i]
        return "T" if classes[i] in "TPI" else "U" if w.isupper() and len(w) > 1 else "t"

    def cue_after(i: int) -> bool:
        return bool(_RIGHT_CUE.match(text, els[i].end())) or (
            i + 1 < len(els) and gap(i) == " " and words[i + 1].lower() in _WEAK_AFTER
        )

    def joins(i: int) -> bool:  # elements i and i+1 can be parts of one name
        g = gap(i)
        if classes[i] == "I":
            return g in (". ", ".", " ")
        if g == ", ":  # "Nowak, Anna": one comma between two names
            pair = {classes[i], classes[i + 1]}
            return (
                pair <= set("NTW")
                and pair & {"N"}
                and pair != {"T"}
                and (i == 0 or gap(i - 1) != ", ")
                and (style(i) == style(i + 1) or "T" in pair)
                and not (
                    "W" in pair
                    and ("w" in _vocab(words[i + 1]) and not cue_after(i + 1) or lower_text)
                )
            )
        if g not in (" ", "  ", "-", "'", "’") and not (
            g == ". " and classes[i] == "T" and classes[i + 1] in "NP"
        ):
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
        cue_after_full = bool(
            _RIGHT_CUE.match(text, full_end) or _DASH_AFTER.match(text, full_end)
        ) or bool(
            run[-1] + 1 < n
            and gap(run[-1]) in (" ", ", ")
            and words[run[-1] + 1].lower() in _WEAK_AFTER
        )
        if not (
            cue_after_full and classes[run[-1]] == "P" and any(classes[j] in "NT" for j in run)
        ):
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
        left_cue = bool(
            prev
            and prev.group(1).lower() in _LEFT_CUES
            and len(before) - prev.start(1) <= len(prev.group(1)) + 3
        )
        names = [j for j in run if classes[j] in "NT"]
        if (
            not names
            and not (left_cue and classes[run[0]] == "W")
            and not (run == [0] and classes[0] == "W")
        ):
            continue
        boundary = bool(_LEFT_BOUNDARY.search(before))
        nxt = run[-1] + 1
        right_strong = bool(_RIGHT_CUE.match(text, end))
        dash_only = not (
            nxt < n and gap(run[-1]) in (" ", ", ") and words[nxt].lower() in _WEAK_AFTER
        )
        right_weak = bool(not dash_only or _DASH_AFTER.match(text, end))
        kinds = {j: _word_kind(words[j]) for j in names if classes[j] == "N"}
        solid = [
            j
            for j, k in kinds.items()
            if k in ("strong", "unknown")
            and len(words[j]) > 2
            and not (words[j].isupper() and "a" in _vocab(words[j]))
            or re.match(r"(?i)(?:al|el|bin|ben|abu|ibn|ould)-", words[j])
        ]
        firsts = [
            j
            for j in kinds
            if "f" in _vocab(words[j]) and not (words[j].isupper() and "a" in _vocab(words[j]))
        ]
        # what to keep as words: W only after a left cue, or in a capitals run with a solid name
        caps_run = all(style(j) == "U" for j in names if classes[j] == "N") and not lower_text
        cued = left_cue or right_strong or (right_weak and boundary)
        keep_w = caps_run and (bool(solid) or left_cue or right_strong or right_weak and boundary)
        if not keep_w:
            # cut at everyday words; keep the part next to the cue or with a solid name
            parts, cur = [], []
            name_like = [j for j in run if j in solid or j in firsts]
            for j in run:
                after_initial = (
                    j > run[0]
                    and classes[j - 1] in "IP"
                    and j - 2 >= run[0]
                    and classes[j - 2] in "NTIP"
                    or j + 2 <= run[-1]
                    and classes[j + 1] == "P"
                    and classes[j + 2] in "NT"
                )
                opening = (
                    j == run[0] == run[-1]
                    and j == 0
                    and right_weak
                    and not _DASH_AFTER.match(text, end)
                    and len(words[j]) > 2
                    and (
                        not _vocab(words[j]) & {"c", "d", "a"}
                        or _PERSON_VERB.match(text, end) is not None
                    )
                )
                at_start_strong = (
                    right_strong
                    and run[0] == 0
                    and j < run[-1]
                    and classes[j + 1] == "N"
                    and not _vocab(words[j]) & {"d", "a"}
                    and (
                        "c" not in _vocab(words[j]) or "w" not in _vocab(words[j]) or gap(j) == ", "
                    )
                )
                # an everyday word right before the cue, after a name: "frederique wilms has", "(John Eze, …"
                last_before_cue = (
                    j == run[-1]
                    and (
                        j - 1 in solid
                        or right_strong
                        and classes[j - 1] == "N"
                        and "w" not in _vocab(words[j])
                    )
                    and (right_strong or right_weak and boundary)
                    and not _vocab(words[j]) & {"d", "a"}
                )
                if (
                    classes[j] == "W"
                    and not (
                        j == run[0]
                        and (
                            left_cue or boundary and j + 1 in solid and "c" not in _vocab(words[j])
                        )
                        and style(j) == "t"
                    )
                    and not after_initial
                    and not opening
                    and not last_before_cue
                    and not at_start_strong
                    and not (
                        right_strong
                        and "c" not in _vocab(words[j])
                        and "d" not in _vocab(words[j])
                        and (name_like or j == run[-1])
                    )
                ):
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
                for a, b in zip(part, part[1:], strict=False)
                if classes[a] == classes[b] == "N"
            ):
                continue  # "Austin Flint", "Ramsay Hunt", "Riley Day": two names that make an eponym
            p_start, p_end = els[part[0]].start(), els[part[-1]].end()
            p_left = left_cue and part[0] == run[0]
            p_right_strong = (
                right_strong
                and part[-1] == run[-1]
                and (
                    len(pnames) > 1
                    or any(j in part for j in solid + firsts)
                    or "T" in (classes[j] for j in part)
                    or style(pnames[0]) == "t"
                    and "c" not in _vocab(words[pnames[0]])
                )
            )
            p_right_weak = (
                right_weak
                and part[-1] == run[-1]
                and (boundary and part[0] == run[0])
                and not (dash_only and len(pnames) < 2 and not any(j in part for j in firsts))
                and (
                    any(j in part for j in solid + firsts)
                    or caps_run
                    and len(pnames) >= 2
                    or part == [0]
                    and style(0) == "t"
                    and (
                        not _vocab(words[0]) & {"c", "d", "a"}
                        or _PERSON_VERB.match(text, p_end) is not None
                    )
                )
            )
            p_solid = [j for j in solid if j in part]
            p_tag = any(classes[j] == "T" for j in part)
            initial = any(classes[j] == "I" for j in part) and len(pnames) >= 2
            ns = [j for j in pnames if classes[j] == "N"]
            pair = len(ns) >= 2 and (
                bool(p_solid)
                or not lower_text
                and ns[1] == ns[0] + 1
                and (
                    "f" in _vocab(words[ns[0]])
                    and "l" in _vocab(words[ns[1]])
                    or style(ns[0]) == "U"
                    and "l" in _vocab(words[ns[0]])
                    and "f" in _vocab(words[ns[1]])
                )
                and not any(words[j].isupper() and "a" in _vocab(words[j]) for j in ns[:2])
            )
            lower_pair = (
                lower_text
                and len(pnames) >= 2
                and "f" in _vocab(words[pnames[0]])
                and classes[pnames[1]] == "N"
            )
            # a name in no list opening the text, before a clinical term: "Wojciech Meckel diverticulum"
            start_unknown = (
                part[0] == 0
                and len(pnames) == 1
                and classes[part[0]] == "N"
                and _word_kind(words[part[0]]) == "unknown"
                and len(words[part[0]]) > 2
                and not (words[0].isupper() and len(words[0]) <= 4)  # POA, NSTEMI-like
                and (
                    part[-1] + 1 < n
                    and gap(part[-1]) == " "
                    and bool(_vocab(words[part[-1] + 1]) & {"c", "d"})
                    and _clinical_next(words[part[-1] + 1], lower_text)
                    and words[part[-1] + 1].lower() not in _NEVER_NAME | _WEAK_AFTER | _NOT_IN_NAMES
                )
            )
            code_next = (
                part[0] == 0
                and len(pnames) == 1
                and "f" in _vocab(words[part[0]])
                and not (words[0].isupper() and ("a" in _vocab(words[0]) or len(words[0]) <= 4))
                and (
                    re.match(r"\s+(?:\d|[A-Za-z]\d|[A-Z]{2,}\b)", text[p_end:]) is not None
                    or part[-1] + 1 < n
                    and "c" in _vocab(words[part[-1] + 1])
                    and re.match(r"\s+[A-Za-z]+\s+\d", text[p_end:]) is not None
                    or part[-1] + 1 < n
                    and gap(part[-1]) == " "
                    and classes[part[-1] + 1] in "xW"
                    and _vocab(words[part[-1] + 1]) & {"c", "d"}
                    and _clinical_next(words[part[-1] + 1], lower_text)
                    and words[part[-1] + 1].lower() not in _NEVER_NAME | _WEAK_AFTER | _NOT_IN_NAMES
                )
            )
            joined_to_tag = (
                p_tag
                and (len(part) > 1)
                and (
                    any(classes[j] in "PI" for j in part)
                    or any(gap(j) in ("-", "'", "’") for j in part[:-1])
                )
            )
            if not (
                p_left
                or p_right_strong
                or p_right_weak
                or initial
                or pair
                or (lower_pair and not lower_text)
                or (lower_pair and (boundary or p_left or p_right_strong or p_right_weak))
                or code_next
                or joined_to_tag
                or start_unknown
            ):
                continue
            lower_start_pair = (
                lower_text
                and 2 <= len(ns) <= 3
                and bool(p_solid)
                and boundary
                and part[0] == run[0]
                and any(_word_kind(words[j]) == "unknown" for j in ns)
            )
            if lower_text and not (
                p_left
                or p_right_strong
                or p_right_weak
                or lower_pair
                or initial
                or joined_to_tag
                or code_next
                or lower_start_pair
                or start_unknown
            ):
                continue
            # an eponym at the end: "Seth Abiola Parkinson's disease", "Lou Gehrig disease"
            if (
                _followed_by_head(text, p_end)
                and _word_kind(words[part[-1]]) != "unknown"
                and not (
                    re.match(r"\s+(?:stage|score|grade|class)\s+(?:[IVX]+|\d)", text[p_end:], re.I)
                    and not ("c" in _vocab(words[part[-1]]) or words[part[-1]] in EPONYMS)
                )
                or _possessive_eponym([words[part[-1]]], text, p_end)
            ):
                rest = [j for j in pnames if j != part[-1]]
                eponym = words[part[-1]]
                clinical_eponym = "c" in _vocab(eponym) or re.sub(r"['’]s$", "", eponym) in EPONYMS
                if (
                    len(pnames) <= 2
                    and not (p_left or p_tag)
                    and not any(
                        _word_kind(words[j]) == "unknown"
                        or clinical_eponym
                        and "f" in _vocab(words[j])
                        for j in rest
                    )
                ):
                    continue  # "Lou Gehrig disease"; but "Michael Turner syndrome" has a first name before it
                part = part[:-1]
                while part and classes[part[-1]] in "PI":
                    part = part[:-1]
                if not part:
                    continue
                p_end = els[part[-1]].end()
            if not (p_left or p_right_strong or p_right_weak):
                for k, j in enumerate(part[:-1]):
                    if (
                        "-" in words[j]
                        and classes[j] == "N"
                        and k >= 1
                        and classes[part[k + 1]] in "NW"
                    ):
                        part = part[: k + 1]  # a hyphenated surname ends the name
                        p_end = els[part[-1]].end()
                        break
            if (
                not p_left
                and len([j for j in part if classes[j] in "NW"]) >= 3
                and words[part[-1]] in EPONYMS
            ):
                part = part[:-1]  # "Adelasia E. Lambregt Addison": the eponym after a full name
                p_end = els[part[-1]].end()
            if all(classes[j] == "T" for j in part):
                continue
            spans.append((p_start, p_end, p_tag))
            s.name_tokens.update(
                words[j]
                for j in part
                if classes[j] == "N"
                and _word_kind(words[j]) in ("strong", "unknown")
                and len(words[j]) > 2
                and words[j] not in EPONYMS
            )

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
_TAG_HYPHEN = re.compile(
    rf"\[NAME\]-(?i:{_PARTICLE_RE})(?:\s+(?i:{_PARTICLE_RE}))*\s+[{_UP}][{_AL}'’-]+"  # -van Gent
    rf"|\[NAME\](?:-[{_AL}]+)+|(?<![\w-])[{_AL}]+(?:-[{_AL}]+)*-\[NAME\]"  # Martineau-[NAME]
    rf"|\[NAME\]['’](?!s\b)[{_AL}]{{2,}}"
)  # [NAME]'Brien
_TAG_PARTICLE_TAG = re.compile(
    rf"\[NAME\](?:\s*[-\s]\s*(?i:{_PARTICLE_RE}))+[-\s]\s*\[(?:NAME|LOCATION)\]"
)
_PARTICLE_TAG = re.compile(
    rf"(?<![\w\]-])(?:(?i:{_PARTICLE_RE})[-\s]\s*)+\[NAME\]"
    rf"|(?<=\b[Pp]t\s)(?:(?i:{_PARTICLE_RE})[-\s]\s*)+\[LOCATION\]"
)


def _merge_name_pieces(s: _Scrubber) -> None:
    for _ in range(2):
        s.text = _TAG_PARTICLE_TAG.sub(TAGS["name"], s.text)
        s.text = _PARTICLE_TAG.sub(TAGS["name"], s.text)
        s.text = re.sub(r"\[NAME\](?:[-'’ ]\s*\[NAME\])+", TAGS["name"], s.text)
        s.text = _TAG_HYPHEN.sub(TAGS["name"], s.text)
        s.text = re.sub(
            r"\[NAME\],?\s+(?:Jr|Sr|II|III|JR|SR)\b\.?", TAGS["name"], s.text
        )  # "Dr. [NAME] II"
        s.text = re.sub(
            rf"\[NAME\][{_AL}]+|[{_AL}]+\[NAME\]", TAGS["name"], s.text
        )  # never half a word
