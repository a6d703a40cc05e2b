"""Building log records from answers, user hashing and duration parsing: no database, no files."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from codedesk.retrieval.schema import Answer, Citation, CodeItem
from codedesk.review.cli import parse_duration
from codedesk.review.log import build_query_record, hash_user
from codedesk.review.models import QueryLogCreate

RAW = (
    "My patient John Smith, DOB 03/14/1952, MRN 00482913: type 2 diabetes with CKD stage 3, E11.22?"
)


def make_answer(question: str = RAW) -> Answer:
    return Answer(
        id="q-1",
        question=question,
        answer="Use **E11.22** with N18.30 for Mr. Smith.\n\nMore detail follows.",
        codes=[
            CodeItem(
                code="E11.22",
                description="Type 2 diabetes mellitus with diabetic CKD",
                billable=True,
            ),
            CodeItem(code="N18.30", description="CKD stage 3 unspecified", billable=True),
        ],
        citations=[
            Citation(
                source_type="guideline",
                title="ICD-10-CM Official Guidelines FY2025",
                section="I.C.4.a.3",
                page=40,
                fiscal_year="2025",
                quote="long quote",
            ),
            Citation(
                source_type="tabular",
                title="Tabular List",
                section="use_additional_code",
                code="E11.22",
                fiscal_year="2025",
            ),
        ],
        confidence="high",
        fiscal_year="2025",
    )


def test_record_is_scrubbed_and_shaped() -> None:
    record = build_query_record(
        question=RAW,
        answer=make_answer(),
        surface="slack_dm",
        user_hash="h" * 64,
        channel="D123",
        latency_ms=812.5,
        index_version="fy2026-1",
    )
    assert isinstance(record, QueryLogCreate)
    dumped = record.model_dump_json()
    for phi in ("John", "Smith", "03/14/1952", "00482913"):
        assert phi not in dumped
    assert record.question.startswith("My patient [NAME], DOB [DATE], MRN [MRN]")
    assert "E11.22" in record.question and "CKD stage 3" in record.question
    assert record.normalized == record.normalized.lower()
    assert record.codes == "E11.22,N18.30"
    assert record.answer_summary == "Use **E11.22** with N18.30 for Mr. [NAME]."
    assert record.confidence == "high" and record.fiscal_year == "2025"
    assert record.phi_found == "date:1,mrn:1,name:1"
    assert [(c.source_type, c.section, c.page, c.code) for c in record.citations] == [
        ("guideline", "I.C.4.a.3", 40, None),
        ("tabular", "use_additional_code", None, "E11.22"),
    ]
    assert (
        record.created_at.tzinfo is not None and record.created_at.utcoffset().total_seconds() == 0
    )
    assert len(record.uid) == 36


def test_record_rejects_unknown_surface() -> None:
    with pytest.raises(ValueError, match="surface"):
        build_query_record(
            question="x",
            answer=make_answer("x"),
            surface="email",
            user_hash=None,
            channel=None,
            latency_ms=1,
            index_version=None,
        )


def test_user_hash_is_hmac_sha256() -> None:
    key = b"k" * 32
    assert hash_user("U123", key) == hmac.new(key, b"U123", hashlib.sha256).hexdigest()
    assert hash_user("U123", key) != hash_user("U123", b"other-key")
    assert hash_user(None, key) is None and hash_user("", key) is None


@pytest.mark.parametrize(("text", "days"), [("365d", 365), ("52w", 364), ("48h", 2), (" 30D ", 30)])
def test_parse_duration(text: str, days: int) -> None:
    assert parse_duration(text).days == days


@pytest.mark.parametrize("text", ["", "365", "d", "10x", "-5d", "0d", "1.5d", "1y"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 365d"):
        parse_duration(text)


def test_a_long_index_path_is_cut_to_its_column_not_lost() -> None:
    # an Index path through "see" references ("Fracture, traumatic … > hip → … > femur, femoral > upper end > neck")
    # is longer than the 128 characters the citation column holds: the record is built, the section cut
    path = " > ".join(["Fracture, traumatic (abduction) (adduction) (separation)"] * 4)
    answer = make_answer("hip fracture")
    answer.citations.append(
        Citation(source_type="index", title="ICD-10-CM Alphabetic Index FY2025", section=path)
    )
    record = build_query_record(
        question="hip fracture",
        answer=answer,
        surface="cli",
        user_hash=None,
        channel=None,
        latency_ms=1.0,
        index_version=None,
    )
    section = record.citations[-1].section
    assert section is not None and len(section) == 128 and section.endswith("…")
    assert section[:-1] == path[:127]
