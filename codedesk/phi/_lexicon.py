"""The word lists the name passes read, and how a word is looked up in them.

`_lexicon` loads the 1990 US Census first names and surnames with the English, clinical, drug and
medical-abbreviation words (codedesk/phi/data/person_names.txt) once; `_fold` takes accents off so
the lists are looked up in plain ASCII; `_vocab` says which lists a word is in and `_word_kind`
whether it is a name and no word ('strong'), a name that is also a word ('weak'), a word, or in no
list. The word sets here (particles, titles, clinical verbs, words that never join a name) are
shared by the dictionary and position passes and by the place rules.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from codedesk.phi._tagging import _AL

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


_TOKEN = re.compile(
    rf"(?<![\w\[@/.#-])(?:[{_AL}]+['’])*[{_AL}]+(?:['’][a-z]{{1,2}}\b)?(?:-(?:[{_AL}]['’])?[{_AL}]+)*"
    r"(?![\w\]@/-]|\.\w)"
)
_PARTICLES = frozenset(
    "van von der den de del della la le du da das dos di bin ben al el st ter ten het des zu vom "
    "ibn abu y".split()
)
_TITLE_WORDS = frozenset("mr mrs ms miss mx dr doctor prof".split())
# Words after a name that say it is the subject of a clinical sentence ("Priscilla has CKD").
_CLINICAL_VERBS = frozenset(
    """has had have is was seen presents presented came comes complains complained reports
reported denies denied admitted underwent lives lived called fell states stated says said needs needed
developed died passed got gets takes took brought arrived""".split()
)
# Words that never join a name, whatever the lists say (function words, question words, coding words).
_NEVER_NAME = frozenset(
    """a an and are as at be but by can code codes coding for from he her his how i if in is it
its me my no not of on or our pt she so that the their them then there they this to us was we were what when
where which who why will with you your per vs dx hx fy icd cpt hcpcs pcs dos dob mrn type stage grade class
left right bilateral status post january february march april may june july august september october
november december jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
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
        cands = (
            [stem]
            + ([stem[2:]] if stem.startswith("mc") else [])
            + ([stem[3:]] if stem.startswith("mac") else [])
        )
        is_name = any(c in first or c in last for c in cands)
        is_word = (
            stem in english
            or stem in clinical
            or stem in _NEVER_NAME
            or stem in drugs
            or stem in abbrev
        )
        if part.startswith(("o'", "d'")) and len(stem) > 2:
            is_name, is_word = (
                True,
                stem in clinical,
            )  # O'Brien, D'Angelo: the apostrophe makes a name
        kinds.append(
            "strong"
            if is_name and not is_word
            else "weak"
            if is_name
            else "word"
            if is_word
            else "unknown"
        )
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
