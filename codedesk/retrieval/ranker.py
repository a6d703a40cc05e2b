"""The code-aware step: from candidates to the codes a coder would report.

Prefers reportable codes, expands headers to their children, completes 7th characters with the X
placeholder, follows "use additional code" / "code first" / "code also" to companion codes the
question asks for, and flags Excludes1 pairs among the codes it suggests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from codedesk.cms.codebook import CodeBook, Note
from codedesk.retrieval.codesearch import Candidate, CodeSearcher, off_topic_chapter
from codedesk.retrieval.notes import codes_in_note, note_covers, note_specs
from codedesk.retrieval.schema import CodeItem
from codedesk.retrieval.text import (
    FREE_STEMS,
    number_ranges,
    question_numbers,
    range_terms,
    stem,
    tokens,
)

COMPANION_KINDS = ("use_additional_code", "code_first", "code_also")
_PARENS = re.compile(r"\([^)]*\)")
# Codes the guidelines never list first: BMI (I.C.21.c.3), weeks of gestation (I.C.15.a), the
# organism (B95-B97, "in diseases classified elsewhere"), external causes and blood alcohol (I.C.20).
_SECONDARY_ONLY = re.compile(r"^(?:Z68|Z3A|B9[5-7]|[VWXY]\d)")


def _content(text: str) -> set[str]:
    """The question's words that can decide a code ("unspecified", "with", … cannot)."""
    return {t for t in tokens(text) if t not in FREE_STEMS}


def _default_rank(title: str) -> int:
    """Among titles the question says equally: the unspecified code is the default, "other" is not."""
    low = title.lower()
    return 0 if "unspecified" in low else 2 if re.search(r"\bother\b", low) else 1


@dataclass(slots=True)
class Ranked:
    main: list[CodeItem] = field(default_factory=list)  # the code(s) to report, companions included
    alternatives: list[CodeItem] = field(default_factory=list)
    notes: dict[str, list[Note]] = field(default_factory=dict)  # main code -> notes that apply
    conflicts: list[str] = field(default_factory=list)
    missing_words: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[CodeItem]:
        return self.main + self.alternatives

    def report(self, item: CodeItem, notes: list[Note]) -> None:
        """Add a code to the reported ones (no longer an alternative), with the notes that apply to it."""
        self.main.append(item)
        self.alternatives = [a for a in self.alternatives if a.code != item.code]
        self.notes[item.code] = notes


def item_for(book: CodeBook, code: str, note: str | None = None) -> CodeItem:
    info = book.lookup(code)
    return CodeItem(
        code=info.code,
        description=info.title,
        billable=info.reportable,
        needs_seventh=bool(info.base) or info.needs_seventh,
        note=note,
    )


def complete(book: CodeBook, searcher: CodeSearcher, base: str, question: str) -> CodeItem:
    """A reportable item for a base code: the 7th character chosen from the question, or assumed."""
    full, char, assumed = searcher.choose_seventh(base, question)
    if not char:
        return item_for(book, base)
    defs, source = book.seventh_defs(base)
    note = (
        f"7th character {char} ({defs[char]}) assumed: the question does not say which; "
        f"other values at {source}: " + ", ".join(f"{c} {t}" for c, t in defs.items() if c != char)
        if assumed
        else f"7th character {char}: {defs[char]} (defined at {source}); "
        "X fills empty places before the 7th character"
    )
    return item_for(book, full, note)


