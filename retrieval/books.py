"""Which Tabular List files this install answers from, by fiscal year."""

from __future__ import annotations

from pathlib import Path

from codedesk.settings import Settings
from retrieval.codebook import CodeBook, embedded_tabular_path, load_codebook

# Tabular files looked for under CODEDESK_CMS_DATA_DIR, beside the embedded FY2026 default.
CMS_TABULAR = {"2025": "cms/fy2025/icd10cm-tabular-April-2025.xml"}


def tabular_paths(settings: Settings) -> dict[str, Path]:
    """{fiscal year: Tabular XML}. The default year comes from CODEDESK_TABULAR_XML or the package."""
    paths = {settings.fiscal_year: settings.tabular_xml or embedded_tabular_path()}
    if settings.cms_data_dir:
        for fy, rel in CMS_TABULAR.items():
            path = settings.cms_data_dir / rel
            if path.is_file() and fy not in paths:
                paths[fy] = path
    return paths


def load_books(settings: Settings, years: list[str] | None = None) -> dict[str, CodeBook]:
    paths = tabular_paths(settings)
    return {fy: load_codebook(path, settings.cache_dir, fy) for fy, path in paths.items()
            if years is None or fy in years}
