"""Review topics, periods, reports and team-guideline rendering without I/O: the clustering on
hand-made vectors (cosines chosen to sit either side of the threshold), the summaries, the period
rules of `codedesk review`, and the Markdown/CSV/HTML renderers on a report built in memory."""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import numpy as np
import pytest

from codedesk.phi.scrub import normalize
from codedesk.review import topics as T
from codedesk.review.decide import (
    DecisionError,
    infer_refines,
    parse_refines,
    render_guideline,
    slug,
)
from codedesk.review.models import QueryCitation, QueryLog, ReviewTopic
from codedesk.review.report import (
    DecisionInfo,
    PeriodError,
    ReportItem,
    ReportTopic,
    ReviewReport,
    WeekCount,
    items_csv,
    period_label,
    resolve_period,
    to_html,
    to_markdown,
    topics_csv,
)

UTC = UTC


def unit(*xs: float) -> np.ndarray:
    v = np.zeros(4, np.float32)
    v[: len(xs)] = xs
    return v / np.linalg.norm(v)


def at(cos: float, axis: int = 1) -> np.ndarray:
    """A unit vector whose cosine with e0 is `cos`, turned towards `axis`."""
    v = np.zeros(4, np.float32)
    v[0], v[axis] = cos, float(np.sqrt(1 - cos * cos))
    return v


def keys(*codes: str, sections: tuple[str, ...] = ()) -> frozenset[str]:
    out: set[str] = set()
    for c in codes:
        out |= T.code_keys(c)
    return frozenset(out | {f"guideline:{s}" for s in sections})


# --- features -------------------------------------------------------------------------------------


def test_embedding_text_drops_tags_and_identifier_context_and_expands_shorthand() -> None:
    text = T.embedding_text(normalize("Pt [NAME] DOB [DATE] has T2DM with CKD 3, POA?"))
    assert text == "has type 2 diabetes mellitus with chronic kidney disease 3 present on admission"
    assert (
        T.embedding_text("[name]") == "[name]"
    )  # nothing left: keep the original rather than nothing


def test_query_keys_take_answer_codes_citations_and_codes_named_in_the_question() -> None:
    cites = [
        QueryCitation(query_id=1, source_type="guideline", title="OCG", section="I.C.4.a"),
        QueryCitation(
            query_id=1,
            source_type="tabular",
            title="Tabular",
            section="use_additional_code",
            code="E11.22",
        ),
    ]
    k = T.query_keys(
        normalized="what changed in n18 for t2dm",
        codes="E11.22,N18.30,N18.4,Z79.4",
        citations=cites,
    )
    assert {
        "code:E11.22",
        "cat:E11",
        "code:N18.30",
        "cat:N18",
        "code:N18.4",
        "guideline:I.C.4.a",
    } <= k
    assert "code:N18" in k  # named in the question
    assert not any("Z79" in x for x in k)  # only the top three answer codes
    assert not any(x.startswith("code:T2") for x in k)  # "t2dm" is shorthand, not a code


def test_similarity_adds_key_overlap_and_penalises_disjoint_answers() -> None:
    a, b = unit(1, 0, 0)[None, :], at(0.70)[None, :]
    same = T.similarity(
        a, [keys("A41.9", sections=("Appendix I",))], b, [keys("A41.9", sections=("Appendix I",))]
    )
    none = T.similarity(a, [frozenset()], b, [keys("A41.9")])
    disjoint = T.similarity(a, [keys("E10.21")], b, [keys("E11.22")])
    assert same[0, 0] == pytest.approx(0.70 + T.OVERLAP_WEIGHT, abs=1e-5)
    assert none[0, 0] == pytest.approx(0.70, abs=1e-5)
    assert disjoint[0, 0] == pytest.approx(0.70 - T.DISJOINT_PENALTY, abs=1e-5)


# --- clustering -----------------------------------------------------------------------------------


