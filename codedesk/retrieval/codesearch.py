"""Finding ICD-10-CM codes from words: exact titles, BM25F over the Tabular List, dense vectors, and a
code-aware re-rank that prefers the code whose title says what the question says — no more, no less.

Candidates are reportable base codes (XML leaves); a 7th character is chosen afterwards from the
question's encounter words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codedesk.cache import Cache, shared
from codedesk.cms.codebook import CodeBook
from codedesk.retrieval.lexical import LexicalIndex
from codedesk.retrieval.text import (
    FREE_STEMS,
    NOT,
    number_ranges,
    question_numbers,
    range_terms,
    stem,
    tokens,
)
from codedesk.vocabulary import VOCABULARY_PATH

log = logging.getLogger(__name__)

FIELD_WEIGHTS = {"title": 3.0, "incl": 1.5, "parent": 0.7, "seventh": 0.25}
# Re-rank weights: coverage of the question, precision of the title, lexical and dense scores.
# tuned on gold batch 1 (paraphrase, index), before the dev/test split
W_COVER, W_PREC, W_LEX, W_DENSE = 1.0, 0.6, 0.3, 0.3
DenseSearch = Callable[[str, int], list[tuple[str, float]]]


def _norm_title(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


# How a question asks for the code of a title it quotes: "What is the ICD-10-CM code for Other
# hydronephrosis?", "ICD-10 code for …", "code for …": the rest is matched against the titles.
_TITLE_FRAME = re.compile(
    r"^\s*(?:(?:what(?:'s|\s+is|\s+are)|which\s+is|give\s+me|find)\s+(?:the\s+)?)?"
    r"(?:icd[- ]?10(?:[- ]?cm)?\s+)?(?:diagnosis\s+)?codes?\s+(?:for|of)\s+(?P<title>.+)$",
    re.I,
)


@dataclass(slots=True)
class Candidate:
    code: str  # reportable base code (may still need a 7th character)
    score: float
    cover: float = 0.0
    prec: float = 0.0
    lex: float = 0.0
    dense: float = 0.0
    exact: bool = False


class CodeSearcher:
    """Search over one code book's reportable base codes."""

    w_cover, w_prec, w_lex, w_dense = W_COVER, W_PREC, W_LEX, W_DENSE

    def __init__(self, book: CodeBook) -> None:
        self.book = book
        self.leaves = [c for c in book.order if book.is_leaf(c)]
        fields, self._title_toks, self._all_toks, self._incl_toks = [], [], [], []
        for code in self.leaves:
            node = book.nodes[code]
            incl = node.notes.get("inclusion_term", [])
            parents = []
            for anc in book.ancestors(code):
                if anc.kind in ("chapter", "block"):
                    break
                parents.append(anc.title)
                parents.extend(anc.notes.get("inclusion_term", []))
                parents.extend(anc.notes.get("includes", []))
            defs = book.seventh_defs(code)
            seventh = " ".join(defs[0].values()) if defs else ""
            fields.append(
                {
                    "title": node.title,
                    "incl": " ; ".join(incl),
                    "parent": " ; ".join(parents),
                    "seventh": seventh,
                }
            )
            title_t = frozenset(tokens(node.title))
            self._title_toks.append(title_t)
            self._incl_toks.append(tuple(frozenset(tokens(t)) for t in incl))
            self._all_toks.append(
                title_t.union(*self._incl_toks[-1], tokens(" ".join(parents)), tokens(seventh))
            )
        self.index = LexicalIndex(self.leaves, fields, FIELD_WEIGHTS)
        self._pos = {c: i for i, c in enumerate(self.leaves)}
        self._ranges = {
            i: r
            for i, code in enumerate(self.leaves)
            if (r := number_ranges(book.nodes[code].title))
        }
        self.titles: dict[str, list[str]] = {}
        for code in book.reportable_codes():
            self.titles.setdefault(_norm_title(book.title(code)), []).append(code)
        for code in self.leaves:  # inclusion terms name a code exactly too
            for term in book.nodes[code].notes.get("inclusion_term", []):
                self.titles.setdefault(_norm_title(term), []).append(code)

    def exact(self, question: str) -> list[str]:
        """Codes whose official title (7th-character forms included) or inclusion term is the question,
        or the title the question asks the code of."""
        text = question.strip().rstrip("?").strip()
        found = self.titles.get(_norm_title(text), [])
        framed = _TITLE_FRAME.match(text)
        return found or (self.titles.get(_norm_title(framed["title"]), []) if framed else [])

    def search(
        self, question: str, k: int = 10, dense: DenseSearch | None = None
    ) -> list[Candidate]:
        q_toks = tokens(question)
        q_toks += trimester_terms(question, q_toks)
        content = [t for t in dict.fromkeys(q_toks) if t not in FREE_STEMS] or list(
            dict.fromkeys(q_toks)
        )
        lex = self.index.search(q_toks, k=150)
        dense_hits = dense(question, 60) if dense else []
        pool: dict[str, Candidate] = {}
        top_lex = lex[0][1] if lex else 1.0
        for code, s in lex:
            pool[code] = Candidate(code, 0.0, lex=s / top_lex)
        for code, s in dense_hits:
            if code in self._pos:
                pool.setdefault(code, Candidate(code, 0.0)).dense = s
        exact = {self.book.lookup(e).base or e for e in self.exact(question)}
        for code in exact:
            pool.setdefault(code, Candidate(code, 0.0))
        if not pool:
            return []
        q_set = set(content)
        numbers = question_numbers(question)
        for cand in pool.values():
            i = self._pos[cand.code]
            said, matched = q_set, q_set & self._all_toks[i]
            if numbers and i in self._ranges:  # "BMI 42" says the 40.0-44.9 of the title
                inside, terms = range_terms(self._ranges[i], numbers)
                said = q_set | terms
                matched = matched | {t for n in inside for t in tokens(_num(n))}
            cand.cover = len(matched & q_set) / max(len(q_set), 1)
            precs = [_precision(self._title_toks[i], said)]
            precs.extend(_precision(t, q_set) for t in self._incl_toks[i])
            cand.prec = max(precs)
            cand.exact = cand.code in exact
            cand.score = (
                self.w_cover * cand.cover
                + self.w_prec * cand.prec
                + self.w_lex * cand.lex
                + self.w_dense * cand.dense
                + (2.0 if cand.exact else 0.0)
                + self._defaults(i, q_set)
            )
        ranked = sorted(pool.values(), key=lambda c: (-c.score, self._pos[c.code]))
        return _diverse(ranked, k)

    def _defaults(self, i: int, q: set[str]) -> float:
        """Coding defaults when the words don't decide: "unspecified" over "other" (NOS before NEC),
        "without" a complication over "with" it, and no pregnancy or perinatal chapter codes
        unless the question is about a pregnancy or a newborn."""
        title = self._title_toks[i]
        bonus = 0.0
        if _UNSPEC in title and _UNSPEC not in q:
            bonus += 0.03
        if _OTHER in title and _OTHER not in q:
            bonus -= 0.03
        if _WITHOUT in title and _WITHOUT not in q:
            bonus += 0.02
        if off_topic_chapter(self.leaves[i], q):
            bonus -= 0.25
        return bonus

    def choose_seventh(self, code: str, question: str) -> tuple[str, str, bool]:
        """The 7th character for a base code from the question's words: (full code, char, assumed?)."""
        defs = self.book.seventh_defs(code)
        if not defs:
            return code, "", False
        # words of the code's own titles name the condition, not the encounter ("Stress fracture …, sequela":
        # "fracture" is no vote for "initial encounter for fracture")
        q = (
            set(tokens(question))
            - set(tokens(self.book.title(code)))
            - {t for a in self.book.ancestors(code)[:2] for t in tokens(a.title)}
        )
        # the meaning that says most of the question's words, then the fewest it did not say ("both eyes" is
        # "bilateral", not "right eye" for the word "eye"); on a tie the one the Tabular lists first, which
        # is the default: closed before open (I.C.19.c.1), routine healing before delayed healing, nonunion
        # or malunion, which must be documented to be coded
        encounter = bool(_ENCOUNTER_CHARS & set(defs[0]))
        keys = {}
        for char, meaning in defs[0].items():
            said = set(tokens(meaning))
            # an encounter's kind: the words said decide, then the Tabular's order (routine healing before
            # nonunion, which says fewer words the question did not)
            key = (sum(1 for t in said if t in q), 0 if encounter else -len(said - q - FREE_STEMS))
            if key[0]:
                keys[char] = key
        most = max(keys.values(), default=None)
        top = [c for c, key in keys.items() if key == most]
        # an "unspecified" meaning loses a tie to one the words name ("both eyes": 3 bilateral, not 9 unspecified eye)
        named = [c for c in top if "unspecified" not in defs[0][c].lower()] or top
        if not named or len(named) > 1 and not encounter:
            # nothing said, or a stage the words do not decide ("dry": "early dry stage" and "intermediate dry
            # stage" of H35.31-): the default, "unspecified" where the Tabular has it
            best = seventh_default(defs[0])
            return self.book.with_seventh(code, best), best, True
        return self.book.with_seventh(code, named[0]), named[0], False


