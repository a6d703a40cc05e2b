"""Which of the manifest's sources ingest reads, and the notices for the missing ones (ingest.sources)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codedesk.errors import SourceError
from codedesk.ingest.manifest import load_manifest, resolve_all
from codedesk.ingest.sources import to_ingest


def test_one_addenda_file_per_year_and_a_notice_per_missing_year(cms_data_dir: Path) -> None:
    chosen, notices = to_ingest(resolve_all(load_manifest(), cms_data_dir), cms_data_dir)
    ids = [r.source.id for r in chosen]
    assert (
        "addenda-order-fy2025" in ids and "addenda-codes-fy2025" not in ids
    )  # same changes, one layout
    assert "addenda-codes-fy2027" in ids  # the only FY2027 file in the shared data
    assert (
        "hcpcs-2020" in ids
        and "pcs-fy2025-embedded" in ids
        and "pcs-codes-fy2024-embedded" not in ids
    )
    assert not any(r.source.kind == "tabular" for r in chosen)  # retrieval.books reads those
    [fy27] = [n for n in notices if n.startswith("FY2027:")]
    assert f"not found under {cms_data_dir}" in fy27 and "tabular-fy2027" in fy27
    assert fy27.endswith("`codedesk fetch --year 2027` downloads them")
    assert not any(
        n.startswith("FY2025:") for n in notices
    )  # every FY2025 file is in the shared data


def test_the_newest_hcpcs_file_found_is_read(tmp_path: Path, cms_data_dir: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(cms_data_dir / "cms/hcpcs-2020", data / "cms/hcpcs-2020")
    (data / "cms/hcpcs-2026-oct").mkdir(parents=True)
    shutil.copy(
        cms_data_dir / "cms/hcpcs-2020/HCPC2020_ANWEB_w_disclaimer.txt",
        data / "cms/hcpcs-2026-oct/HCPC2026_OCT_ANWEB.txt",
    )
    chosen, notices = to_ingest(resolve_all(load_manifest(), data), data)
    assert [r.source.id for r in chosen if r.source.kind == "hcpcs"] == ["hcpcs-2026-oct"]
    assert any(n.startswith("FY2025:") and "fetch --year 2025" in n for n in notices)


def test_without_a_cms_folder_one_notice_and_a_missing_required_source_is_an_error(
    tmp_path: Path,
) -> None:
    chosen, notices = to_ingest(resolve_all(load_manifest(), None), None)
    assert {r.source.scheme for r in chosen} == {"package", "repo"}
    assert notices == [
        "CODEDESK_CMS_DATA_DIR is not set: only the embedded sources (FY2026 Tabular List, "
        "ICD-10-PCS, team guidelines) are ingested"
    ]
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[[source]]\nid = "x"\nkind = "hcpcs"\nlocation = "cms:x.txt"\ntitle = "X"\noptional = false\n'
    )
    with pytest.raises(SourceError, match="required source missing"):
        to_ingest(resolve_all(load_manifest(manifest), tmp_path), tmp_path)
