"""Shared fixtures. Tests that need the real CMS files fail (not skip) under CI when they are missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# A fixed clock: with no year and no date of service a question is answered in the fiscal year in effect
# "today" (codedesk.settings). The suite's answers were written for FY2026, so today is a day in FY2026;
# tests of the year rule set their own date (Settings(today=…)).
os.environ.setdefault("CODEDESK_TODAY", "2026-06-15")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cms_data_dir() -> Path:
    """`CODEDESK_CMS_DATA_DIR`, or ../shared/data beside the repo."""
    path = Path(os.environ.get("CODEDESK_CMS_DATA_DIR") or REPO.parent / "shared" / "data")
    if not (path / "cms").is_dir():
        message = f"real CMS data not found at {path}: set CODEDESK_CMS_DATA_DIR"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def fy2025_dir(cms_data_dir: Path) -> Path:
    return cms_data_dir / "cms" / "fy2025"


@pytest.fixture(scope="session")
def codebook():
    """The embedded FY2026 code book, parsed once per test session."""
    from codedesk.cms.codebook import load_codebook

    return load_codebook()


def small_tabular(path: Path, chapters: tuple[str, ...] = ("4", "14")) -> Path:
    """A real FY2026 Tabular List cut down to some chapters (fast to embed), written to `path`."""
    from lxml import etree

    from codedesk.cms.codebook import embedded_tabular_path

    tree = etree.parse(str(embedded_tabular_path()))
    root = tree.getroot()
    for ch in root.findall("chapter"):
        if ch.findtext("name").strip() not in chapters:
            root.remove(ch)
    tree.write(str(path), xml_declaration=True, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory):
    """Settings whose home holds an index of the full embedded FY2026 Tabular List (built once)."""
    from codedesk.ingest.run import ingest
    from codedesk.settings import Settings

    home = tmp_path_factory.mktemp("full-index")
    settings = Settings(home=home, cms_data_dir=None, _env_file=None)
    ingest(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def full_answerer(full_index):
    from codedesk.retrieval.service import build_answerer

    return build_answerer(full_index)
