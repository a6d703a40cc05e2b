"""The first name pass (section 8): names after a title or trigger word, known "First Last" pairs.

"Dr. Patel", "pt John Smith", "Patient Smith, Jennifer", "named X", "pt mary smith", a known
first name followed by a capitalised word anywhere, and "Nowak, Anna". Eponyms ("Cushing's",
"… syndrome") are left alone. Every tagged name is remembered so that `_scrub_repeated_names`
can tag it again wherever it recurs in the message.
"""

from __future__ import annotations

import re

from codedesk.phi._lexicon import _vocab
from codedesk.phi._names import EPONYM_HEADS, EPONYMS, FIRST_NAMES, NOT_NAMES, SURNAMES
from codedesk.phi._tagging import _LO, _UP, NAME_WORD, TAGS, _Scrubber

# --- 8. names ------------------------------------------------------------------------------------

_NAME_SEQ = rf"(?P<name>{NAME_WORD}(?:\s+[A-Z]\.)?(?:\s+{NAME_WORD}){{0,2}})"
TITLE_NAME = re.compile(
    rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|doctor|Prof|Professor)\.?\s+"
    rf"(?P<name>(?:[A-Z]\.\s*)?{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})"
)
_TRIGGER = (
    r"\b(?:[Pp]atient|PATIENT|[Pp]t\.?|[Cc]lient|[Rr]esident|[Bb]aby(?:\s+(?:boy|girl))?|[Ii]nfant|"
    r"[Nn]ewborn|[Ss]on|[Dd]aughter|[Ww]ife|[Hh]usband|[Ss]pouse|[Pp]artner|[Mm]other|[Ff]ather|[Mm]om|"
    r"[Dd]ad|[Ss]ister|[Bb]rother|[Gg]randson|[Gg]randdaughter|[Gg]randmother|[Gg]randfather|"
    r"[Gg]uardian|[Cc]aregiver|[Nn]amed|[Nn]ame\s+is|[Nn]ame)"
)
TRIGGER_NAME = re.compile(
    rf"{_TRIGGER}(?:\s*[:,-]\s*|\s+){_NAME_SEQ}"
    rf"(?:\s*,\s*(?P<first>{NAME_WORD}))?"
)
TRIGGER_INITIALS = re.compile(rf"{_TRIGGER}(?:\s*:\s*|\s+)(?P<name>[A-Z]\.(?:\s?[A-Z]\.){{1,2}})")
TRIGGER_LOWER = re.compile(rf"{_TRIGGER}(?:\s*:\s*|\s+)(?P<name>[{_LO}]+(?:\s+[{_LO}]+)?)\b")
FIRST_LAST = re.compile(
    rf"\b(?P<name>(?P<first>[{_UP}][{_LO}]+)(?:\s+[A-Z]\.)?(?:\s+{NAME_WORD}(?![\w'’])){{1,2}})"
)
LAST_FIRST = re.compile(rf"\b(?P<name>{NAME_WORD},\s*(?P<first>[{_UP}][{_LO}]+))\b")


def _followed_by_head(text: str, end: int) -> bool:
    """True when an eponym noun follows: "… syndrome", "…'s disease", "… type II fracture"."""
    m = re.match(r"(?:['’]s)?\s+([A-Za-z]+)", text[end:])
    return bool(m and m.group(1).lower() in EPONYM_HEADS)


def _possessive_eponym(words: list[str], text: str, end: int) -> bool:
    return words[-1] in EPONYMS and text[end : end + 2] in ("'s", "’s")


def _clean_name_words(words: list[str]) -> list[str]:
    """Cut the sequence at the first word that cannot be part of a name."""
    kept: list[str] = []
    for w in words:
        vocab = _vocab(w) if not re.fullmatch(r"[A-Z]\.", w) else set()
        if (
            w in NOT_NAMES
            or "d" in vocab
            and "f" not in vocab
            or vocab
            and vocab <= {"c", "a", "d"}
        ):
            break  # a drug or a clinical word that is no name ("Andrew Synthroid", "Kate Entresto")
        kept.append(w)
    return kept


# Lower-case words that commonly follow a lower-case first name ("pt mary has …"): not surnames.
_AFTER_NAME = frozenset(
    """
a about abt admitted age aged also an and are as at born c/o came can comes complains could denies
did does dob dos dx for from had has have hx in is just needs now of on or per presented presents
reports s/p said says seen she he should since states still that the their then there this to today
underwent w was were who will with without would yesterday yo y/o
""".split()
)


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
        s.name_tokens.update(
            w
            for w in re.findall(NAME_WORD, text[start:end])
            if len(w) > 2 and w not in NOT_NAMES and w not in EPONYMS
        )
        return text[m.start() : start] + TAGS["name"] + text[end : m.end()]

    def title(m: re.Match[str]) -> str:  # always a name: "Dr. Patel", "Mrs. Okafor", "Mr. O'Brien"
        words = m.group("name").split()
        initials = [w for w in words if re.fullmatch(r"[A-Z]\.", w)]
        rest = _clean_name_words(words[len(initials) :])
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

    for pattern, handler in (
        (TITLE_NAME, title),
        (TRIGGER_NAME, trigger),
        (TRIGGER_LOWER, trigger_lower),
        (FIRST_LAST, first_last),
        (LAST_FIRST, last_first),
    ):
        s.text = pattern.sub(handler, s.text)
    s.sub(TRIGGER_INITIALS, "name", "name")


def _scrub_repeated_names(s: _Scrubber) -> None:
    """The same name again elsewhere in the message ("Patient Garcia … Garcia's A1c"), any case."""
    for token in sorted(s.name_tokens, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w\[]){re.escape(token)}(?![\w])", re.IGNORECASE)
        s.sub(pattern, lambda m: None if _followed_by_head(m.string, m.end()) else "name")
    s.text = re.sub(r"\[NAME\](?:\s+\[NAME\])+", TAGS["name"], s.text)
