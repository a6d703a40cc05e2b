"""The Alphabetic Index to Diseases and Injuries, read as a coder reads it.

Find the main term(s) the question names (the condition, not the site), follow subterms with the
question's words in any order (nonessential modifiers in parentheses never required, but counted
when said), let subterms under "with" / "in" / "due to" be matched by a condition named anywhere
(I.A.15), follow `see` / `see also` (two hops at most), take the main term's own code when no
subterm fits, then complete dash codes and 7th characters in the Tabular List of the year answered
and keep only codes that exist and are reportable there (the Index is FY2025; a code that became a
header later is completed, one that was deleted is dropped).

The year-independent part (the Index prepared for matching) is cached to `cache_dir`; completion
runs against the `CodeBook` of the year asked.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
import tomllib
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codedesk.cache import Cache, shared
from codedesk.cms.codebook import CodeBook
from codedesk.cms.index_xml import IndexFile, IndexTerm, parse_index_xml
from codedesk.errors import SourceError
from codedesk.retrieval.codesearch import gestation_weeks, trimester_terms
from codedesk.retrieval.schema import Citation
from codedesk.retrieval.sequencing import encounter_reason
from codedesk.retrieval.text import BOUNDARY, FREE_WORDS, NOT, STOPWORDS, stem, tokens, words
from codedesk.vocabulary import ABBREVIATIONS, FOLDS, VOCABULARY_PATH

log = logging.getLogger(__name__)

DATA_PATH = Path(__file__).with_name("data") / "alpha_index.toml"
MAX_HOPS = 2  # see / see also followed at most twice from one entry
_CODE_REF = re.compile(r"\b(?:sub)?category\s+([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)-?", re.I)
_PARENS = re.compile(r"\([^)]*\)")
_SEVENTH_WORDS = ("initial", "subsequent", "sequela", "encounter")
# A subterm that is a range of values ("40.0-44.9", "70 or greater", "less than 20"): a number said in the
# question inside it matches (Body, mass index > adult > 40.0-44.9)
_NUM_RANGE = re.compile(
    r"^(?:(?P<lo>\d+(?:\.\d+)?)\s*-\s*(?P<hi>\d+(?:\.\d+)?)"
    r"|(?P<min>\d+(?:\.\d+)?) or (?:greater|more|over)"
    r"|(?:less than|under) (?P<max>\d+(?:\.\d+)?))(?![\d.])",  # a unit may follow ("120-199mg/100ml")
    re.I,
)
OTHER = "<other>"  # stands for "other" / "specified" said in the question, matched by a "specified NEC" subterm
# "other" as a kind ("other hydronephrosis"), not "no other details" or "other and unspecified"
_OTHER_SAID = re.compile(r"(?<!\bno )(?<!\bnot )\b(?:other|specified)\b(?! and unspecified)", re.I)
_OR_SPLIT = re.compile(r",\s*|\s+or\s+")
_NOT_SPECIFIED = re.compile(r"^not specified as (.+)$")
_LIST_SPLIT = re.compile(r",\s*|\s+(?:and|or)\s+")
_QNUM = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _bounds(m: re.Match[str]) -> tuple[float, float]:
    if m["lo"]:
        return float(m["lo"]), float(m["hi"])
    if m["min"]:
        return float(m["min"]), float("inf")
    return float("-inf"), float(m["max"]) - 1e-9


@dataclass(slots=True, frozen=True)
class Vocabulary:
    """The contents of `data/alpha_index.toml`."""

    connectors: frozenset[str]  # stems
    negations: frozenset[str]  # stems
    # a subterm made of one of these connectors ("following") is followed only when the question says one of
    # `sequence_said` (stems): the order in time is the record's to state
    sequence: frozenset[str]
    sequence_said: frozenset[str]
    aliases: dict[str, str]  # question word -> Index words
    # main term (lower) -> (subterm title, unless stems, stems the question must deny: "no complications")
    implied: dict[str, tuple[str, frozenset[str], frozenset[str]]]
    filler: frozenset[str]  # stems
    filler_exact: frozenset[str] = frozenset()  # words, as written ("currently", not "current")
    filler_re: re.Pattern[str] | None = None  # "52 year old"
    # cue word -> (main term titles it enters, words after the cue a path must explain, the main term
    # under which a drug may be read as its Table of Drugs class, whether its codes are statuses reported
    # after the conditions)
    entries: dict[str, tuple[tuple[str, ...], int, str | None, bool]] = field(default_factory=dict)
    understood: re.Pattern[str] | None = (
        None  # words of a subterm title read as nonessential ("encounter for")
    )
    lettered: frozenset[str] = (
        frozenset()
    )  # words after which a single letter is a name ("group A"), not "a"
    # a main term's first name (lower) -> the one of its same-named main terms the name alone means
    # ("fracture" -> "fracture, traumatic"): the others need the words after their comma said
    default_main: dict[str, str] = field(default_factory=dict)
    # main terms (lower) whose subterms list alternative kinds ("cooking and baking", "street and highway")
    listed: frozenset[str] = frozenset()
    # phrases after which the question names a cause ("due to chemotherapy"), each a tuple of words
    causes: tuple[tuple[str, ...], ...] = ()
    cause_suffixes: frozenset[str] = (
        frozenset()
    )  # words after which the word before is a cause ("induced")
    cause_suffix_stems: frozenset[str] = frozenset()  # the same, stemmed as a title's tokens are
    # (names of the kind, each a set of stems said together; first and last category of the kind; the main
    # term its see names)
    kinds: tuple[tuple[tuple[frozenset[str], ...], str, str, str], ...] = ()
    # names said for a drug the Table of Drugs lists when the question names it as a cause ("drug-induced")
    drug_kinds: tuple[frozenset[str], ...] = ()
    own_suffixes: tuple[str, ...] = ()  # word endings that make a word of its own ("itis")


def load_vocabulary(path: Path = DATA_PATH) -> Vocabulary:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for kind in (
        "connector",
        "negation",
        "sequence",
        "alias",
        "implied",
        "filler",
        "filler_pattern",
        "entry",
        "understood",
        "lettered",
        "default_main",
        "listed",
        "cause",
        "kind",
        "suffix",
    ):
        for entry in data.get(kind, ()):
            if not entry.get("source"):
                raise SourceError(path, f"[[{kind}]] entry without a source: {entry}")
    implied = {
        e["path"].lower(): (
            e["subterm"].lower(),
            frozenset(stem(w) for w in e.get("unless", ())),
            frozenset(stem(w) for w in e.get("denied", ())),
        )
        for e in data.get("implied", ())
    }
    return Vocabulary(
        connectors=frozenset(stem(e["word"]) for e in data.get("connector", ())),
        negations=frozenset(stem(e["word"]) for e in data.get("negation", ())),
        sequence=frozenset(stem(e["word"]) for e in data.get("sequence", ())),
        sequence_said=frozenset(stem(w) for e in data.get("sequence", ()) for w in e["said"]),
        aliases={e["term"]: e["means"] for e in data.get("alias", ())},
        implied=implied,
        filler=frozenset(
            stem(w) for e in data.get("filler", ()) if not e.get("exact") for w in e["words"]
        ),
        filler_exact=frozenset(
            w for e in data.get("filler", ()) if e.get("exact") for w in e["words"]
        ),
        filler_re=re.compile("|".join(f"(?:{e['pattern']})" for e in data["filler_pattern"]), re.I)
        if data.get("filler_pattern")
        else None,
        entries={
            w: (
                tuple(e["main_terms"]),
                int(e.get("window", 4)),
                e.get("drug_classes"),
                bool(e.get("status", False)),
            )
            for e in data.get("entry", ())
            for w in e["words"]
        },
        understood=re.compile("|".join(f"(?:{e['pattern']})" for e in data["understood"]), re.I)
        if data.get("understood")
        else None,
        lettered=frozenset(w for e in data.get("lettered", ()) for w in e["words"]),
        default_main={
            e["name"].lower(): e["main_term"].lower() for e in data.get("default_main", ())
        },
        listed=frozenset(e["main_term"].lower() for e in data.get("listed", ())),
        causes=tuple(
            tuple(phrase.split()) for e in data.get("cause", ()) for phrase in e.get("phrases", ())
        ),
        cause_suffixes=frozenset(w for e in data.get("cause", ()) for w in e.get("suffixes", ())),
        cause_suffix_stems=frozenset(
            stem(w) for e in data.get("cause", ()) for w in e.get("suffixes", ())
        ),
        own_suffixes=tuple(w for e in data.get("suffix", ()) for w in e["endings"]),
        kinds=tuple(
            (
                tuple(
                    frozenset(_stems(name)) for name in (*e.get("words", ()), *e.get("phrases", ()))
                ),
                *e["categories"].split("-"),
                e.get("see", "\0"),
            )
            for e in data.get("kind", ())
            if "categories" in e
        ),
        drug_kinds=tuple(
            frozenset(_stems(name))
            for e in data.get("kind", ())
            if e.get("drug_cause")
            for name in (*e.get("words", ()), *e.get("phrases", ()))
        ),
    )


def _stems(text: str) -> list[str]:
    """The words of an Index title or a question, normalised the same way on both sides."""
    return [stem(FOLDS.get(w, w)) for w in words(text) if w not in STOPWORDS]


def _plain_stems(text: str) -> frozenset[str]:
    """The words of a title as printed, folded and stemmed but not rewritten by the vocabulary's phrases."""
    return frozenset(stem(FOLDS.get(w, w)) for w in re.findall(r"[a-z0-9]+", text.lower()))


