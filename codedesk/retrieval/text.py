"""Tokenising for lexical search: lower-case words, clinical abbreviations expanded, synonyms folded,
Snowball stems. The same function runs over documents and questions, so folds are symmetric."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

from codedesk.vocabulary import ABBREVIATIONS, FOLDS, PHRASES

_WORD = re.compile(r"[a-z0-9]+(?:'s)?")
# A Snowball stemmer keeps its word in instance state: one per thread, as the chain's steps run in parallel
# (a shared one raised IndexError when two threads stemmed at once).
_local = threading.local()
STOPWORDS = frozenset(
    """a an the of and or in on at to for by as is are be was were it its this that these those
from into than then there their his her patient pt what which who whom how do does did can could should would
i we you my our your code codes coding icd icd10 icd-10 cm diagnosis dx please need help question when where
if about instead now
""".split()
)
# Words that say nothing about which code is meant: they neither earn nor cost a title match.
FREE_WORDS = frozenset(
    {
        "unspecified",
        "other",
        "nos",
        "nec",
        "specified",
        "type",
        "site",
        "part",
        "with",
        "without",
        "due",
        "not",
        "elsewhere",
        "classified",
    }
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def _expand(text: str) -> str:
    text = text.lower().replace("w/o", " without ").replace("w/", " with ").replace("&", " and ")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "non-pressure" -> "non pressure"
    for pattern, repl in PHRASES:
        text = pattern.sub(repl, text)
    return text


def words(text: str) -> list[str]:
    """Lower-case words with abbreviations expanded (not stemmed, stopwords kept)."""
    out: list[str] = []
    for w in _WORD.findall(_expand(text)):
        w = w.removesuffix("'s")
        exp = ABBREVIATIONS.get(w)
        if exp:
            out.extend(exp.split())
        else:
            out.append(w)
    return out


def tokens(text: str) -> list[str]:
    """Search terms: words minus stopwords, synonyms folded, stemmed."""
    return list(_tokens(text))


@lru_cache(maxsize=100_000)
def _tokens(text: str) -> tuple[str, ...]:
    out = []
    for segment in BOUNDARY.split(text):
        negated = False  # "without X or Y": X and Y become NOT_X, NOT_Y until "with" or punctuation
        for w in words(segment):
            if w in ("without", "with"):
                negated = w == "without"
            elif w in _SCOPE_END:  # "without complications in remission": remission is not negated
                negated = False
            if w in STOPWORDS:
                continue
            tok = stem(FOLDS.get(w, w))
            out.append(NOT + tok if negated and w != "without" and tok not in FREE_STEMS else tok)
    return tuple(out)


NOT = "not_"
_SCOPE_END = frozenset({"in", "due", "following", "during", "at", "when", "after", "from", "by"})
BOUNDARY = re.compile(r"[,;:()\[\]]")  # clause punctuation: negation ends there
FREE_STEMS = frozenset(stem(w) for w in FREE_WORDS)


# Numbers a title states as a range: "[BMI] 40.0-44.9", "70 or greater", "less than 20 mg/100 ml",
# "stage 1 through stage 4". A number of the question inside one matches it when the word before
# both is the same: "BMI 42" is the "[BMI] 40.0-44.9" of Z68.41, while "type 2" is no stage.
_NUM = r"(\d+(?:\.\d+)?)"
_RANGES = (
    (re.compile(_NUM + r"\s*[-–]\s*" + _NUM), lambda m: (float(m[1]), float(m[2]))),
    (
        re.compile(_NUM + r"\s+through\s+(?:[a-z]+\s+)?" + _NUM, re.I),
        lambda m: (float(m[1]), float(m[2])),
    ),
    (
        re.compile(_NUM + r"\s+(?:[\w/]+\s+){0,2}or\s+(?:greater|more|over|above)", re.I),
        lambda m: (float(m[1]), float("inf")),
    ),
    (
        re.compile(r"(?:less than|under|below)\s+" + _NUM, re.I),
        lambda m: (float("-inf"), float(m[1]) - 1e-9),
    ),
    (
        re.compile(_NUM + r"\s+(?:[\w/]+\s+){0,2}or\s+less", re.I),
        lambda m: (float("-inf"), float(m[1])),
    ),
)
_QUESTION_NUM = re.compile(
    r"(?<![\w./-])" + _NUM + r"(?![\w./-])"
)  # not a code's digits, not a date's

NumberRange = tuple[
    float, float, str, frozenset[str]
]  # low, high, the word before, the range's terms


def _word_before(text: str) -> str:
    before = tokens(text)
    return before[-1] if before else ""


@lru_cache(maxsize=20_000)  # companions read the same titles for every question about a code
def number_ranges(title: str) -> tuple[NumberRange, ...]:
    """The ranges a title states, with the word before each and the search terms of its text."""
    out = []
    for pattern, bounds in _RANGES:
        for m in pattern.finditer(title):
            low, high = bounds(m)
            if low <= high:
                out.append((low, high, _word_before(title[: m.start()]), frozenset(tokens(m[0]))))
    return tuple(out)


def question_numbers(text: str) -> list[tuple[float, str]]:
    """Plain numbers of a question (not the digits of a code or a date), each with the word before."""
    return [(float(m[1]), _word_before(text[: m.start()])) for m in _QUESTION_NUM.finditer(text)]


def range_terms(
    ranges: tuple[NumberRange, ...], numbers: list[tuple[float, str]]
) -> tuple[list[float], set[str]]:
    """The numbers that fall in a range after the same word, and the terms of those ranges."""
    hits, terms = [], set()
    for value, before in numbers:
        inside = [r for r in ranges if r[0] <= value <= r[1] and before and r[2] == before]
        if inside:
            hits.append(value)
            terms.update(*(r[3] for r in inside))
    return hits, terms