def seventh_default(allowed: dict[str, str]) -> str:
    """The 7th character taken when the question does not say which: A (initial encounter), else the
    definition that says "unspecified" ("stage unspecified"), else the first the Tabular lists."""
    if "A" in allowed:
        return "A"
    return next((c for c, t in allowed.items() if "unspecified" in t.lower()), next(iter(allowed)))


# the 7th characters of an encounter (I.C.19.a): on a tie the first the Tabular lists is the default
_ENCOUNTER_CHARS = frozenset("ADS")
_UNSPEC, _OTHER, _WITHOUT = stem("unspecified"), stem("other"), stem("without")
_PREGNANCY = {
    stem(w)
    for w in (
        "pregnancy",
        "pregnant",
        "obstetric",
        "trimester",
        "gestation",
        "gestational",
        "labor",
        "delivery",
        "puerperium",
        "antepartum",
        "postpartum",
        "childbirth",
        "abortion",
        "ectopic",
        "maternal",
        "weeks",
    )
}
_NEWBORN = {
    stem(w)
    for w in ("newborn", "perinatal", "fetus", "fetal", "birth", "born", "preterm", "gestational")
}


_WEEKS = re.compile(
    r"\b(\d{1,2})(?:\s*\+\s*\d|\s*(?:\+|and)\s*\d\s*(?:days?|d))?\s*(?:weeks?|wks?)\b", re.I
)
_TRIMESTER = stem("trimester")


