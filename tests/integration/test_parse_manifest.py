"""The source manifest: loading, resolving against CODEDESK_CMS_DATA_DIR, checksums."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from codedesk.errors import SourceError
from codedesk.ingest.manifest import (
    KINDS,
    fiscal_year_period,
    load_manifest,
    resolve,
    resolve_all,
    verify_checksum,
)
from codedesk.settings import Settings


def test_manifest_lists_every_kind_and_the_tabulars() -> None:
    sources = load_manifest()
    kinds = {s.kind for s in sources}
    assert kinds == set(KINDS)
    by_id = {s.id: s for s in sources}
    assert (
        by_id["tabular-fy2026-embedded"].location
        == "package:simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml"
    )
    assert by_id["tabular-fy2025"].location == "cms:cms/fy2025/icd10cm-tabular-April-2025.xml"
    assert not by_id["tabular-fy2026-embedded"].optional


def test_resolve_with_shared_data(cms_data_dir: Path) -> None:
    resolved = {r.source.id: r for r in resolve_all(load_manifest(), cms_data_dir)}
    assert (
        resolved["tabular-fy2026-embedded"].found
        and resolved["tabular-fy2026-embedded"].version == "1.5.0"
    )
    assert resolved["pcs-fy2025-embedded"].found and resolved["team-guidelines"].found
    assert (
        resolved["guidelines-fy2025"].path
        == cms_data_dir / "cms/fy2025/icd10cm-guidelines-fy2025.pdf"
    )
    # the Alphabetic Index is in the shared data: a rebuilt copy, so no CMS checksum is recorded for it
    assert resolved["index-fy2025"].found and resolved["index-fy2025"].source.sha256 is None
    for r in resolved.values():  # every recorded checksum matches the shared file
        assert verify_checksum(r) in (True, None), r.source.id
    assert verify_checksum(resolved["drug-fy2025"]) is True
    # the FY2027 codes addenda are in the shared data; the rest of FY2027 is fetched by a deploying team
    assert (
        resolved["addenda-codes-fy2027"].path
        == cms_data_dir / "cms/fy2027/icd10cm_codes_addenda_2027.txt"
    )
    assert resolved["addenda-codes-fy2027"].found and not resolved["tabular-fy2027"].found


def test_manifest_lists_the_fy2026_and_fy2027_downloads_and_the_current_hcpcs() -> None:
    sources = load_manifest()
    by_id = {s.id: s for s in sources}
    wanted = {
        "index",
        "external_cause_index",
        "drug_table",
        "neoplasm_table",
        "guidelines_pdf",
        "addenda",
        "pcs",
    }
    for fy in ("2026", "2027"):
        kinds = {s.kind for s in sources if s.fiscal_year == fy and s.scheme == "cms"}
        assert wanted <= kinds, fy
    assert (
        by_id["tabular-fy2027"].url
        == "https://www.cms.gov/files/zip/2027-code-tables-tabular-and-index.zip"
    )
    assert (
        by_id["guidelines-fy2026"].url
        == "https://www.cms.gov/files/document/fy-2026-icd-10-cm-coding-guidelines.pdf"
    )
    codes27 = by_id["addenda-codes-fy2027"]
    assert (codes27.kind, codes27.fiscal_year, codes27.location) == (
        "addenda",
        "2027",
        "cms:cms/fy2027/icd10cm_codes_addenda_2027.txt",
    )
    assert codes27.sha256 is None  # a transcribed copy: verified by its trailer, not a checksum
    assert "https://www.cms.gov/files/zip/2027-addendum.zip" in codes27.also_at
    for s in sources:  # every download is an official CMS address, with the page to check it on
        if s.url:
            assert s.url.startswith("https://www.cms.gov/files/") and s.page.startswith(
                "https://www.cms.gov/"
            ), s.id
    hcpcs = by_id["hcpcs-2026-oct"]
    assert hcpcs.in_effect(date(2026, 12, 2)) and not hcpcs.in_effect(date(2027, 1, 1))
    assert hcpcs.overlaps("2027") and not hcpcs.overlaps("2026")
    assert by_id["addenda-codes-fy2027"].in_effect(date(2026, 10, 1))
    assert not by_id["addenda-codes-fy2027"].in_effect(date(2026, 9, 30))
    assert fiscal_year_period("2027") == (date(2026, 10, 1), date(2027, 9, 30))
    assert by_id["team-guidelines"].period is None


def test_fetched_files_land_where_the_code_books_are_read(tmp_path: Path) -> None:
    """Each Tabular List and addenda location of the manifest is the one retrieval.books looks for."""
    from codedesk.cms.addenda import find_addenda
    from codedesk.cms.books import tabular_paths

    sources = [s for s in load_manifest() if s.scheme == "cms" and s.kind in ("tabular", "addenda")]
    for s in sources:
        path = tmp_path / s.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        assert re.fullmatch(rf"cms/fy{s.fiscal_year}/[^/]+", s.relative_path), s.id
    tabulars = tabular_paths(Settings(cms_data_dir=tmp_path, _env_file=None))
    for s in sources:
        if s.kind == "tabular":
            assert tabulars[s.fiscal_year] == tmp_path / s.relative_path
    addenda = find_addenda(tmp_path)
    assert {s.fiscal_year for s in sources if s.kind == "addenda"} == set(addenda)
    for fy, path in addenda.items():  # the order layout is preferred where both are present
        assert path.name == f"icd10cm_order_addenda_{fy}.txt"


def test_resolve_without_cms_dir() -> None:
    for r in resolve_all(load_manifest(), None):
        if r.source.scheme == "cms":
            assert r.status == "missing" and r.reason == "CODEDESK_CMS_DATA_DIR is not set"
        else:
            assert r.found, r.source.id


def test_missing_package_and_bad_checksum(tmp_path: Path) -> None:
    manifest = tmp_path / "sources.toml"
    manifest.write_text(
        '''
[[source]]
id = "ghost"
kind = "pcs"
location = "package:no_such_package_here/data.db"
title = "Ghost"

[[source]]
id = "drug"
kind = "drug_table"
location = "cms:drug.xml"
title = "Drug table"
fiscal_year = "2025"
sha256 = "'''
        + "0" * 64
        + """"