_FREE = frozenset(stem(w) for w in FREE_WORDS)
_LETTER = re.compile(r"[A-HJ-Za-hj-z]")  # a single letter (I aside: a pronoun, or a roman numeral)
_WEEK_STEMS = frozenset(stem(w) for w in ("week", "weeks"))
_SIDES = frozenset(stem(w) for w in ("right", "left", "bilateral"))


@dataclass(slots=True)
class Entry:
    """One Index term prepared for matching."""

    parent: int  # -1 for a main term
    level: int
    printed: str  # as printed, nemod included: "Wuchereria (bancrofti)"
    need: tuple[
        frozenset[str], ...
    ]  # essential words (alternative spellings of a main term: any one)
    opt: frozenset[str]  # words of the nonessential modifiers
    codes: tuple[str, ...]
    see: str | None
    see_also: str | None
    manif: str | None
    negated: bool  # "without …": only when the question says so
    residual: bool  # "specified NEC", "other": no word of its own
    specified: bool = False  # the title says "specified" / "other" ("specified ligament NEC")
    sequence: bool = False  # "following": only when the question says what came first
    surface: frozenset[str] = (
        frozenset()
    )  # the title's words as printed (lower-case), to break ties
    negs: frozenset[str] = (
        frozenset()
    )  # words the title itself negates ("superficial, without open wound")
    numbers: tuple[float, float] | None = (
        None  # a range as title ("40.0-44.9"): a number of the question in it
    )
    understood: frozenset[str] = (
        frozenset()
    )  # title words the question need not say ("encounter for")
    # essential words the question vocabulary put in the title ("manic-depressive" read as "bipolar")
    read_as: frozenset[str] = frozenset()
    children: list[int] = field(default_factory=list)


@dataclass(slots=True)
class IndexHit:
    """One Index path to one code, completed and verified in the Tabular List of the year answered."""

    code: str  # reportable in the year answered
    printed: str  # the code as the Index prints it ("E11.3-")
    path: str  # "Chyluria > due to > Wuchereria (bancrofti)"
    explained: list[str]  # question words the path (or the completed code's title) explained
    unexplained: list[str]
    assumed: list[str]  # defaults taken: a subterm not named, a 7th character, a child code
    score: float
    coverage: float  # share of the question's content words explained
    fiscal_year: str
    index_year: str
    manifestation: str | None = None  # the bracketed code, reported after this one (I.A.13)
    cued: bool = (
        False  # a status / long-term drug path a cue word entered: reported after the conditions
    )
    # the code of its "as the cause of disease(s) classified elsewhere" subterm (MRSA > infection > as the
    # cause … B95.62): the organism's code when the question names the disease it caused
    as_cause: str | None = None
    # words explained only by a nonessential modifier ("sepsis" by "Cellulitis (septic)"): a path whose own
    # term says the word still codes it (Sepsis A41.9 beside the cellulitis)
    modifier_only: list[str] = field(default_factory=list)
    # a path of the Index to External Causes (how, where, doing what: I.C.20)
    external: bool = False
    default: bool = False  # the code is printed above the path's end: no subterm below fit

    @property
    def book(self) -> str:
        return "Index to External Causes" if self.external else "Alphabetic Index"

    def citation(self) -> Citation:
        return Citation(
            source_type="index",
            title=f"ICD-10-CM {self.book} FY{self.index_year}",
            section=self.path,
            code=self.printed,
            fiscal_year=self.index_year,
            quote=f"{self.path} {self.printed}".strip(),
        )


DrugClass = Callable[
    [str], "str | None"
]  # a drug word -> the Tabular title of its Table of Drugs category
# the words every T36-T50 category title starts with: they name the intents, not the class
_POISONING_WORDS = frozenset(_stems("Poisoning by, adverse effect of and underdosing of"))


@dataclass(slots=True, frozen=True)
class _Q:
    words: frozenset[str]  # stems said (connector "without" included when said)
    negated: frozenset[str]  # stems said after "without" / "no"
    numbers: tuple[tuple[str, float], ...]  # numbers said, as written and as values
    other: bool = False  # the question says "other" or "specified" (not "unspecified")
    # names of a kind the question names by its own main term ("pneumonia": a lower respiratory infection),
    # each said only where a subterm names it whole
    kinds: tuple[frozenset[str], ...] = ()
    # the question's words that say what came first ("following", "after", "residual"): a "following" subterm
    # explains them
    sequence: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Path:
    end: int
    explained: frozenset[str]
    nodes: tuple[int, ...]
    assumed: tuple[str, ...]
    hops: int
    score: float = 0.0
    cued: bool = (
        False  # a status a cue word entered ("on tamoxifen"): reported after the conditions
    )


