"""Every source of the manifest (`guidelines/sources.toml`) turned into index documents.

A missing optional source is a one-line notice; a corrupt one raises `SourceError` naming the file
before anything is written, so the serving index is never disturbed.

What goes into Chroma: every document with a vector (codes, guideline chunks, team guidelines,
index main terms, PCS root operations/approaches/guidelines), the Tabular List notes, addenda,
HCPCS codes and table cells as lexical documents. The ~79k ICD-10-PCS code titles are not copied
into Chroma: they are served from the package's own database by `codedesk.retrieval.procedures`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from codedesk.cms.books import load_books
from codedesk.errors import SourceError
from codedesk.ingest.manifest import (
    ResolvedSource,
    Source,
    fiscal_year_period,
    load_manifest,
    resolve_all,
)
from codedesk.settings import Settings, fiscal_year_of

if TYPE_CHECKING:  # the document builders import the PDF parser (~1.5 s): only `collect` needs them
    from codedesk.ingest.documents import Doc

log = logging.getLogger(__name__)


def resolved_sources(settings: Settings) -> list[ResolvedSource]:
    resolved = resolve_all(load_manifest(), settings.cms_data_dir)
    if settings.team_guidelines_dir:  # the team's own folder replaces the repo's
        folder = Path(settings.team_guidelines_dir)
        resolved = [
            ResolvedSource(
                r.source,
                folder,
                "found" if folder.is_dir() else "missing",
                ""
                if folder.is_dir()
                else f"{folder} is not a folder (CODEDESK_TEAM_GUIDELINES_DIR)",
            )
            if r.source.kind == "team"
            else r
            for r in resolved
        ]
    return resolved


def fetch_year(source: Source) -> str:
    """The fiscal year whose `codedesk fetch --year` brings this source (an HCPCS quarter: the year it starts in)."""
    period = source.period
    return fiscal_year_of(period[0]) if period else "-"


def _guidelines(path: Path, fy: str) -> list[Doc]:
    from codedesk.cms.guidelines_pdf import chunk_sections, parse_guidelines_pdf
    from codedesk.ingest.documents import guideline_docs

    return guideline_docs(chunk_sections(parse_guidelines_pdf(path)), fy)


def _index(path: Path, fy: str) -> list[Doc]:
    from codedesk.cms.index_xml import parse_index_xml
    from codedesk.ingest.documents import index_docs

    return index_docs(parse_index_xml(path), fy)


def _addenda(path: Path, fy: str) -> list[Doc]:
    from codedesk.cms.addenda import parse_addenda
    from codedesk.ingest.documents import addenda_docs

    return addenda_docs(parse_addenda(path), fy)


def _hcpcs(path: Path, fy: str) -> list[Doc]:
    from codedesk.cms.hcpcs import parse_hcpcs
    from codedesk.ingest.documents import hcpcs_docs

    return hcpcs_docs(parse_hcpcs(path), fy)


def _team(path: Path, fy: str) -> list[Doc]:
    from codedesk.ingest.team import load_team_guidelines, to_docs

    return to_docs(load_team_guidelines(path), fy)


PARSERS: dict[str, Callable[[Path, str], list[Doc]]] = {
    "guidelines_pdf": _guidelines,
    "index": _index,
    "external_cause_index": _index,
    "drug_table": _index,
    "neoplasm_table": _index,
    "addenda": _addenda,
    "hcpcs": _hcpcs,
    "team": _team,
}


def to_ingest(
    resolved: list[ResolvedSource], cms_data_dir: Path | None
) -> tuple[list[ResolvedSource], list[str]]:
    """The found sources ingest reads, and a notice for each optional one missing (one per fiscal year for
    CMS files). Read: one addenda file per year (the first listed: both layouts hold the same changes), the
    newest HCPCS file found (listed newest first), the packaged ICD-10-PCS tables. Not read here: Tabular
    Lists (retrieval.books reads them), and a fetched PCS code list (kept for reference; PCS answers come
    from the packaged tables). Raises SourceError when a required source is missing."""
    chosen: list[ResolvedSource] = []
    notices: list[str] = []
    missing: dict[str, list[Source]] = {}  # fiscal year -> optional CMS files not found
    seen: set[tuple[str, str]] = (
        set()
    )  # (kind, year) of addenda; ("hcpcs", "") and ("pcs", "") once
    for r in resolved:
        src = r.source
        if not r.found:
            if not src.optional:
                raise SourceError(r.path or src.location, f"required source missing: {r.reason}")
            if src.scheme == "cms" and cms_data_dir:
                missing.setdefault(fetch_year(src), []).append(src)
            elif src.scheme != "cms":  # one notice covers "CODEDESK_CMS_DATA_DIR is not set"
                notices.append(f"{src.title}: not found ({r.reason})")
            continue
        if src.kind == "tabular" or (src.kind == "pcs" and src.scheme == "cms"):
            continue
        key = (src.kind, src.fiscal_year or "") if src.kind == "addenda" else (src.kind, "")
        if src.kind in ("addenda", "hcpcs", "pcs"):
            if key in seen:
                continue
            seen.add(key)
        chosen.append(r)
    for fy, srcs in sorted(missing.items(), reverse=True):
        how = (
            f"`codedesk fetch --year {fy}` downloads them"
            if any(s.url for s in srcs)
            else "no download address is recorded: see each source's page"
        )
        notices.append(
            f"FY{fy}: {len(srcs)} official file(s) not found under {cms_data_dir} "
            f"({', '.join(s.id for s in srcs)}); {how}"
        )
    if not cms_data_dir:
        notices.append(
            "CODEDESK_CMS_DATA_DIR is not set: only the embedded sources (FY2026 Tabular List, "
            "ICD-10-PCS, team guidelines) are ingested"
        )
    return chosen, notices


def collect(settings: Settings) -> tuple[list[Doc], dict[str, int], list[str]]:
    """(documents, count per source id, notices)."""
    from codedesk.ingest.tabular_docs import tabular_docs

    docs: list[Doc] = []
    per_source: dict[str, int] = {}
    for fy, book in load_books(settings).items():
        found = tabular_docs(book)
        per_source[f"tabular-fy{fy}"] = len(found)
        docs.extend(found)
    chosen, notices = to_ingest(resolved_sources(settings), settings.cms_data_dir)
    for r in chosen:
        src = r.source
        fy = src.fiscal_year or settings.fiscal_year
        if src.kind == "pcs":
            from dataclasses import replace

            from codedesk.cms.pcs import load_pcs
            from codedesk.ingest.documents import pcs_docs

            # code titles stay in the package database (retrieval.procedures reads them)
            found = pcs_docs(replace(load_pcs(), codes=[]), fy)
        else:
            found = PARSERS[src.kind](r.path, fy)
        per_source[src.id] = len(found)
        docs.extend(found)
    return docs, per_source, notices


@dataclass(slots=True)
class SourceGroup:
    """The sources of one fiscal year (or the HCPCS quarters, or the team's files) for `codedesk sources`."""

    title: str  # "FY2027", "HCPCS Level II", "Team"
    fiscal_year: str | None  # for a fiscal-year group
    period: tuple[date, date] | None  # of the fiscal year
    in_effect: bool  # the fiscal year in effect on the day asked
    sources: list[ResolvedSource]


def group_by_year(resolved: list[ResolvedSource], today: date) -> list[SourceGroup]:
    """Fiscal years newest first, then the HCPCS files (calendar quarters), then sources of no year."""
    years: dict[str, list[ResolvedSource]] = {}
    hcpcs: list[ResolvedSource] = []
    other: list[ResolvedSource] = []
    for r in resolved:
        if r.source.effective_from:
            hcpcs.append(r)
        elif r.source.fiscal_year:
            years.setdefault(r.source.fiscal_year, []).append(r)
        else:
            other.append(r)
    current = fiscal_year_of(today)
    groups = [
        SourceGroup(f"FY{fy}", fy, fiscal_year_period(fy), fy == current, years[fy])
        for fy in sorted(years, reverse=True)
    ]
    if hcpcs:
        groups.append(SourceGroup("HCPCS Level II (quarterly files)", None, None, False, hcpcs))
    if other:
        groups.append(SourceGroup("Any year", None, None, False, other))
    return groups
