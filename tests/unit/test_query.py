from datetime import date

from codedesk.retrieval.query import fiscal_year_of, parse_question


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


def test_codes_typed_in_lower_case_without_a_dot() -> None:
    assert [m.first for m in parse_question("e1122 with n1832?").mentions] == ["e1122", "n1832"]
    assert [m.first for m in parse_question("is t391x1a right").mentions] == ["t391x1a"]
    # an abbreviation with a code's shape and no digit after the category stays a word
    assert parse_question("vancomycin q12h for cellulitis").mentions == []


def test_pieces_of_identifiers_are_not_codes() -> None:
    q = parse_question("driver license D1234-5678-9012, passenger in car collision with whiplash")
    assert q.mentions == []
    assert parse_question("MRN: E1234567 seen for E11.9").mentions[0].first == "E11.9"
    assert len(parse_question("MRN: E1234567 seen for E11.9").mentions) == 1
    assert parse_question("account # N18321 follow-up").mentions == []
    # ranges and "and below" still read
    q = parse_question("N18.1-N18.6 or E11.2-")
    assert (q.mentions[0].first, q.mentions[0].last, q.mentions[1].and_below) == (
        "N18.1",
        "N18.6",
        True,
    )


def test_a_plan_line_still_names_its_code() -> None:
    assert [m.first for m in parse_question("Plan: E11.9, recheck A1C").mentions] == ["E11.9"]


def test_a_thoracic_vertebra_is_no_code_mention() -> None:
    # T10-T12 are vertebrae in a spine question ("compression fracture of T12"); no ICD-10-CM category has
    # that name, and a lookup of "T12" would answer "not a valid code"
    assert parse_question("osteoporotic compression fracture of T12, initial").mentions == []
    assert parse_question("T12-L1 disc herniation").mentions == []
    assert [m.first for m in parse_question("is T12 a valid code").mentions] == ["T12"]
    assert [m.first for m in parse_question("T14.8XXA for a thoracic spine injury?").mentions] == [
        "T14.8XXA"
    ]
