"""`codedesk fetch` against a local HTTP server, and `codedesk sources`."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.cli import app


@pytest.fixture()
def http_root(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _manifest(path: Path, url: str, member: str, sha: str, plain_url: str) -> Path:
    path.write_text(f'''
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
id = "addenda-test"
kind = "addenda"
location = "cms:cms/fy2099/addenda.txt"
fiscal_year = "2099"
title = "Addenda (test)"
url = "{plain_url}"
''', encoding="utf-8")
    return path


def test_fetch_downloads_extracts_and_verifies(http_root, tmp_path: Path, monkeypatch) -> None:
    root, base = http_root
    payload = b"<ICD10CM.index><version>2099</version></ICD10CM.index>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("tables/drug.xml", payload)
    (root / "tables.zip").write_bytes(buf.getvalue())
    (root / "addenda.txt").write_text("Add:      A00.0 test\n", encoding="utf-8")
    manifest = _manifest(tmp_path / "m.toml", f"{base}/tables.zip", "drug.xml",
                         hashlib.sha256(payload).hexdigest(), f"{base}/addenda.txt")
    data = tmp_path / "data"
    monkeypatch.setenv("CODEDESK_CMS_DATA_DIR", str(data))
    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["fetch", "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert (data / "cms/fy2099/drug.xml").read_bytes() == payload
    assert "checksum verified" in result.output and "no checksum recorded" in result.output


def test_fetch_refuses_a_file_with_the_wrong_checksum(http_root, tmp_path: Path, monkeypatch) -> None:
    root, base = http_root
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("drug.xml", b"tampered")
    (root / "tables.zip").write_bytes(buf.getvalue())
    manifest = _manifest(tmp_path / "m.toml", f"{base}/tables.zip", "drug.xml", "0" * 64, f"{base}/missing.txt")
    data = tmp_path / "data"
    (data / "cms/fy2099").mkdir(parents=True)
    (data / "cms/fy2099/drug.xml").write_bytes(b"the good old file")
    monkeypatch.setenv("CODEDESK_CMS_DATA_DIR", str(data))
    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["fetch", "--manifest", str(manifest)])
    assert result.exit_code == 1
    assert "checksum mismatch" in result.output and "could not download" in result.output
    assert (data / "cms/fy2099/drug.xml").read_bytes() == b"the good old file"


def test_fetch_without_network_is_a_clear_failure(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CODEDESK_CMS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["fetch", "--only", "drug-fy2025", "--timeout", "3"])
    assert result.exit_code == 1
    assert "could not download" in result.output and "download it by hand" in result.output


def test_sources_lists_found_and_missing(tmp_path: Path, monkeypatch, cms_data_dir: Path) -> None:
    monkeypatch.setenv("CODEDESK_CMS_DATA_DIR", str(cms_data_dir))
    monkeypatch.setenv("CODEDESK_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["sources"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:] if line.strip()}
    assert " found " in lines["drug-fy2025"] and " found " in lines["index-fy2025"]
    monkeypatch.delenv("CODEDESK_CMS_DATA_DIR")
    result = CliRunner().invoke(app, ["sources"])
    assert "CODEDESK_CMS_DATA_DIR is not set" in result.output
