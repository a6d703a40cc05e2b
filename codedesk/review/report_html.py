"""The review report as one self-contained HTML page (`to_html`) for the monthly meeting.

Inline SVG charts (questions per week, top topics, feedback and confidence rings), key-number
cards and the topic, item and decision tables, with the page's CSS inline: no script, no web font,
no network. All user text is escaped by `_e` (`html.escape` after stripping control bytes).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from codedesk.review.escaping import strip_controls
from codedesk.review.report_data import (
    CONFIDENCES,
    ReportItem,
    ReportTopic,
    ReviewReport,
    WeekCount,
)
from codedesk.review.report_format import _cap, _codes, _one_line, _pct, _source_text

# --- HTML -----------------------------------------------------------------------------------------

BLUE, RED, AMBER, GREEN, GREY = "#2563eb", "#dc2626", "#d97706", "#16a34a", "#9ca3af"
CONF_COLOURS = {"high": GREEN, "medium": AMBER, "low": RED, "unknown": GREY}
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"


def _e(text: Any) -> str:
    return html.escape(strip_controls("" if text is None else str(text)), quote=True)


def _rich(text: str | None) -> str:
    """Escaped text with Markdown **bold** and `code` kept."""
    t = _e(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def _nice_max(value: float) -> tuple[float, float]:
    """(axis max, tick step) for a bar chart whose tallest bar is `value`."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    step = max(step, 1)
    return math.ceil(value / step) * step, step


