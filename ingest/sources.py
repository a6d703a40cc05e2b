"""Every source the ingest job reads, turned into documents. A missing optional source is a notice;
a corrupt one raises `SourceError` before anything is written."""

from __future__ import annotations

import logging

from codedesk.settings import Settings
from ingest.documents import Doc
from ingest.tabular_docs import tabular_docs
from retrieval.books import load_books

log = logging.getLogger(__name__)


def collect(settings: Settings) -> tuple[list[Doc], dict[str, int], list[str]]:
    docs: list[Doc] = []
    per_source: dict[str, int] = {}
    notices: list[str] = []
    for fy, book in load_books(settings).items():
        found = tabular_docs(book)
        per_source[f"tabular FY{fy}"] = len(found)
        docs.extend(found)
    if not settings.cms_data_dir:
        notices.append("CODEDESK_CMS_DATA_DIR is not set: only the embedded FY2026 Tabular List is ingested")
    return docs, per_source, notices
