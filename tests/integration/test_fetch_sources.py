"""`codedesk fetch` against a local HTTP server serving ZIPs built from the real CMS files, and `codedesk sources`."""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import threading
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.cli import app
from codedesk.ingest.fetch import select
from codedesk.ingest.manifest import MANIFEST_PATH, load_manifest

CMS = "https://www.cms.gov"


@pytest.fixture()
def http_root(tmp_path: Path):
    """(folder served, base address, paths requested) of a server on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            requested.append(self.path)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", requested
    server.shutdown()


def _zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _local_manifest(tmp_path: Path, base: str) -> Path:
    """The real manifest with CMS's host replaced by the local server."""
    path = tmp_path / "sources.toml"
    path.write_text(MANIFEST_PATH.read_text(encoding="utf-8").replace(CMS, base), encoding="utf-8")
    return path


def _env(monkeypatch, tmp_path: Path, data: Path, today: str = "2026-12-02") -> None:
    monkeypatch.setenv("CODEDESK_CMS_DATA_DIR", str(data))
    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CODEDESK_TODAY", today)


def _lines(output: str) -> dict[str, str]:
    return {
        line.split()[1]: line for line in output.splitlines() if line.startswith(("ok  ", "FAIL"))
    }


def test_fetch_year_2027_installs_the_addenda_verified_by_its_trailer(
    http_root, tmp_path: Path, monkeypatch, cms_data_dir: Path
) -> None:
    root, base, requested = http_root
    real = cms_data_dir / "cms/fy2027/icd10cm_codes_addenda_2027.txt"
    # only in the Addendum ZIP (tried after the Code Descriptions ZIP), in a folder, as CMS packs it
    _zip(
        root / "files/zip/2027-addendum.zip",
        {"2027 Addendum/icd10cm_codes_addenda_2027.txt": real.read_bytes()},
    )
    data = tmp_path / "data"
    _env(monkeypatch, tmp_path, data)
    result = CliRunner().invoke(
        app,
        [
            "fetch",
            "--year",
            "2027",
            "--manifest",
            str(_local_manifest(tmp_path, base)),
            "--timeout",
            "5",
        ],
    )
    assert result.exit_code == 1, result.output  # the other FY2027 files are not served
    lines = _lines(result.output)
    installed = data / "cms/fy2027/icd10cm_codes_addenda_2027.txt"
    assert installed.read_bytes() == real.read_bytes()
    assert lines["addenda-codes-fy2027:"].startswith("ok ")
    assert (
        "addenda trailer agrees: 190 added, 30 deleted, 4 revised; 74,719 codes in FY2026 → 74,879 in FY2027"
        in lines["addenda-codes-fy2027:"]
    )
    # every source in effect during FY2027 was tried: its ICD-10 files and the HCPCS quarter starting with it
    assert set(lines) == {f"{s.id}:" for s in select(load_manifest(), year="2027")}
    assert (
        "hcpcs-2026-oct:" in lines
        and "tabular-fy2027:" in lines
        and "addenda-codes-fy2026:" not in lines
    )
    assert (
        f"download it by hand from {base}/medicare/coding-billing/icd-10-codes into {data}"
        in lines["tabular-fy2027:"]
    )
    assert lines["tabular-fy2027:"].endswith(
        "(manifest note: address by CMS's yearly naming, not yet checked against the page)"
    )
    assert "1 saved" in result.output
    # one download per address: the Tabular and Index ZIP serves five sources
    assert requested.count("/files/zip/2027-code-tables-tabular-and-index.zip") == 1
    assert not list(data.rglob("*.part"))


