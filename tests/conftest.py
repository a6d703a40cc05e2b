"""Shared fixtures. Tests that need the real CMS files fail (not skip) under CI when they are missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

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
    from retrieval.codebook import load_codebook

    return load_codebook()
