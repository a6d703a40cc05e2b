"""Guideline sequencing and selection as cited data: the order of a set of ICD-10-CM codes, and what is
wrong with a list a coder pastes ("E11.22, N18.32, I12.9 — right order?").

The rules live in `codedesk/retrieval/data/sequencing.toml`, each with its Official Guidelines section, page and
quoted sentence; this module only reads them. Conditions are read from the Tabular List where it says
them itself (manifestation titles "in diseases classified elsewhere", "code first" / "use additional code"
notes, notes that make a code additional only); explicit code lists are data with their source.

Order rules become edges "a before b" between the listed codes. Edges are accepted in rule order (must
rules before usually rules, file order within each); an edge that would close a cycle with an accepted
one is dropped, so an earlier rule wins a conflict (a poisoning's T code before a manifestation whose
"code first" note says the opposite). The order is then a stable topological sort: codes keep their
given order unless an accepted edge moves them, and a code that may never be first-listed is not
picked first while another code can be.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from codedesk.cms.codebook import CodeBook, Note, normalize_code
from codedesk.codes import PROSE_CODE
from codedesk.retrieval.notes import note_covers, spec_covers
from codedesk.retrieval.schema import Citation
from codedesk.retrieval.text import stem

RULES_PATH = Path(__file__).with_name("data") / "sequencing.toml"
GUIDELINES_TITLE = "ICD-10-CM Official Guidelines for Coding and Reporting"
KINDS = (
    "valid",
    "unique",
    "never_first",
    "first",
    "before",
    "not_together",
    "allow_together",
    "requires",
    "adds",
    "becomes",
    "code_first_note",
    "use_additional_note",
    "excludes1_note",
)
ORDER_KINDS = ("first", "before", "code_first_note", "use_additional_note")
T = TypeVar("T")

# A code as coders write it in a question: E11.22, e1122, T36.0X5A, FY2027's QA171 (codedesk.codes).
_SHAPE = re.compile(rf"\b{PROSE_CODE}\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


# ---- the rules ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Selector:
    """Which codes a rule is about (see the header of sequencing.toml)."""

    codes: tuple[str, ...] = ()  # prefixes without dots: "Z511" matches Z51.11
    ranges: tuple[tuple[str, str], ...] = ()
    excepts: tuple[tuple[str, str | None], ...] = ()  # (first, last) ranges or (prefix, None)
    title: re.Pattern[str] | None = None
    notes: re.Pattern[str] | None = None
    intent: str = ""
    note_kind: str = ""
    not_subject: bool = False

    @classmethod
    def parse(cls, data: dict | None) -> Selector | None:
        if data is None:
            return None
        unknown = set(data) - {
            "codes",
            "ranges",
            "except",
            "title",
            "notes",
            "intent",
            "note_kind",
            "not_subject",
        }
        if unknown:
            raise ValueError(f"unknown selector fields {sorted(unknown)}")
        return cls(
            codes=tuple(c.replace(".", "").upper() for c in data.get("codes", ())),
            ranges=tuple(_range(r) for r in data.get("ranges", ())),
            excepts=tuple(
                _range(r) if "-" in r else (r.replace(".", "").upper(), None)
                for r in data.get("except", ())
            ),
            title=re.compile(data["title"]) if data.get("title") else None,
            notes=re.compile(data["notes"]) if data.get("notes") else None,
            intent=str(data.get("intent", "")),
            note_kind=data.get("note_kind", ""),
            not_subject=bool(data.get("not_subject")),
        )

    def matches(self, book: CodeBook, code: str) -> bool:
        plain = code.replace(".", "")
        if self.codes or self.ranges:
            if not (
                any(plain.startswith(p) for p in self.codes)
                or any(spec_covers(first, last, code) for first, last in self.ranges)
            ):
                return False
        if any(
            plain.startswith(f) if last is None else spec_covers(f, last, code)
            for f, last in self.excepts
        ):
            return False
        if self.intent and _intent(plain) not in self.intent:
            return False
        if self.title is not None and not any(self.title.search(t) for t in _titles(book, code)):
            return False
        if self.notes is not None and not any(
            self.notes.search(n.text)
            for n in book.inherited_notes(code, ("note", "inclusion_term"))
        ):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    strength: str  # must | usually
    section: str  # I.C.19.e.5.a
    title: str  # the section's heading in the PDF
    page: int  # printed page of the FY2025 PDF
    quote: str  # the decisive sentence, verbatim
    message: str  # the rule in a coder's words
    subject: Selector | None = None
    other: Selector | None = None
    tabular: str = ""  # the Tabular note the condition restates, if any
    same_site: bool = False
    site_ignore: frozenset[str] = frozenset()
    when: re.Pattern[str] | None = (
        None  # the rule holds only for questions that say this (the encounter's reason)
    )
    add: str = ""  # (adds) the code the guideline adds when subject and other are both listed
    unless: Selector | None = None  # (adds) not when a code this matches is listed already
    # (becomes) the subject becomes the code of its subcategory whose title says becomes[1] where its own
    # says becomes[0] ("… without abnormal findings" -> "… with abnormal findings")
    becomes: tuple[str, ...] = ()
    # (requires) the Index words a coder looks the missing code up with, before the question's own words
    # ("personal history of malignant neoplasm": History > personal > malignant neoplasm > colon Z85.038)
    find: str = ""
    drops: bool = False  # (not_together) an answer keeps the subject and drops the other
    edition: str = "FY2025"

    def holds_for(self, question: str | None) -> bool:
        return self.when is None or (
            question is not None and self.when.search(question) is not None
        )

    @property
    def fiscal_year(self) -> str:
        return self.edition.removeprefix("FY")

    def citation(self, code: str | None = None) -> Citation:
        return Citation(
            source_type="guideline",
            title=f"{GUIDELINES_TITLE} {self.edition}: {self.title}",
            section=self.section,
            page=self.page,
            code=code,
            fiscal_year=self.fiscal_year,
            quote=self.quote,
        )


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...]
    cues: frozenset[str]
    max_other_words: int

    def of_kind(self, *kinds: str) -> list[Rule]:
        return [r for r in self.rules if r.kind in kinds]

    def ordered(self) -> list[Rule]:
        """Order rules by priority: must rules first, each group in file order."""
        order = [r for r in self.rules if r.kind in ORDER_KINDS]
        return [r for r in order if r.strength == "must"] + [
            r for r in order if r.strength != "must"
        ]


def load_rules(path: Path = RULES_PATH) -> Rules:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    edition = data.get("edition", "FY2025")
    rules, seen = [], set()
    for n, row in enumerate(data.get("rule", []), 1):
        required = ("id", "kind", "strength", "section", "title", "page", "quote", "message")
        missing = [k for k in required if not row.get(k)]
        if (
            missing
            or row["kind"] not in KINDS
            or row["strength"] not in ("must", "usually")
            or row["id"] in seen
        ):
            raise ValueError(
                f"{path}: [[rule]] #{n} ({row.get('id')}): missing {missing} or bad kind/strength/id"
            )
        seen.add(row["id"])
        rules.append(
            Rule(
                id=row["id"],
                kind=row["kind"],
                strength=row["strength"],
                section=row["section"],
                title=row["title"],
                page=int(row["page"]),
                quote=row["quote"],
                message=row["message"],
                subject=Selector.parse(row.get("subject")),
                other=Selector.parse(row.get("other")),
                tabular=row.get("tabular", ""),
                same_site=bool(row.get("same_site")),
                site_ignore=frozenset(stem(w) for w in row.get("site_ignore", ())),
                when=re.compile(row["when"], re.I) if row.get("when") else None,
                add=row.get("add", ""),
                unless=Selector.parse(row.get("unless")),
                becomes=tuple(row.get("becomes", ())),
                find=row.get("find", ""),
                drops=bool(row.get("drops")),
                edition=edition,
            )
        )
    question = data.get("question", {})
    return Rules(
        tuple(rules), frozenset(question.get("cues", ())), int(question.get("max_other_words", 3))
    )


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The rule table, read once per process."""
    return load_rules()