def _fixture() -> tuple[np.ndarray, list[frozenset[str]], list[str]]:
    base = unit(1, 0, 0)
    vecs = [
        base,  # 0 topic A
        at(0.93),  # 1 A: close wording
        at(0.72),  # 2 A: looser wording, same codes and sections
        at(0.84, axis=2),  # 3 B: close-ish wording but a different answer
        unit(0, 0, 0, 1),  # 4 C: unrelated
        unit(0.05, 0, 0, 1),  # 5 C: paraphrase of 4, no keys at all
    ]
    ks = [
        keys("E11.22", "N18.30", sections=("I.C.4.a",)),
        keys("E11.22", "N18.30", sections=("I.C.4.a",)),
        keys("E11.22", "N18.30", sections=("I.C.4.a",)),
        keys("E10.21"),
        frozenset(),
        frozenset(),
    ]
    labels = ["A", "A", "A", "B", "C", "C"]
    return np.vstack(vecs), ks, labels


def _partition(groups: list[list[int]], labels: list[str]) -> set[frozenset[str]]:
    return {frozenset(f"{labels[i]}{i}" for i in g) for g in groups}


def test_cluster_groups_paraphrases_and_separates_different_answers() -> None:
    vecs, ks, labels = _fixture()
    groups = T.cluster(vecs, ks)
    assert [sorted(g) for g in groups] == [
        [0, 1, 2],
        [4, 5],
        [3],
    ]  # biggest first, then first index


def test_cluster_is_deterministic_and_order_independent() -> None:
    vecs, ks, labels = _fixture()
    expected = _partition(T.cluster(vecs, ks), labels)
    rng = random.Random(7)
    for _ in range(5):
        order = list(range(len(labels)))
        rng.shuffle(order)
        groups = T.cluster(vecs[order], [ks[i] for i in order])
        assert _partition([[order[i] for i in g] for g in groups], labels) == expected


def test_greedy_path_for_large_inputs_gives_the_same_groups_here() -> None:
    vecs, ks, labels = _fixture()
    weights = [5, 1, 1, 2, 1, 1]
    assert _partition(
        T.cluster(vecs, ks, weights=weights, max_agglomerative=1), labels
    ) == _partition(T.cluster(vecs, ks, weights=weights), labels)


def test_average_linkage_does_not_chain() -> None:
    # 0~1 and 1~2 are each above the threshold, 0~2 is far below: single linkage would chain them.
    vecs = np.vstack([unit(1, 0, 0), unit(1, 1.2, 0), unit(0, 1, 0)])
    groups = T.cluster(vecs, [frozenset()] * 3, threshold=0.6)
    assert len(groups) == 2


def test_cluster_edge_cases() -> None:
    assert T.cluster(np.zeros((0, 3), np.float32), []) == []
    assert T.cluster(unit(1, 0, 0)[None, :], [frozenset()]) == [[0]]


def test_representative_prefers_text_without_scrub_tags() -> None:
    vecs = np.vstack([unit(1, 0, 0), unit(1, 0.1, 0), unit(1, 0.2, 0)])
    texts = ["Pt [NAME] has T2DM with CKD 3", "code for type 2 diabetes with CKD 3", "T2DM + CKD3?"]
    assert T.representative([0, 1, 2], vecs, [frozenset()] * 3, texts, [9, 1, 1]) == 1


def test_parse_topic_id() -> None:
    assert [T.parse_topic_id(x) for x in ("12", "T12", "t-12", "#12", " 7 ", 3)] == [
        12,
        12,
        12,
        12,
        7,
        3,
    ]
    with pytest.raises(ValueError, match="not a topic id"):
        T.parse_topic_id("diabetes")


# --- summaries ------------------------------------------------------------------------------------


def _row(
    i: int,
    question: str,
    *,
    codes: str | None,
    summary: str | None,
    conf: str = "high",
    day: int = 1,
) -> QueryLog:
    return QueryLog(
        id=i,
        question=question,
        normalized=normalize(question),
        surface="cli",
        codes=codes,
        answer_summary=summary,
        confidence=conf,
        created_at=datetime(2026, 10, day, 9, tzinfo=UTC),
    )