def test_fetch_year_2025_verifies_checksums_and_the_index_by_its_content(
    http_root, tmp_path: Path, monkeypatch, fy2025_dir: Path
) -> None:
    root, base, requested = http_root
    real = {p.name: p.read_bytes() for p in fy2025_dir.iterdir()}
    _zip(
        root / "files/zip/2025-code-tables-tabular-and-index.zip",
        {
            f"Table and Index/{n}": real[n]
            for n in (
                "icd10cm-index-2025.xml",
                "icd10cm-eindex-2025.xml",
                "icd10cm-drug-2025.xml",
                "icd10cm-neoplasm-2025.xml",
            )
        },
    )
    _zip(
        root / "files/zip/2025-code-tables-tabular-and-index-april.zip",
        {"icd10cm-tabular-April-2025.xml": real["icd10cm-tabular-April-2025.xml"]},
    )
    _zip(
        root / "files/zip/2025-addendum.zip",
        {n: real[n] for n in ("icd10cm_order_addenda_2025.txt", "icd10cm_codes_addenda_2025.txt")},
    )
    (root / "files/document").mkdir(parents=True)
    (root / "files/document/fy-2025-icd-10-cm-coding-guidelines.pdf").write_bytes(
        real["icd10cm-guidelines-fy2025.pdf"]
    )
    data = tmp_path / "data"
    _env(monkeypatch, tmp_path, data)
    result = CliRunner().invoke(
        app, ["fetch", "--year", "2025", "--manifest", str(_local_manifest(tmp_path, base))]
    )
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    for sid in (
        "tabular-fy2025",
        "guidelines-fy2025",
        "drug-fy2025",
        "neoplasm-fy2025",
        "eindex-fy2025",
        "addenda-order-fy2025",
        "addenda-codes-fy2025",
    ):
        assert "checksum verified" in lines[f"{sid}:"], lines[f"{sid}:"]
    # the Alphabetic Index has no recorded checksum: its own content is checked
    assert "no checksum recorded; XML version 2025, 81,024 index entries" in lines["index-fy2025:"]
    for name in real:
        if name.endswith(".xsd"):
            continue
        assert (data / "cms/fy2025" / name).read_bytes() == real[name], name
    assert requested.count("/files/zip/2025-code-tables-tabular-and-index.zip") == 1


def test_a_damaged_or_wrong_year_addenda_file_is_refused(
    http_root, tmp_path: Path, monkeypatch, cms_data_dir: Path
) -> None:
    root, base, _ = http_root
    real = (cms_data_dir / "cms/fy2027/icd10cm_codes_addenda_2027.txt").read_text(encoding="utf-8")
    lines = real.splitlines(keepends=True)
    truncated = "".join(
        line for n, line in enumerate(lines) if not (line.startswith("Add:") and n % 40 == 0)
    )
    assert truncated != real
    _zip(
        root / "files/zip/2027-code-descriptions-tabular-order.zip",
        {"icd10cm_codes_addenda_2027.txt": truncated.encode()},
    )
    last_year = (cms_data_dir / "cms/fy2025/icd10cm_codes_addenda_2025.txt").read_bytes()
    _zip(root / "files/zip/2027-addendum.zip", {"icd10cm_codes_addenda_2027.txt": last_year})
    data = tmp_path / "data"
    (data / "cms/fy2027").mkdir(parents=True)
    (data / "cms/fy2027/icd10cm_codes_addenda_2027.txt").write_text(real, encoding="utf-8")
    _env(monkeypatch, tmp_path, data)
    manifest = _local_manifest(tmp_path, base)
    result = CliRunner().invoke(
        app, ["fetch", "--only", "addenda-codes-fy2027", "--manifest", str(manifest)]
    )
    assert result.exit_code == 1
    message = _lines(result.output)["addenda-codes-fy2027:"]
    assert "is not the expected file" in message and "the file was not saved" in message
    assert re.search(r"the trailer counts 190 additions \(codes\), the file lists 18\d", message), (
        message
    )
    assert (data / "cms/fy2027/icd10cm_codes_addenda_2027.txt").read_text(encoding="utf-8") == real
    # the same member holding last year's file: the trailer names the years
    (root / "files/zip/2027-code-descriptions-tabular-order.zip").unlink()
    result = CliRunner().invoke(
        app, ["fetch", "--only", "addenda-codes-fy2027", "--manifest", str(manifest)]
    )
    assert "the trailer describes FY2024 to FY2025, not FY2026 to FY2027" in result.output
    assert (data / "cms/fy2027/icd10cm_codes_addenda_2027.txt").read_text(encoding="utf-8") == real


def _manifest(path: Path, url: str, member: str, sha: str, plain_url: str) -> Path:
    path.write_text(
        f'''
[[source]]
id = "drug-test"
kind = "drug_table"
location = "cms:cms/fy2099/drug.xml"
fiscal_year = "2099"
title = "Drug table (test)"
url = "{url}"
archive_member = "{member}"
sha256 = "{sha}"

[[source]]
id = "hcpcs-test"
kind = "hcpcs"
location = "cms:cms/hcpcs-2099/HCPC2099_JAN_ANWEB.txt"
fiscal_year = "2099"
effective_from = 2099-01-01
effective_to = 2099-03-31
title = "HCPCS (test)"
url = "{plain_url}"
archive_member = "hcpc2020_anweb*.TXT"
''',
        encoding="utf-8",
    )
    return path