def companions(
    book: CodeBook,
    base: str,
    question: str,
    used: set[str],
    candidates: list[str] = (),
    explained: frozenset[str] = frozenset(),
) -> list[tuple[str, Note]]:
    """Companion codes named by the code's notes that the question points to.

    A companion must explain the words the first code left over ("stage 4"), and be specific
    enough to be meant (a long title matching one word is not) unless retrieval ranked it among
    its candidates too (I12.9 for "hypertension" left over by N18.31). Besides, a "use additional
    code" note is followed to a code every word of whose title the question says, even when the
    first code's title says them as well: the stage of CKD (N18.5) beside I13.2, a type of
    heart failure (I50.9) beside I11.0, as the note asks. A candidate that matches only words an Alphabetic
    Index path `explained` is no companion ("chronic renal failure": Failure > renal > chronic explains
    "failure", so I13.0 "… with heart failure" is not coded beside N18.-)."""
    q = _content(question)
    left = q - set(tokens(book.nodes[base].title))
    rank = {code: i for i, code in enumerate(candidates)}
    numbers = question_numbers(question)  # "BMI 42": the Z68 code whose range holds it
    strict: list[tuple[tuple[float, ...], str, Note]] = []
    relaxed: list[tuple[tuple[float, ...], str, Note]] = []
    for note in book.inherited_notes(base, COMPANION_KINDS):
        named = _named_code(book, note.text)
        if named is not None and named[0] not in used and named[0][:3] != base[:3]:
            code, words = named
            # the question says what the note names: "… fever (R50.81)"
            if words <= q and words & left:
                strict.append(((0, -len(words) - 10, 0, 0, 0), code, note))
                continue
        for code in codes_in_note(book, note.text):
            if (
                code in used
                or code.replace(".", "")[:3] == base.replace(".", "")[:3]
                or off_topic_chapter(code, q)
            ):
                continue
            title = set(tokens(book.nodes[code].title)) - FREE_STEMS
            words = title & left
            ranged = (
                len(range_terms(number_ranges(book.nodes[code].title), numbers)[0])
                if numbers
                else 0
            )
            hit = len(words) + ranged
            ratio = hit / max(len(title), 1)
            explains = bool(left) and hit > 0 and hit / len(left) >= 0.5
            # matched only by a word in parentheses ("congestive" of I50.30 "Unspecified diastolic (congestive)
            # heart failure" for "CHF"): the title's own words ("diastolic") were never said
            own = set(
                tokens(_PARENS.sub(" ", book.nodes[code].title))
            )  # "stage 4 (severe)": not needed
            # one word of a longer title is no companion ("history" of Z87.891 "Personal history of nicotine
            # dependence" beside a stroke's sequela)
            if explains and ratio >= 0.25 and (ranged or words & own) and (hit > 1 or ratio >= 0.5):
                # of codes explaining as many leftover words, the one whose title says more of the question
                # (I50.23 "Acute on chronic systolic …" beside I13.0, whose own title already says "chronic")
                said_all = len(title & q)
                strict.append(((0, -hit, -said_all, -ratio, rank.get(code, len(rank))), code, note))
                continue
            said = own - FREE_STEMS
            if (
                said
                and said <= q
                and (
                    note.kind == "use_additional_code"
                    or note.kind == "code_first"
                    and code in (c for c, _ in note_specs(note.text))
                )
            ):
                # the most specific such code; "unspecified" before "other"
                strict.append(
                    ((1, -len(said), _default_rank(book.nodes[code].title), 0), code, note)
                )
            elif (
                explains and code in rank and any(not w.isdigit() for w in words - explained)
            ):  # not "2" of "type 2"
                relaxed.append(((0, -hit, rank[code], 0), code, note))
    found = sorted(
        strict if any(key[0] == 0 for key, _, _ in strict) else strict + relaxed, key=lambda x: x[0]
    )
    out, seen_notes, etiology = [], set(), False
    for _, code, note in found:
        if note.text in seen_notes or note.kind == "code_first" and etiology:
            continue  # one companion per note, one etiology (I11.0 or I13.-, never both)
        seen_notes.add(note.text)
        etiology = etiology or note.kind == "code_first"
        out.append((code, note))
    return out[:2]


# the words every such note begins with ("code to identify", "code for any associated", "if applicable")
_NOTE_WORDS = frozenset(
    tokens("use additional code to identify any associated if applicable where")
)
_ONE_CODE = re.compile(
    r"^(?P<words>[^()]*?)\s*\((?P<code>[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)\)\s*$"
)