def svg_week_bars(weeks: Sequence[WeekCount], width: int = 560, height: int = 240) -> str:
    left, right, top, bottom = 36, 10, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, step = _nice_max(max((w.questions for w in weeks), default=0))
    n = max(len(weeks), 1)
    slot = plot_w / n
    bar = min(56, slot * 0.62)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Questions per week" style="{_FONT}">'
    ]
    tick = 0.0
    while tick <= peak + 1e-9:
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" fill="#6b7280" text-anchor="end">'
            f"{tick:g}</text>"
        )
        tick += step
    for i, w in enumerate(weeks):
        x = left + slot * i + (slot - bar) / 2
        h_all = plot_h * w.questions / peak
        h_low = plot_h * w.low / peak
        base = top + plot_h
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h_all:.1f}" width="{bar:.1f}" height="{h_all - h_low:.1f}" '
            f'fill="{BLUE}" rx="2"><title>{w.questions} questions</title></rect>'
        )
        if w.low:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h_low:.1f}" width="{bar:.1f}" height="{h_low:.1f}" '
                f'fill="{RED}" opacity="0.85"><title>{w.low} low confidence</title></rect>'
            )
        if w.questions:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base - h_all - 4:.1f}" font-size="11" fill="#111827" '
                f'text-anchor="middle" font-weight="600">{w.questions}</text>'
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" font-size="11" fill="#4b5563" '
            f'text-anchor="middle">{w.start.day} {w.start:%b}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9ca3af"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def svg_topic_bars(topics: Sequence[ReportTopic], width: int = 560, limit: int = 8) -> str:
    shown = list(topics[:limit])
    row_h, label_w, right = 28, 290, 36
    height = max(row_h * len(shown) + 12, 40)
    peak = max((t.count for t in shown), default=1)
    bar_w = width - label_w - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Top topics" style="{_FONT}">'
    ]
    for i, t in enumerate(shown):
        y = 6 + i * row_h
        w = max(bar_w * t.count / peak, 2)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" font-size="12" fill="#111827" text-anchor="end">'
            f"{_e(_one_line(_cap(t.label), 40))}<title>{_e(t.label)}</title></text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" fill="{BLUE}" rx="3"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" font-weight="600" '
            f'fill="#111827">{t.count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_donut(
    segments: Sequence[tuple[str, int, str]], centre: str, caption: str, size: int = 170
) -> str:
    """A ring of (label, value, colour) with a big number in the middle and a legend beside it."""
    total = sum(v for _, v, _ in segments)
    r, stroke = size * 0.32, size * 0.13
    cx = cy = size / 2
    circ = 2 * math.pi * r
    width = size + 200
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {size}" width="{width}" '
        f'height="{size}" role="img" '
        f'aria-label="{_e(caption)}" style="{_FONT}">',
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#f3f4f6" stroke-width="{stroke}"/>',
    ]
    offset = 0.0
    for label, value, colour in segments:
        if not value or not total:
            continue
        length = circ * value / total
        parts.append(
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{colour}" stroke-width="{stroke}" '
            f'stroke-dasharray="{length:.2f} {circ - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
            f'transform="rotate(-90 {cx} {cy})"><title>{_e(label)}: {value}</title></circle>'
        )
        offset += length
    parts.append(
        f'<text x="{cx}" y="{cy + 2}" font-size="26" font-weight="700" fill="#111827" '
        f'text-anchor="middle">{_e(centre)}</text>'
    )
    parts.append(
        f'<text x="{cx}" y="{cy + 22}" font-size="11" fill="#6b7280" text-anchor="middle">'
        f"{_e(caption)}</text>"
    )
    for i, (label, value, colour) in enumerate(segments):
        y = cy - 13 * len(segments) + i * 26 + 6
        share = f" ({_pct(value / total)})" if total else ""
        parts.append(
            f'<rect x="{size + 10}" y="{y}" width="14" height="14" rx="3" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{size + 32}" y="{y + 12}" font-size="13" fill="#111827">{_e(label)}: '
            f'<tspan font-weight="600">{value}</tspan>{share}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:28px 32px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;border-bottom:3px solid #1e3a8a;padding-bottom:12px;margin-bottom:20px}
h1{font-size:26px;margin:0;color:#1e3a8a}
header .period{font-size:18px;color:#374151;margin-top:4px}
header .meta{color:#6b7280;font-size:12px;text-align:right}
h2{font-size:18px;margin:28px 0 10px;color:#1e3a8a}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px}
.card{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .n{font-size:28px;font-weight:700;line-height:1.1}
.card .l{color:#4b5563;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .s{color:#6b7280;font-size:12px;margin-top:2px}
.card.warn .n{color:#b91c1c}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-top:16px}
.chart{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.chart h3{margin:0 0 8px;font-size:14px;color:#374151}
.chart .note{color:#6b7280;font-size:12px;margin-top:4px}
.chart svg{display:block;margin:0 auto}
.legend span{display:inline-block;margin-right:14px;font-size:12px;color:#374151}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th{background:#eef2ff;color:#1e3a8a;text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.03em;padding:8px 10px}
td{padding:8px 10px;border-top:1px solid #e5e7eb;vertical-align:top}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.date{white-space:nowrap;color:#4b5563}
.q{font-weight:600}
.ex{color:#6b7280;font-size:12px;margin-top:3px}
.src{font-size:12px;color:#374151;margin:0;padding-left:16px}
.code{display:inline-block;font:12px/1.6 ui-monospace,'DejaVu Sans Mono',monospace;background:#eff6ff;color:#1e40af;border-radius:4px;padding:0 5px;margin:1px 2px 1px 0}
.pill{display:inline-block;border-radius:999px;padding:1px 8px;font-size:11px;font-weight:600;white-space:nowrap}
.pill.high{background:#dcfce7;color:#166534}.pill.medium{background:#fef3c7;color:#92400e}.pill.low{background:#fee2e2;color:#991b1b}
.pill.open{background:#fee2e2;color:#991b1b}.pill.resolved{background:#e5e7eb;color:#374151}
.pill.accepted{background:#dcfce7;color:#166534}.pill.proposed{background:#e0e7ff;color:#3730a3}
.bar{height:6px;background:#dbeafe;border-radius:3px;margin-top:4px}.bar>div{height:6px;background:#2563eb;border-radius:3px}
.fb{white-space:nowrap;font-size:12px}.up{color:#166534}.down{color:#b91c1c}
.muted{color:#6b7280}
.empty{background:#fff;border-radius:10px;padding:14px;color:#6b7280}
footer{margin-top:32px;color:#6b7280;font-size:12px;border-top:1px solid #d1d5db;padding-top:10px}
@media print{body{background:#fff}main{padding:0}.card,.chart,table{box-shadow:none;border:1px solid #e5e7eb}h2{break-after:avoid}tr{break-inside:avoid}}
@media (max-width:900px){.cards{grid-template-columns:repeat(3,1fr)}.charts{grid-template-columns:1fr}}
"""


def _pill(text: str | None) -> str:
    return f'<span class="pill {_e(text)}">{_e(text)}</span>' if text else ""


def _code_chips(codes: Iterable[str]) -> str:
    return "".join(f'<span class="code">{_e(c)}</span>' for c in codes if c)


def to_html(
    report: ReviewReport, *, title: str = "CodeDesk coding review", top: int = 15, items: int = 25
) -> str:
    r = report
    head = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}: {_e(r.period)}</title><style>{_CSS}</style></head><body><main>"
    )
    header = (
        f'<header><div><h1>{_e(title)}</h1><div class="period">{_e(r.period)}</div></div>'
        f'<div class="meta">Generated {r.generated_at:%d %b %Y %H:%M} UTC'
        + (
            f"<br>ICD-10-CM FY{', FY'.join(_e(fy) for fy in r.fiscal_years)}"
            if r.fiscal_years
            else ""
        )
        + "</div></header>"
    )
    if r.empty:
        return (
            head
            + header
            + '<p class="empty">No questions logged in this period.</p></main></body></html>\n'
        )

    ratio = r.helpful_ratio
    low = r.confidence.get("low", 0)
    cards = [
        ("Questions", str(r.questions), f"from {r.people} people", ""),
        ("Topics", str(len(r.topics)), f"{r.repeated_topics} asked more than once", ""),
        ("Low confidence", str(low), f"{_pct(r.share('low'))} of answers", "warn" if low else ""),
        (
            "Helpful",
            _pct(ratio) if ratio is not None else "–",
            f"{r.thumbs_up} up · {r.thumbs_down} down",
            "warn" if ratio is not None and ratio < 0.7 else "",
        ),
        (
            "Escalations",
            str(len(r.escalations)),
            f"{r.escalations_open} still open",
            "warn" if r.escalations_open else "",
        ),
        ("Decisions", str(len(r.decisions)), "recorded in the period", ""),
    ]
    body = ['<section class="cards">']
    body += [
        f'<div class="card {cls}"><div class="l">{_e(label)}</div><div class="n">{_e(n)}</div>'
        f'<div class="s">{_e(sub)}</div></div>'
        for label, n, sub, cls in cards
    ]
    body.append("</section>")

    votes = r.thumbs_up + r.thumbs_down
    conf_segments = [
        (k.capitalize(), r.confidence.get(k, 0), CONF_COLOURS[k])
        for k in (*CONFIDENCES, "unknown")
        if k != "unknown" or r.confidence.get(k)
    ]
    feedback_chart = (
        svg_donut(
            [("Helpful", r.thumbs_up, GREEN), ("Not helpful", r.thumbs_down, RED)],
            _pct(ratio) if ratio is not None else "–",
            "helpful",
        )
        + f'<div class="note">{votes} votes on {r.questions} answers '
        f"({_pct(votes / r.questions)} of answers rated).</div>"
        if votes
        else '<p class="muted">No feedback in this period.</p>'
    )
    body += [
        '<section class="charts">',
        '<div class="chart"><h3>Questions per week</h3>',
        svg_week_bars(r.weeks),
        f'<div class="legend"><span><i style="background:{BLUE}"></i>answered with high or medium confidence</span>'
        f'<span><i style="background:{RED}"></i>low confidence</span></div></div>',
        f'<div class="chart"><h3>Top topics</h3>{svg_topic_bars(r.topics)}'
        f'<div class="note">Questions per topic in the period; the table below has the details.</div></div>',
        f'<div class="chart"><h3>Feedback</h3>{feedback_chart}</div>',
        '<div class="chart"><h3>Confidence of the answers</h3>',
        svg_donut(conf_segments, _pct(r.share("high")), "high"),
        "</div>",
        "</section>",
    ]

    # topics table
    body.append("<h2>Topics by frequency</h2>")
    if r.ungrouped:
        body.append(
            f'<p class="muted">{r.ungrouped} questions are not grouped yet: run <code>codedesk review '
            f"topics</code>.</p>"
        )
    peak = max((t.count for t in r.topics), default=1)
    body.append(
        '<table><thead><tr><th style="width:3%">#</th><th style="width:30%">Topic</th>'
        '<th style="width:7%">Asked</th><th style="width:30%">Answer given</th><th style="width:20%">Sources'
        '</th><th style="width:10%">Feedback / decision</th></tr></thead><tbody>'
    )
    for n, t in enumerate(r.topics[:top], 1):
        s = t.stats
        others = [e for e in s.examples if e != t.label][:2]
        ex = "".join(f'<div class="ex">“{_e(_one_line(e, 110))}”</div>' for e in others)
        srcs = "".join(f"<li>{_e(_source_text(x, t.count))}</li>" for x in s.sources[:4])
        fb = []
        if t.thumbs_up or t.thumbs_down:
            fb.append(
                f'<span class="fb"><span class="up">▲ {t.thumbs_up}</span> '
                f'<span class="down">▼ {t.thumbs_down}</span></span>'
            )
        if t.escalations:
            fb.append(f'<div class="fb">{t.escalations} escalated</div>')
        fb += [
            f"<div>{_e(d.guideline_id or f'decision {d.id}')} {_pill(d.status)}</div>"
            for d in t.decisions
        ]
        conf = " ".join(
            _pill(k) + f'<span class="muted"> {s.confidence[k]}</span>'
            for k in CONFIDENCES
            if s.confidence.get(k)
        )
        body.append(
            f'<tr><td class="num">{n}</td><td><div class="q">{_e(_cap(t.label))}</div>{ex}'
            f'<div class="ex">topic {t.topic_id}</div></td>'
            f'<td class="num"><b>{t.count}</b> <span class="muted">{_pct(t.share)}</span>'
            f'<div class="bar"><div style="width:{100 * t.count / peak:.0f}%"></div></div></td>'
            f"<td>{_rich(_one_line(s.answer_summary, 260))}<div>{_code_chips(_codes(s))}</div>"
            f'<div style="margin-top:3px">{conf}</div></td>'
            f'<td><ul class="src">{srcs}</ul></td><td>{"".join(fb) or "<span class=muted>–</span>"}</td></tr>'
        )
    body.append("</tbody></table>")
    if len(r.topics) > top:
        rest = r.topics[top:]
        body.append(
            f'<p class="muted">{len(rest)} more topics, asked {sum(t.count for t in rest)} times in all '
            f"(see the CSV export).</p>"
        )

    def item_table(title: str, rows: list[ReportItem], detail: str | None, empty: str) -> None:
        body.append(f"<h2>{_e(title)} ({len(rows)})</h2>")
        if not rows:
            body.append(f'<p class="empty">{_e(empty)}</p>')
            return
        cols = ["Date", "Topic", "Question", *([detail] if detail else []), "Answer given"]
        body.append(
            "<table><thead><tr>"
            + "".join(f"<th>{_e(c)}</th>" for c in cols)
            + "</tr></thead><tbody>"
        )
        for it in rows[:items]:
            cells = [
                f'<td class="date">{it.created_at:%d %b}</td>',
                f'<td class="num">{_e(it.topic_id or "–")}</td>',
                f'<td class="q">{_e(_cap(_one_line(it.question, 160)))}</td>',
            ]
            if detail:
                cells.append(
                    f"<td>{_e(it.detail) or '<span class=muted>no reason given</span>'}"
                    f"{' ' + _pill(it.status) if it.status else ''}</td>"
                )
            cells.append(
                f"<td>{_rich(_one_line(it.answer_summary, 180))}"
                f"<div>{_code_chips((it.codes or '').split(',')[:4])}</div></td>"
            )
            body.append("<tr>" + "".join(cells) + "</tr>")
        body.append("</tbody></table>")
        if len(rows) > items:
            body.append(
                f'<p class="muted">… and {len(rows) - items} more (see the CSV export).</p>'
            )

    item_table(
        "Low-confidence answers",
        r.low_confidence,
        None,
        "No low-confidence answers in this period.",
    )
    item_table(
        "Not helpful, with reasons",
        r.thumbs_down_items,
        "Reason",
        "No answer was marked not helpful.",
    )
    item_table(
        "Escalations to a team lead", r.escalations, "Note", "No escalations in this period."
    )

    body.append(f"<h2>Decisions recorded ({len(r.decisions)})</h2>")
    if not r.decisions:
        body.append(
            '<p class="empty">None in this period. Record one with <code>codedesk review decide TOPIC '
            "--text … --by …</code>; it becomes a team guideline the bot cites after the next ingest.</p>"
        )
    else:
        body.append(
            "<table><thead><tr><th>Date</th><th>Topic</th><th>Decision</th><th>By</th><th>Effective</th>"
            "<th>Guideline</th></tr></thead><tbody>"
        )
        for d in r.decisions:
            body.append(
                f'<tr><td class="date">{d.created_at:%d %b}</td><td><div class="q">{_e(_cap(d.topic_label))}</div>'
                f'<div class="ex">topic {_e(d.topic_id)}</div></td><td>{_rich(_one_line(d.text, 400))}</td>'
                f'<td>{_e(d.decided_by)}</td><td class="date">{_e(d.effective)}</td>'
                f"<td>{_e(d.guideline_id or '–')} {_pill(d.status)}</td></tr>"
            )
        body.append("</tbody></table>")

    footer = (
        "<footer>Questions, reasons and notes were scrubbed of patient identifiers before they were stored. "
        "Topics group near-identical questions (their embeddings and the codes and sources of their answers). "
        "Periods are in UTC."
    )
    if r.latency_median_ms is not None:
        footer += f" Median answer time {r.latency_median_ms / 1000:.1f} s."
    return head + header + "".join(body) + footer + "</footer></main></body></html>\n"