def test_summarize_counts_examples_answer_codes_and_sources() -> None:
    rows = [
        _row(
            1,
            "Pt [NAME] has T2DM with CKD 3, code?",
            codes="E11.22,N18.30",
            summary="E11.22 + N18.30",
            day=2,
        ),
        _row(
            2,
            "code for type 2 diabetes with CKD stage 3",
            codes="E11.22,N18.30",
            summary="E11.22 + N18.30",
            day=3,
        ),
        _row(
            3,
            "Code for type 2 diabetes with CKD stage 3?",
            codes="E11.22,N18.30",
            summary="E11.22 + N18.30",
            day=5,
        ),
        _row(
            4,
            "type 2 diabetes with CKD stage 4",
            codes="E11.22,N18.4",
            summary="E11.22 + N18.4",
            conf="medium",
            day=4,
        ),
    ]
    cites = {
        i: [
            QueryCitation(
                query_id=i, rank=0, source_type="guideline", title="OCG FY2026", section="I.C.4.a"
            ),
            QueryCitation(
                query_id=i,
                rank=1,
                source_type="tabular",
                title="Tabular FY2026",
                section="use_additional_code",
                code="E11.22",
            ),
        ]
        for i in (1, 2, 3)
    }
    cites[4] = [
        QueryCitation(
            query_id=4, rank=0, source_type="guideline", title="OCG FY2026", section="I.C.4.a"
        )
    ]
    s = T.summarize(rows, cites)
    assert s.count == 4 and s.query_ids == [1, 2, 3, 4]
    assert (s.first_seen.day, s.last_seen.day) == (2, 5)
    assert s.examples[0] == "code for type 2 diabetes with CKD stage 3"  # the most asked form first
    assert len(s.examples) == 3 and not any("[NAME]" in e for e in s.examples[:2])
    assert s.answer_summary == "E11.22 + N18.30"
    assert s.codes == [("E11.22", 4), ("N18.30", 3), ("N18.4", 1)]
    assert [(x.short, x.count) for x in s.sources] == [
        ("Guidelines I.C.4.a", 4),
        ("Tabular E11.22 use additional code", 3),
    ]
    assert s.confidence == Counter({"high": 3, "medium": 1})


def test_source_short_names() -> None:
    S = T.SourceCount
    assert (
        S("drug_table", "Table of Drugs FY2026", "Aspirin", "T39.011", "2026", 1).short
        == "Table of Drugs: Aspirin → T39.011"
    )
    assert S("tabular", "Tabular", "code", "J96.01", None, 1).short == "Tabular J96.01"
    assert (
        S(
            "team_guideline",
            "Team guideline TG-001: Physician query policy",
            "TG-001",
            None,
            None,
            1,
        ).short
        == "Team guideline TG-001: Physician query policy"
    )
    assert S(
        "code_book", "ICD-10-CM code changes FY2025 to FY2026", "N18", "N18", None, 1
    ).short.endswith("N18")


# --- periods --------------------------------------------------------------------------------------


def test_resolve_period_defaults_and_inclusive_until() -> None:
    today = date(2026, 11, 27)
    since, until = resolve_period(today=today)
    assert (since, until) == (
        datetime(2026, 10, 29, tzinfo=UTC),
        datetime(2026, 11, 28, tzinfo=UTC),
    )
    assert until - since == timedelta(days=30)
    since, until = resolve_period("2026-10-01", "2026-10-31", today=today)
    assert (since.date(), until.date()) == (date(2026, 10, 1), date(2026, 11, 1))
    assert period_label(since, until) == "1 Oct 2026 – 31 Oct 2026"
    assert resolve_period("2026-10-01", None, 7, today=today)[1].date() == date(2026, 10, 8)
    assert resolve_period(None, "2026-10-31", 7, today=today)[0].date() == date(2026, 10, 25)
    assert resolve_period("2026-10-01", today=today)[1].date() == date(2026, 11, 28)