def _named_code(book: CodeBook, text: str) -> tuple[str, frozenset[str]] | None:
    """The one reportable code a note's list item names after its words, with those words: "fever
    (R50.81)" below D70's "Use additional code for any associated:" -> (R50.81, {fever})."""
    m = _ONE_CODE.match(text.strip().lstrip(",").strip())
    info = book.lookup(m["code"]) if m is not None else None
    if m is None or info is None or not info.reportable:
        return None
    words = frozenset(tokens(m["words"])) - _NOTE_WORDS - FREE_STEMS
    return (info.code, words) if words else None


def _lead_first(book: CodeBook, candidates: list[Candidate], question: str) -> list[Candidate]:
    """A secondary-only code ranked first ("morbid obesity, BMI 42" → Z68.41) goes after the
    condition whose "use additional code" note asks for it: of the candidates, the one that says
    most of the question's other words (E66.01 "morbid (severe) obesity", not E66.9)."""
    top = candidates[0].code
    if not _SECONDARY_ONLY.match(top):
        return candidates
    left = _content(question) - set(tokens(book.nodes[top].title))
    best, best_hit = None, 0
    for cand in candidates[1:]:
        if _SECONDARY_ONLY.match(cand.code):
            continue
        notes = book.inherited_notes(cand.code, ("use_additional_code", "code_also"))
        if not any(top in codes_in_note(book, note.text) for note in notes):
            continue
        hit = len(left & set(tokens(book.nodes[cand.code].title)))
        if best is None or hit > best_hit:
            best, best_hit = cand, hit
    if best is None:
        return candidates
    return [best, *(c for c in candidates if c is not best)]


_HISTORY, _FAMILY = stem("history"), stem("family")


def _history_first(candidates: list[Candidate], question: str) -> list[Candidate]:
    """ "History of colon cancer, resected": a malignancy that was excised or eradicated, with no
    treatment directed to it, is a personal history code (I.C.2.d), not the C code of the cancer."""
    q = set(tokens(question))
    if _HISTORY not in q or _FAMILY in q or not candidates[0].code.startswith("C"):
        return candidates
    for cand in candidates[1:6]:
        if cand.code.startswith("Z85"):
            return [cand, *(c for c in candidates if c is not cand)]
    return candidates


def excludes1_conflicts(book: CodeBook, codes: list[str]) -> list[str]:
    out = []
    for a in codes:
        for note in book.inherited_notes(a, ("excludes1",)):
            for b in codes:
                if (
                    b != a
                    and b.replace(".", "")[:3] != a.replace(".", "")[:3]
                    and note_covers(note.text, b)
                ):
                    out.append(
                        f"{a} and {b} may not be reported together: Excludes1 at {note.source} "
                        f'("{note.text}")'
                    )
    return list(dict.fromkeys(out))


def rank_search(
    book: CodeBook,
    searcher: CodeSearcher,
    question: str,
    focus: str,
    candidates: list[Candidate],
    k: int,
    explained: frozenset[str] = frozenset(),
) -> Ranked:
    """Ranked reportable codes from search candidates; companions follow the first code (`explained`: stems an
    Alphabetic Index path already explained)."""
    out = Ranked()
    if not candidates:
        return out
    candidates = _history_first(_lead_first(book, candidates, question), question)
    top = candidates[0]
    out.main.append(complete(book, searcher, top.code, focus))
    used = {top.code}
    for code, note in companions(
        book, top.code, question, used, [c.code for c in candidates[1:]], explained
    ):
        item = complete(book, searcher, code, focus)
        item.note = f"{note.label} at {note.source}: {note.text}" + (
            f" — {item.note}" if item.note else ""
        )
        if note.kind == "code_first":  # the etiology is sequenced before the manifestation
            out.main.insert(0, item)
        else:
            out.main.append(item)
        used.add(code)
    for cand in candidates[1:]:
        if len(out.items) >= k:
            break
        if cand.code not in used:
            out.alternatives.append(complete(book, searcher, cand.code, focus))
            used.add(cand.code)
    for item in out.main:
        out.notes[item.code] = book.inherited_notes(item.code)
    q = _content(question)
    covered = set().union(*(set(tokens(book.title(i.code))) for i in out.main))
    out.missing_words = sorted(q - covered)
    out.conflicts = excludes1_conflicts(book, [i.code for i in out.main])
    return out