class AlphaIndex:
    """The Index prepared for matching; `search(question, book)` gives verified codes, best first."""

    def __init__(self, index: IndexFile, vocab: Vocabulary) -> None:
        self.version = index.version or "2025"
        self.external = index.kind == "external_cause_index"
        self.vocab = vocab
        self.entries: list[Entry] = []
        self.mains: dict[str, list[int]] = {}  # stem -> main terms that need it
        self.by_name: dict[
            str, int
        ] = {}  # main term title (and each spelling), lower-case -> entry
        self.by_first: dict[
            str, list[int]
        ] = {}  # first name of a main term -> every main term so named
        df: dict[str, int] = {}
        for term in index.terms:
            entry = self._entry(term)
            self.entries.append(entry)
            if entry.parent >= 0:
                self.entries[entry.parent].children.append(len(self.entries) - 1)
            else:
                for name in _spellings(term.title)[0]:
                    self.by_name.setdefault(name.lower(), term.ordinal)
                    self.by_first.setdefault(name.lower(), []).append(term.ordinal)
                self.by_name[term.title.lower()] = term.ordinal
                for alt in entry.need:
                    for s in alt:
                        self.mains.setdefault(s, []).append(term.ordinal)
            for s in set().union(*entry.need) if entry.need else ():
                df[s] = df.get(s, 0) + 1
        n = len(self.entries)
        self.idf = {s: math.log(1 + n / c) for s, c in df.items()}
        self.max_idf = math.log(1 + n)
        for e in self.entries:  # 400k word sets, most repeated: one object each (~60 MB less)
            e.need = tuple(shared(alt) for alt in e.need)
            e.opt, e.surface = shared(e.opt), shared(e.surface)
            e.negs, e.understood = shared(e.negs), shared(e.understood)
            e.read_as = shared(e.read_as)
            e.codes = shared(e.codes)

    def _entry(self, term: IndexTerm) -> Entry:
        title, understood = term.title, ""
        if (
            term.level > 0 and self.vocab.understood is not None
        ):  # "therapy, encounter for": "therapy" is needed
            understood = " ".join(m.group(0) for m in self.vocab.understood.finditer(title))
            title = self.vocab.understood.sub(" ", title)
        stems = _stems(title)
        if _LETTER.fullmatch(
            title.strip()
        ):  # "Sepsis > streptococcal > group > A": the letter is the subterm
            stems = [title.strip().lower()]
        negated = bool(stems) and stems[0] in self.vocab.negations
        sequence = bool(stems) and set(stems) <= self.vocab.sequence
        drop = _FREE | self.vocab.connectors
        essential = frozenset(s for s in stems if s not in drop)
        # a modifier that negates ("(without uterine prolapse)") explains nothing the question says
        opt = frozenset(_stems(f"{term.nemod} {understood}")) - frozenset(
            t.removeprefix(NOT) for t in tokens(term.nemod) if t.startswith(NOT)
        )
        top = term.parent if term.parent is not None else -1
        while top >= 0 and self.entries[top].parent >= 0:
            top = self.entries[top].parent
        # "Activity > cooking and baking": a list of the kinds its Y93 category holds, any one said
        listed = top >= 0 and _bare(self.entries[top].printed) in self.vocab.listed
        names, rest = _spellings(title)
        # "Disease, diseased" or a subterm "respiration, respiratory": either spelling; a main term's rest after
        # the comma ("Fracture, traumatic") is a modifier
        if term.level == 0 or len(names) > 1:
            need = tuple(
                x
                for x in dict.fromkeys(
                    frozenset(s for s in _stems(n) if s not in drop) for n in names
                )
                if x
            )
            rest_stems = frozenset(s for s in _stems(rest) if s not in drop)
            default = self.vocab.default_main.get(names[0].lower())
            # "Break, retina": the question's vocabulary reads "break" as "fracture" (the comparison also counts a
            # folded word, "Cardiac" read as "heart", and a name with a stopword, "Release from prison")
            folded = _stems(names[0]) != [
                stem(w) for w in re.findall(r"[a-z0-9]+", names[0].lower())
            ]
            if term.level == 0 and rest_stems and (folded or default not in (None, title.lower())):
                # "Fracture, pathological" is not what "fracture" alone means ("Fracture, traumatic" is); a
                # word a fold reads as another ("break") names this term only with the rest of its title
                need = tuple(alt | rest_stems for alt in need)
            else:
                opt |= rest_stems
        elif listed or re.search(
            r"\bor\b", title
        ):  # "disease or syndrome", "chemicals, gases, fumes or vapors": any one
            alts = [
                frozenset(s for s in _stems(part) if s not in drop)
                for part in (_LIST_SPLIT if listed else _OR_SPLIT).split(title)
            ]
            need = tuple(dict.fromkeys(a for a in alts if a)) or ((essential,) if essential else ())
        else:
            need = (essential,) if essential else ()
        if term.nemod.strip() == "(o)":
            # a combining vowel: the term is the first part of a compound word ("Cancer(o)phobia" F45.29,
            # printed "Cancer (o)" in the FY2025 XML, the rest of the word lost); "cancer" alone must not
            # lead to it, so its need is a word no question says
            need = (frozenset({f"{title.strip().lower()}(o)"}),)
        if _NOT_SPECIFIED.match(_bare(title)):
            # "not specified as recurrent": taken when the question does not say it (`_walk`), never by its words
            need = (frozenset({"<not specified>"}),)
        opt -= frozenset().union(*need) if need else frozenset()
        residual = (
            not essential
            and any(s in _FREE for s in stems)
            and not any(s in self.vocab.connectors for s in stems)
        )
        num = _NUM_RANGE.match(term.title.strip())
        return Entry(
            parent=term.parent if term.parent is not None else -1,
            level=term.level,
            printed=term.full_title,
            need=need,
            opt=opt,
            codes=tuple(term.codes),
            see=term.see
            or (f"category {term.seecat}" if term.seecat else None)
            or (f"subcategory {term.subcat}" if term.subcat else None),
            see_also=term.see_also,
            manif=term.manif,
            negated=negated,
            sequence=sequence,
            residual=residual and not num,
            numbers=_bounds(num) if num else None,
            understood=frozenset(_stems(understood)),
            surface=frozenset(w.lower() for w in re.findall(r"[A-Za-z0-9]+", term.title)),
            read_as=(frozenset().union(*need) if need else frozenset()) - _plain_stems(title),
            specified=term.level > 0 and bool(_OTHER_SAID.search(term.title)),
            negs=frozenset(t.removeprefix(NOT) for t in tokens(term.title) if t.startswith(NOT)),
        )

    # ---- the question ---------------------------------------------------------------------------
    def content(self, question: str) -> tuple[list[str], dict[str, str]]:
        """The question's words to explain (stems, in order) and each stem's word as written."""
        out, said = [], {}
        if self.vocab.filler_re is not None:
            question = self.vocab.filler_re.sub(" ", question)
        prev = ""
        for w in words(question):
            letter = (
                _LETTER.fullmatch(w) is not None and prev in self.vocab.lettered
            )  # "group A": a name
            prev = w
            for part in self.vocab.aliases.get(w, w).split():
                if (part in STOPWORDS and not letter) or part in self.vocab.filler_exact:
                    continue
                s = stem(FOLDS.get(part, part))
                if s in _FREE or s in self.vocab.connectors or s in self.vocab.filler or s in out:
                    continue
                out.append(s)
                said.setdefault(s, part)
        return out, said

    def _said_as_cause(self, question: str) -> frozenset[str]:
        """Stems the question says only as a cause, after a [[cause]] phrase ("due to chemotherapy for …":
        chemotherapy) up to the next stopword, connector or punctuation, or before a suffix ("chemotherapy
        induced")."""
        if not self.vocab.causes and not self.vocab.cause_suffixes:
            return frozenset()
        inside: set[str] = set()
        outside: set[str] = set()
        for segment in BOUNDARY.split(question):
            ws = words(segment)
            i = 0
            while i < len(ws):
                phrase = next(
                    (c for c in self.vocab.causes if tuple(ws[i : i + len(c)]) == c), None
                )
                if phrase is None:
                    suffixed = i + 1 < len(ws) and ws[i + 1] in self.vocab.cause_suffixes
                    (inside if suffixed else outside).add(stem(FOLDS.get(ws[i], ws[i])))
                    i += 1
                    continue
                i += len(phrase)
                while i < len(ws) and ws[i] in _BEFORE_CAUSE:
                    i += 1
                while (
                    i < len(ws)
                    and ws[i] not in STOPWORDS
                    and stem(ws[i]) not in self.vocab.connectors
                ):
                    inside.add(stem(FOLDS.get(ws[i], ws[i])))
                    i += 1
        return frozenset(inside - outside)

    def _other_word(self, i: int, s: str, said: dict[str, str]) -> bool:
        """Main term `i` shares only a stem with the question's word: each of its words with that stem ends in
        a suffix that makes a word of its own ("Prostatitis" for "prostate", "Personality" for "personal") and
        the question's does not."""
        own = said.get(s, "")
        # every name with the stem: "Abnormal, abnormality" is entered by "abnormal"
        forms = [w for w in self.entries[i].surface if stem(w) == s]
        return bool(forms) and all(
            any(w.endswith(end) and not own.endswith(end) for end in self.vocab.own_suffixes)
            for w in forms
        )

    def _codes_kind(self, i: int, first: str, last: str, see: str) -> bool:
        """Whether main term `i` codes in the categories first-last or sends the coder to `see`."""
        e = self.entries[i]
        return any(first <= c[:3] <= last for c in e.codes) or any(
            (ref or "").startswith(see) for ref in (e.see, e.see_also)
        )

    def _printed(self, i: int) -> frozenset[str]:
        entry = self.entries[i]
        return (frozenset().union(*entry.need) if entry.need else frozenset()) - entry.read_as

    def _weight(self, s: str) -> float:
        return self.idf.get(s, self.max_idf)

    def _matches(self, entry: Entry, q: _Q) -> frozenset[str] | None:
        """The question words an entry explains, or None when its essential words are not all said."""
        if entry.negated and not (self.vocab.negations & q.words):
            return None
        if entry.numbers is not None:
            inside = [n for n, v in q.numbers if entry.numbers[0] <= v <= entry.numbers[1]]
            return frozenset(inside[:1]) or None
        said = (
            frozenset().union(*entry.need) & q.words if entry.need else frozenset()
        )  # "Atresia, atretic": both
        if entry.specified and not q.other:
            return (
                None  # "specified ligament NEC": only when the question says "other" / "specified"
            )
        # words the parent prints as nonessential need not be said again ("Degeneration > macula, macular
        # (age-related) > dry age-related" H35.31- for "dry macular degeneration"), one word of its own must
        inherited = self.entries[entry.parent].opt if entry.parent >= 0 else frozenset()
        for alt in entry.need:
            # a kind's name said whole by the title, its nonessential words included ("drug-induced")
            have = (
                q.words.union(*(k for k in q.kinds if k <= alt | entry.opt)) if q.kinds else q.words
            )
            own = alt - inherited or alt
            # "without abnormal findings" is not "with abnormal findings"
            if own <= have and (entry.negated or not alt <= q.negated or alt <= entry.negs):
                return (alt & have) | own | said | (entry.opt & q.words)
        return None

    # ---- paths ----------------------------------------------------------------------------------
    def paths(
        self,
        question: str,
        drug_class: DrugClass | None = None,
        cause: frozenset[str] | None = None,
    ) -> tuple[list[_Path], list[str], dict[str, str]]:
        """Every Index path the question's words lead to, best first; `cause` is `_said_as_cause(question)`
        when the caller has it."""
        content, said = self.content(question)
        q = frozenset(content)
        all_said = frozenset(stem(w) for w in words(question))
        qall = _Q(
            q | (self.vocab.negations & all_said),
            frozenset(t.removeprefix(NOT) for t in tokens(question) if t.startswith(NOT)),
            tuple((n, float(n)) for n in _QNUM.findall(question.lower()) if n in q),
            bool(_OTHER_SAID.search(question)),
            sequence=self.vocab.sequence_said & all_said,
        )
        starts = {
            i for s in content for i in self.mains.get(s, ()) if not self._other_word(i, s, said)
        }
        entered = {
            i: got
            for i in sorted(starts)
            if (got := self._matches(self.entries[i], qall)) is not None
        }
        # a kind the question names by its own main term ("lymphoma" codes to C85.9-: a neoplasm), for the
        # subterms that name the kind (Chemotherapy > neoplasm Z51.11); never a word to explain
        kinds = tuple(
            name
            for names, first, last, see in self.vocab.kinds
            if any(self._codes_kind(i, first, last, see) for i in entered)
            for name in names
            if not name <= qall.words
        )
        if drug_class is not None and self.vocab.drug_kinds:
            if cause is None:
                cause = self._said_as_cause(question)
            if any(drug_class(w) for w in words(question) if stem(FOLDS.get(w, w)) in cause):
                kinds += self.vocab.drug_kinds
        if kinds:
            qall = dataclasses.replace(qall, kinds=kinds)
        found: dict[int, _Path] = {}
        for i, got in entered.items():
            self._walk(i, got, (i,), (), 0, qall, found)
        paths = list(found.values())
        paths += self._cued(question, qall, {p.end for p in paths}, drug_class)
        raw = frozenset(w.lower() for w in re.findall(r"[A-Za-z0-9]+", question))
        clauses = [
            frozenset(self.content(part)[0])
            for part in _CLAUSE_SPLIT.split(question)
            if part.strip()
        ]
        kind_words = frozenset().union(*qall.kinds)
        for p in paths:
            surface = sum(
                len(self.entries[i].surface & raw) for i in p.nodes
            )  # "pulmonic" over "pulmonary"
            # a word matched only because the vocabulary rewrote an Index title ("Depression > manic-depressive"
            # for "bipolar") weighs nothing against a path whose titles print it
            printed = set().union(*(self._printed(i) for i in p.nodes))
            read_as = (set().union(*(self.entries[i].read_as for i in p.nodes)) - printed) & q
            # a cross-reference taken when the entry has its own code is followed only for more words; a path
            # takes its words from one of the conditions the question joins ("3rd degree burn L thigh + 2nd
            # degree burn R forearm": third/left/thigh, not second/right/thigh)
            p.score = (
                sum(self._weight(s) for s in p.explained & q - read_as)
                # a subterm that names the kind of what the question says (“drug-induced” for an opioid) is
                # more of the question than its main term's default
                + sum(self._weight(s) for s in p.explained & kind_words - q)
                + (1.0 if OTHER in p.explained else 0.0)
                # a deeper path is more specific; a connector ("in (due to)", "with") says nothing itself
                + 0.01 * sum(1 for i in p.nodes if self.entries[i].need or i == p.nodes[0])
                - 0.5 * len(p.assumed)
                + 0.005 * surface
                - 0.1 * p.hops
                - _spread(clauses, p.explained & q)
            )
        paths.sort(key=lambda p: (-p.score, p.end))
        return paths, content, said

    def _cued(
        self, question: str, q: _Q, have: set[int], drug_class: DrugClass | None
    ) -> list[_Path]:
        """Paths from main terms a cue word enters though the question does not name them: "on tamoxifen"
        is Long-term (current) drug therapy > tamoxifen, "on hemodialysis" Dependence > on > renal dialysis.
        A path counts only when it explains a word said right after the cue. A drug the Index does not list
        is read as its class from the Table of Drugs ("on metformin": T38.3 "… oral hypoglycemic …" ->
        Long-term > oral > hypoglycemic), the best such path only."""
        out: list[_Path] = []
        if not self.vocab.entries:
            return out
        said = words(question)
        for n, w in enumerate(said):
            cue = self.vocab.entries.get(w)
            if cue is None:
                continue
            titles, window, by_class, status = cue
            near = said[n + 1 : n + 1 + window]
            # the cue names the main term, so a path it enters explains it ("residual" for Sequelae)
            named_by = frozenset({stem(FOLDS.get(w, w))}) & q.words
            after = frozenset(_stems(" ".join(near))) & q.words
            for title in titles:
                start = self.by_name.get(title.lower())
                if start is None or not after:
                    continue
                found: dict[int, _Path] = {}
                self._walk(start, frozenset(), (start,), (), 0, q, found)
                named = [p for p in found.values() if p.explained & after]
                for p in named:
                    if p.end not in have:
                        have.add(p.end)
                        p.cued = status
                        p.explained |= named_by
                        out.append(p)
                if drug_class is None or title != by_class:
                    continue
                # each drug no path names is read as its class ("on insulin and metformin": Long-term > insulin,
                # and > oral hypoglycemic drugs for the metformin; I.C.4.a.3)
                listed = frozenset().union(*(p.explained for p in named))
                for drug in near:
                    if stem(FOLDS.get(drug, drug)) in listed:
                        continue
                    best = self._by_class(start, drug, drug_class, q)
                    if best is not None and best.end not in have:
                        have.add(best.end)
                        out.append(best)
        return out

    def _by_class(self, start: int, drug: str, drug_class: DrugClass, q: _Q) -> _Path | None:
        """The best path below `start` the drug's Table of Drugs class explains, as if the drug were said."""
        title = drug_class(drug)
        own = stem(FOLDS.get(drug, drug))
        if not title or own not in q.words:
            return None
        scored: list[tuple[float, _Path]] = []
        # the class's own subterm, else "drug, specified NEC" (Long-term > drug, specified NEC: Z79.899)
        for extra, other in (
            (frozenset(_stems(title)) - _POISONING_WORDS, q.other),
            (frozenset({stem("drug")}), True),
        ):
            found: dict[int, _Path] = {}
            self._walk(
                start,
                frozenset(),
                (start,),
                (),
                0,
                dataclasses.replace(q, words=q.words | extra, other=other, kinds=()),
                found,
            )
            scored = [
                (sum(self._weight(s) for s in p.explained & extra), p)
                for p in found.values()
                if p.explained & extra
            ]
            if scored:
                break
        if not scored:
            return None
        _, best = max(scored, key=lambda sp: (sp[0], -sp[1].end))
        best.explained = (best.explained - extra - {OTHER}) | {own}
        best.assumed = (*best.assumed, f"{drug} read as its Table of Drugs class: {title}")
        best.cued = True
        return best

    def _as_cause(self, end: int, question: str, content: list[str], completer: Any) -> str | None:
        for c in self.entries[end].children:
            child = self.entries[c]
            if child.codes and _AS_CAUSE.match(_bare(child.printed)):
                done = completer.complete(child.codes[0], question, content)
                return done[0] if done else None
        return None

    def _term_path(self, i: int) -> str:
        """The term's titles from its main term down, lower-case, without nonessential modifiers
        ("body, bodies > mass index"): the key of `[[implied]]` subterms."""
        names = []
        while i >= 0:
            names.append(_bare(self.entries[i].printed))
            i = self.entries[i].parent
        return " > ".join(reversed(names))

    def _organism_as_cause(self, end: int) -> str | None:
        """An organism's main term with no code of its own whose subterms all send the organism, as the cause
        of a disease named beside it, to one code ("Pseudomonas > aeruginosa, as cause of disease classified
        elsewhere" B96.5, as the pseudomallei one): that code (the Tabular title of B96.5 names the species as
        nonessential: "Pseudomonas (aeruginosa) (mallei) (pseudomallei) as the cause of …")."""
        entry = self.entries[end]
        if entry.level != 0 or entry.codes:
            return None
        codes = {
            self.entries[c].codes[0]
            for c in entry.children
            if self.entries[c].codes and _AS_CAUSE_AFTER.search(_bare(self.entries[c].printed))
        }
        return codes.pop() if len(codes) == 1 else None

    def _walk(
        self,
        i: int,
        explained: frozenset[str],
        nodes: tuple[int, ...],
        assumed: tuple[str, ...],
        hops: int,
        q: _Q,
        found: dict[int, _Path],
    ) -> None:
        entry = self.entries[i]
        # a place to stop: not a grouping subterm ("with"), not a "see" to another entry ("see category M00" is a code)
        stop = entry.codes or (entry.need and (not entry.see or _CODE_REF.search(entry.see)))
        if (
            stop
            and not entry.need
            and entry.opt - entry.understood
            and not (entry.opt & q.words) - self._core(nodes[:-1], q)
        ):
            stop = False  # "and (on) acute (congestive)": only when the question says what it adds
        if stop:
            self._keep(_Path(i, explained, nodes, assumed, hops), found)
        matched_any = False
        for c in entry.children:
            child = self.entries[c]
            if not child.need and child.numbers is None:
                if (
                    child.residual
                ):  # "specified NEC", "other specified": only when the question says "other"
                    if q.other and OTHER not in explained:
                        self._walk(c, explained | {OTHER}, (*nodes, c), assumed, hops, q, found)
                    continue
                if child.negated and not (self.vocab.negations & q.words):
                    continue
                if child.sequence and not q.sequence:
                    continue
                # "with", "due to": look below ("and (on) chronic": its modifiers still count)
                also = child.opt | (q.sequence if child.sequence else frozenset())
                self._walk(c, explained | (also & q.words), (*nodes, c), assumed, hops, q, found)
                continue
            got = self._matches(child, q)
            # a subterm whose own words the path's terms already said adds nothing ("specified complication NEC"
            # below "complication"); a word said only by a modifier above ("heart (acute)") can still lead
            if got is not None and not got <= self._core(nodes, q):
                matched_any = True
                self._walk(c, explained | got, (*nodes, c), assumed, hops, q, found)
            elif got is None and entry.level == 0 and child.codes and child.codes == entry.codes:
                # the main term's own code is this subterm's: the subterm is what the main term means when
                # nothing else is said (Pancreatitis K85.90 = "acute" K85.90), so its subterms are reached
                # through it (Pancreatitis > acute > alcohol induced K85.20 for "alcoholic pancreatitis")
                self._walk(
                    c,
                    explained,
                    (*nodes, c),
                    (
                        *assumed,
                        f"“{_bare(child.printed)}” taken: the main term's own code is its code",
                    ),
                    hops,
                    q,
                    found,
                )
        # "see" has to be followed; "see also" only when no subterm here takes the question further
        for ref in (entry.see, None if matched_any else entry.see_also):
            if ref and hops < MAX_HOPS:
                target = self.resolve(ref)
                if target is not None and target not in nodes:
                    aim = self.entries[target]
                    if (
                        ref != entry.see
                        and aim.level > 0
                        and aim.need
                        and not any(a <= q.words for a in aim.need)
                    ):
                        continue  # "History > personal, see also History, family": only when "family" is said
                    got = self._matches(aim, q)
                    if got is None and aim.need and not entry.need:
                        # a grouping subterm's reference names the other condition ("in (due to), see Fracture,
                        # pathological, due to neoplastic disease"): only when the question says it (I.A.15)
                        continue
                    self._walk(
                        target,
                        explained | (got or frozenset()),
                        (*nodes, target),
                        assumed,
                        hops + 1,
                        q,
                        found,
                    )
        implied = self.vocab.implied.get(self._term_path(i))
        if implied and not matched_any and not (implied[1] & q.words) and implied[2] <= q.negated:
            for c in entry.children:
                if _bare(self.entries[c].printed) == implied[0]:
                    self._walk(
                        c,
                        explained,
                        (*nodes, c),
                        (
                            *assumed,
                            f"“{implied[0]}” taken: the question does "
                            f"not name another subterm of {_bare(entry.printed)}",
                        ),
                        hops,
                        q,
                        found,
                    )
        if not matched_any and not entry.codes:
            # "Colitis > Clostridium difficile > not specified as recurrent A04.72 / recurrent A04.71": the Index's
            # own default, when the question does not say what it names
            for c in entry.children:
                rest = _NOT_SPECIFIED.match(_bare(self.entries[c].printed))
                if rest and not frozenset(_stems(rest.group(1))) & q.words:
                    self._walk(c, explained, (*nodes, c), assumed, hops, q, found)
        if not matched_any and (
            not entry.codes
            or not any(i in p.nodes and p.explained - explained for p in found.values())
        ):
            # a code of its own is the default only when no subterm one level down says what is left
            # ("Shock > anaphylactic T78.2 > due to food > peanuts T78.01" for "anaphylactic shock due to peanuts"),
            # unless a subterm below a "with" said more ("Hyperthyroidism > with > storm")
            self._through_class(i, explained, nodes, assumed, hops, q, found)

    def _through_class(
        self,
        i: int,
        explained: frozenset[str],
        nodes: tuple[int, ...],
        assumed: tuple[str, ...],
        hops: int,
        q: _Q,
        found: dict[int, _Path],
    ) -> None:
        """A coder scanning the subterms of a codeless entry finds the question's words one level down, below
        a subterm that classes them ("History > personal > benign neoplasm > colonic polyps" for "personal
        history of colon polyps"): the one that says every word the path left, when one does, as an assumption."""
        core = self._core(nodes, q)
        below = [
            (c, g, got)
            for c in self.entries[i].children
            if self.entries[c].need and self._matches(self.entries[c], q) is None
            for g in self.entries[c].children
            if self.entries[g].codes or self.entries[g].see
            for got in [self._matches(self.entries[g], q)]
            if got is not None and not got <= core
        ]
        # it must say all the path left, or the coder would have looked elsewhere (the encounter aside: a 7th
        # character says it)
        left = q.words - explained - self.vocab.negations - _ENCOUNTER_STEMS
        best = [b for b in below if left <= b[2]]
        if len(best) != 1:
            return
        c, g, got = best[0]
        self._walk(
            g,
            explained | got,
            (*nodes, c, g),
            (
                *assumed,
                f"“{_bare(self.entries[c].printed)}” taken: its subterm "
                f"“{_bare(self.entries[g].printed)}” is what the question says",
            ),
            hops,
            q,
            found,
        )

    def _core(self, nodes: tuple[int, ...], q: _Q) -> frozenset[str]:
        """The question words the essential titles of a path say (not its nonessential modifiers)."""
        out: set[str] = set()
        for i in nodes:
            for alt in self.entries[i].need:
                out |= alt & q.words
        return frozenset(out)

    @staticmethod
    def _keep(path: _Path, found: dict[int, _Path]) -> None:
        old = found.get(path.end)
        if old is None or (len(path.explained), -len(path.assumed), -path.hops) > (
            len(old.explained),
            -len(old.assumed),
            -old.hops,
        ):
            found[path.end] = path

    def resolve(self, ref: str) -> int | None:
        """The entry a cross-reference names: "Pain, abdominal" -> Pain > abdominal. None for
        "condition", the Neoplasm Table, or a path the Index does not have."""
        low = ref.strip().lower()
        if low in ("condition", "") or "table of" in low:
            return None
        parts = [_bare(p) for p in _PARENS.sub(" ", ref).split(",") if _bare(p)]
        if not parts:
            return None
        starts = [
            (n, parts[2:])
            for n in [self.by_name.get(", ".join(parts[:2]).lower())]
            if n is not None
        ]
        # "see Complications, …": the main term is printed "Complication (s) (from) (of)"
        first = parts[0].lower()
        named = self.by_first.get(first) or self.by_first.get(first.removesuffix("s"), ())
        starts += [(n, parts[1:]) for n in named]
        best, best_depth = None, -1
        for (
            node,
            rest,
        ) in starts:  # "Fracture, femur, upper end": the main term under which most parts are found
            depth, above, said = 0, node, ""
            rest = list(rest)
            while rest:
                part = rest.pop(0)
                if part in ("by site", "site"):
                    continue
                nxt = self._child_named(node, part)
                if nxt is None:
                    # two levels printed as one part ("see Complication, coronary artery (bypass) graft":
                    # "coronary artery (bypass)" > "graft")
                    head = next(
                        (
                            c
                            for c in self.entries[node].children
                            if part.startswith(_bare(self.entries[c].printed) + " ")
                        ),
                        None,
                    )
                    if head is not None:
                        rest.insert(0, part[len(_bare(self.entries[head].printed)) + 1 :])
                        above, said, node, depth = node, "", head, depth + 1
                        continue
                if (
                    nxt is None and said
                ):  # "Diabetes, due to, drug or chemical": one subterm "due to drug or chemical"
                    nxt = self._child_named(above, f"{said} {part}")
                    if nxt is not None:
                        node, depth = above, depth - 1
                if nxt is None:
                    break
                above, said = node, part
                node, depth = nxt, depth + 1
            if depth > best_depth:
                best, best_depth = node, depth
        return best

    def _child_named(self, i: int, name: str, wider: bool = True) -> int | None:
        want = frozenset(_stems(name)) - _FREE
        kids = self.entries[i].children
        # the subterm printed as named first: "complicated by" is not "complicated NOS", though both say
        # "complicated" once the free words are set aside
        exact = [c for c in kids if _bare(self.entries[c].printed) == name]
        same = [
            c for c in kids if want and self.entries[c].need and self.entries[c].need[0] == want
        ]
        if exact or same:
            return (exact or same)[0]
        for c in self.entries[i].children:  # through a grouping subterm ("with", "in")
            if not self.entries[c].need:
                found = self._child_named(c, name, wider=False)
                if found is not None:
                    return found
        # else the one subterm that says the reference's words and more ("see Osteoporosis, with fracture":
        # "with current pathological fracture")
        more = [
            c
            for c in self.entries[i].children
            if want and self.entries[c].need and want <= frozenset().union(*self.entries[c].need)
        ]
        return more[0] if wider and len(more) == 1 else None

    def display(self, nodes: tuple[int, ...]) -> str:
        """The path as printed; a cross-reference starts a new path after "→"."""
        out: list[str] = []
        for n, i in enumerate(nodes):
            entry = self.entries[i]
            jump = n > 0 and entry.parent != nodes[n - 1]
            chain = []
            if jump:  # print the target's own ancestors
                j = entry.parent
                while j >= 0:
                    chain.append(self.entries[j].printed)
                    j = self.entries[j].parent
                out.append("→ " + " > ".join([*reversed(chain), entry.printed]))
            elif out:
                out[-1] += f" > {entry.printed}"
            else:
                out.append(entry.printed)
        return " ".join(out)

    def code_of(self, path: _Path) -> tuple[str | None, int, bool]:
        """The code a path ends at: its own, else the nearest code above it on the path (the default)."""
        last = self.entries[path.nodes[-1]]
        below = {self.entries[c].codes[0] if self.entries[c].codes else "" for c in last.children}
        if (
            not last.codes
            and not last.see
            and len(last.children) > 1
            and len(below) == 1
            and "" not in below
        ):
            # every subterm below codes the same ("combined > presentation F90.2, type F90.2"): their words
            # only name it again
            return below.pop(), path.nodes[-1], False
        for n in range(len(path.nodes) - 1, -1, -1):
            entry = self.entries[path.nodes[n]]
            if entry.codes:
                return entry.codes[0], path.nodes[n], n != len(path.nodes) - 1
            ref = entry.see or ""
            m = _CODE_REF.search(ref) or _CODE_REF.search(entry.see_also or "")
            if m:
                return m.group(1) + "-", path.nodes[n], n != len(path.nodes) - 1
            if n < len(path.nodes) - 1 and self.entries[path.nodes[n + 1]].parent != path.nodes[n]:
                return None, -1, False  # a cross-reference led elsewhere: its code or nothing
        return None, -1, False

    def _titled_subterm(
        self,
        p: _Path,
        code: str,
        q: frozenset[str],
        question: str,
        content: list[str],
        completer: Any,
        book: CodeBook,
    ) -> tuple[str, int, list[str]] | None:
        """The path stops at a term whose subterms the question does not name, and the Tabular title of one
        of their codes says question words the term's own code does not: the coder verifying in the Tabular
        List takes it ("screening mammogram": Mammogram Z12.39 "… other screening …" > routine Z12.31
        "Encounter for screening mammogram for malignant neoplasm of breast")."""
        entry = self.entries[p.end]
        if not entry.codes or not entry.children:
            return None
        own_title = frozenset(_stems(book.title(code)))
        if q <= own_title:
            return None  # no subterm's title can say more of the question
        own = own_title & q
        best: tuple[str, int, list[str]] | None = None
        most = len(own)
        for c in entry.children:
            child = self.entries[c]
            if (
                not child.codes
                or child.negated
                or child.specified
                or frozenset().union(*child.need) & q
            ):
                continue
            done = completer.complete(child.codes[0], question, content)
            if done is None or done[0] == code:
                continue
            title = frozenset(_stems(book.title(done[0])))
            said = title & q
            # more of the question, and nothing unsaid the term's own code does not say too ("diastolic")
            if said > own and len(said) > most and title - q <= own_title:
                best, most = (done[0], c, sorted(said - own)), len(said)
        return best

    # ---- search ---------------------------------------------------------------------------------
    def search(
        self, question: str, book: CodeBook, k: int = 5, drug_class: DrugClass | None = None
    ) -> list[IndexHit]:
        """Codes the Index leads to for a question, completed and verified in `book`, best first."""
        from codedesk.retrieval.tables import TableSearcher  # completion is shared with the tables

        cause_only = self._said_as_cause(question)
        paths, content, said = self.paths(question, drug_class, cause_only)
        if not content:
            return []
        q = frozenset(content)
        negated = frozenset(t.removeprefix(NOT) for t in tokens(question) if t.startswith(NOT))
        # what the question only denies needs no code ("no further treatment"): a path that explains it counts it
        only_denied = (
            negated - frozenset(t for t in tokens(question) if not t.startswith(NOT))
        ) & q
        total = len(content)
        groups = self._expansions(question)
        completer = TableSearcher({}, book)
        # weeks of gestation name the trimester an "unspecified trimester" default is completed with (I.C.15.a.3)
        trimester = tuple(trimester_terms(question, content))
        in_pregnancy = tuple(trimester_terms(question, content, pregnant=True))
        # the weeks said, explained by a code whose note asks for Z3A (chapter 15: "Use additional code
        # from category Z3A, Weeks of gestation, to identify the specific week of the pregnancy")
        weeks = gestation_weeks(question)
        week_words = (_WEEK_STEMS | {weeks[1]}) & q if weeks else frozenset()
        hits: list[IndexHit] = []
        seen: set[str] = set()
        for p in paths[: 6 * k]:
            printed, where, default = self.code_of(p)
            if printed is None and q - p.explained:
                printed, where = self._organism_as_cause(p.end), p.end
            if printed is None:
                continue
            # the Tabular completes the code with the question's words and the path's own ("arm, see upper
            # limb": L03.11- is completed as "right upper limb", not "right axilla")
            path_words = frozenset(
                w for n in p.nodes for alts in self.entries[n].need for w in alts
            )
            done = completer.complete(printed, question, [*content, *path_words])
            if done is None:  # not in this year's Tabular List (deleted), or not a diagnosis code
                continue
            code, seventh_assumed, notes = done
            pregnancy_code = code.startswith("O")
            sited = _named_site(
                book, code, q - p.explained, in_pregnancy if pregnancy_code else trimester
            )
            classified = _classified_sibling(book, code, q - p.explained) if sited is None else None
            if classified is not None:
                notes = [
                    *notes,
                    f"{code} ({book.title(code)}) completed in the Tabular List as {classified[0]}, "
                    f"whose note says “{classified[1]}”, a range that holds the site the question names",
                ]
                code = classified[0]
            site_words = classified[2] if classified is not None else frozenset()
            if sited is not None:
                notes = [
                    *notes,
                    f"{code} ({book.title(code)}) completed in the Tabular List as {sited}, which "
                    "says what the question names",
                ]
                code = sited
            titled = self._titled_subterm(p, code, q, question, content, completer, book)
            if titled is not None:
                notes = [
                    *notes,
                    f"subterm “{self.entries[titled[1]].printed}” taken: the Tabular title of "
                    f"{titled[0]} says {', '.join(titled[2])} (that of {code} does not)",
                ]
                code = titled[0]
            if (
                cause_only
                and encounter_reason(book, code)
                and cause_only & frozenset().union(*(self._printed(i) for i in p.nodes))
            ):
                continue  # "nausea due to chemotherapy": the chemotherapy caused it, the visit is not for it
            info = book.lookup(code)
            title_toks = tokens(
                info.title
            )  # "without abnormal findings" explains what the question negates too
            title_not = frozenset(t.removeprefix(NOT) for t in title_toks if t.startswith(NOT))
            denied = title_not - _FREE
            if denied and denied <= q - negated:
                continue  # the title denies what the question says ("… without heart failure")
            denies = negated - _FREE - title_not
            if denies and denies <= frozenset(t for t in title_toks if not t.startswith(NOT)):
                continue  # the title says what the question denies ("without diagnosis of hypertension": no I10)
            # the same code by another path: it may know the organism's "as the cause" code
            kept = next((h for h in hits if h.code == code), None) if code in seen else None
            if kept is not None:
                kept.as_cause = kept.as_cause or self._as_cause(p.end, question, content, completer)
                continue
            seen.add(code)
            title_words = frozenset(t for t in title_toks if not t.startswith(NOT)) | (
                title_not & negated
            )
            explained = (p.explained | title_words | site_words) & q
            if trimester and set(trimester) <= title_words:  # the weeks said chose the trimester
                explained |= _WEEK_STEMS & q
            if week_words and any(  # coded with Z3A beside it: the weeks are said for it
                "Z3A" in n.text for n in book.inherited_notes(code, ("use_additional_code",))
            ):
                explained |= week_words
            if seventh_assumed or not info.base:
                explained -= {stem(w) for w in _SEVENTH_WORDS} - title_words
                # "initial encounter" names a 7th character (I.C.19.a), no "Encounter for" code
                # ("Persons encountering health services …" Z76.89)
                if q & _EPISODE:
                    explained -= _ENCOUNTER
            else:
                explained |= {
                    stem(w) for w in _SEVENTH_WORDS
                } & q  # the encounter chose the 7th character
            # one word the vocabulary expanded names one thing ("cancer": malignant neoplasm): its modifiers
            # without its head are not what it means ("Anemia > malignant" D51.0 is pernicious anemia; "Anemia >
            # in > neoplastic disease" D63.0 is read by the head alone)
            part = frozenset().union(*(g - {head} for g, head in groups if head not in explained))
            part &= explained
            explained -= part
            if not explained:  # its path's words were all the encounter's, or a modifier's
                continue
            assumed = list(p.assumed)
            assumed += self._connector_words(p, code, q | path_words, book)
            if default:
                assumed.append(
                    f"no subterm fits below {self.entries[where].printed}: "
                    f"its code {printed} is the default"
                )
            assumed.extend(notes)
            manif = None
            entry = self.entries[where] if where >= 0 else None
            cause = self._as_cause(p.end, question, content, completer)
            if entry is not None and entry.manif:
                m = completer.complete(entry.manif, question, content)
                manif = m[0] if m else None
            unexplained = [said.get(s, s) for s in content if s not in explained | only_denied]
            # equal paths: the code whose Tabular title asserts fewer words the question did not say ("acute and
            # (on) chronic" J96.20 against "acute" J96.00 for "acute respiratory failure"); the title's own
            # nonessential words aside ("Nonrheumatic aortic (valve) stenosis"); what the path read as said (a kind's
            # name: "lower respiratory infection" for a pneumonia) is not asserted beyond the question
            asserted = tokens(_PARENS.sub(" ", info.title))
            unsaid = len(
                frozenset(t for t in asserted if not t.startswith(NOT))
                - q
                - p.explained
                - _FREE
                - self.vocab.cause_suffix_stems  # "Drug induced constipation": "due to" said it
            )
            core = path_words | title_words
            if any(self.entries[n].sequence for n in p.nodes):
                # "residual … from old stroke": the words the "following" subterm explained are its own
                core |= p.explained & self.vocab.sequence_said
            hits.append(
                IndexHit(
                    code=code,
                    printed=printed,
                    path=self.display(p.nodes),
                    explained=[said.get(s, s) for s in content if s in explained],
                    unexplained=unexplained,
                    assumed=assumed,
                    # a code taken from above the path's end is less specific than one its end prints
                    score=round(
                        p.score
                        - sum(self._weight(s) for s in part)
                        - 0.02 * unsaid
                        - (0.1 if default else 0.0),
                        3,
                    ),
                    coverage=round(len(explained) / (total - len(only_denied - explained)), 3),
                    fiscal_year=book.fiscal_year,
                    index_year=self.version,
                    external=self.external,
                    default=default,
                    manifestation=manif,
                    cued=p.cued,
                    as_cause=cause,
                    modifier_only=[said.get(s, s) for s in content if s in explained - core],
                )
            )
            if len(hits) >= 3 * k:
                break
        hits.sort(key=lambda h: (-h.coverage, -h.score))
        return hits[: 3 * k]

    def _connector_words(
        self, p: _Path, code: str, said: frozenset[str], book: CodeBook
    ) -> list[str]:
        """What a connector subterm with a code of its own says that the question does not: "Gout > in (due
        to)" M10.30 "Gout due to renal impairment, …" (this copy of the Index prints no "renal impairment"), so
        every code below it says "renal impairment" too."""
        out = []
        own = frozenset(tokens(_PARENS.sub(" ", book.title(code))))
        for n in p.nodes[1:-1]:  # the path's own end is its code
            e = self.entries[n]
            if e.need or e.numbers is not None or e.residual or not e.codes:
                continue
            title = book.title(e.codes[0].rstrip("-"))
            unsaid = own & frozenset(tokens(_PARENS.sub(" ", title))) - said - _FREE
            if unsaid:
                named = dict.fromkeys(w for w in words(title) if unsaid & frozenset(tokens(w)))
                out.append(
                    f"“{_bare(e.printed)}” {e.codes[0]} is “{title}”: the question does not say "
                    + ", ".join(named)
                )
        return out

    def _expansions(self, question: str) -> list[tuple[frozenset[str], str]]:
        """The stems of each question word the vocabulary expands to several, with the head (its last word):
        "cancer" -> ({malignant, neoplasm}, neoplasm); stems the question also says itself left out."""
        raw = re.findall(r"[a-z0-9]+", question.lower())
        literal = {stem(FOLDS.get(w, w)) for w in raw if w not in ABBREVIATIONS}
        out = []
        for w in raw:
            parts = [
                stem(FOLDS.get(p, p))
                for p in ABBREVIATIONS.get(w, "").split()
                if p not in STOPWORDS
            ]
            group = frozenset(parts) - literal - _FREE
            if len(group) > 1 and parts[-1] in group:
                out.append((group, parts[-1]))
        return out