def test_fetch_by_checksum_and_a_member_found_by_pattern(
    http_root, tmp_path: Path, monkeypatch, cms_data_dir: Path
) -> None:
    root, base, _ = http_root
    payload = (cms_data_dir / "cms/fy2025/icd10cm-drug-2025.xml").read_bytes()
    _zip(root / "tables.zip", {"tables/drug.xml": payload})
    hcpcs = cms_data_dir / "cms/hcpcs-2020/HCPC2020_ANWEB_w_disclaimer.txt"
    _zip(
        root / "hcpcs.zip",
        {"HCPC2020_ANWEB_w_disclaimer.txt": hcpcs.read_bytes(), "README.txt": b"layout"},
    )
    manifest = _manifest(
        tmp_path / "m.toml",
        f"{base}/tables.zip",
        "drug.xml",
        hashlib.sha256(payload).hexdigest(),
        f"{base}/hcpcs.zip",
    )
    data = tmp_path / "data"
    _env(monkeypatch, tmp_path, data)
    result = CliRunner().invoke(app, ["fetch", "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert (data / "cms/fy2099/drug.xml").read_bytes() == payload
    assert (data / "cms/hcpcs-2099/HCPC2099_JAN_ANWEB.txt").read_bytes() == hcpcs.read_bytes()
    lines = _lines(result.output)
    assert "checksum verified" in lines["drug-test:"]
    assert "no checksum recorded; 7,079 HCPCS Level II codes and modifiers" in lines["hcpcs-test:"]


def test_fetch_refuses_a_file_with_the_wrong_checksum(
    http_root, tmp_path: Path, monkeypatch
) -> None:
    root, base, _ = http_root
    _zip(root / "tables.zip", {"drug.xml": b"tampered"})
    manifest = _manifest(
        tmp_path / "m.toml", f"{base}/tables.zip", "drug.xml", "0" * 64, f"{base}/missing.zip"
    )
    data = tmp_path / "data"
    (data / "cms/fy2099").mkdir(parents=True)
    (data / "cms/fy2099/drug.xml").write_bytes(b"the good old file")
    _env(monkeypatch, tmp_path, data)
    result = CliRunner().invoke(app, ["fetch", "--manifest", str(manifest)])
    assert result.exit_code == 1
    assert "checksum mismatch" in result.output and "could not download" in result.output
    assert (data / "cms/fy2099/drug.xml").read_bytes() == b"the good old file"


def test_fetch_without_network_is_a_clear_failure(tmp_path: Path, monkeypatch) -> None:
    with socket.socket() as sock:  # a local port nothing listens on stands for an unreachable CMS
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    _env(monkeypatch, tmp_path, tmp_path / "data")
    result = CliRunner().invoke(
        app,
        [
            "fetch",
            "--only",
            "drug-fy2025",
            "--timeout",
            "3",
            "--manifest",
            str(_local_manifest(tmp_path, closed)),
        ],
    )
    assert result.exit_code == 1
    assert "could not download" in result.output and "download it by hand" in result.output


def test_fetch_options_are_checked(tmp_path: Path, monkeypatch) -> None:
    _env(monkeypatch, tmp_path, tmp_path / "data")
    result = CliRunner().invoke(app, ["fetch", "--only", "no-such-source"])
    assert result.exit_code == 2 and "no source with id no-such-source" in result.output
    result = CliRunner().invoke(app, ["fetch", "--year", "27"])
    assert result.exit_code == 2 and "fiscal year such as 2027" in result.output
    result = CliRunner().invoke(app, ["fetch", "--year", "1999"])
    assert (
        result.exit_code == 2
        and "no source of the manifest is in effect during FY1999" in result.output
    )


def test_select_takes_the_sources_in_effect_during_the_year() -> None:
    sources = load_manifest()
    y27 = {s.id for s in select(sources, year="2027")}
    y26 = {s.id for s in select(sources, year="FY2026".removeprefix("FY"))}
    assert {
        "tabular-fy2027",
        "addenda-codes-fy2027",
        "guidelines-fy2027",
        "pcs-codes-fy2027",
        "hcpcs-2026-oct",
    } <= y27
    assert all(s.endswith("fy2027") or s == "hcpcs-2026-oct" for s in y27)
    assert "hcpcs-2026-oct" not in y26 and {"tabular-fy2026-embedded", "guidelines-fy2026"} <= y26


def test_sources_by_year_with_the_year_in_effect(
    tmp_path: Path, monkeypatch, cms_data_dir: Path
) -> None:
    _env(monkeypatch, tmp_path, cms_data_dir, today="2026-12-02")
    result = CliRunner().invoke(app, ["sources"])
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[0].startswith("Today (2026-12-02) is in FY2027")
    titles = [line for line in out if line.startswith(("FY", "HCPCS", "Any year"))]
    assert titles[0] == "FY2027  1 Oct 2026 – 30 Sep 2027  ← in effect today"
    assert [t.split()[0] for t in titles[:4]] == ["FY2027", "FY2026", "FY2025", "FY2024"]
    assert not any("in effect" in t for t in titles[1:])
    rows = {
        line.split()[0]: line
        for line in out
        if line.startswith("  ") and not line.startswith("  source")
    }
    assert (
        " found " in rows["addenda-codes-fy2027"]
        and str(cms_data_dir) in rows["addenda-codes-fy2027"]
    )
    assert " missing " in rows["tabular-fy2027"] and "not found at" in rows["tabular-fy2027"]
    assert " found " in rows["drug-fy2025"] and " found " in rows["index-fy2025"]
    assert "(package 1.5.0)" in rows["tabular-fy2026-embedded"]
    assert (
        rows["hcpcs-2026-oct"].endswith("← in effect today")
        and "in effect" not in rows["hcpcs-2020"]
    )
    assert "`codedesk fetch --year 2027` downloads them" in result.output
    # --verify: checksums where recorded, else what fetch checks in the file itself
    result = CliRunner().invoke(app, ["sources", "--verify"])
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert rows["drug-fy2025"].endswith("(checksum ok)")
    assert rows["addenda-codes-fy2027"].endswith(
        "(addenda trailer agrees: 190 added, 30 deleted, 4 revised; "
        "74,719 codes in FY2026 → 74,879 in FY2027)"
    )
    # the last day of FY2026 is in FY2026
    monkeypatch.setenv("CODEDESK_TODAY", "2026-09-30")
    result = CliRunner().invoke(app, ["sources"])
    assert "FY2026  1 Oct 2025 – 30 Sep 2026  ← in effect today" in result.output.splitlines()
    monkeypatch.delenv("CODEDESK_CMS_DATA_DIR")
    result = CliRunner().invoke(app, ["sources"])
    assert "CODEDESK_CMS_DATA_DIR is not set" in result.output


def test_last_years_files_served_as_fy2027_are_refused(
    http_root, tmp_path: Path, monkeypatch, fy2025_dir: Path
) -> None:
    """Without a checksum, the year the file states decides: a FY2025 file at a FY2027 address is not saved."""
    root, base, _ = http_root
    _zip(
        root / "files/zip/2027-code-tables-tabular-and-index.zip",
        {
            "Table and Index/icd10cm_drug_2027.xml": (
                fy2025_dir / "icd10cm-drug-2025.xml"
            ).read_bytes()
        },
    )
    (root / "files/document").mkdir(parents=True)
    (root / "files/document/fy-2027-icd-10-cm-coding-guidelines.pdf").write_bytes(
        (fy2025_dir / "icd10cm-guidelines-fy2025.pdf").read_bytes()
    )
    data = tmp_path / "data"
    _env(monkeypatch, tmp_path, data)
    manifest = _local_manifest(tmp_path, base)
    result = CliRunner().invoke(
        app,
        [
            "fetch",
            "--only",
            "drug-fy2027",
            "--only",
            "guidelines-fy2027",
            "--manifest",
            str(manifest),
        ],
    )
    assert result.exit_code == 1
    lines = _lines(result.output)
    assert "the file says <version>2025</version>, expected 2027" in lines["drug-fy2027:"]
    assert "the title page does not name FY 2027" in lines["guidelines-fy2027:"]
    assert not (data / "cms/fy2027").exists() or not any((data / "cms/fy2027").iterdir())
    # an error page where the PDF should be
    (root / "files/document/fy-2027-icd-10-cm-coding-guidelines.pdf").write_text(
        "<html>Page not found</html>"
    )
    result = CliRunner().invoke(
        app, ["fetch", "--only", "guidelines-fy2027", "--manifest", str(manifest)]
    )
    assert "not a PDF file" in result.output
