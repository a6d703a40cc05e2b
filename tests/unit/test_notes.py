from codedesk.retrieval.notes import codes_in_note, note_covers, note_specs


def test_specs_families_and_ranges() -> None:
    assert note_specs("stage of chronic kidney disease (N18.1-N18.6)") == [("N18.1", "N18.6")]
    assert note_specs("(E10.-)") == [("E10", None)]
    assert note_specs("(O24.-, O99.81-)") == [("O24", None), ("O99.81", None)]
    assert note_specs("(Y63.6, Y63.8-Y63.9)") == [("Y63.6", None), ("Y63.8", "Y63.9")]
    assert note_specs("(F10.-F19.-)") == [("F10", "F19")]


def test_coverage_includes_the_middle_of_a_range() -> None:
    assert note_covers("(N18.1-N18.6)", "N18.32")
    assert note_covers("hypertensive diseases (I10-I16)", "I13.0")
    assert note_covers("type 1 diabetes mellitus (E10.-)", "E10.9")
    assert not note_covers("type 1 diabetes mellitus (E10.-)", "E11.9")


def test_codes_in_note_expands_ranges(codebook) -> None:
    assert codes_in_note(codebook, "(N18.1-N18.6)") == [
        "N18.1",
        "N18.2",
        "N18.30",
        "N18.31",
        "N18.32",
        "N18.4",
        "N18.5",
        "N18.6",
    ]


def test_a_category_named_in_words_is_read() -> None:
    text = (
        "code, if applicable, from category Z3A, Weeks of gestation, to identify the specific week"
    )
    assert note_specs(text) == [("Z3A", None)]
    assert note_specs("from category Z3A (Z3A.-)") == [("Z3A", None)]  # once
