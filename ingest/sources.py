"""Every source of the manifest (`guidelines/sources.toml`) turned into index documents.

A missing optional source is a one-line notice; a corrupt one raises `SourceError` naming the file
before anything is written, so the serving index is never disturbed.

What goes into Chroma: every document with a vector (codes, guideline chunks, team guidelines,
index main terms, PCS root operations/approaches/guidelines), the Tabular List notes, addenda,
HCPCS codes and table cells as lexical documents. The ~79k ICD-10-PCS code titles are not copied
into Chroma: they are served from the package's own database by `retrieval.procedures`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from codedesk.errors import SourceError
from codedesk.settings import Settings
from ingest.documents import Doc
from ingest.manifest import ResolvedSource, load_manifest, resolve_all
from ingest.tabular_docs import tabular_docs
from retrieval.books import load_books

log = logging.getLogger(__name__)


def resolved_sources(settings: Settings) -> list[ResolvedSource]:
    resolved = resolve_all(load_manifest(), settings.cms_data_dir)
    if settings.team_guidelines_dir:  # the team's own folder replaces the repo's
        folder = Path(settings.team_guidelines_dir)
        resolved = [ResolvedSource(r.source, folder, "found" if folder.is_dir() else "missing",
                                   "" if folder.is_dir() else f"{folder} is not a folder (CODEDESK_TEAM_GUIDELINES_DIR)")
                    if r.source.kind == "team" else r for r in resolved]
    return resolved


def _guidelines(path: Path, fy: str) -> list[Doc]:
    from ingest.guidelines_pdf import chunk_sections, parse_guidelines_pdf, to_docs

    return to_docs(chunk_sections(parse_guidelines_pdf(path)), fy)


def _index(path: Path, fy: str) -> list[Doc]:
    from ingest.index_xml import parse_index_xml, to_docs

    return to_docs(parse_index_xml(path), fy)


def _addenda(path: Path, fy: str) -> list[Doc]:
    from ingest.addenda import parse_addenda, to_docs

    return to_docs(parse_addenda(path), fy)


def _hcpcs(path: Path, fy: str) -> list[Doc]:
    from ingest.hcpcs import parse_hcpcs, to_docs

    return to_docs(parse_hcpcs(path), fy)


def _team(path: Path, fy: str) -> list[Doc]:
    from ingest.team import load_team_guidelines, to_docs

    return to_docs(load_team_guidelines(path), fy)


PARSERS: dict[str, Callable[[Path, str], list[Doc]]] = {
    "guidelines_pdf": _guidelines, "index": _index, "external_cause_index": _index, "drug_table": _index,
    "neoplasm_table": _index, "addenda": _addenda, "hcpcs": _hcpcs, "team": _team,
}


def collect(settings: Settings) -> tuple[list[Doc], dict[str, int], list[str]]:
    """(documents, count per source id, notices)."""
    docs: list[Doc] = []
    per_source: dict[str, int] = {}
    notices: list[str] = []
    for fy, book in load_books(settings).items():
        found = tabular_docs(book)
        per_source[f"tabular-fy{fy}"] = len(found)
        docs.extend(found)
    addenda_years: set[str] = set()
    pcs_done = False
    for r in resolved_sources(settings):
        src = r.source
        if src.kind == "tabular":
            continue  # read above through retrieval.books, which the answers use too
        if not r.found:
            if src.optional:
                if src.scheme != "cms" or settings.cms_data_dir:  # one notice below covers "not set"
                    notices.append(f"{src.title}: not found ({r.reason})")
                continue
            raise SourceError(r.path or src.location, f"required source missing: {r.reason}")
        fy = src.fiscal_year or settings.fiscal_year
        if src.kind == "pcs":
            if pcs_done:
                continue
            from dataclasses import replace

            from ingest.pcs import load_pcs, to_docs

            pcs_done = True  # code titles stay in the package database (retrieval.procedures reads them)
            found = to_docs(replace(load_pcs(), codes=[]), fy)
        elif src.kind == "addenda":
            if fy in addenda_years:  # both layouts describe the same changes: the first listed wins
                continue
            addenda_years.add(fy)
            found = PARSERS[src.kind](r.path, fy)
        else:
            found = PARSERS[src.kind](r.path, fy)
        per_source[src.id] = len(found)
        docs.extend(found)
    if not settings.cms_data_dir:
        notices.append("CODEDESK_CMS_DATA_DIR is not set: only the embedded sources (FY2026 Tabular List, "
                       "ICD-10-PCS, team guidelines) are ingested")
    return docs, per_source, notices