_QUALIFIED = re.compile(
    r"\b(?:with|without|due|in|not)\b", re.I
)  # a rest that says more than a site


_BEFORE_CAUSE = frozenset({"the", "a", "an", "his", "her", "their", "recent"})  # "due to the chemo"
_CLAUSE_SPLIT = re.compile(
    r"\s*(?:\+|;|&|\band\b|\bplus\b)\s*", re.I
)  # conditions joined in one question
_ENCOUNTER_STEMS = frozenset(stem(w) for w in _SEVENTH_WORDS)
_EPISODE, _ENCOUNTER = (
    frozenset({stem("initial"), stem("subsequent")}),
    frozenset({stem("encounter")}),
)


def _spread(clauses: list[frozenset[str]], explained: frozenset[str]) -> int:
    """How many of a path's words come from other joined conditions than the one that says most of them
    (the encounter words aside: "…, initial" closes the whole question)."""
    said = explained - _ENCOUNTER_STEMS
    if len(clauses) < 2 or not said:
        return 0
    return min(len(said - c) for c in clauses)


def _named_site(
    book: CodeBook, code: str, left: frozenset[str], implied: tuple[str, ...] = ()
) -> str | None:
    """The Index prints a default that leaves the site or side unspecified ("Osteomyelitis > chronic M86.60:
    Other chronic osteomyelitis, unspecified site"); the coder completes it in the Tabular List with the code of
    the same subcategory whose title, the same up to its comma, names the site the question does ("…, left
    ankle and foot" M86.672). `implied`: a phrase the question implies without saying it ("10 weeks": first
    trimester), counted unless the code's own title says it. None when the title specifies nothing or no
    sibling names a word left."""
    info = book.lookup(code)
    if info.base:  # a 7th character (M80.00XA): the site is the base code's, the character the same
        sited = _named_site(book, info.base, left, implied)
        if sited is None:
            return None
        full = book.with_seventh(book.lookup(sited).base or sited, code[-1])
        return full if book.lookup(full).reportable else None
    head, _, rest = info.title.partition(",")
    own = _stems(info.title)
    swapped = _side_said(book, code, own, left)
    if swapped is not None:
        return swapped
    n = len(implied)
    if n and any(tuple(own[i : i + n]) == implied for i in range(len(own) - n + 1)):
        implied = ()  # the title already says it ("…, first trimester")
    # what the code's own title says is not left, nor the encounter a 7th character names
    left = (left - frozenset(own) - _ENCOUNTER_STEMS) | frozenset(implied)
    if not rest.strip().lower().startswith("unspecified") or _QUALIFIED.search(rest) or not left:
        return None
    family = _family(code)
    # a sibling's own inclusion terms name its site too (M80.05- "…, femur": "… fracture of hip")
    shared_terms = {n.text for n in book.inherited_notes(family, ("inclusion_term",))}
    head_words = frozenset(_stems(head))
    best, best_key, best_said = None, (0, 0), frozenset()
    for other in book.reportable_under(family):
        other_head, _, other_rest = book.title(other).partition(",")
        if other == code or other_head != head or _QUALIFIED.search(other_rest):
            continue
        included = frozenset(
            w
            for n in book.inherited_notes(other, ("inclusion_term",))
            if n.text not in shared_terms
            for w in _stems(n.text)
        )
        said = frozenset(_stems(other_rest)) | (included - head_words)
        named = len(said & left)
        key = (named, -len(said - left))  # most words of the question, fewest it did not say
        if named and key > best_key:
            best, best_key, best_said = other, key, said
    if best is not None and left - _SIDES and not (best_said & left) - _SIDES:
        return None  # only the side matched, the site said ("right wrist") is none of the siblings'
    return best


