"""Tokenising for lexical search: lower-case words, clinical abbreviations expanded, synonyms folded,
Snowball stems. The same function runs over documents and questions, so folds are symmetric."""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from retrieval.synonyms import ABBREVIATIONS, FOLDS, PHRASES

_WORD = re.compile(r"[a-z0-9]+(?:'s)?")
_stemmer = snowballstemmer.stemmer("english")
STOPWORDS = frozenset("""a an the of and or in on at to for by as is are be was were it its this that these those
from into than then there their his her patient pt what which who whom how do does did can could should would
i we you my our your code codes coding icd icd10 icd-10 cm diagnosis dx please need help question when where
if about instead now
""".split())
# Words that say nothing about which code is meant: they neither earn nor cost a title match.
FREE_WORDS = frozenset({"unspecified", "other", "nos", "nec", "specified", "type", "site", "part", "with", "without",
                        "due", "not", "elsewhere", "classified"})


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


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
    for segment in _BOUNDARY.split(text):
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
_BOUNDARY = re.compile(r"[,;:()\[\]]")
FREE_STEMS = frozenset(stem(w) for w in FREE_WORDS)
