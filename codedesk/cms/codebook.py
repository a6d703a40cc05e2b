"""The ICD-10-CM code book of one fiscal year: hierarchy, inherited notes, reportability, 7th characters.

Built from `codedesk.cms.tabular`. Codes that need a 7th character (T39.1X1A, S30.1XXA) are not listed
in the XML; the book derives them from the nearest `sevenChrDef` and the X placeholder.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from codedesk.cache import Cache
from codedesk.cms.tabular import NOTE_LABELS, TabularFile, TabularNode, parse_tabular
from codedesk.codes import CATEGORY, CODE_RE
from codedesk.errors import SourceError
from codedesk.packages import package_file

log = logging.getLogger(__name__)

SYSTEM = "ICD-10-CM"
_CODE = (
    "codedesk.cms.codebook",
    "codedesk.cms.tabular",
    "codedesk.codes",
)  # the code a cached book depends on
# Notes a coder must see with a code; inclusion terms are shown with the code's own title.
INHERITED_KINDS = (
    "includes",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "note",
    "seventh_character",
)


def embedded_tabular_path() -> Path:
    """The FY2026 (April 2026) Tabular List XML shipped in the simple-icd-10-cm package."""
    return package_file("simple_icd_10_cm", "data", "icd10c-tabular-April-1-2026.xml")


def normalize_code(text: str) -> str:
    """'e1122' -> 'E11.22'; 'E11.22' stays; a block 'e08-e13' -> 'E08-E13'. Never validates."""
    code = text.strip().upper().rstrip("-").rstrip(".")
    if "-" in code:
        return "-".join(normalize_code(part) for part in code.split("-", 1))
    code = code.replace(".", "")
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


@dataclass(slots=True, frozen=True)
class Deletion:
    """A code the book's year deleted (from the addenda): what it was and what replaces it."""

    code: str
    title: str  # its title before
    fiscal_year: str  # the first year it is not valid in
    replacements: tuple[str, ...] = ()  # reportable codes that take its place
    now_header: bool = (
        False  # still in the book, as a header (its category or subcategory was expanded)
    )

    def reason(self) -> str:
        use = (
            f"use {_or_list(self.replacements)}"
            if self.replacements
            else "the addenda name no replacement"
        )
        if self.now_header:
            return (
                f"{self.code} is a header since FY{self.fiscal_year} (it was expanded; until then "
                f'"{self.title}"): {use}'
            )
        return f"{self.code} ({self.title}) was deleted in FY{self.fiscal_year}: {use}"


