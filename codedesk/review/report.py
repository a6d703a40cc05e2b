"""The team-lead review of a period: what coders asked most, where answers were weak, what was decided.

`build_report(session, since=…, until=…)` reads the log (topics must be refreshed first:
`codedesk.review.topics.refresh_topics`, or use `generate_report(settings, …)` which does both) and returns
a `ReviewReport`; the renderers turn it into Markdown (`to_markdown`), CSV (`topics_csv`, one row
per topic, and `items_csv`, one row per low-confidence answer, 👎 and escalation) and a
self-contained HTML page with inline SVG charts for the monthly meeting (`to_html`: no script, no
web font, no network).

Everything shown was scrubbed before it was stored. Periods are half-open, ``since <= t < until``,
in UTC.

This module is the public surface and `render(report, fmt)`; the parts live beside it:
`report_data` (periods, records, the queries of `build_report`/`generate_report`), `report_format`
(formatting the renderers share), `report_markdown`, `report_csv` and `report_html`.
"""

from __future__ import annotations

from codedesk.review.report_csv import ITEM_COLUMNS, TOPIC_COLUMNS, items_csv, topics_csv
from codedesk.review.report_data import (
    CONFIDENCES,
    DEFAULT_DAYS,
    MAX_DAYS,
    DecisionInfo,
    PeriodError,
    ReportItem,
    ReportTopic,
    ReviewReport,
    WeekCount,
    build_report,
    default_embedder,
    generate_report,
    parse_day,
    period_label,
    resolve_period,
)
from codedesk.review.report_html import svg_donut, svg_topic_bars, svg_week_bars, to_html
from codedesk.review.report_markdown import to_markdown

__all__ = [
    "CONFIDENCES",
    "DEFAULT_DAYS",
    "ITEM_COLUMNS",
    "MAX_DAYS",
    "TOPIC_COLUMNS",
    "DecisionInfo",
    "PeriodError",
    "ReportItem",
    "ReportTopic",
    "ReviewReport",
    "WeekCount",
    "build_report",
    "default_embedder",
    "generate_report",
    "items_csv",
    "parse_day",
    "period_label",
    "render",
    "resolve_period",
    "svg_donut",
    "svg_topic_bars",
    "svg_week_bars",
    "to_html",
    "to_markdown",
    "topics_csv",
]


def render(report: ReviewReport, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(report)
    if fmt == "csv":
        return topics_csv(report)
    if fmt == "html":
        return to_html(report)
    raise ValueError(f"unknown format {fmt!r}: use md, csv or html")