def _family(code: str) -> str:
    """The subcategory (or, for a category code, the category) whose codes are a code's siblings."""
    return code[:5] if len(code) >= 6 else code[:3]


def _side_said(book: CodeBook, code: str, own: list[str], left: frozenset[str]) -> str | None:
    """The sibling whose title is this one's with a word the question says in place of "unspecified" (the Index
    prints "Fracture, traumatic > ankle S82.899", "Other fracture of unspecified lower leg": "right ankle" is
    S82.891, "… of right lower leg")."""
    if _UNSPECIFIED not in own or not left - set(own):
        return None
    family = _family(code)
    if book.node(family) is None:
        return None
    mine = Counter(own)
    for other in book.leaves_under(family):
        theirs = Counter(_stems(book.title(other)))
        added, lost = theirs - mine, mine - theirs
        if lost == Counter({_UNSPECIFIED: 1}) and len(added) == 1 and set(added) <= left:
            return other
    return None


_UNSPECIFIED = stem("unspecified")
_CLASSIFIABLE = re.compile(r"^Conditions classifiable to (.+)$")
_CODE_BOUND = re.compile(r"([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{0,4})?)-?")
_RANGE_PART = re.compile(
    rf"{_CODE_BOUND.pattern}(?:\s*-\s*{_CODE_BOUND.pattern})?\s*(?:,|\band\b|$)\s*"
)
# (code without its dot, title stems) of every node of a book, by category, built on first use
_CATEGORY_TITLES: weakref.WeakKeyDictionary[
    CodeBook, dict[str, list[tuple[str, frozenset[str]]]]
] = weakref.WeakKeyDictionary()