def _or_list(codes: tuple[str, ...] | list[str], limit: int = 8) -> str:
    shown = list(codes[:limit])
    more = f" (and {len(codes) - limit} more)" if len(codes) > limit else ""
    return (", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]) + more


@dataclass(slots=True, frozen=True)
class Note:
    kind: str  # excludes1, use_additional_code, ... (tabular.NOTE_KINDS values)
    text: str
    source: str  # the code, block or chapter the note is written under

    @property
    def label(self) -> str:
        return NOTE_LABELS.get(self.kind, self.kind)


@dataclass(slots=True)
class CodeInfo:
    """What the book knows of one code string, including derived 7th-character codes."""

    code: str
    exists: bool
    title: str = ""
    kind: str = ""
    reportable: bool = False
    reason: str = ""  # why not reportable / not valid, in a coder's words
    needs_seventh: bool = False  # a base code that takes a 7th character
    base: str | None = None  # for a 7th-character code: the code it extends
    seventh_char: str | None = None
    children: list[str] = field(default_factory=list)


class CodeBook:
    """One fiscal year of ICD-10-CM."""

    # Set on a book built from the addenda (retrieval.books); class defaults keep cached Tabular books valid.
    basis: str | None = None  # how the book was built, shown with every answer from it
    deleted: dict[str, Deletion] = {}
    source_files: tuple[
        str, ...
    ] = ()  # the files caches of this book are keyed on (default: source_path)

    def __init__(self, tab: TabularFile) -> None:
        self.fiscal_year = tab.fiscal_year
        self.source_path = tab.path
        self.nodes: dict[str, TabularNode] = tab.nodes
        self.order = tab.order
        self._seventh_cache: dict[str, tuple[dict[str, str], str] | None] = {}
        self._seventh_limits = _seventh_limits(self.nodes)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        cache_dir: Path | None = None,
        fiscal_year: str | None = None,
    ) -> CodeBook:
        """Parse a Tabular XML (default: the embedded FY2026 file), using a pickle cache when given."""
        path = Path(path) if path else embedded_tabular_path()
        if not path.is_file():
            raise SourceError(
                path,
                "Tabular List XML not found; set CODEDESK_TABULAR_XML or CODEDESK_CMS_DATA_DIR",
            )
        start = time.perf_counter()
        # keyed on the XML and the code that reads it (codedesk.cache)
        # one entry per year (or per file when the year is the file's own)
        slot = fiscal_year or hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        cache = Cache(
            cache_dir, f"codebook-{slot}", inputs=[path], code=_CODE, extra=fiscal_year or ""
        )
        book = cache.get(lambda: cls(parse_tabular(path, fiscal_year)), kind=CodeBook)
        log.info(
            "codebook ready fy=%s codes=%d seconds=%.2f",
            book.fiscal_year,
            len(book.nodes),
            time.perf_counter() - start,
        )
        return book

    # ---- hierarchy ----------------------------------------------------------------------------
    def node(self, code: str) -> TabularNode | None:
        return self.nodes.get(code)

    def ancestors(self, code: str) -> list[TabularNode]:
        """Parents from the nearest up to the chapter."""
        out = []
        node = self.nodes.get(code)
        while node is not None and node.parent:
            node = self.nodes[node.parent]
            out.append(node)
        return out

    def is_diag(self, code: str) -> bool:
        node = self.nodes.get(code)
        return node is not None and node.kind not in ("chapter", "block")

    def seventh_defs(self, code: str) -> tuple[dict[str, str], str] | None:
        """The 7th-character definitions that apply to a code, and where they are written."""
        if code in self._seventh_cache:
            return self._seventh_cache[code]
        result = None
        node = self.nodes.get(code)
        while node is not None:
            if node.seventh:
                result = (self._allowed(code, node.seventh), node.code)
                break
            node = self.nodes.get(node.parent) if node.parent else None
        self._seventh_cache[code] = result
        return result

    def _allowed(self, code: str, defs: dict[str, str]) -> dict[str, str]:
        """Drop 7th characters a category note rules out for this code (S06.337 takes only A)."""
        plain = code.replace(".", "")
        for sixth, banned in self._seventh_limits.get(plain[:3], ()):
            if len(plain) == 6 and plain[5] in sixth:
                return {ch: text for ch, text in defs.items() if ch not in banned}
        return defs

    def is_leaf(self, code: str) -> bool:
        node = self.nodes.get(code)
        return node is not None and node.kind not in ("chapter", "block") and not node.children

    @staticmethod
    def with_seventh(code: str, char: str) -> str:
        """Add a 7th character, padding with the X placeholder: S30.1 + A -> S30.1XXA."""
        plain = code.replace(".", "")
        plain = plain.ljust(6, "X") + char
        return f"{plain[:3]}.{plain[3:]}"

    def reportable_forms(self, leaf: str) -> list[str]:
        """A leaf code as it is reported: itself, or every 7th-character form of it."""
        defs = self.seventh_defs(leaf)
        return [self.with_seventh(leaf, ch) for ch in defs[0]] if defs else [leaf]

    def reportable_codes(self) -> list[str]:
        """Every reportable code, 7th-character forms included, in tabular order."""
        return [c for code in self.order if self.is_leaf(code) for c in self.reportable_forms(code)]

    def leaves_under(self, code: str) -> list[str]:
        """Leaf (XML-listed) codes under a header, in tabular order."""
        out: list[str] = []
        stack = [code]
        while stack:
            cur = stack.pop()
            node = self.nodes[cur]
            if node.kind not in ("chapter", "block") and not node.children:
                out.append(cur)
            stack.extend(reversed(node.children))
        return out

    # ---- lookup -------------------------------------------------------------------------------
    def lookup(self, text: str) -> CodeInfo:
        """Everything a coder needs to know about one code string, valid or not."""
        code = normalize_code(text)
        node = self.nodes.get(code)
        if node is not None:
            if node.kind in ("chapter", "block"):
                return CodeInfo(
                    code,
                    True,
                    node.title,
                    node.kind,
                    False,
                    f"{code} is a {'chapter' if node.kind == 'chapter' else 'block of categories'}, "
                    "not a code",
                    children=list(node.children),
                )
            if node.children:
                gone = self.deleted.get(code)
                return CodeInfo(
                    code,
                    True,
                    node.title,
                    node.kind,
                    False,
                    gone.reason()
                    if gone and gone.now_header
                    else f"{code} is a header (category or subcategory) and is not reportable; "
                    "use one of its subcodes",
                    children=list(node.children),
                )
            defs = self.seventh_defs(code)
            if defs:
                return CodeInfo(
                    code,
                    True,
                    node.title,
                    node.kind,
                    False,
                    f"{code} needs a 7th character (from {defs[1]}): e.g. "
                    f"{self.with_seventh(code, next(iter(defs[0])))}",
                    needs_seventh=True,
                )
            return CodeInfo(code, True, node.title, node.kind, True)
        if not CODE_RE.match(code.replace("-", "")):
            return CodeInfo(
                code, False, reason=f"'{text.strip()[:20]}' is not in the form of an ICD-10-CM code"
            )
        if code in self.deleted:
            return CodeInfo(code, False, reason=self.deleted[code].reason())
        plain = code.replace(".", "")
        if len(plain) == 7:
            for cut in range(6, 2, -1):  # strip placeholder X's back to the listed base code
                base = normalize_code(plain[:cut])
                if base in self.nodes and (cut == 6 or set(plain[cut:6]) <= {"X"}):
                    if not self.is_leaf(base):
                        return CodeInfo(
                            code,
                            False,
                            reason=f"{base} is a header; a 7th character goes only "
                            "on a reportable base code",
                        )
                    defs = self.seventh_defs(base)
                    char = plain[6]
                    if not defs:
                        return CodeInfo(code, False, reason=f"{base} takes no 7th character")
                    if self.with_seventh(base, char) != code:
                        return CodeInfo(
                            code,
                            False,
                            reason=f"the placeholder is wrong: write "
                            f"{self.with_seventh(base, char)}",
                        )
                    if char not in defs[0]:
                        return CodeInfo(
                            code,
                            False,
                            reason=f"'{char}' is not a valid 7th character for {base} "
                            f"(valid: {', '.join(defs[0])})",
                        )
                    title = f"{self.nodes[base].title}, {defs[0][char]}"
                    return CodeInfo(code, True, title, "code", True, base=base, seventh_char=char)
        return CodeInfo(
            code, False, reason=f"{code} does not exist in ICD-10-CM FY{self.fiscal_year}"
        )

    def title(self, code: str) -> str:
        return self.lookup(code).title

    def nearest(self, text: str, limit: int = 5) -> list[str]:
        """Valid codes closest to an invalid one: the reportable codes under its longest existing prefix."""
        plain = normalize_code(text).replace(".", "")
        for cut in range(min(len(plain), 6), 2, -1):
            prefix = normalize_code(plain[:cut])
            if prefix in self.nodes and self.is_diag(prefix):
                return self.reportable_under(prefix)[:limit]
        # same letter and nearby category: the first categories of that letter's region
        letter = plain[:1]
        cats = [c for c in self.order if self.nodes[c].kind == "category" and c.startswith(letter)]
        if len(plain) >= 3 and cats:
            target = plain[:3]
            cats.sort(key=lambda c: abs(_cat_number(c) - _cat_number(target)))
        return [r for c in cats[:limit] for r in self.reportable_under(c)[:1]][:limit]

    def reportable_under(self, code: str) -> list[str]:
        """Reportable codes under a header (or the code itself), 7th-character forms shown with 'A'
        only when the definitions have it, else their first character."""
        out = []
        for leaf in self.leaves_under(code):
            defs = self.seventh_defs(leaf)
            out.append(
                self.with_seventh(leaf, "A" if "A" in defs[0] else next(iter(defs[0])))
                if defs
                else leaf
            )
        return out

    def inherited_notes(self, code: str, kinds: tuple[str, ...] = INHERITED_KINDS) -> list[Note]:
        """Instructional notes that apply to a code: its own first, then each ancestor's up to the chapter."""
        info_base = code
        info = self.lookup(code)
        if info.base:
            info_base = info.base
        node = self.nodes.get(info_base)
        out: list[Note] = []
        while node is not None:
            for kind in kinds:
                for text in node.notes.get(kind, ()):
                    out.append(Note(kind, text, node.code))
            node = self.nodes.get(node.parent) if node.parent else None
        return out

    def codes_in_range(self, first: str, last: str) -> list[str]:
        """Codes at the level of `first` from first to last inclusive (E08-E13, N18.1-N18.6)."""
        first, last = normalize_code(first), normalize_code(last)
        # Diagnosis codes by length, built on first use (not in __init__: books come from a pickle
        # cache): a range then scans its own level, not every node of the book.
        by_len = self.__dict__.get("_diag_by_len")
        if by_len is None:
            by_len = {}
            for c in self.order:
                if self.is_diag(c):
                    by_len.setdefault(len(c), []).append(c)
            self.__dict__["_diag_by_len"] = by_len
        return [c for c in by_len.get(len(first), ()) if first <= c <= last]