# ---- reading codes -----------------------------------------------------------------------------------------
def _range(text: str) -> tuple[str, str]:
    first, last = text.split("-", 1)
    return first.strip().replace(".", "").upper(), last.strip().replace(".", "").upper()


def _intent(plain: str) -> str:
    """The 5th-or-6th character of a T36-T50 code: the 6th, or the 5th when the 6th is the placeholder X."""
    base = plain[:6]
    if len(base) == 6 and base[5] != "X":
        return base[5]
    return base[4] if len(base) >= 5 else ""


def _titles(book: CodeBook, code: str) -> list[str]:
    """The code's title and its headers' titles up to the category."""
    info = book.lookup(code)
    out = [info.title] if info.title else []
    node = book.node(info.base or info.code)
    while node is not None and node.kind not in ("chapter", "block"):
        if node.code != (info.base or info.code):
            out.append(node.title)
        node = book.node(node.parent) if node.parent and node.kind != "category" else None
    return out


def _site_words(book: CodeBook, code: str, ignore: frozenset[str]) -> set[str]:
    words = set()
    for title in _titles(book, code):
        words |= {stem(w.lower()) for w in _WORD.findall(title)}
    return words - ignore


def _same_site(book: CodeBook, a: str, b: str, ignore: frozenset[str]) -> bool:
    return bool(_site_words(book, a, ignore) & _site_words(book, b, ignore))


