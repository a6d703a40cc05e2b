"""Issue 14: `codedesk ask --batch` answers every good line whatever the bad ones hold: a line nested
too deeply, an invalid UTF-8 byte, a byte-order mark on line 1, a numeric or hostile `fiscal_year`
each cost only their own line, with an error that never echoes the raw value."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.cli import app

# The answerer's code-book caches, shared with the other CLI/bot tests (first run parses the XML).
ANSWERER_HOME = Path(tempfile.gettempdir()) / "codedesk-test-answerer"


def run_batch(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setenv("CODEDESK_HOME", str(ANSWERER_HOME))
    monkeypatch.delenv("CODEDESK_CMS_DATA_DIR", raising=False)
    monkeypatch.delenv("CODEDESK_FISCAL_YEAR", raising=False)
    result = CliRunner().invoke(app, ["ask", "--no-log", "--batch", str(path)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.split("\n") if line.strip()]


def test_bad_lines_cost_only_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        b'\xef\xbb\xbf{"id": "bom", "question": "essential hypertension"}',  # BOM on line 1
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the parser's recursion limit
        b'{"id": "bad-utf8", "question": "hypertension \xff\xfe"}',
        b'{"id": "number-year", "question": "essential hypertension", "fiscal_year": 2025}',
        b'{"id": "path-year", "question": "essential hypertension", "fiscal_year": "../../etc"}',
        b'{"id": "list-year", "question": "essential hypertension", "fiscal_year": ["2025"]}',
        b'"just a string"',
        b'{"id": "no-question"}',
        b"",
        '{"id": "last", "question": "essential hypertension \u2028 (primary)"}'.encode(),  # U+2028 inside a line
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(b"\r\n".join(lines) + b"\r\n")
    out = run_batch(batch, monkeypatch)
    by_id = {o.get("id"): o for o in out if o.get("id")}
    errors = {o["line"]: o["error"] for o in out if o.get("error")}

    assert len(out) == 9  # one object per non-blank line, in order
    assert "I10" in [c["code"] for c in by_id["bom"]["codes"]]
    assert "nested too deeply" in errors[2]
    assert "not valid UTF-8" in errors[3]
    assert by_id["number-year"]["fiscal_year"] == "2025" and "error" not in by_id["number-year"]
    assert "fiscal_year" in errors[5] and "../../etc" not in json.dumps(out)
    assert "fiscal_year" in errors[6]
    assert "line 7" in errors[7] and "line 8" in errors[8]
    assert "I10" in [c["code"] for c in by_id["last"]["codes"]]
    assert all("Something went wrong" not in e for e in errors.values())
