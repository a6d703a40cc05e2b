"""Team-lead review on a real log (a SQLite file and the local PostgreSQL): questions logged through
`QueryLogger.log_answer` with real `Answer` objects, grouped into topics with the real embedding
model, reported as Markdown, CSV and HTML, decisions written as team guidelines that
`codedesk.ingest.team` parses and indexes, the `codedesk review` commands, and the HTML report opened in
headless Chromium (the screenshot is kept in test-artifacts/)."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from codedesk.retrieval.schema import Answer, Citation, CodeItem
from codedesk.review.cli import review_app
from codedesk.review.db import dispose_engines, engine_for, make_engine, session_scope
from codedesk.review.decide import DecisionError, UnknownTopic, decide, slug
from codedesk.review.log import QueryLogger
from codedesk.review.models import Escalation, Feedback, QueryLog, ReviewDecision, ReviewTopic
from codedesk.review.report import (
    build_report,
    generate_report,
    items_csv,
    to_html,
    to_markdown,
    topics_csv,
)
from codedesk.review.topics import refresh_topics
from codedesk.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "review_questions.json"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
UTC = UTC
OCT = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
SEPSIS_POA_QUESTIONS = next(
    t["questions"] for t in json.loads(DATA.read_text())["topics"] if t["key"] == "sepsis_poa"
)
TABLES = (
    "review_decision",
    "escalation",
    "feedback",
    "query_citation",
    "query_log",
    "review_topic",
)


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the session (the ONNX export takes a while on 2 cores).
    CODEDESK_TEST_EMBED_CACHE reuses a folder across runs."""
    shared = os.environ.get("CODEDESK_TEST_EMBED_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("embed-cache")


@pytest.fixture(scope="session")
def embedder(embed_cache: Path):
    from codedesk.embeddings import get_embedder

    return get_embedder(embed_cache)


@pytest.fixture(scope="session")
def pg_url(pg_schema) -> Iterator[str]:
    with pg_schema(prefix="codedesk_review") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    url = request.getfixturevalue("pg_url")
    yield url
    engine = make_engine(url)  # leave the shared schema empty for the next test
    with engine.begin() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        if existing & set(TABLES):
            conn.execute(
                sa.text(
                    f"TRUNCATE {', '.join(t for t in TABLES if t in existing)} RESTART IDENTITY CASCADE"
                )
            )
    engine.dispose()


def make_settings(tmp_path: Path, db_url: str, embed_cache: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if not (home / "cache").exists():
        (home / "cache").symlink_to(embed_cache, target_is_directory=True)
    return Settings(
        home=home, database_url=db_url, team_guidelines_dir=tmp_path / "team", _env_file=None
    )


@pytest.fixture
def settings(tmp_path: Path, db_url: str, embed_cache: Path) -> Iterator[Settings]:
    s = make_settings(tmp_path, db_url, embed_cache)
    yield s
    dispose_engines()


# --- seeding the log ------------------------------------------------------------------------------


def make_answer(question: str, spec: dict, codes: list | None = None) -> Answer:
    return Answer(
        question=question,
        answer=spec["answer"],
        codes=[CodeItem(code=c, description=d, billable=True) for c, d in (codes or spec["codes"])],
        citations=[
            Citation(
                source_type=t,
                title=title,
                section=section,
                page=page,
                code=code,
                fiscal_year="2026",
            )
            for t, title, section, page, code in spec["citations"]
        ],
        confidence=spec["confidence"],
        fiscal_year="2026",
    )


class Seeded:
    def __init__(self, logger: QueryLogger) -> None:
        self.logger = logger
        self.ids: dict[str, list[int]] = {}
        self.key_of: dict[int, str] = {}

    def backdate(self, model: type, row_id: int, when: datetime) -> None:
        with session_scope(self.logger.engine) as s:
            s.exec(sa.update(model).where(model.id == row_id).values(created_at=when))

    def ask(
        self,
        key: str,
        question: str,
        spec: dict,
        when: datetime,
        codes: list | None = None,
        user: str = "U1",
    ) -> int:
        qid = self.logger.log_answer(
            question=question,
            answer=make_answer(question, spec, codes),
            surface="slack_channel",
            user_id=user,
            channel="C1",
            latency_ms=900.0,
            index_version="fy2026-test",
        )
        assert qid is not None, "the database is up: the record must be written at once"
        self.backdate(QueryLog, qid, when)
        self.ids.setdefault(key, []).append(qid)
        self.key_of[qid] = key
        return qid

    def feedback(self, qid: int, value: int, reason: str | None = None) -> None:
        fid = self.logger.feedback(query_id=qid, user_id="U7", value=value, reason=reason)
        assert fid is not None
        self.backdate(Feedback, fid, self._asked(qid) + timedelta(hours=1))

    def escalate(self, qid: int, note: str) -> None:
        eid = self.logger.escalation(query_id=qid, user_id="U8", channel="C-leads", note=note)
        assert eid is not None
        self.backdate(Escalation, eid, self._asked(qid) + timedelta(hours=2))

    def _asked(self, qid: int) -> datetime:
        with Session(self.logger.engine) as s:
            return s.get(QueryLog, qid).created_at


def seed(settings: Settings, tmp_path: Path) -> Seeded:
    """33 October questions over 12 topics, 2 in September (outside the period), some 👍/👎 and
    two escalations."""
    data = json.loads(DATA.read_text())
    logger = QueryLogger(settings, hash_secret="review-test", queue_path=tmp_path / "queue.sqlite3")
    seeded = Seeded(logger)
    rng = random.Random(5)
    specs = {t["key"]: t["answer"] for t in data["topics"]}
    for topic in data["topics"]:
        for item in topic["questions"]:
            question = item if isinstance(item, str) else item["question"]
            codes = None if isinstance(item, str) else item["codes"]
            when = OCT[0] + timedelta(days=rng.randrange(31), hours=rng.randrange(8, 18))
            seeded.ask(
                topic["key"], question, topic["answer"], when, codes, user=f"U{rng.randint(1, 9)}"
            )
    for question in (
        "T2DM and CKD stage 3 codes?",
        "type 2 diabetes with stage 3 kidney disease code",
    ):
        seeded.ask("september", question, specs["t2dm_ckd"], datetime(2026, 9, 20, 10, tzinfo=UTC))
    ids = seeded.ids
    for key in ("t2dm_ckd", "symptoms_with_dx", "htn_hf_ckd"):
        for qid in ids[key][:2]:
            seeded.feedback(qid, 1)
    seeded.feedback(
        ids["sepsis_poa"][0],
        -1,
        "Our policy is to query the physician first, the answer skipped that",
    )
    seeded.feedback(
        ids["pressure_ulcer_nurse"][0],
        -1,
        "Wrong - Dr. Alan Reyes said the stage comes from the nurse only for inpatients",
    )
    seeded.feedback(ids["long_covid"][0], -1)
    seeded.escalate(ids["urosepsis"][2], "Provider never answers urosepsis queries, what do we do?")
    seeded.escalate(ids["pressure_ulcer_nurse"][1], "We need a team rule for wound nurse staging")
    return seeded


def topic_of(engine: sa.Engine) -> dict[int, int | None]:
    with Session(engine) as s:
        return dict(s.exec(select(QueryLog.id, QueryLog.topic_id)).all())


def refresh(settings: Settings, embedder, since: datetime = OCT[0], until: datetime = OCT[1]):
    with session_scope(engine_for(settings)) as s:
        run = refresh_topics(s, since=since, until=until, embedder=embedder)
        return (
            run.questions,
            [(tc.topic.id, tc.count) for tc in run.topics],
            run.created,
            run.reused,
        )


# --- topics ---------------------------------------------------------------------------------------


def test_topics_group_paraphrases_and_separate_different_questions(
    settings: Settings, tmp_path: Path, embedder
) -> None:
    seeded = seed(settings, tmp_path)
    questions, topics, created, reused = refresh(settings, embedder)
    assert questions == 33 and created == len(topics) and reused == 0
    member = topic_of(seeded.logger.engine)
    groups: dict[int, set[str]] = {}
    for qid, key in seeded.key_of.items():
        if key != "september":
            groups.setdefault(member[qid], set()).add(key)
    assert all(len(keys) == 1 for keys in groups.values()), (
        f"a topic mixes different questions: {groups}"
    )
    for key, qids in seeded.ids.items():
        if key != "september":
            assert len({member[q] for q in qids}) == 1, f"the paraphrases of {key} were split"
    assert all(member[q] is None for q in seeded.ids["september"])  # outside the period: untouched
    assert member[seeded.ids["t2dm_ckd"][0]] != member[seeded.ids["t1dm_nephropathy"][0]]
    assert [n for _, n in topics][:3] == [7, 5, 4]

    with Session(seeded.logger.engine) as s:
        t2 = s.get(ReviewTopic, member[seeded.ids["t2dm_ckd"][0]])
        stored = json.dumps([t2.label, t2.examples, t2.answer_summary])
    assert t2.query_count == 7 and t2.first_seen < t2.last_seen and t2.updated_at is not None
    assert t2.codes.split(",")[:2] == ["E11.22", "N18.30"] and "N18.4" in t2.codes
    assert {d["section"] for d in t2.sources} >= {"I.A.15", "I.C.4.a", "use_additional_code"}
    assert len(t2.examples) == 5 and t2.answer_summary.startswith("**E11.22**")
    for phi in ("Maria", "Lopez", "1957", "04/12"):
        assert phi not in stored


def test_rerun_keeps_topic_ids_and_later_questions_join_them(
    settings: Settings, tmp_path: Path, embedder
) -> None:
    seeded = seed(settings, tmp_path)
    first = refresh(settings, embedder)
    engine = seeded.logger.engine
    before = topic_of(engine)
    sepsis_topic = before[seeded.ids["sepsis_poa"][0]]
    decision = decide(
        settings,
        sepsis_topic,
        "Assign POA Y when the ED record shows the indicators.",
        "Leads",
        engine=engine,
    )

    again = refresh(settings, embedder)
    assert again[1] == first[1] and again[2] == 0  # same topics, same counts, nothing created
    assert topic_of(engine) == before
    with Session(engine) as s:
        n_topics = s.exec(select(sa.func.count()).select_from(ReviewTopic)).one()
    assert n_topics == len(first[1])

    # November: new paraphrases of October topics, asked when no October question is in the window
    data = {t["key"]: t["answer"] for t in json.loads(DATA.read_text())["topics"]}
    nov = datetime(2026, 11, 10, 9, tzinfo=UTC)
    poa = seeded.ask(
        "sepsis_poa",
        "POA for sepsis first documented on the second hospital day?",
        data["sepsis_poa"],
        nov,
    )
    ckd = seeded.ask(
        "t2dm_ckd",
        "type 2 diabetes mellitus with chronic kidney disease stage 3, codes?",
        data["t2dm_ckd"],
        nov + timedelta(days=1),
    )
    new = seeded.ask(
        "resp_failure",
        "acute respiratory failure with hypoxia code",
        data["resp_failure"],
        nov + timedelta(days=2),
    )
    questions, topics, created, reused = refresh(
        settings, embedder, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    after = topic_of(engine)
    assert questions == 3 and created == 0 and reused == 3
    assert after[poa] == sepsis_topic  # matched by label: the decision stays attached
    assert after[ckd] == before[seeded.ids["t2dm_ckd"][0]]
    assert after[new] == before[seeded.ids["resp_failure"][0]]
    with Session(engine) as s:
        assert s.get(ReviewTopic, sepsis_topic).query_count == 5
        assert s.get(ReviewDecision, decision.decision_id).topic_id == sepsis_topic


# --- reports --------------------------------------------------------------------------------------


def test_report_markdown_csv_and_html(settings: Settings, tmp_path: Path, embedder) -> None:
    seeded = seed(settings, tmp_path)
    report = generate_report(settings, since=OCT[0], until=OCT[1], embedder=embedder)
    assert (report.questions, report.thumbs_up, report.thumbs_down, len(report.escalations)) == (
        33,
        6,
        3,
        2,
    )
    assert report.confidence == {"high": 20, "medium": 10, "low": 3} and report.ungrouped == 0
    assert sum(w.questions for w in report.weeks) == 33 and report.weeks[0].start == date(
        2026, 10, 1
    )
    top = report.topics[0]
    assert top.topic_id == topic_of(seeded.logger.engine)[seeded.ids["t2dm_ckd"][0]]
    assert top.count == 7 and top.thumbs_up == 2 and "diabetes" in top.label.lower()

    md = to_markdown(report)
    assert md.startswith("# CodeDesk review: 1 Oct 2026 – 31 Oct 2026")
    assert "33 questions from" in md and "20 high, 10 medium, 3 low" in md
    assert (
        "— 7 questions (topic" in md and "Guidelines I.C.4.a (7/7)" in md and "E11.22 (7/7)" in md
    )
    assert "Answer given: **E11.22**" in md
    assert "## Low-confidence answers (3)" in md and "long COVID brain fog" in md
    assert "Wrong - Dr. [NAME] said the stage comes from the nurse" in md and "Reyes" not in md
    assert "Provider never answers urosepsis queries" in md and "(open)" in md
    assert "T2DM and CKD stage 3 codes?" not in md  # September

    rows = list(csv.DictReader(io.StringIO(topics_csv(report))))
    assert len(rows) == len(report.topics) == 12
    assert (rows[0]["questions"], rows[0]["codes"].split(",")[0], rows[0]["high"]) == (
        "7",
        "E11.22",
        "7",
    )
    assert sum(int(r["questions"]) for r in rows) == 33
    items = list(csv.DictReader(io.StringIO(items_csv(report))))
    assert (
        sorted(i["kind"] for i in items)
        == ["escalation"] * 2 + ["low_confidence"] * 3 + ["thumbs_down"] * 3
    )

    page = to_html(report)
    assert page.count("<svg") == 4 and "<script" not in page
    assert (
        "1 Oct 2026 – 31 Oct 2026" in page and "Questions per week" in page and "Top topics" in page
    )
    assert "67%" in page  # helpful: 6 of 9 votes


def test_report_counts_feedback_in_the_period_and_decisions(
    settings: Settings, tmp_path: Path, embedder
) -> None:
    seeded = seed(settings, tmp_path)
    refresh(settings, embedder)
    engine = seeded.logger.engine
    topic = topic_of(engine)[seeded.ids["urosepsis"][0]]
    result = decide(
        settings,
        topic,
        "Always query; never assign A41.9 or N39.0 from 'urosepsis' alone.",
        "Coding committee",
        "2026-10-20",
        engine=engine,
    )
    with session_scope(engine) as s:
        s.exec(sa.update(ReviewDecision).values(created_at=datetime(2026, 10, 20, 15, tzinfo=UTC)))
        report = build_report(s, since=OCT[0], until=OCT[1])
    row = next(t for t in report.topics if t.topic_id == topic)
    assert [d.guideline_id for d in row.decisions] == [result.guideline_id] == ["TG-001"]
    assert row.escalations == 1 and report.decisions[0].status == "accepted"
    assert f"{result.guideline_id} (accepted)" in to_markdown(report)
    with session_scope(engine) as s:  # November holds none of it
        nov = build_report(s, since=OCT[1], until=datetime(2026, 12, 1, tzinfo=UTC))
    assert (
        nov.empty
        and nov.decisions == []
        and "No questions logged in this period." in to_markdown(nov)
    )


# --- decisions → team guidelines ------------------------------------------------------------------


def test_decide_writes_a_team_guideline_that_ingest_parses_and_cites(
    tmp_path: Path, embed_cache: Path, embedder
) -> None:
    from codedesk.ingest.team import load_team_guidelines, to_docs

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", embed_cache)
    team = Path(settings.team_guidelines_dir)
    team.mkdir()
    shutil.copy(REPO / "guidelines" / "team" / "TG-001-physician-query.md", team)
    original = (team / "TG-001-physician-query.md").read_bytes()
    seeded = seed(settings, tmp_path)
    refresh(settings, embedder)
    engine = seeded.logger.engine
    sepsis = topic_of(engine)[seeded.ids["sepsis_poa"][0]]

    text = (
        "When the ED record documents the sepsis indicators before the inpatient order, assign POA Y even "
        "if the provider names sepsis on day 2 (pt Jane Roe, MRN 448812 was the example)."
    )
    with Session(
        engine
    ) as s:  # the topic's label: the question nearest its centre (which one, the embedder says)
        label = s.get(ReviewTopic, sepsis).label
    assert label in SEPSIS_POA_QUESTIONS
    result = decide(
        settings, sepsis, text, "Coding committee (HIM director, CDI lead)", date(2026, 11, 1)
    )
    assert result.guideline_id == "TG-002" and result.path.parent == team
    assert result.path.name == f"TG-002-{slug(label)}.md"
    assert result.refines == ("Appendix I", "I.C.1.d", "A41.9")
    assert (team / "TG-001-physician-query.md").read_bytes() == original

    guidelines = {g.id: g for g in load_team_guidelines(team)}
    g = guidelines["TG-002"]
    assert (g.title, g.effective, g.status) == (label, date(2026, 11, 1), "approved")
    assert g.approved_by == "Coding committee (HIM director, CDI lead)"
    assert g.refines == ["Appendix I", "I.C.1.d", "A41.9"]
    assert g.extra["topic_id"] == str(sepsis) and g.extra["decision_id"] == str(result.decision_id)
    assert g.extra["question_count"] == "4" and g.extra["period"].startswith("2026-10-")
    assert (
        "Jane" not in g.body and "448812" not in g.body and "[NAME]" in g.body
    )  # scrubbed like the log

    docs = [d for d in to_docs(guidelines.values(), "2026") if d.metadata["section"] == "TG-002"]
    assert docs and all(d.metadata["source_type"] == "team_guideline" for d in docs)
    decision_doc = next(d for d in docs if d.metadata["anchor"] == "decision")
    assert decision_doc.id == "TEAM:2026:team_guideline:TG-002#decision"
    assert decision_doc.metadata["citation"] == "Team guideline TG-002, effective 2026-11-01"
    assert "assign POA Y" in decision_doc.text and label[:40] in decision_doc.embed_text

    with Session(engine) as s:
        row = s.get(ReviewDecision, result.decision_id)
        assert (row.topic_id, row.status, row.guideline_path) == (
            sepsis,
            "accepted",
            str(result.path),
        )

    # ids are never reused, files never overwritten; drafts are written but not indexed
    second = decide(settings, sepsis, "Second thoughts.", "Leads", status="draft")
    assert second.guideline_id == "TG-003" and second.decision_status == "proposed"
    assert not [
        d for d in to_docs(load_team_guidelines(team), "2026") if d.metadata["section"] == "TG-003"
    ]
    second.path.unlink()
    third = decide(settings, sepsis, "Third.", "Leads", refines="I.C.1.d.4")
    assert third.guideline_id == "TG-004" and third.refines == ("I.C.1.d.4",)

    with pytest.raises(UnknownTopic, match="No review topic 999"):
        decide(settings, 999, "x", "Leads")
    with pytest.raises(DecisionError, match="empty"):
        decide(settings, sepsis, "   ", "Leads")
    assert sorted(p.name[:6] for p in team.glob("TG-*.md")) == ["TG-001", "TG-002", "TG-004"]


# --- the commands ---------------------------------------------------------------------------------


def cli(settings: Settings) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = settings

    app.add_typer(review_app, name="review")
    return app


def test_review_commands(tmp_path: Path, embed_cache: Path, embedder) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", embed_cache)
    app, runner = cli(settings), CliRunner()

    empty = runner.invoke(app, ["review", "--since", "2026-10-01", "--until", "2026-10-31"])
    assert (
        empty.exit_code == 0
        and "No questions logged in this period (1 Oct 2026 – 31 Oct 2026)" in empty.output
    )

    seeded = seed(settings, tmp_path)
    res = runner.invoke(app, ["review", "topics", "--since", "2026-10-01", "--until", "2026-10-31"])
    assert res.exit_code == 0, res.output
    assert "33 questions in 12 topics, 1 Oct 2026 – 31 Oct 2026 (12 new, 0 kept)" in res.output
    sepsis = topic_of(seeded.logger.engine)[seeded.ids["sepsis_poa"][0]]
    assert any(f"{sepsis:>6}      4      4  {q[:30]}" in res.output for q in SEPSIS_POA_QUESTIONS)

    md = runner.invoke(app, ["review", "--since", "2026-10-01", "--until", "2026-10-31"])
    assert md.exit_code == 0 and md.output.startswith("# CodeDesk review: 1 Oct 2026 – 31 Oct 2026")
    out = tmp_path / "reports" / "october.html"
    res = runner.invoke(
        app,
        ["review", "--since", "2026-10-01", "--days", "31", "--format", "html", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<!DOCTYPE html>") and "Wrote" in res.output
    res = runner.invoke(
        app,
        [
            "review",
            "--since",
            "2026-10-01",
            "--until",
            "2026-10-31",
            "-f",
            "csv",
            "-o",
            str(tmp_path / "october.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "october.csv").read_text().startswith("rank,topic_id,label")
    assert (tmp_path / "october-items.csv").read_text().startswith("kind,created_at")

    res = runner.invoke(
        app,
        [
            "review",
            "decide",
            f"T{sepsis}",
            "--text",
            "Assign POA Y when the ED shows it.",
            "--by",
            "Coding committee",
            "--effective",
            "2026-11-01",
            "--refines",
            "Appendix I",
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"on topic {sepsis} and wrote TG-001 (approved, effective 2026-11-01)" in res.output
    assert "It refines Appendix I." in res.output and "codedesk ingest" in res.output

    bad = runner.invoke(app, ["review", "--since", "2026-13-01"])
    assert bad.exit_code == 2 and "is not a date: use YYYY-MM-DD" in bad.output
    bad = runner.invoke(app, ["review", "--format", "pdf"])
    assert bad.exit_code == 2 and "use md, csv or html" in bad.output
    bad = runner.invoke(app, ["review", "decide", "999", "--text", "x", "--by", "me"])
    assert bad.exit_code == 1 and "No review topic 999" in bad.output
    bad = runner.invoke(app, ["review", "decide", "diabetes", "--text", "x", "--by", "me"])
    assert bad.exit_code == 2 and "not a topic id" in bad.output
    bad = runner.invoke(
        app, ["review", "decide", str(sepsis), "--text", "x", "--by", "me", "--effective", "soon"]
    )
    assert bad.exit_code == 1 and "--effective 'soon' is not a date" in bad.output


# --- the HTML report in a real browser ------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_html_report_renders_in_headless_chromium(
    tmp_path: Path, embed_cache: Path, embedder
) -> None:
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", embed_cache)
    seeded = seed(settings, tmp_path)
    refresh(settings, embedder)
    sepsis = topic_of(seeded.logger.engine)[seeded.ids["sepsis_poa"][0]]
    decide(
        settings,
        sepsis,
        "Assign POA **Y** when the ED record documents the sepsis indicators before the "
        "inpatient order; otherwise query the attending with the TG-001 template.",
        "Coding committee",
        "2026-11-01",
    )
    with session_scope(seeded.logger.engine) as s:
        s.exec(sa.update(ReviewDecision).values(created_at=datetime(2026, 10, 30, 15, tzinfo=UTC)))
    report = generate_report(settings, since=OCT[0], until=OCT[1], cluster=False)

    ARTIFACTS.mkdir(exist_ok=True)
    page, png = ARTIFACTS / "review-report.html", ARTIFACTS / "review-report.png"
    page.write_text(to_html(report), encoding="utf-8")
    png.unlink(missing_ok=True)
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--screenshot={png}",
        "--window-size=1280,2000",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and png.is_file(), f"chromium failed: {proc.stderr[-2000:]}"
    assert _png_size(png) == (1280, 2000)
    assert png.stat().st_size > 50_000  # a rendered page, not a blank one


def test_purge_refreshes_topic_summaries(settings: Settings, tmp_path: Path, embedder) -> None:
    from codedesk.review.retention import purge

    seeded = seed(settings, tmp_path)
    refresh(settings, embedder)
    engine = seeded.logger.engine
    topic = topic_of(engine)[seeded.ids["t2dm_ckd"][0]]
    with session_scope(engine) as s:  # everything in October is more than 365 days old a year later
        purge(s, timedelta(days=365), now=datetime(2027, 11, 1, tzinfo=UTC))
    with Session(engine) as s:
        t = s.get(ReviewTopic, topic)
        assert (t.query_count, t.examples, t.first_seen, t.sources) == (0, [], None, [])
        assert t.label  # the topic (and any decision on it) stays