def _classifiable(note: str) -> list[tuple[str, str]] | None:
    """The code ranges of a "Conditions classifiable to C15-C26" note, bounds without dots or dashes
    ([("C15", "C26")]; "C50.-": [("C50", "C50")]); None for any other note or a range not read whole."""
    m = _CLASSIFIABLE.match(note.strip())
    if m is None:
        return None
    text, out, at = m.group(1).strip(), [], 0
    while at < len(text):
        part = _RANGE_PART.match(text, at)
        if part is None or part.end() == at:
            return None  # "… except …", "… with fistula": not a plain list of ranges
        lo = part.group(1).replace(".", "")
        out.append((lo, (part.group(2) or part.group(1)).replace(".", "")))
        at = part.end()
    return out


def _titles_in(book: CodeBook, ranges: list[tuple[str, str]]) -> list[frozenset[str]]:
    """The title stems of every code in the ranges ("C7A092" is that code and the codes below it)."""
    by_category = _CATEGORY_TITLES.get(book)
    if by_category is None:
        by_category = {}
        for code, node in book.nodes.items():
            if node.kind not in ("chapter", "block"):
                plain = code.replace(".", "")
                by_category.setdefault(plain[:3], []).append((plain, frozenset(_stems(node.title))))
        _CATEGORY_TITLES[book] = by_category
    return [
        title
        for lo, hi in ranges
        for category, titles in by_category.items()
        if lo[:3] <= category <= hi[:3]
        for plain, title in titles
        if plain[: len(lo)] >= lo and plain[: len(hi)] <= hi
    ]