@pytest.mark.parametrize(
    "args, message",
    [
        (("2026-13-01", None, None), "--since '2026-13-01' is not a date"),
        ((None, "31/10/2026", None), "--until '31/10/2026' is not a date"),
        (("2026-11-01", "2026-10-01", None), "is after --until"),
        ((None, None, 0), "--days must be between 1 and 3,653 (10 years), not 0"),
        # issue 14: `codedesk review --days 99999999` ended in a traceback
        ((None, None, 99999999), "--days must be between 1 and 3,653 (10 years), not 99,999,999"),
    ],
)
def test_resolve_period_errors_say_what_to_type(args: tuple, message: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(message)):
        resolve_period(*args, today=date(2026, 11, 27))


# --- decisions as team guidelines (rendering only) ------------------------------------------------


def _topic() -> ReviewTopic:
    return ReviewTopic(
        id=3,
        label="Is sepsis present on admission if it was documented on day 2?",
        query_count=4,
        first_seen=datetime(2026, 10, 11, tzinfo=UTC),
        last_seen=datetime(2026, 10, 29, tzinfo=UTC),
        codes="A41.9",
        examples=[
            "Is sepsis present on admission if it was documented on day 2?",
            "POA indicator for sepsis diagnosed the day after admission",
        ],
        sources=[
            {"source_type": "guideline", "title": "OCG", "section": "Appendix I", "count": 4},
            {"source_type": "team_guideline", "title": "TG", "section": "TG-001", "count": 4},
            {"source_type": "guideline", "title": "OCG", "section": "I.C.1.d", "count": 3},
            {"source_type": "guideline", "title": "OCG", "section": "I.C.1.d.4", "count": 1},
        ],
    )


def test_refines_inferred_from_the_official_sections_and_top_code() -> None:
    assert infer_refines(_topic()) == ["Appendix I", "I.C.1.d", "A41.9"]
    assert parse_refines("I.C.4.a, E11.22; Section I.B.14 ,I.C.4.a") == [
        "I.C.4.a",
        "E11.22",
        "I.B.14",
    ]
    with pytest.raises(DecisionError):
        parse_refines("I.C.4.a: see note")


def test_slug() -> None:
    assert (
        slug("Is sepsis present on admission if it was documented on day 2?")
        == "is-sepsis-present-on-admission-if"
    )
    assert slug("Pt [NAME] – Ménière’s?") == "pt-menieres"
    assert slug("???") == "decision"


def test_render_guideline_front_matter_and_body() -> None:
    text = render_guideline(
        guideline_id="TG-002",
        title="Is sepsis POA if documented on day 2?",
        effective=date(2026, 11, 1),
        approved_by="Coding committee",
        status="approved",
        refines=["Appendix I", "I.C.1.d"],
        topic=_topic(),
        decision_id=9,
        text="Assign POA Y when the indicators were in the ED record.",
        recorded="2026-11-02T10:00:00+00:00",
    )
    front, body = text.split("\n---\n", 1)
    meta = dict(line.split(": ", 1) for line in front.splitlines()[1:])
    assert meta == {
        "id": "TG-002",
        "title": "Is sepsis POA if documented on day 2?",
        "effective": "2026-11-01",
        "approved_by": "Coding committee",
        "status": "approved",
        "refines": "Appendix I, I.C.1.d",
        "source": "codedesk review decide",
        "topic_id": "3",
        "decision_id": "9",
        "question_count": "4",
        "period": "2026-10-11..2026-10-29",
        "recorded": "2026-11-02T10:00:00+00:00",
    }
    assert "asked 4 times between 2026-10-11 and 2026-10-29" in body
    assert "## Decision" in body and body.rstrip().endswith("in the ED record.")
    assert "- POA indicator for sepsis diagnosed the day after admission" in body


# --- renderers on an in-memory report -------------------------------------------------------------


