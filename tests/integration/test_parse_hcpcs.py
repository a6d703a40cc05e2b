"""HCPCS Level II fixed-width file (CY2020). Column positions were checked once against the .xls of
the same release (same rows, with headers); the values asserted here come from that check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codedesk.cms.hcpcs import ACTION_CODES, HcpcsCode, parse_hcpcs
from codedesk.errors import SourceError
from codedesk.ingest.documents import hcpcs_docs

FILE = "HCPC2020_ANWEB_w_disclaimer.txt"


@pytest.fixture(scope="module")
def hcpcs_path(cms_data_dir: Path) -> Path:
    return cms_data_dir / "cms" / "hcpcs-2020" / FILE


@pytest.fixture(scope="module")
def codes(hcpcs_path: Path) -> dict[str, HcpcsCode]:
    return {c.code: c for c in parse_hcpcs(hcpcs_path)}


def test_counts_and_preamble_skipped(codes: dict[str, HcpcsCode]) -> None:
    assert len(codes) == 7079
    kinds = [c.kind for c in codes.values()]
    assert kinds.count("procedure") == 6710 and kinds.count("modifier") == 369
    assert all(c.action_code in ACTION_CODES for c in codes.values())
    assert not any("Note regarding coverage" in c.long_description for c in codes.values())


def test_fields_at_their_columns(codes: dict[str, HcpcsCode]) -> None:
    a0021 = codes["A0021"]
    assert (
        a0021.long_description
        == "Ambulance service, outside state per mile, transport (medicaid only)"
    )
    assert a0021.short_description == "Outside state ambulance serv"
    assert (a0021.add_date, a0021.action_effective_date, a0021.termination_date) == (
        date(1985, 1, 1),
        date(1996, 9, 10),
        None,
    )
    assert (
        a0021.action_code,
        a0021.coverage,
        a0021.betos,
        a0021.pricing,
        a0021.type_of_service,
    ) == ("N", "I", "O1A", ["00"], ["D"])
    assert codes["G0504"].termination_date == date(2017, 12, 31)
    assert codes["J0121"].asc_group == "YY"


def test_long_descriptions_continue_over_records(codes: dict[str, HcpcsCode]) -> None:
    ad = codes["AD"]  # a modifier: right-aligned code field "   AD"
    assert ad.kind == "modifier"
    assert (
        ad.long_description
        == "Medical supervision by a physician: more than four concurrent anesthesia procedures"
    )
    g0503 = codes["G0503"]  # 17 records
    assert g0503.long_description.startswith(
        "Subsequent psychiatric collaborative care management, first 60"
    )
    assert g0503.long_description.endswith("are prepared for discharge from active treatment")
    assert "  " not in g0503.long_description


def test_docs(codes: dict[str, HcpcsCode]) -> None:
    docs = hcpcs_docs(codes.values(), "2020")
    assert len({d.id for d in docs}) == len(docs) == 7079
    doc = next(d for d in docs if d.id == "HCPCS:2020:code:A0021")
    assert doc.metadata["source_type"] == "hcpcs" and doc.metadata["code"] == "A0021"
    assert doc.metadata["add_date"] == "1985-01-01" and doc.embed_text == ""
    assert any(d.id == "HCPCS:2020:modifier:AD" for d in docs)


def test_short_record_names_file_and_line(hcpcs_path: Path, tmp_path: Path) -> None:
    lines = hcpcs_path.read_bytes().split(b"\r\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(b"A0021"))
    lines[first] = lines[first][:200]
    bad = tmp_path / FILE
    bad.write_bytes(b"\r\n".join(lines))
    with pytest.raises(SourceError, match="short record for A0021") as err:
        parse_hcpcs(bad)
    assert str(bad) in str(err.value) and err.value.line == first + 1


def test_garbage_and_orphan_continuation(tmp_path: Path) -> None:
    orphan = tmp_path / "orphan.txt"
    orphan.write_text("Disclaimer text\n   AD002008procedures\n")
    with pytest.raises(SourceError, match="without its first record") as err:
        parse_hcpcs(orphan)
    assert err.value.line == 2
    empty = tmp_path / "empty.txt"
    empty.write_text("just a note\n")
    with pytest.raises(SourceError, match="no HCPCS records"):
        parse_hcpcs(empty)
