"""The searcher over a handful of real PCS codes and HCPCS records, built in memory (no files):
ranking by axis values, lookups, termination dates, hits as answer items and citations."""

from __future__ import annotations

from datetime import date

import pytest

from codedesk.cms.hcpcs import HcpcsCode
from codedesk.cms.pcs import PcsAxisValue, PcsCode, PcsData
from codedesk.retrieval.procedures import IndexNode, ProcedureSearcher, doc_tokens

CODES = {
    "0DTJ0ZZ": "Resection of Appendix, Open Approach",
    "0DTJ4ZZ": "Resection of Appendix, Percutaneous Endoscopic Approach",
    "0DTJ8ZZ": "Resection of Appendix, Via Natural or Artificial Opening Endoscopic",
    "0DBJ0ZZ": "Excision of Appendix, Open Approach",
    "0DBJ4ZZ": "Excision of Appendix, Percutaneous Endoscopic Approach",
    "0DBJ4ZX": "Excision of Appendix, Percutaneous Endoscopic Approach, Diagnostic",
    "0DJD8ZZ": "Inspection of Lower Intestinal Tract, Via Natural or Artificial Opening Endoscopic",
}
AXES = [
    PcsAxisValue("0", 1, "Section", "0", "Medical and Surgical", ""),
    PcsAxisValue("0", 2, "Body System", "D", "Gastrointestinal System", "0"),
    PcsAxisValue(
        "0",
        3,
        "Root Operation",
        "T",
        "Resection",
        "0",
        "Cutting out or off, without replacement, all of a body part",
        examples="Total nephrectomy",
    ),
    PcsAxisValue(
        "0",
        3,
        "Root Operation",
        "B",
        "Excision",
        "0",
        "Cutting out or off, without replacement, a portion of a body part",
    ),
    PcsAxisValue(
        "0",
        3,
        "Root Operation",
        "J",
        "Inspection",
        "0",
        "Visually and/or manually exploring a body part",
    ),
    PcsAxisValue("0", 4, "Body Part", "J", "Appendix", "0D"),
    PcsAxisValue("0", 4, "Body Part", "D", "Lower Intestinal Tract", "0D"),
    PcsAxisValue(
        "0", 5, "Approach", "0", "Open", "0", "Cutting through the skin or mucous membrane"
    ),
    PcsAxisValue(
        "0",
        5,
        "Approach",
        "4",
        "Percutaneous Endoscopic",
        "0",
        "Entry, by puncture or minor incision",
    ),
    PcsAxisValue(
        "0",
        5,
        "Approach",
        "8",
        "Via Natural or Artificial Opening Endoscopic",
        "0",
        "Entry, opening",
    ),
    PcsAxisValue("0", 6, "Device", "Z", "No Device", "0DT"),
    PcsAxisValue("0", 7, "Qualifier", "Z", "No Qualifier", "0DT"),
    PcsAxisValue("0", 6, "Device", "Z", "No Device", "0DB"),
    PcsAxisValue("0", 7, "Qualifier", "Z", "No Qualifier", "0DB"),
    PcsAxisValue("0", 7, "Qualifier", "X", "Diagnostic", "0DB"),
]


def _node(label: str, codes: list[str] | None = None) -> IndexNode:
    toks = frozenset(doc_tokens(label))
    return IndexNode(label, toks, codes=codes or [], head=toks)


def _hcpcs(
    code: str, long: str, short: str, end: date | None = None, kind: str = "procedure"
) -> HcpcsCode:
    return HcpcsCode(
        code,
        kind,
        "00100",
        long,
        short,
        "D" if end else "N",
        date(2001, 1, 1),
        date(2001, 1, 1),
        end,
        "",
        "",
    )


@pytest.fixture(scope="module")
def searcher() -> ProcedureSearcher:
    pcs = PcsData([PcsCode(c, t, "2025") for c, t in CODES.items()], AXES, [])
    index = [_node("Appendectomy", ["0DBJ", "0DTJ"])]
    affixes = [
        ("-ectomy", "suffix", "root_op", "B/T", "Excision(B) or Resection(T)"),
        ("-scopy", "suffix", "root_op", "J", "Inspection(J)"),
    ]
    hcpcs = [
        _hcpcs(
            "E0601",
            "Continuous positive airway pressure (cpap) device",
            "Cont airway pressure device",
        ),
        _hcpcs(
            "B9000",
            "Enteral nutrition infusion pump - without alarm",
            "Enteral infusion pump w/o",
            date(2016, 12, 31),
        ),
        _hcpcs("B9002", "Enteral nutrition infusion pump, any type", "Enteral nutrition pump"),
        _hcpcs(
            "RT",
            "Right side (used to identify procedures performed on the right side of the body)",
            "Right side",
            kind="modifier",
        ),
    ]
    return ProcedureSearcher.build(pcs, hcpcs, "2020", index=index, affixes=affixes)


def test_coder_words_rank_by_axis(searcher: ProcedureSearcher) -> None:
    assert searcher.search("laparoscopic appendectomy", system="pcs")[0].code == "0DTJ4ZZ"
    assert searcher.search("open appendectomy", system="pcs")[0].code == "0DTJ0ZZ"
    assert searcher.search("partial appendectomy, laparoscopic", system="pcs")[0].code == "0DBJ4ZZ"
    assert searcher.search("laparoscopic biopsy of the appendix", system="pcs")[0].code == "0DBJ4ZX"


def test_pcs_hit_as_answer_parts(searcher: ProcedureSearcher) -> None:
    hit = searcher.search("laparoscopic appendectomy", system="pcs")[0]
    assert hit.axes[2] == (
        "Root Operation",
        "T",
        "Resection: Cutting out or off, without replacement, all of a body part",
    )
    assert hit.item().note == (
        "Medical and Surgical · Gastrointestinal System · Resection · Appendix · "
        "Percutaneous Endoscopic · No Device · No Qualifier"
    )
    cite = hit.citation()
    assert (cite.source_type, cite.section, cite.code) == ("pcs", "Table 0DT", "0DTJ4ZZ")


def test_lookups(searcher: ProcedureSearcher) -> None:
    assert searcher.lookup("0DTJ4ZZ").valid
    assert searcher.lookup("0DTJ3ZZ").suggestions[0] in CODES
    assert searcher.lookup("E0601").hit.details["add_date"] == "2001-01-01"
    gone = searcher.lookup("B9000", as_of=date(2020, 1, 1))
    assert not gone.valid and "2016-12-31" in gone.message
    assert searcher.lookup("B9000", as_of=date(2016, 1, 1)).valid
    assert searcher.lookup("RT").hit.kind == "modifier"
    cpt = searcher.lookup("99214")
    assert cpt.system is None and not cpt.valid and "AMA" in cpt.message


def test_terminated_codes_rank_after_live_ones(searcher: ProcedureSearcher) -> None:
    hits = searcher.search("enteral nutrition infusion pump without alarm", system="hcpcs")
    assert [h.code for h in hits[:2]] == ["B9002", "B9000"]
    assert not hits[1].valid and not hits[1].item().billable
    assert "terminated 2016-12-31" in (hits[1].item().note or "")
    assert searcher.search("cpap device", system="hcpcs")[0].code == "E0601"
    assert all(
        h.code != "RT" for h in searcher.search("right side", system="hcpcs")
    )  # modifiers: when asked


def test_direct_codes_first(searcher: ProcedureSearcher) -> None:
    assert [h.code for h in searcher.search("E0601?")] == ["E0601"]
    assert [h.code for h in searcher.search("0DTJ4ZZ")] == ["0DTJ4ZZ"]
    assert searcher.search("CPT 99214") == []