def _in_notes(book: CodeBook, owner: str, kind: str, code: str) -> Note | None:
    for note in book.inherited_notes(owner, (kind,)):
        if note_covers(note.text, code):
            return note
    return None


# ---- results -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong (error) or worth checking (check) in a list of codes, with the rule it rests on."""

    kind: str  # invalid | duplicate | never_first | order | not_together | missing | excludes1
    code: str
    message: str  # a coder's sentence, the citation excluded
    rule: Rule
    severity: str = (
        "error"  # error (a must rule) | check (a usually rule: depends on the encounter)
    )
    others: tuple[str, ...] = ()
    note: Note | None = None  # the Tabular note the finding rests on, if any
    fiscal_year: str | None = None  # of the code book

    def citation(self) -> Citation:
        return self.rule.citation(self.code)

    def citations(self) -> list[Citation]:
        out = [self.citation()]
        if self.note is not None:
            out.append(
                Citation(
                    source_type="tabular",
                    title=f"Tabular List FY{self.fiscal_year}: {self.note.label} "
                    f"at {self.note.source}",
                    section=self.note.kind,
                    code=self.note.source,
                    fiscal_year=self.fiscal_year,
                    quote=self.note.text,
                )
            )
        return out

    def text(self) -> str:
        return f'{self.message} ({self.rule.section}, p. {self.rule.page}: "{self.rule.quote}")'


@dataclass(frozen=True, slots=True)
class Move:
    """A reordering `sequence` made, and the rule that made it."""

    code: str  # the code that now comes earlier
    after: tuple[str, ...]  # the codes it was moved before
    rule: Rule
    note: Note | None = None

    def text(self) -> str:
        return (
            f"{self.code} before {', '.join(self.after)}: {self.rule.message} ({self.rule.section}, "
            f"p. {self.rule.page})"
        )


@dataclass(slots=True)
class Sequenced:
    codes: list[str]
    moves: list[Move] = field(default_factory=list)
    notes: list[Finding] = field(
        default_factory=list
    )  # what sequencing could not settle (a never-first code alone)


@dataclass(frozen=True, slots=True)
class _Edge:
    first: str
    then: str
    rule: Rule
    note: Note | None = None


