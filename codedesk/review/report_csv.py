"""The review report as CSV: `topics_csv`, one row per topic, and `items_csv`, one row per item.

The items are the period's low-confidence answers, 👎 and escalations. Every cell goes through
`codedesk.review.escaping.csv_cell`, so a spreadsheet never runs user text as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from codedesk.review.escaping import csv_cell
from codedesk.review.report_data import ReportTopic, ReviewReport
from codedesk.review.report_format import _codes, _decision_text, _source_text

# --- CSV ------------------------------------------------------------------------------------------

TOPIC_COLUMNS = (
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
ITEM_COLUMNS = (
    "kind",
    "created_at",
    "query_id",
    "topic_id",
    "question",
    "answer_summary",
    "codes",
    "confidence",
    "detail",
    "status",
)


def _cell(value: Any) -> Any:
    """Spreadsheet-safe: no control bytes, and text a spreadsheet would run as a formula gets a leading quote."""
    return csv_cell(value)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


def topics_csv(report: ReviewReport) -> str:
    """One row per topic of the period, most asked first."""

    def row(n: int, t: ReportTopic) -> list[Any]:
        s = t.stats
        return [
            n,
            t.topic_id,
            t.label,
            t.count,
            f"{t.share:.3f}",
            t.total,
            s.first_seen.isoformat() if s.first_seen else "",
            s.last_seen.isoformat() if s.last_seen else "",
            " | ".join(s.examples),
            s.answer_summary or "",
            ",".join(_codes(s, 10)),
            " | ".join(_source_text(x, t.count) for x in s.sources),
            s.confidence.get("high", 0),
            s.confidence.get("medium", 0),
            s.confidence.get("low", 0),
            t.thumbs_up,
            t.thumbs_down,
            t.escalations,
            "; ".join(_decision_text(d) for d in t.decisions),
        ]

    return _csv(TOPIC_COLUMNS, (row(n, t) for n, t in enumerate(report.topics, 1)))


def items_csv(report: ReviewReport) -> str:
    """One row per low-confidence answer, 👎 and escalation of the period."""
    rows = [*report.low_confidence, *report.thumbs_down_items, *report.escalations]
    return _csv(
        ITEM_COLUMNS,
        (
            [
                i.kind,
                i.created_at.isoformat(),
                i.query_id,
                i.topic_id or "",
                i.question,
                i.answer_summary or "",
                i.codes or "",
                i.confidence or "",
                i.detail or "",
                i.status or "",
            ]
            for i in rows
        ),
    )