def _report() -> ReviewReport:
    since, until = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    stats = T.TopicStats(
        count=3,
        first_seen=since,
        last_seen=since + timedelta(days=9),
        examples=["code for urosepsis", '=HYPERLINK("x") urosepsis?'],
        answer_summary="Urosepsis has **no code**: query the provider | see TG-001",
        codes=[],
        sources=[T.SourceCount("guideline", "OCG FY2026", "I.C.1.d.1.a.ii", None, "2026", 3)],
        confidence=Counter({"medium": 3}),
        query_ids=[1, 2, 3],
    )
    decision = DecisionInfo(
        1,
        5,
        "code for urosepsis",
        "accepted",
        "Always query <b>first</b>.",
        "Coding committee",
        date(2026, 10, 20),
        datetime(2026, 10, 20, tzinfo=UTC),
        "/x/TG-002-code-for-urosepsis.md",
    )
    item = ReportItem(
        "thumbs_down",
        since + timedelta(days=3),
        2,
        5,
        "code for urosepsis",
        "Query the provider.",
        None,
        "medium",
        "No code given <script>",
        None,
    )
    esc = ReportItem(
        "escalation",
        since + timedelta(days=4),
        3,
        5,
        "code for urosepsis",
        None,
        None,
        "medium",
        "Provider will not answer",
        "open",
    )
    return ReviewReport(
        since=since,
        until=until,
        generated_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
        questions=3,
        people=2,
        surfaces=Counter({"slack_channel": 3}),
        confidence=Counter({"medium": 3}),
        thumbs_up=1,
        thumbs_down=1,
        escalations_open=1,
        latency_median_ms=900.0,
        fiscal_years=["2026"],
        weeks=[WeekCount(date(2026, 10, 1), 2, 0), WeekCount(date(2026, 10, 5), 1, 0)],
        topics=[ReportTopic(5, "code for urosepsis", 3, 1.0, stats, 3, 1, 1, 1, [decision])],
        thumbs_down_items=[item],
        escalations=[esc],
        decisions=[decision],
    )


def test_markdown_report() -> None:
    md = to_markdown(_report())
    assert md.startswith("# CodeDesk review: 1 Oct 2026 – 31 Oct 2026")
    assert "### 1. Code for urosepsis — 3 questions (topic 5)" in md
    assert "query the provider \\| see TG-001" in md  # pipes escaped for tables
    assert "Guidelines I.C.1.d.1.a.ii (3/3)" in md
    assert (
        "TG-002 (accepted)" in md
        and "No code given" in md
        and "Provider will not answer (open)" in md
    )
    assert "## Low-confidence answers (0)" in md


def test_csv_reports_are_spreadsheet_safe() -> None:
    rows = list(csv.DictReader(io.StringIO(topics_csv(_report()))))
    assert len(rows) == 1 and rows[0]["topic_id"] == "5" and rows[0]["questions"] == "3"
    assert (
        rows[0]["examples"].split(" | ")[1].startswith("=HYPERLINK")
    )  # inside a cell, not at its start
    assert rows[0]["decisions"] == "TG-002 (accepted)"
    items = list(csv.DictReader(io.StringIO(items_csv(_report()))))
    assert [i["kind"] for i in items] == ["thumbs_down", "escalation"]
    bad = _report()
    bad.topics[0].label = "=1+2"
    assert list(csv.DictReader(io.StringIO(topics_csv(bad))))[0]["label"] == "'=1+2"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.refs += [v or "" for k, v in attrs if k in ("src", "href")]


def test_html_report_is_self_contained_and_escaped() -> None:
    page = to_html(_report())
    parser = _Collect()
    parser.feed(page)
    assert parser.tags["svg"] == 4 and parser.tags["script"] == 0 and parser.refs == []
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;first" in page
    assert "<strong>no code</strong>" in page  # the answer's Markdown bold is kept
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * 4
    assert "1 Oct 2026 – 31 Oct 2026" in page and "TG-002" in page


def test_empty_report_says_so() -> None:
    r = ReviewReport(
        since=datetime(2026, 10, 1, tzinfo=UTC),
        until=datetime(2026, 11, 1, tzinfo=UTC),
        generated_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    assert "No questions logged in this period." in to_markdown(r)
    assert "No questions logged in this period." in to_html(r)
    assert topics_csv(r).splitlines() == [
        ",".join(
            (
                "rank",
                "topic_id",
                "label",
                "questions",
                "share",
                "total_all_time",
                "first_seen",
                "last_seen",
                "examples",
                "answer_summary",
                "codes",
                "sources",
                "high",
                "medium",
                "low",
                "thumbs_up",
                "thumbs_down",
                "escalations",
                "decisions",
            )
        )
    ]