# ---- ordering ----------------------------------------------------------------------------------------------
def _candidate_edges(book: CodeBook, codes: list[str], rule: Rule) -> list[_Edge]:
    out = []
    for a in codes:
        if rule.kind == "first":
            if rule.subject.matches(book, a):
                out.extend(
                    _Edge(a, b, rule) for b in codes if b != a and not rule.subject.matches(book, b)
                )
        elif rule.kind == "before":
            if rule.subject.matches(book, a):
                out.extend(
                    _Edge(a, b, rule)
                    for b in codes
                    if b != a
                    and rule.other.matches(book, b)
                    and not rule.subject.matches(book, b)
                    and (not rule.same_site or _same_site(book, a, b, rule.site_ignore))
                )
        else:  # the Tabular's notes between two listed codes of different categories
            kind = "code_first" if rule.kind == "code_first_note" else "use_additional_code"
            for b in codes:
                if b == a or b.replace(".", "")[:3] == a.replace(".", "")[:3]:
                    continue
                note = _in_notes(book, a, kind, b)
                if note is not None:
                    out.append(
                        _Edge(b, a, rule, note) if kind == "code_first" else _Edge(a, b, rule, note)
                    )
    return out


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    stack, seen = [start], set()
    while stack:
        cur = stack.pop()
        if cur == goal:
            return True
        if cur not in seen:
            seen.add(cur)
            stack.extend(edges.get(cur, ()))
    return False


def _edges(
    book: CodeBook, codes: list[str], strengths: tuple[str, ...], question: str | None = None
) -> list[_Edge]:
    """Accepted "a before b" edges between the codes, earlier rules winning conflicts."""
    graph: dict[str, set[str]] = {}
    accepted: list[_Edge] = []
    for rule in rules().ordered():
        if rule.strength not in strengths or not rule.holds_for(question):
            continue
        for edge in _candidate_edges(book, codes, rule):
            if edge.then in graph.get(edge.first, ()):
                continue  # an earlier rule already says so
            if _reaches(graph, edge.then, edge.first):
                continue  # an earlier rule says the opposite
            graph.setdefault(edge.first, set()).add(edge.then)
            accepted.append(edge)
    return accepted


def never_first(book: CodeBook, code: str) -> Rule | None:
    """The first rule that says this code may not be first-listed, if any."""
    for rule in rules().of_kind("never_first"):
        if rule.subject.matches(book, code):
            return rule
    return None


def encounter_reason(book: CodeBook, code: str) -> bool:
    """A Z code that names the reason for the encounter and may only be first-listed (I.C.21.c.16)."""
    rule = next((r for r in rules().rules if r.id == "first-listed-only-z-codes"), None)
    return rule is not None and rule.subject is not None and rule.subject.matches(book, code)


def _clean(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(normalize_code(c) for c in codes if c and c.strip()))


def sequence(
    book: CodeBook,
    codes: list[str],
    strengths: tuple[str, ...] = ("must", "usually"),
    question: str | None = None,
) -> Sequenced:
    """The codes in reporting order per the rules, stable otherwise, with each reordering and its rule.

    Duplicates are dropped (I.B.12). `strengths=("must",)` applies only rules the guidelines state
    without condition; the default also applies the usual order ("sepsis before the localized
    infection" when sepsis was the reason for admission). `question`: the words rules with `when` read
    (the reason for the encounter: "admitted for pain control")."""
    codes = _clean(codes)
    edges = _edges(book, codes, strengths, question)
    preds: dict[str, set[str]] = {c: set() for c in codes}
    for e in edges:
        preds[e.then].add(e.first)
    blocked = {c: never_first(book, c) for c in codes}
    out: list[str] = []
    left = list(codes)
    while left:
        ready = [c for c in left if not preds[c] & set(left)]
        if not out:
            ready = [c for c in ready if blocked[c] is None] or ready
        pick = ready[0] if ready else left[0]  # ready is never empty: accepted edges have no cycle
        out.append(pick)
        left.remove(pick)
    result = Sequenced(out)
    pos_in = {c: i for i, c in enumerate(codes)}
    moved: dict[tuple[str, str], list[str]] = {}
    for e in edges:
        if pos_in[e.then] < pos_in[e.first]:
            moved.setdefault((e.first, e.rule.id), []).append(e.then)
    by_id = {r.id: r for r in rules().rules}
    notes = {(e.first, e.rule.id): e.note for e in edges}
    for (code, rule_id), after in moved.items():
        result.moves.append(Move(code, tuple(after), by_id[rule_id], notes.get((code, rule_id))))
    if (
        codes
        and blocked[codes[0]] is not None
        and out[0] != codes[0]
        and not any(m.after and codes[0] in m.after for m in result.moves)
    ):
        result.moves.append(Move(out[0], (codes[0],), blocked[codes[0]]))
    if out and blocked[out[0]] is not None:
        rule = blocked[out[0]]
        result.notes.append(
            Finding(
                "never_first",
                out[0],
                f"{out[0]} may not be first-listed, and no other code given can be: {rule.message}",
                rule,
                _severity(rule),
                fiscal_year=book.fiscal_year,
            )
        )
    return result


