"""Addenda in both layouts on the real FY2025 files, and malformed copies of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from codedesk.cms.addenda import Addenda, dotted, parse_addenda
from codedesk.errors import SourceError
from codedesk.ingest.documents import addenda_docs


@pytest.fixture(scope="module")
def order(fy2025_dir: Path) -> Addenda:
    return parse_addenda(fy2025_dir / "icd10cm_order_addenda_2025.txt")


@pytest.fixture(scope="module")
def codes(fy2025_dir: Path) -> Addenda:
    return parse_addenda(fy2025_dir / "icd10cm_codes_addenda_2025.txt")


def test_order_layout_counts_and_headers(order: Addenda) -> None:
    assert order.layout == "order"
    # The file's own summary: codes 252/36/13 and headers 72/0/1.
    assert order.counts() == {"add": 324, "delete": 36, "revise": 14}
    assert sum(1 for c in order.changes if c.action == "add" and c.header) == 72
    deleted, added = [c for c in order.changes if c.code == "C83.39"]
    assert (deleted.action, deleted.header, added.action, added.header) == (
        "delete",
        False,
        "add",
        True,
    )


def test_order_layout_revision_titles(order: Addenda) -> None:
    rev = next(c for c in order.changes if c.code == "H44.2A3")
    assert rev.action == "revise"
    assert rev.old_title == "Degenerative myopia with choroidal neovascularization, bilateral eye"
    assert rev.title == "Degenerative myopia with choroidal neovascularization, bilateral"
    assert rev.old_short_title == "Degeneratv myopia with choroidal neovascularization, bi eye"
    assert rev.short_title == "Degeneratv myopia with choroidal neovascularization, bi"


def test_codes_layout(codes: Addenda) -> None:
    assert codes.layout == "codes"
    assert codes.counts() == {"add": 252, "delete": 36, "revise": 13}
    first = codes.changes[0]
    assert (first.action, first.code, first.old_title, first.title) == (
        "revise",
        "A77.41",
        "Ehrlichiosis chafeensis [E. chafeensis]",
        "Ehrlichiosis chaffeensis [E. chaffeensis]",
    )
    assert first.header is None and first.short_title is None
    added = next(c for c in codes.changes if c.code == "C81.0A")
    assert added.title == "Nodular lymphocyte predominant Hodgkin lymphoma, in remission"


def test_both_layouts_agree_on_codes(order: Addenda, codes: Addenda) -> None:
    order_codes = {(c.action, c.code, c.title) for c in order.changes if not c.header}
    assert order_codes == {(c.action, c.code, c.title) for c in codes.changes}


def test_docs(order: Addenda) -> None:
    docs = addenda_docs(order, "2025")
    assert len({d.id for d in docs}) == len(docs) == 374
    doc = next(d for d in docs if d.id == "ICD-10-CM:2025:addenda:add:C81.0A")
    assert doc.metadata["source_type"] == "addenda" and doc.metadata["action"] == "add"
    assert doc.metadata["header"] is False and doc.embed_text == ""


def test_dotted() -> None:
    assert dotted("E11A") == "E11.A" and dotted("A7741") == "A77.41" and dotted("X58") == "X58"


def _copy_with(path: Path, tmp_path: Path, edit) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = tmp_path / path.name
    out.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("name", "edit", "message", "line"),
    [
        (
            "icd10cm_codes_addenda_2025.txt",
            lambda ls: [*ls[:5], "Ad d:        C810A   Broken", *ls[5:]],
            "malformed line before|neither a change",
            6,
        ),
        (
            "icd10cm_codes_addenda_2025.txt",
            lambda ls: [*ls[:9], ls[9][:13] + "c81!    Bad code", *ls[10:]],
            "not an ICD-10-CM code",
            10,
        ),
        (
            "icd10cm_order_addenda_2025.txt",
            lambda ls: [*ls[:3], ls[3][:40], *ls[4:]],
            "malformed order-layout line",
            4,
        ),
        (
            "icd10cm_codes_addenda_2025.txt",
            lambda ls: ls[1:],
            "without a matching 'Revise from:'",
            1,
        ),
        (
            "icd10cm_codes_addenda_2025.txt",
            lambda ls: [*ls[:50], *ls[60:]],
            "the summary counts 252 add changes",
            None,
        ),
    ],
)
def test_malformed_files_name_the_place(
    fy2025_dir: Path, tmp_path: Path, name, edit, message, line
) -> None:
    bad = _copy_with(fy2025_dir / name, tmp_path, edit)
    with pytest.raises(SourceError, match=message) as err:
        parse_addenda(bad)
    assert str(bad) in str(err.value)
    assert err.value.line == line
