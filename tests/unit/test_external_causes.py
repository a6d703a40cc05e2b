"""`alpha_index.cover`: the Index to External Causes adds how, where and doing what to an injury (I.C.20)."""

from __future__ import annotations

from codedesk.retrieval.alpha_index import IndexHit, cover, takes_external_cause


def _hit(
    code: str, explained: list[str], unexplained: list[str], external: bool = False
) -> IndexHit:
    return IndexHit(
        code=code,
        printed=code,
        path=code,
        explained=explained,
        unexplained=unexplained,
        assumed=[],
        score=1.0,
        coverage=len(explained) / (len(explained) + len(unexplained)),
        fiscal_year="2026",
        index_year="2025",
        external=external,
    )


WORDS = ["hip", "fracture", "fell", "home", "playing", "tennis"]


def _left(*said: str) -> list[str]:
    return [w for w in WORDS if w not in said]


def test_an_injury_takes_one_cause_one_place_one_activity_after_it() -> None:
    injury = _hit("S72.009A", ["hip", "fracture"], _left("hip", "fracture"))
    falls = _hit(
        "R29.6", ["fell"], _left("fell")
    )  # Falling, falls (repeated): the cause, not a condition
    cause = _hit("W19.XXXA", ["fell"], _left("fell"), external=True)
    other_cause = _hit("W18.30XA", ["fell"], _left("fell"), external=True)
    place = _hit("Y92.009", ["home"], _left("home"), external=True)
    activity = _hit("Y93.73", ["playing", "tennis"], _left("playing", "tennis"), external=True)
    unknown = _hit(
        "X58.XXXA", ["fracture"], _left("fracture"), external=True
    )  # says only the injury
    got = cover([injury, falls, unknown, cause, other_cause, activity, place])
    assert [h.code for h in got] == ["S72.009A", "W19.XXXA", "Y92.009", "Y93.73"]
    assert got[1].citation().title.startswith("ICD-10-CM Index to External Causes")


def test_no_external_cause_for_a_condition_or_a_code_that_includes_its_cause() -> None:
    cause = _hit("W19.XXXA", ["fell"], _left("fell"), external=True)
    for code in ("J44.1", "T39.011A", "T81.40XA"):  # I.C.20.a.8: poisoning says cause and intent
        assert [h.code for h in cover([_hit(code, ["hip"], _left("hip")), cause])] == [code]
    assert takes_external_cause("S06.0X0A") and takes_external_cause("T23.001A")
    assert not takes_external_cause("T45.1X5A")
