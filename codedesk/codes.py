"""The shape of an ICD-10-CM code: the one definition every parser, question reader, guard and bot uses.

A code is a 3-character category and up to 4 more characters (written after a dot, or run on):

- a letter, a digit and a digit: E11, N18.32, T39.1X1A;
- a letter, a digit and a letter: C4A, Z3A.20, M1A.0110, and from FY2027 J4B, K6A.01. After a
  letter in the 3rd position the next character is a digit (C4A.0, K6A01): that keeps "T2DM" a
  word, not code T2D.M;
- a letter, a letter and a digit — new in FY2027: QA1 (QA171 Lynch syndrome, QA1790–QA1798).

In files (addenda, Tabular List) any letter may stand in the 2nd or 3rd position, so a future
release is read, not rejected. In running text (questions, notes, answers, Slack) only the letters
CMS has used there count (`PROSE_SECOND_LETTERS`, `PROSE_THIRD_LETTERS`), and "FY2026" is a fiscal
year: there "CKD", "BMI", "DOS", "CO2", "CD4" or "H1N1" never read as codes. Add a letter there
when a release uses a new one.
"""

from __future__ import annotations

import re

# The letters CMS has put in the 2nd position of a category: A (QA1, FY2027 addenda); in the 3rd:
# A (C4A, D3A, M1A, O9A, Z3A; K6A in FY2027) and B (J4B, FY2027 addenda).
PROSE_SECOND_LETTERS = "A"
PROSE_THIRD_LETTERS = "AB"

_TAIL = r"[0-9A-Z]{1,4}"


def _code(second: str, third: str) -> str:
    """A code with or without its dot (E11.22, E1122), as a non-capturing group."""
    digit_or_letter2 = rf"(?:[A-Z][0-9][0-9]|(?!FY)[A-Z][{second}][0-9])"
    return (
        rf"(?:{digit_or_letter2}(?:\.{_TAIL}|{_TAIL})?"
        rf"|[A-Z][0-9][{third}](?:\.{_TAIL}|[0-9][0-9A-Z]{{0,3}})?)"
    )


def _category(second: str, third: str) -> str:
    return rf"(?:(?!FY)[A-Z](?:[0-9][0-9{third}]|[{second}][0-9]))"


def _dotted(second: str, third: str) -> str:
    """A code as the Tabular List prints it: category, then a dot and up to 4 characters."""
    return rf"(?:{_category(second, third)}(?:\.{_TAIL})?)"


# Patterns (strings, uppercase; compile with re.I where lower case is accepted), no anchors.
CATEGORY = _category("A-Z", "A-Z")  # E11, C4A, J4B, QA1
CODE = _code("A-Z", "A-Z")  # any code, dot optional: files and stored codes
DOTTED = _dotted("A-Z", "A-Z")  # any code with its dot (or a bare category)
PROSE_CATEGORY = _category(PROSE_SECOND_LETTERS, PROSE_THIRD_LETTERS)
PROSE_CODE = _code(
    PROSE_SECOND_LETTERS, PROSE_THIRD_LETTERS
)  # a code in running text, dot optional
PROSE_DOTTED = _dotted(
    PROSE_SECOND_LETTERS, PROSE_THIRD_LETTERS
)  # a code in running text with its dot
PROSE_START = (
    rf"(?:[A-Z][0-9]|[A-Z][{PROSE_SECOND_LETTERS}][0-9])"  # how a code begins ("N18.1-N18.6")
)

CODE_RE = re.compile(rf"^{CODE}$")
_CATEGORY_RE = re.compile(rf"^{CATEGORY}$")


def is_code(text: str) -> bool:
    """Has the shape of an ICD-10-CM code or category (E11, E11.22, E1122, QA171, K6A.01)."""
    return bool(CODE_RE.match(text.strip().upper()))


def is_category(text: str) -> bool:
    return bool(_CATEGORY_RE.match(text.strip().upper()))


def plain(code: str) -> str:
    """'E11.22' -> 'E1122'."""
    return code.replace(".", "").strip().upper()


def dotted(code: str) -> str:
    """'E1122' -> 'E11.22', 'K6A01' -> 'K6A.01', 'QA171' -> 'QA1.71'; a category stays as it is."""
    code = plain(code)
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code