def order_items(
    book: CodeBook,
    items: list[T],
    key: Callable[[T], str] = lambda i: i.code,
    strengths: tuple[str, ...] = ("must", "usually"),
    question: str | None = None,
) -> tuple[list[T], list[Move]]:
    """`sequence` for objects that carry a code (the ranker's CodeItems): the same objects in reporting
    order, duplicates of a code dropped, and the moves made."""
    by_code: dict[str, T] = {}
    for item in items:
        by_code.setdefault(normalize_code(key(item)), item)
    result = sequence(book, list(by_code), strengths, question)
    return [by_code[c] for c in result.codes], result.moves


def implied_codes(
    book: CodeBook, codes: list[str], question: str | None = None
) -> list[tuple[str, Rule, str]]:
    """Codes a guideline adds to the listed ones (severe sepsis R65.20 for sepsis with an associated acute organ
    dysfunction; A41.9 for severe sepsis without its infection): (code to add, its rule, the listed code that
    calls for it), each code once."""
    listed = _clean(codes)
    out: list[tuple[str, Rule, str]] = []
    for rule in rules().of_kind("adds"):
        if (
            not rule.holds_for(question)
            or rule.add in listed
            or any(c == rule.add for c, _, _ in out)
        ):
            continue
        if rule.unless is not None and any(rule.unless.matches(book, c) for c in listed):
            continue
        if not book.lookup(rule.add).reportable:
            continue
        subject = next((c for c in listed if rule.subject.matches(book, c)), None)
        if subject is not None and (
            rule.other is None or any(rule.other.matches(book, c) for c in listed if c != subject)
        ):
            out.append((rule.add, rule, subject))
    return out


def missing_lookups(
    book: CodeBook, codes: list[str], question: str | None = None
) -> list[tuple[Rule, str]]:
    """`requires` rules with Index words to find their missing code by (`find`): (rule, the listed code that
    calls for it), for the ones whose subject is listed and none of whose `other` is."""
    listed = _clean(codes)
    out = []
    for rule in rules().of_kind("requires"):
        if not rule.find or rule.other is None or not rule.holds_for(question):
            continue
        subject = next((c for c in listed if rule.subject.matches(book, c)), None)
        if subject is not None and not any(rule.other.matches(book, c) for c in listed):
            out.append((rule, subject))
    return out


def dropped_codes(
    book: CodeBook, codes: list[str], question: str | None = None
) -> list[tuple[str, Rule]]:
    """Codes an answer drops because a `not_together` rule with `drops` keeps another listed code instead
    (I.C.13.d.2: M80, not the traumatic fracture): (dropped code, the rule)."""
    listed = _clean(codes)
    out: list[tuple[str, Rule]] = []
    for rule in rules().of_kind("not_together"):
        if not rule.drops or rule.other is None or not rule.holds_for(question):
            continue
        subjects = [c for c in listed if rule.subject.matches(book, c)]
        for code in listed:
            if subjects and code not in subjects and rule.other.matches(book, code):
                if not rule.same_site or any(
                    _same_site(book, s, code, rule.site_ignore) for s in subjects
                ):
                    out.append((code, rule))
    return out


def replaced_codes(
    book: CodeBook, codes: list[str], question: str | None = None
) -> list[tuple[str, str, Rule]]:
    """Codes a guideline replaces by another of their subcategory (a general examination "without abnormal
    findings" that found a condition is the one "with abnormal findings", IV.P): (listed code, its
    replacement, the rule), when the replacement is reportable in the book."""
    listed = _clean(codes)
    out: list[tuple[str, str, Rule]] = []
    for rule in rules().of_kind("becomes"):
        if not rule.holds_for(question) or len(rule.becomes) != 2:
            continue
        for code in listed:
            if rule.subject is None or not rule.subject.matches(book, code):
                continue
            if rule.other is not None and not any(
                rule.other.matches(book, c) for c in listed if c != code
            ):
                continue
            wanted = book.title(code).replace(rule.becomes[0], rule.becomes[1])
            parent = book.nodes[code].parent if code in book.nodes else None
            new = next(
                (c for c in book.reportable_under(parent or code) if book.title(c) == wanted), None
            )
            if new is not None and new != code and new not in listed:
                out.append((code, new, rule))
    return out


