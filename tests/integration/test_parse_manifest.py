"""The source manifest: loading, resolving against CODEDESK_CMS_DATA_DIR, checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from codedesk.errors import SourceError
from ingest.manifest import KINDS, load_manifest, resolve, resolve_all, verify_checksum


def test_manifest_lists_every_kind_and_the_tabulars() -> None:
    sources = load_manifest()
    kinds = {s.kind for s in sources}
    assert kinds == set(KINDS)
    by_id = {s.id: s for s in sources}
    assert by_id["tabular-fy2026-embedded"].location == \
        "package:simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml"
    assert by_id["tabular-fy2025"].location == "cms:cms/fy2025/icd10cm-tabular-April-2025.xml"
    assert not by_id["tabular-fy2026-embedded"].optional


def test_resolve_with_shared_data(cms_data_dir: Path) -> None:
    resolved = {r.source.id: r for r in resolve_all(load_manifest(), cms_data_dir)}
    assert resolved["tabular-fy2026-embedded"].found and resolved["tabular-fy2026-embedded"].version == "1.5.0"
    assert resolved["pcs-fy2025-embedded"].found and resolved["team-guidelines"].found
    assert resolved["guidelines-fy2025"].path == cms_data_dir / "cms/fy2025/icd10cm-guidelines-fy2025.pdf"
    # the Alphabetic Index is in the shared data: a rebuilt copy, so no CMS checksum is recorded for it
    assert resolved["index-fy2025"].found and resolved["index-fy2025"].source.sha256 is None
    for r in resolved.values():  # every recorded checksum matches the shared file
        assert verify_checksum(r) in (True, None), r.source.id
    assert verify_checksum(resolved["drug-fy2025"]) is True


def test_resolve_without_cms_dir() -> None:
    for r in resolve_all(load_manifest(), None):
        if r.source.scheme == "cms":
            assert r.status == "missing" and r.reason == "CODEDESK_CMS_DATA_DIR is not set"
        else:
            assert r.found, r.source.id


def test_missing_package_and_bad_checksum(tmp_path: Path) -> None:
    manifest = tmp_path / "sources.toml"
    manifest.write_text('''
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
sha256 = "''' + "0" * 64 + '''"
''')
    (tmp_path / "drug.xml").write_text("<ICD10CM.index/>")
    ghost, drug = [resolve(s, tmp_path) for s in load_manifest(manifest)]
    assert ghost.status == "missing" and "not installed" in ghost.reason
    assert drug.found and verify_checksum(drug) is False


@pytest.mark.parametrize(("body", "message"), [
    ('[[source]]\nid = "a"\nkind = "movies"\nlocation = "cms:a"\ntitle = "A"\n', "kind 'movies'"),
    ('[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "/etc/passwd"\ntitle = "A"\n', "location must be"),
    ('[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:../x"\ntitle = "A"\n', "location must be"),
    ('[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\ntitle = "A"\nsha = "x"\n', "unknown field"),
    ('[[source]]\nid = "a"\nkind = "hcpcs"\nlocation = "cms:a"\n', "'title' is required"),
    ('[[source]\n', "not valid TOML"),
])
def test_bad_manifest(tmp_path: Path, body: str, message: str) -> None:
    manifest = tmp_path / "sources.toml"
    manifest.write_text(body)
    with pytest.raises(SourceError, match=message) as err:
        load_manifest(manifest)
    assert str(manifest) in str(err.value)
