"""FY2027 on the real files: the FY2026 book + the official FY2027 codes addenda (190 added, 30 deleted,
4 revised), the overlay proven on FY2024 + the FY2025 addenda, the year that follows the date (a fixed
clock), and the changes 2026 -> 2027 in the CLI and in answers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedesk.cms.addenda import Addenda, CodeChange, parse_addenda
from codedesk.cms.books import book_sources, load_books, overlay
from codedesk.cms.codebook import load_codebook
from codedesk.errors import CodeDeskError
from codedesk.retrieval.chain import AnswerChain
from codedesk.retrieval.changes import answer_changes, changes_app
from codedesk.retrieval.codesearch import load_searcher
from codedesk.retrieval.query import parse_question
from codedesk.retrieval.versions import Version, VersionSet, fold, load_flat_2024, overlay_flat
from codedesk.settings import Settings

TODAY = date(2026, 12, 2)  # the day the issue was written: FY2027


@pytest.fixture(scope="module")
def settings(cms_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("fy2027-home")
    return Settings(
        home=home, cms_data_dir=cms_data_dir, today=TODAY, tabular_xml=None, _env_file=None
    )


@pytest.fixture(scope="module")
def versions(settings: Settings) -> VersionSet:
    return VersionSet.load(settings)


@pytest.fixture(scope="module")
def addenda_2027(cms_data_dir: Path):
    return parse_addenda(cms_data_dir / "cms" / "fy2027" / "icd10cm_codes_addenda_2027.txt")


# ---- the overlay ------------------------------------------------------------------------------------
def test_overlay_reproduces_fy2025_from_fy2024_and_its_addenda(
    fy2025_dir: Path, versions: VersionSet
) -> None:
    """FY2024 code list + the official FY2025 addenda = the FY2025 reportable codes of the Tabular List."""
    built = overlay_flat(
        load_flat_2024(), parse_addenda(fy2025_dir / "icd10cm_order_addenda_2025.txt"), "2025"
    )
    real = versions.get("2025").reportable
    assert len(built.reportable) == len(real) == 74260
    assert built.reportable.keys() == real.keys()
    differ = [c for c in real if fold(real[c]) != fold(built.reportable[c])]
    assert differ == [], differ[:5]  # titles too (the plain-text lists are ASCII: accents folded)
    exact = sum(real[c] == built.reportable[c] for c in real)
    print(
        f"FY2024 + FY2025 addenda: {len(built.reportable)} codes, {exact} titles identical byte for byte"
    )


def test_book_overlay_reproduces_fy2026_from_fy2025(versions: VersionSet) -> None:
    """The book overlay on every shape a year brings (new categories and subcategories, 7th-character
    codes, expansions such as S30.1XXA -> S30.11XA): the FY2025 Tabular List + the FY2025 -> FY2026 code
    changes, written as a codes addenda file lists them, = the FY2026 reportable codes and titles."""
    v25, v26 = versions.get("2025"), versions.get("2026")
    d = versions.diff("2025", "2026")
    changes = (
        [CodeChange("delete", x.code, x.title) for x in d.deleted]
        + [CodeChange("add", a.code, a.title) for a in d.added]
        + [
            CodeChange("revise", r.code, r.new_title, old_title=r.old_title)
            for r in d.revised
            if not r.header
        ]
    )
    built = Version(
        "2026", "built", book=overlay(v25.book, Addenda("changes.txt", "codes", changes), "2026")
    )
    assert built.reportable == v26.reportable  # 74,719 codes, titles identical
    assert "use S30.11XA, S30.12XA or S30.13XA" in built.book.lookup("S30.1XXA").reason


def test_fy2027_book_from_the_addenda(versions: VersionSet, addenda_2027) -> None:
    v26, v27 = versions.get("2026"), versions.get("2027")
    assert (
        len(v27.reportable) == 74879
    )  # the addenda's trailer: 74879 codes in icd10cm_order_2027.txt
    added = v27.reportable.keys() - v26.reportable.keys()
    deleted = v26.reportable.keys() - v27.reportable.keys()
    changes = addenda_2027.changes
    assert added == {c.code for c in changes if c.action == "add"} and len(added) == 190
    assert deleted == {c.code for c in changes if c.action == "delete"} and len(deleted) == 30
    for c in changes:  # titles exactly the addenda's, revisions included
        if c.action in ("add", "revise"):
            assert v27.reportable[c.code] == c.title, c.code
    book = v27.book
    assert book.basis.startswith(
        "ICD-10-CM FY2027 from the official addenda (icd10cm_codes_addenda_2027.txt)"
    )
    assert "instructional notes as of FY2026" in book.basis


@pytest.mark.parametrize(
    "header, children",
    [
        ("I49.8", ["I49.81", "I49.82", "I49.89"]),
        ("I42.0", ["I42.00", "I42.01", "I42.09"]),
        ("Z68.1", ["Z68.18", "Z68.19"]),
        ("M86.8X1", ["M86.8X11", "M86.8X12", "M86.8X19"]),
    ],
)
def test_a_code_that_became_a_header(
    versions: VersionSet, header: str, children: list[str]
) -> None:
    book = versions.get("2027").book
    info = book.lookup(header)
    assert info.exists and not info.reportable and info.children == children
    assert "header since FY2027" in info.reason and all(c in info.reason for c in children)
    assert all(book.lookup(c).reportable for c in children)


def test_new_codes_sit_under_their_category_and_inherit(versions: VersionSet) -> None:
    book, old = versions.get("2027").book, load_codebook()
    assert [n.code for n in book.ancestors("I49.81")][:2] == ["I49.8", "I49"]
    # the category's notes, as of FY2026
    assert [(n.kind, n.text) for n in book.inherited_notes("I42.00") if n.source == "I42"] == [
        (n.kind, n.text) for n in old.inherited_notes("I42.9") if n.source == "I42"
    ]
    # 7th characters from the category: T52 (A, D, S), O31 (fetus 0-9)
    t = book.lookup("T52.811A")
    assert t.reportable and t.base == "T52.811" and t.title.endswith("initial encounter")
    assert book.lookup("O31.40X9").reportable and not book.lookup("O31.40X7").reportable
    # new categories: in the block that precedes them, headers named as such
    assert book.nodes["QA1"].parent == "QA0-QA0" and book.nodes["K6A"].parent == "K65-K68"
    assert "title is not in the codes addenda" in book.nodes["QA1.7"].title
    assert book.lookup("QA1.71").reportable and book.lookup("QA1.71").title == "Lynch syndrome"
    assert book.lookup("J4B").reportable  # a category with no subdivision is a code


def test_a_deleted_code_explains_itself(versions: VersionSet) -> None:
    book = versions.get("2027").book
    gone = book.lookup("T52.8X1A")
    assert not gone.exists and "deleted in FY2027" in gone.reason
    assert "T52.811A, T52.821A or T52.891A" in gone.reason  # same intent (6th) and encounter (7th)
    assert "no replacement" in book.lookup("S23.420A").reason
    assert not book.lookup("T52.8XXA").exists  # T52.8X lost every code: no longer a header either


def test_a_full_tabular_list_takes_over(cms_data_dir: Path, tmp_path: Path) -> None:
    """With a full FY2027 Tabular List configured, the year is that file, not the addenda."""
    embedded = load_codebook().source_path
    s = Settings(
        home=tmp_path,
        cms_data_dir=cms_data_dir,
        fiscal_year="2027",
        tabular_xml=embedded,
        _env_file=None,
    )
    src = book_sources(s)["2027"]
    assert src.addenda is None and str(src.tabular) == embedded
    s = Settings(home=tmp_path, cms_data_dir=cms_data_dir, today=TODAY, _env_file=None)
    assert (
        book_sources(s)["2027"].addenda is not None and book_sources(s)["2027"].base_year == "2026"
    )


def test_overlay_book_cache_is_keyed_on_both_files(
    cms_data_dir: Path, tmp_path: Path, addenda_2027
) -> None:
    copy = tmp_path / "cms" / "fy2027" / "icd10cm_codes_addenda_2027.txt"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(Path(addenda_2027.path).read_bytes())
    s = Settings(home=tmp_path / "home", cms_data_dir=tmp_path, today=TODAY, _env_file=None)
    first = load_books(s, ["2027"])["2027"]
    (entry,) = s.cache_dir.glob("codebook-overlay-*.pickle")
    copy.write_bytes(copy.read_bytes().replace(b"Lynch syndrome", b"Lynch syndrome (hereditary)"))
    second = load_books(s, ["2027"])["2027"]
    (newer,) = s.cache_dir.glob(
        "codebook-overlay-*.pickle"
    )  # a new entry, which replaced the old one
    assert newer != entry
    assert (first.title("QA1.71"), second.title("QA1.71")) == (
        "Lynch syndrome",
        "Lynch syndrome (hereditary)",
    )


# ---- the year follows the date ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "today, year",
    [
        (date(2026, 9, 30), "2026"),
        (date(2026, 10, 1), "2027"),
        (TODAY, "2027"),
        (date(2025, 10, 1), "2026"),
    ],
)
def test_the_default_year_is_the_year_in_effect_today(today: date, year: str) -> None:
    assert Settings(today=today, _env_file=None).fiscal_year == year
    assert (
        Settings(today=today, fiscal_year="2025", _env_file=None).fiscal_year == "2025"
    )  # the setting wins


@pytest.fixture(scope="module")
def chain(settings: Settings, versions: VersionSet) -> AnswerChain:
    """The real chain over the real books (lexical retrieval), answering as on 2 Dec 2026."""
    books = load_books(settings, ["2026", "2027"])
    searchers = {fy: load_searcher(book, settings.cache_dir) for fy, book in books.items()}
    return AnswerChain(
        books,
        searchers,
        lambda: settings.fiscal_year,
        changes=lambda st: answer_changes(st.question, st.parsed, versions, st.fiscal_year),
    )


def ask(chain: AnswerChain, question: str):
    return chain.runnable().invoke({"question": question, "history": [], "fiscal_year": None})


def test_no_year_no_date_answers_fy2027_and_says_how(chain: AnswerChain) -> None:
    a = ask(chain, "Brugada syndrome")
    assert a.fiscal_year == "2027" and a.codes[0].code == "I49.81" and a.codes[0].billable
    assert any(
        "from the official addenda" in w and "instructional notes as of FY2026" in w
        for w in a.warnings
    )
    a = ask(chain, "dilated cardiomyopathy")
    assert (
        a.fiscal_year == "2027"
        and a.codes[0].code.startswith("I42.0")
        and a.codes[0].code != "I42.0"
    )
    assert "I42.0" not in [c.code for c in a.codes if c.billable]


def test_a_date_of_service_picks_its_year(chain: AnswerChain) -> None:
    a = ask(chain, "Brugada syndrome, DOS 2026-09-30")
    assert a.fiscal_year == "2026" and a.codes[0].code == "I49.8" and not a.warnings
    a = ask(chain, "is Z68.1 valid for DOS 2026-11-02?")
    assert a.fiscal_year == "2027" and a.answer.startswith("**No — Z68.1 is not valid")
    assert [c.code for c in a.codes] == ["Z68.18", "Z68.19"]


def test_a_year_not_loaded_is_refused_with_the_fetch_command(chain: AnswerChain) -> None:
    a = ask(chain, "Brugada syndrome, DOS 2027-10-01")
    assert a.fiscal_year == "2028" and not a.codes
    assert (
        "FY2028" in a.answer and "codedesk fetch --year 2028" in a.answer and "FY2027" in a.answer
    )


def test_an_impossible_date_is_an_error(chain: AnswerChain) -> None:
    with pytest.raises(CodeDeskError, match="2024-02-30 is not a valid date"):
        ask(chain, "is E11.9 valid for DOS 2024-02-30?")
    assert parse_question("DOS 2024-02-29").date_of_service == date(2024, 2, 29)


# ---- changes 2026 -> 2027 ---------------------------------------------------------------------------
def test_diff_2026_2027_agrees_with_the_addenda(versions: VersionSet) -> None:
    d = versions.diff("2026", "2027")
    assert {k: v for k, v in d.counts().items() if k != "notes_changed"} == {
        "added": 190,
        "deleted": 30,
        "revised": 4,
        "became_header": 15,
    }
    cc = versions.cross_check(d)
    assert cc.ok and cc.agreed == {"add": 190, "delete": 30, "revise": 4}


def test_cli_changes_2026_2027(settings: Settings) -> None:
    result = CliRunner().invoke(
        changes_app, ["--from", "2026", "--to", "2027", "--format", "json"], obj=settings
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (len(data["added"]), len(data["deleted"]), len(data["revised"])) == (190, 30, 4)
    assert {"code": "I49.8", "no_longer_reportable": ["I49.8"]} in data["became_header"]
    assert {"code": "QA1.71", "title": "Lynch syndrome"} in data["added"]
    md = CliRunner().invoke(changes_app, ["--from", "2026", "--to", "2027"], obj=settings).stdout
    assert "## Added codes (190)" in md and "no disagreement" in md
    assert (
        "Instructional notes are not compared: FY2027 is built from its addenda, with the notes of FY2026"
        in md
    )
    assert data["notes_changed"] == []


@pytest.mark.parametrize(
    "question, valid, fy, codes",
    [
        ("is I42.0 valid for DOS 2026-11-15?", False, "2027", ["I42.00", "I42.01", "I42.09"]),
        ("is Z68.1 valid for DOS 2026-11-02?", False, "2027", ["Z68.18", "Z68.19"]),
        ("is Z68.1 valid for DOS 2026-09-30?", True, "2026", ["Z68.1"]),
        ("is QA171 valid for DOS 2026-10-01?", True, "2027", ["QA1.71"]),
        ("is I49.81 valid?", True, "2027", ["I49.81"]),
    ],
)
def test_validity_by_date(
    versions: VersionSet, settings: Settings, question: str, valid: bool, fy: str, codes: list[str]
) -> None:
    a = answer_changes(question, parse_question(question), versions, settings.fiscal_year)
    assert a.kind == "validity" and a.fiscal_year == fy and [i.code for i in a.items] == codes
    assert a.text.startswith("**Yes" if valid else "**No")
    if not valid:
        assert "since FY2027" in a.text