def _severity(rule: Rule) -> str:
    return "error" if rule.strength == "must" else "check"


# ---- checking a pasted list --------------------------------------------------------------------------------
def check_order(book: CodeBook, codes: list[str], question: str | None = None) -> list[Finding]:
    """What is wrong with a list of codes in the order given, and why, each finding with its rule
    (`question`: the words around the list, read by rules with `when`)."""
    table = rules()
    fy = book.fiscal_year
    found: list[Finding] = []
    valid_rule = table.of_kind("valid")[0]
    unique_rule = table.of_kind("unique")[0]
    listed = Counter(
        normalize_code(c) for c in codes if c and c.strip()
    )  # one finding per code, however often
    ok: list[str] = []
    for code, times in listed.items():
        info = book.lookup(code)
        if not info.exists or not info.reportable:
            near = book.nearest(code, 3) if not info.exists else []
            hint = f"; nearest valid codes: {', '.join(near)}" if near else ""
            found.append(
                Finding("invalid", code, f"{code}: {info.reason}{hint}", valid_rule, fiscal_year=fy)
            )
            continue
        if times > 1:
            said = "twice" if times == 2 else f"{times} times"
            found.append(
                Finding("duplicate", code, f"{code} is listed {said}", unique_rule, fiscal_year=fy)
            )
        ok.append(code)
    if not ok:
        return found

    blocked = never_first(book, ok[0])
    if blocked is not None:
        found.append(
            Finding(
                "never_first",
                ok[0],
                f"{ok[0]} is first but may not be first-listed: {blocked.message}",
                blocked,
                _severity(blocked),
                fiscal_year=fy,
            )
        )

    pos = {c: i for i, c in enumerate(ok)}
    late: dict[tuple[str, str], list[_Edge]] = {}
    for e in _edges(book, ok, ("must", "usually"), question):
        if pos[e.then] < pos[e.first]:
            late.setdefault((e.first, e.rule.id), []).append(e)
    for (code, _), group in late.items():
        rule, note = group[0].rule, group[0].note
        others = tuple(e.then for e in group)
        if blocked is not None and others == (ok[0],) and rule.section == blocked.section:
            continue  # the never-first finding above already says it, from the same section
        where = f' ({note.label} at {note.source}: "{note.text}")' if note else ""
        found.append(
            Finding(
                "order",
                code,
                f"{code} should come before {', '.join(others)}: {rule.message}{where}",
                rule,
                _severity(rule),
                others,
                note,
                fy,
            )
        )

    pairs: set[frozenset[str]] = set()
    for rule in table.of_kind("not_together"):
        for a in ok:
            if not rule.subject.matches(book, a):
                continue
            for b in ok:
                if b == a or not rule.other.matches(book, b) or frozenset((a, b)) in pairs:
                    continue
                if rule.same_site and not _same_site(book, a, b, rule.site_ignore):
                    continue
                pairs.add(frozenset((a, b)))
                found.append(
                    Finding(
                        "not_together",
                        a,
                        f"{a} with {b}: {rule.message}",
                        rule,
                        _severity(rule),
                        (b,),
                        fiscal_year=fy,
                    )
                )

    for code, rule, a in implied_codes(book, ok, question):
        found.append(
            Finding(
                "missing",
                a,
                f"{a} is listed without {code} ({book.title(code)}): {rule.message}",
                rule,
                _severity(rule),
                fiscal_year=fy,
            )
        )

    for rule in table.of_kind("requires"):
        if not rule.holds_for(question):
            continue
        for a in ok:
            if not rule.subject.matches(book, a) or _has_companion(book, rule, a, ok):
                continue
            found.append(
                Finding(
                    "missing",
                    a,
                    f"{a} is listed without its companion: {rule.message}",
                    rule,
                    _severity(rule),
                    fiscal_year=fy,
                )
            )

    allowed = table.of_kind("allow_together")
    for rule in table.of_kind("excludes1_note"):
        for a in ok:
            for b in ok:
                if (
                    b == a
                    or frozenset((a, b)) in pairs
                    or a.replace(".", "")[:3] == b.replace(".", "")[:3]
                ):
                    continue
                if any(r.subject.matches(book, a) and r.other.matches(book, b) for r in allowed):
                    continue
                note = _in_notes(book, a, "excludes1", b)
                if note is not None:
                    pairs.add(frozenset((a, b)))
                    found.append(
                        Finding(
                            "excludes1",
                            a,
                            f"{a} with {b}: Excludes1 at {note.source} "
                            f'("{note.text}"): {rule.message}',
                            rule,
                            _severity(rule),
                            (b,),
                            note,
                            fy,
                        )
                    )
    return found