"""
    )
    (tmp_path / "drug.xml").write_text("<ICD10CM.index/>")
    ghost, drug = [resolve(s, tmp_path) for s in load_manifest(manifest)]
    assert ghost.status == "missing" and "not installed" in ghost.reason
    assert drug.found and verify_checksum(drug) is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[source]]\nid = "a"\nkind = "movies"\nlocation = "cms:a"\ntitle = "A"\n',
            "kind 'movies'",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "/etc/passwd"\ntitle = "A"\n',
            "location must be",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:../x"\ntitle = "A"\n',
            "location must be",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\nsha = "x"\n',
            "unknown field",
        ),
        ('[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\n', "'title' is required"),
        ("[[source]\n", "not valid TOML"),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\neffective_to = 2026-12-31\n',
            "effective_to needs effective_from",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\neffective_from = "October"\n',
            "effective_from must be a date",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\neffective_from = 2026-12-31\n'
            "effective_to = 2026-10-01\n",
            "effective_to is before effective_from",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\nurl = "u"\nalso_at = "v"\n',
            "also_at must be a list",
        ),
        (
            '[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\nalso_at = ["v"]\n',
            "also_at needs url",
        ),
    ],
)
def test_bad_manifest(tmp_path: Path, body: str, message: str) -> None:
    manifest = tmp_path / "sources.toml"
    manifest.write_text(body)
    with pytest.raises(SourceError, match=message) as err:
        load_manifest(manifest)
    assert str(manifest) in str(err.value)