_LIMIT_RE = re.compile(
    r"7th characters? ((?:[A-Z](?:,|\s|and|or)*)+)do(?:es)? not apply to codes in category "
    rf"({CATEGORY}) with 6th character ([0-9A-Z])(?:.*?,? or ([0-9A-Z]) -)?",
    re.S,
)


def _seventh_limits(nodes: dict[str, TabularNode]) -> dict[str, list[tuple[set[str], set[str]]]]:
    """Read notes such as '7th characters D and S do not apply to codes in category S06 with 6th
    character 7 ... or 8 ...' into {category: [(sixth characters, banned 7th characters)]}."""
    limits: dict[str, list[tuple[set[str], set[str]]]] = {}
    for node in nodes.values():
        if node.kind != "category":
            continue
        for text in [*node.notes.get("note", ()), *node.notes.get("seventh_character", ())]:
            for m in _LIMIT_RE.finditer(text):
                banned = set(re.findall(r"\b[A-Z]\b", m.group(1)))
                sixth = {c for c in (m.group(3), m.group(4)) if c}
                limits.setdefault(m.group(2), []).append((sixth, banned))
    return limits


def _cat_number(cat: str) -> int:
    digits = re.sub(r"[^0-9]", "", cat[1:3]) or "0"
    return int(digits)


@lru_cache(maxsize=4)
def _cached_book(path: str, cache_dir: str | None, fiscal_year: str | None) -> CodeBook:
    return CodeBook.load(
        path, cache_dir=Path(cache_dir) if cache_dir else None, fiscal_year=fiscal_year
    )


def load_codebook(
    path: str | Path | None = None, cache_dir: Path | None = None, fiscal_year: str | None = None
) -> CodeBook:
    """Process-wide cached loader: a book is parsed once per process."""
    return _cached_book(
        str(path or embedded_tabular_path()), str(cache_dir) if cache_dir else None, fiscal_year
    )