def _classified_sibling(
    book: CodeBook, code: str, left: frozenset[str]
) -> tuple[str, str, frozenset[str]] | None:
    """The Index ends at an unspecified history code ("History, family, malignant neoplasm" Z80.9) and
    the question names a site no subterm lists ("colon"). The coder verifying in the Tabular List takes
    the code of the same category whose note "Conditions classifiable to C15-C26" covers a code whose
    title names it (C18 "Malignant neoplasm of colon": Z80.0). Returns (code, the note, the words of the
    question it explains), else None."""
    info = book.lookup(code)
    rest = info.title.partition(",")[2].strip().lower()
    left = left - _FREE - frozenset(_stems(info.title))
    if info.base or not rest.startswith("unspecified") or not left:
        return None
    best: tuple[str, str, frozenset[str]] | None = None
    best_key = (0, 0, 0)
    for other in book.reportable_under(code[:3]):
        node = book.nodes.get(other)
        chain = [node, *book.ancestors(other)] if node is not None else []
        for n in chain:
            if n.kind in ("chapter", "block"):
                break
            read = [(t, r) for t in n.notes.get("inclusion_term", []) if (r := _classifiable(t))]
            if not read:
                continue
            said = [t for t, _ in read]
            ranges = [r for _, rs in read for r in rs]
            titles = _titles_in(book, ranges)
            overlaps = [len(t & left) for t in titles]
            named = max(overlaps, default=0)
            own = len(frozenset(_stems(book.title(other))) & left)
            # most words named, by the code's own title too, then by the most titles of the range (skin:
            # C43-C44 "… of skin" many times, not one cutaneous lymphoma among C81-C96)
            key = (named, own, overlaps.count(named))
            if named and key > best_key:
                words = frozenset().union(
                    *(t & left for t, n in zip(titles, overlaps, strict=True) if n == named)
                )
                best, best_key = (other, said[0], words), key
            break  # the nearest note is the one that applies
    return best


def cover(hits: list[IndexHit], limit: int = 3, book: CodeBook | None = None) -> list[IndexHit]:
    """The first hit, then each further hit that explains a word the ones before it did not
    (a multi-condition question: "ESRD on hemodialysis with hypertension"), the code a wordless
    "code also" note of the first asks for (below), and last the external causes of an injury."""
    external = [h for h in hits if h.external]
    hits = [h for h in hits if not h.external]
    if not hits:
        return []
    out = _conditions(hits, limit, book)
    causes = _external_causes(external, out, book) if takes_external_cause(out[0].code) else []
    if causes:
        # a further "condition" whose words the cause explains is the cause ("fall": Falling R29.6 beside a
        # fracture from a fall is no condition of its own, I.C.20)
        said = {w for h in causes for w in h.explained}
        out = [
            out[0],
            *(h for h in out[1:] if not set(h.explained) <= said | set(out[0].explained)),
        ]
    return out + causes