def _has_companion(book: CodeBook, rule: Rule, code: str, listed: list[str]) -> bool:
    other = rule.other
    for b in listed:
        if b == code:
            continue
        if other.not_subject and not rule.subject.matches(book, b):
            return True
        if other.note_kind and _in_notes(book, code, other.note_kind, b) is not None:
            return True
        if (other.codes or other.ranges) and other.matches(book, b):
            return True
    return False


# ---- a pasted-list question --------------------------------------------------------------------------------
def parse_order_question(text: str) -> list[str] | None:
    """The codes of a question that pastes a list and asks about it ("E11.22, N18.32, I12.9 — right
    order?"), in the order given; None when the text is not such a question."""
    codes, spans = [], []
    for m in _SHAPE.finditer(text):
        codes.append(normalize_code(m.group(0)))
        spans.append(m.span())
    if len(codes) < 2:
        return None
    rest = text
    for start, end in reversed(spans):
        rest = rest[:start] + " " + rest[end:]
    words = [w.lower() for w in _WORD.findall(rest)]
    table = rules()
    if any(w in table.cues for w in words) or len(words) <= table.max_other_words:
        return codes
    return None


@dataclass(slots=True)
class OrderCheck:
    codes: list[str]  # as pasted, normalized
    findings: list[Finding]
    suggested: list[str]  # the valid codes in reporting order
    moves: list[Move]
    text: str  # one paragraph for people

    def citations(self) -> list[Citation]:
        out, seen = [], set()
        for f in self.findings:
            for c in f.citations():
                key = (c.source_type, c.section, c.code, c.quote)
                if key not in seen:
                    seen.add(key)
                    out.append(c)
        return out


def answer_order_question(question: str, book: CodeBook) -> OrderCheck | None:
    """For a pasted-list order question: the findings, a suggested order and a one-paragraph answer;
    None when the question is not one."""
    codes = parse_order_question(question)
    if codes is None:
        return None
    findings = check_order(book, codes, question)
    bad = {f.code for f in findings if f.kind == "invalid"}
    seq = sequence(book, [c for c in codes if c not in bad], question=question)
    return OrderCheck(codes, findings, seq.codes, seq.moves, _paragraph(codes, findings, seq.codes))


def _paragraph(codes: list[str], findings: list[Finding], suggested: list[str]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    checks = [f for f in findings if f.severity != "error"]
    listed = ", ".join(codes[:12]) + (
        f", … ({len(codes)} codes)" if len(codes) > 12 else ""
    )  # a pasted wall stays short
    if not findings:
        return (
            f"{listed}: no sequencing rule CodeDesk checks is broken by this order (sequencing also depends "
            "on the reason for the encounter, which a list of codes does not show)."
        )
    head = (
        f"{listed}: not as listed."
        if errors
        else f"{listed}: the order can stand, but check the following."
    )
    parts = [head] + [f.text() + "." for f in errors + checks]
    if suggested and suggested != [c for c in codes if c in suggested]:
        parts.append(f"Suggested order: {', '.join(suggested)}.")
    elif suggested and errors:
        parts.append(f"Order of the valid codes: {', '.join(suggested)}.")
    return " ".join(parts)
