from datetime import date

from retrieval.query import fiscal_year_of, parse_question


def test_code_mentions_with_and_without_dot() -> None:
    q = parse_question("can I use E11.22 with E1165 and T39.1X1A?")
    assert [m.first for m in q.mentions] == ["E11.22", "E1165", "T39.1X1A"]


def test_ranges_and_families() -> None:
    q = parse_question("what is in N18.1-N18.6 and E11.2-?")
    assert (q.mentions[0].first, q.mentions[0].last) == ("N18.1", "N18.6")
    assert q.mentions[1].first == "E11.2" and q.mentions[1].and_below


def test_words_that_are_not_codes() -> None:
    assert parse_question("T2DM with CKD stage 3b, COVID-19, A1C 9").mentions == []


def test_fiscal_year_and_date_of_service() -> None:
    assert parse_question("valid in FY2025?").fiscal_year == "2025"
    q = parse_question("is E11.A valid for DOS 2024-06-01?")
    assert q.date_of_service == date(2024, 6, 1) and q.fiscal_year == "2024"
    assert parse_question("DOS 10/01/2024").fiscal_year == "2025"


def test_fiscal_year_edges() -> None:
    assert fiscal_year_of(date(2024, 9, 30)) == "2024"
    assert fiscal_year_of(date(2024, 10, 1)) == "2025"