def _conditions(hits: list[IndexHit], limit: int, book: CodeBook | None) -> list[IndexHit]:
    out = [hits[0]]
    done = set(hits[0].explained)
    done_by_term = done - set(hits[0].modifier_only)
    for h in hits[1:]:
        if len(out) >= limit:
            break
        by_term = set(h.explained) - set(h.modifier_only)
        new = (set(h.explained) - done) | (by_term - done_by_term)
        if new and h.code[:3] != out[0].code[:3]:
            if h.default:
                # a path that says the new words, ending at its own code, codes them ("UTI with sepsis": Sepsis
                # A41.9, not "Infection > septic" whose code is Infection's default B99.9)
                h = next(
                    (
                        g
                        for g in hits
                        if not g.default
                        and not g.assumed
                        and g.code[:3] != out[0].code[:3]
                        and new <= set(g.explained)
                        and g not in out
                    ),
                    h,
                )
                by_term = set(h.explained) - set(h.modifier_only)
            out.append(h)
            done |= new
            done_by_term |= by_term
    also = _coded_also(hits, out, book) if book is not None and len(out) < limit else None
    if also is not None:
        out.append(also)
    if (
        len(out) > 1
    ):  # the organism of another condition named: its "as the cause of …" code (I.C.1.e.1.b)
        for n, h in enumerate(out):
            if h.as_cause and h.as_cause != h.code:
                out[n] = dataclasses.replace(
                    h,
                    code=h.as_cause,
                    assumed=[
                        *h.assumed,
                        f"{h.as_cause}: the Index's “as the cause of diseases classified elsewhere” below "
                        f"{h.path}, as the question names the disease it caused",
                    ],
                )
    # the conditions first, then what a cue word added ("on tamoxifen": Z79.810 after the cancer); a status
    # code tells more about the patient, not the reason for the encounter (I.C.21.c.3)
    return [h for h in out if not h.cued] + [h for h in out if h.cued]


# I.C.20.a.1: an external cause code is used with a health condition due to an external cause, "most applicable
# to injuries"; I.C.20.a.8: none when a code of another chapter includes the cause and intent (T36-T65 poisonings,
# adverse effects, toxic effects), nor for complications of care (T80-T88, whose causes are Y62-Y84 by the
# record, not the question's words). The injuries, burns, foreign bodies and effects of other external causes:
_EXTERNAL_CAUSE_OF = (("S00", "T34"), ("T66", "T79"))
# One cause (V00-Y38), one place (Y92) and one activity (Y93) at most, in that order (I.C.20.b, c: Y92 and Y93
# follow the cause).
_EXTERNAL_KINDS = (("V00", "Y38"), ("Y92", "Y92"), ("Y93", "Y93"))


def takes_external_cause(code: str) -> bool:
    return any(lo <= code[:3] <= hi for lo, hi in _EXTERNAL_CAUSE_OF)


def _external_causes(
    external: list[IndexHit], out: list[IndexHit], book: CodeBook | None
) -> list[IndexHit]:
    """Paths of the Index to External Causes that explain words of the question the injury's paths left:
    how it happened ("fall from a ladder": Fall > from > ladder W11), where ("at the nursing home": Place of
    occurrence > nursing home Y92.12-) and doing what ("while cooking": Activity > cooking Y93.G3)."""
    # the injury's words only: another "condition" may be the cause itself (Falling R29.6); and of those, what
    # its own term and code say, not a main term that only sent it there ("Dog bite, see Bite": the dog is the
    # cause, Bite > forearm the injury)
    first = out[0]
    own = set(_stems(first.path.split("→")[-1])) | set(
        _stems(book.title(first.code) if book else "")
    )
    done = {w for w in first.explained if book is None or set(_stems(w)) <= own}
    taken: list[IndexHit] = []
    for lo, hi in _EXTERNAL_KINDS:
        for h in external:
            new = set(h.explained) - done
            if lo <= h.code[:3] <= hi and {stem(w) for w in new} - _ENCOUNTER_STEMS:
                taken.append(h)
                done |= new
                break
    return taken


def _coded_also(hits: list[IndexHit], out: list[IndexHit], book: CodeBook) -> IndexHit | None:
    """A "code also" / "use additional code" / "code first" note that names no code ("J44.0: Code also to
    identify the infection"; I85.1-: "Code first underlying disease") asks for the code of a condition the first
    path explained only through the Index, not through its code's title ("COPD with acute bronchitis":
    "bronchitis" -> Bronchitis > acute J20.9)."""
    first = out[0]
    wordless = [
        n
        for n in book.inherited_notes(
            first.code, ("code_also", "use_additional_code", "code_first")
        )
        if not _NOTE_CODE.search(n.text) and not n.text.rstrip().endswith(":")
    ]
    if not wordless:
        return None
    titled = set(tokens(book.title(first.code)))
    path_only = {w for w in first.explained if not set(tokens(w)) <= titled}
    taken = {h.code[:3] for h in out}
    for h in hits[1:]:
        if h.code[:3] not in taken and not h.cued and path_only & set(h.explained):
            h.assumed = [
                *h.assumed,
                f"coded also: {first.code} “{wordless[0].label}: {wordless[0].text}”",
            ]
            return h
    # "Use additional code to identify specific condition" (O99.0-, a condition complicating pregnancy): the
    # code of that condition, from the path of its own main term ("anemia in pregnancy" -> Anemia D64.9)
    specific = next((n for n in wordless if _SPECIFIC_CONDITION.search(n.text)), None)
    named = {t for w in first.explained for t in tokens(w)}
    own = set(tokens(_bare(first.path.split(">")[0])))
    for h in hits[1:] if specific is not None else ():
        main = set(tokens(_bare(h.path.split(">")[0]))) - _FREE
        if h.code[0] != first.code[0] and not h.cued and main and main <= named and not main <= own:
            h.assumed = [
                *h.assumed,
                f"coded also: {first.code} “{specific.label}: {specific.text}”",
            ]
            return h
    return None


_SPECIFIC_CONDITION = re.compile(r"\bidentify (?:the )?specific condition\b", re.I)


_AS_CAUSE = re.compile(r"^as (?:the )?cause of diseases? classified elsewhere$")
_AS_CAUSE_AFTER = re.compile(r"(?:^|, )as (?:the )?cause of diseases? classified elsewhere$")
_NOTE_CODE = re.compile(r"\b[A-Z]\d[0-9A-Z](?:\.[0-9A-Z-]+)?\b|\([A-Z]\d")


def joint_coverage(hits: list[IndexHit]) -> float:
    """The share of the question's words the paths explain together ("ESRD on hemodialysis with
    hypertension": I12.0 explains four words, Dependence > on > renal dialysis the rest)."""
    if not hits:
        return 0.0
    total = len(hits[0].explained) + len(hits[0].unexplained)
    return len({w for h in hits for w in h.explained}) / total if total else 0.0


def _spellings(title: str) -> tuple[list[str], str]:
    """A main term's names and the rest of its title: "Disease, diseased" -> (["Disease", "diseased"], "");
    "Fracture, traumatic" -> (["Fracture"], "traumatic"): the part after the comma is a modifier."""
    parts = [p.strip() for p in title.split(",") if p.strip()]
    if not parts:
        return [title], ""
    names = [parts[0], *(p for p in parts[1:] if p[:4].lower() == parts[0][:4].lower())]
    return names, ", ".join(p for p in parts[1:] if p not in names)


def _bare(text: str) -> str:
    return " ".join(_PARENS.sub(" ", text).split()).lower()


# ------------------------------------------------------------------------------------------- loading
# The code a cached Index depends on: its own, the tokenizer and vocabularies, the Index XML reader.
_CODE = (
    "codedesk.retrieval.alpha_index",
    "codedesk.retrieval.text",
    "codedesk.vocabulary",
    "codedesk.cms.index_xml",
    "codedesk.retrieval.codesearch",
)


_KIND_NAMES = {
    "index": "the Alphabetic Index to Diseases and Injuries",
    "external_cause_index": "the Index to External Causes",
}


def load_alpha_index(
    path: str | Path, cache_dir: str | Path | None = None, kind: str = "index"
) -> AlphaIndex:
    """Parse and prepare the Index (`kind` "external_cause_index": the Index to External Causes), or read it
    from a cache entry keyed on the file and this code."""
    path = Path(path)
    start = time.perf_counter()

    def build() -> AlphaIndex:
        parsed = parse_index_xml(path)
        if parsed.kind != kind:
            raise SourceError(path, f"not {_KIND_NAMES[kind]} (kind {parsed.kind})")
        index = AlphaIndex(parsed, load_vocabulary())
        log.info(
            "alpha index built entries=%d seconds=%.2f",
            len(index.entries),
            time.perf_counter() - start,
        )
        return index

    name = "alpha-index" if kind == "index" else "alpha-eindex"
    cache = Cache(cache_dir, name, inputs=[path], code=_CODE, data=[VOCABULARY_PATH, DATA_PATH])
    index = cache.get(build, kind=AlphaIndex)
    log.debug("alpha index ready seconds=%.3f", time.perf_counter() - start)
    return index


__all__ = [
    "AlphaIndex",
    "IndexHit",
    "cover",
    "joint_coverage",
    "load_alpha_index",
    "load_vocabulary",
]