def gestation_weeks(question: str) -> tuple[int, str] | None:
    """The weeks of gestation a question gives ("32 weeks", "10 wks", "34+2 weeks"): (weeks, the
    number as written), or None."""
    m = _WEEKS.search(question)
    if m is None or not 1 <= int(m.group(1)) <= 45:
        return None
    return int(m.group(1)), m.group(1)


def trimester_terms(question: str, q_toks: list[str], *, pregnant: bool = False) -> list[str]:
    """The trimester a pregnancy's weeks fall in, as the Tabular List words it (I.C.15.a.3: first
    before 14 weeks 0 days, second 14 to before 28, third from 28), when the question gives weeks
    and names no trimester: "twin pregnancy at 32 weeks" is a third-trimester code. `pregnant`: the
    code at hand is a pregnancy code, so the question need not say "pregnancy" ("preeclampsia, 34
    weeks")."""
    found = gestation_weeks(question)
    if found is None or _TRIMESTER in q_toks:
        return []
    if not pregnant and not set(q_toks) & (_PREGNANCY - {stem("weeks")}):
        return []
    weeks = found[0]
    return tokens(("first" if weeks < 14 else "second" if weeks < 28 else "third") + " trimester")


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def off_topic_chapter(code: str, q: set[str]) -> bool:
    """A pregnancy (O) or perinatal (P) code for a question that speaks of neither."""
    return code[0] == "O" and not q & _PREGNANCY or code[0] == "P" and not q & _NEWBORN


PER_CATEGORY = 4


def _diverse(ranked: list[Candidate], k: int) -> list[Candidate]:
    """The best k, at most PER_CATEGORY from one category while others wait: twenty BMI codes tied
    on "body mass index" must not crowd out the obesity code the question also names."""
    out: list[Candidate] = []
    held: list[Candidate] = []
    per: dict[str, int] = {}
    for cand in ranked:
        if len(out) >= k:
            break
        cat = cand.code[:3]
        if per.get(cat, 0) < PER_CATEGORY:
            per[cat] = per.get(cat, 0) + 1
            out.append(cand)
        else:
            held.append(cand)
    if len(out) < k:  # too few other categories: the held ones, in their order
        out = sorted([*out, *held[: k - len(out)]], key=ranked.index)
    return out


def _precision(title_toks: set[str], q: set[str]) -> float:
    """Share of the title's informative words the question has. "without X" in a title counts only
    when the question speaks of X: absence is the default when nothing is said."""
    informative = {
        t for t in title_toks - FREE_STEMS if not t.startswith(NOT) or t in q or t[len(NOT) :] in q
    }
    if not informative:
        return 0.5
    return len(informative & q) / len(informative)


# The code a cached searcher depends on: its own, the tokenizer and vocabulary, and the book's builders.
_CODE = (
    "codedesk.retrieval.codesearch",
    "codedesk.retrieval.text",
    "codedesk.retrieval.lexical",
    "codedesk.vocabulary",
    "codedesk.cms.codebook",
    "codedesk.cms.tabular",
    "codedesk.cms.books",
    "codedesk.cms.addenda",
)


def load_searcher(book: CodeBook, cache_dir: Path | None) -> CodeSearcher:
    """A searcher for a book, from a cache entry keyed on every file the book was built from (a year from
    its addenda: the Tabular List and the addenda) and the code that builds it."""

    def build() -> CodeSearcher:
        searcher = CodeSearcher(book)
        searcher.book = None  # the book has its own cache entry
        return searcher

    files = getattr(book, "source_files", ()) or (book.source_path,)
    cache = Cache(
        cache_dir,
        f"searcher-{book.fiscal_year}",
        inputs=files,
        code=_CODE,
        data=[VOCABULARY_PATH],
        extra=book.fiscal_year,
    )
    searcher = cache.get(build, kind=CodeSearcher)
    searcher.book = book
    # The years' titles are nearly all the same: their token sets are shared (~90 MB for three years).
    searcher._title_toks = [shared(t) for t in searcher._title_toks]
    searcher._all_toks = [shared(t) for t in searcher._all_toks]
    searcher._incl_toks = [tuple(shared(t) for t in incl) for incl in searcher._incl_toks]
    return searcher
