"""Codes named inside instructional notes: "(N18.1-N18.6)", "(E10.-)", "(Z79.4)", "(I10-I16)"."""

from __future__ import annotations

import re
from functools import lru_cache

from codedesk.cms.codebook import CodeBook, normalize_code
from codedesk.codes import PROSE_CATEGORY, PROSE_DOTTED, PROSE_START

# A family "E10.-" / "O99.81-", or a range "N18.1-N18.6" / "I10-I16" (the dash before a code is a range).
_SPEC = re.compile(
    rf"\b({PROSE_CATEGORY}(?:\.[0-9A-Z]{{0,4}})?)(?:\s*-\s*({PROSE_DOTTED})"
    rf"|\.?-(?!\s*{PROSE_START}))?"
)


_CATEGORY = re.compile(rf"\bcategory\s+({PROSE_CATEGORY})\b")


def note_specs(text: str) -> list[tuple[str, str | None]]:
    """(first, last) code specs in a note; last is None for a single code or a `.-` family.
    Codes are read in parentheses, and after "category" ("from category Z3A, Weeks of gestation")."""
    out = []
    for group in re.findall(r"\(([^()]*)\)", text):
        for m in _SPEC.finditer(group):
            out.append(
                (normalize_code(m.group(1)), normalize_code(m.group(2)) if m.group(2) else None)
            )
    out.extend((m.group(1), None) for m in _CATEGORY.finditer(text))
    return list(dict.fromkeys(out))


def spec_covers(first: str, last: str | None, code: str) -> bool:
    """Does a spec cover a code? Families cover by prefix; ranges compare at the spec's length."""
    plain, f = code.replace(".", ""), first.replace(".", "")
    if last is None:
        return plain.startswith(f)
    lst = last.replace(".", "")
    width = max(len(f), len(lst))
    return f <= plain[:width] <= lst or plain.startswith(lst)


def note_covers(text: str, code: str) -> bool:
    return any(spec_covers(f, last, code) for f, last in note_specs(text))


def codes_in_note(book: CodeBook, text: str, limit: int = 200) -> list[str]:
    """Reportable base codes a note points to (expanded from families and ranges)."""
    return list(_codes_in_note(book, text, limit))


@lru_cache(maxsize=8192)  # the same notes are read for every question about their codes
def _codes_in_note(book: CodeBook, text: str, limit: int) -> tuple[str, ...]:
    out: list[str] = []
    for first, last in note_specs(text):
        heads = [first] if last is None else book.codes_in_range(first, last)
        for head in heads:
            if head in book.nodes and book.is_diag(head):
                out.extend(book.leaves_under(head))
        if len(out) >= limit:
            break
    return tuple(dict.fromkeys(out))[:limit]
