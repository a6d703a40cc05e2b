"""The review report as Markdown (`to_markdown`): key numbers, weeks, topics, items and decisions.

Every piece of user text goes through `_md` (`codedesk.review.escaping.md_text`), so questions,
reasons and notes stay inert in Markdown and safe in a table cell.
"""

from __future__ import annotations

from codedesk.review.escaping import md_text
from codedesk.review.report_data import ReportItem, ReviewReport
from codedesk.review.report_format import (
    _cap,
    _codes,
    _conf_mix,
    _decision_text,
    _one_line,
    _pct,
    _source_text,
)

# --- Markdown -------------------------------------------------------------------------------------


def _md(text: str | None) -> str:
    """One line of user text, inert in Markdown (no HTML, links, control bytes; safe in a table cell)."""
    return md_text(text)


def to_markdown(report: ReviewReport, *, top: int = 15, items: int = 20) -> str:
    r = report
    out: list[str] = [f"# CodeDesk review: {r.period}", ""]
    if r.empty:
        return "\n".join([*out, "No questions logged in this period.", ""])
    ratio = r.helpful_ratio
    out += [
        f"*{r.questions} questions from {r.people} people · {len(r.topics)} topics ({r.repeated_topics} asked more "
        f"than once) · generated {r.generated_at:%Y-%m-%d %H:%M} UTC*",
        "",
        "| Key numbers | |",
        "| --- | --- |",
        f"| Questions | {r.questions} ({', '.join(f'{n} {s}' for s, n in r.surfaces.most_common())}) |",
        f"| Confidence | {_conf_mix(r.confidence)} |",
        f"| Feedback | 👍 {r.thumbs_up} · 👎 {r.thumbs_down}"
        + (f" ({_pct(ratio)} helpful)" if ratio is not None else "")
        + " |",
        f"| Escalations | {len(r.escalations)} ({r.escalations_open} open) |",
        f"| Decisions recorded | {len(r.decisions)} |",
    ]
    if r.latency_median_ms is not None:
        out.append(f"| Median answer time | {r.latency_median_ms / 1000:.1f} s |")
    out.append("")
    if r.ungrouped:
        out += [f"> {r.ungrouped} questions are not grouped yet: run `codedesk review topics`.", ""]

    out += [
        "## Questions per week",
        "",
        "| Week of | Questions | Low confidence |",
        "| --- | ---: | ---: |",
    ]
    out += [f"| {w.start.isoformat()} | {w.questions} | {w.low} |" for w in r.weeks]
    out.append("")

    out += ["## Topics by frequency", ""]
    for n, t in enumerate(r.topics[:top], 1):
        s = t.stats
        out.append(
            f"### {n}. {_md(_cap(t.label))} — {t.count} question{'s' if t.count != 1 else ''} (topic {t.topic_id})"
        )
        out.append("")
        others = [e for e in s.examples if e != t.label][:3]
        if others:
            out.append("- Also asked as: " + "; ".join(f"“{_md(e)}”" for e in others))
        if s.answer_summary:
            out.append(f"- Answer given: {_md(s.answer_summary)}")
        if s.codes:
            out.append(
                "- Codes: "
                + ", ".join(f"{c} ({k}/{t.count})" if t.count > 1 else c for c, k in s.codes)
            )
        if s.sources:
            out.append("- Sources: " + "; ".join(_md(_source_text(x, t.count)) for x in s.sources))
        extra = [f"Confidence: {_conf_mix(s.confidence)}"]
        if t.thumbs_up or t.thumbs_down:
            extra.append(f"👍 {t.thumbs_up} · 👎 {t.thumbs_down}")
        if t.escalations:
            extra.append(f"{t.escalations} escalated")
        out.append("- " + " · ".join(extra))
        if t.decisions:
            out.append("- Decided: " + "; ".join(_decision_text(d) for d in t.decisions))
        out.append("")
    rest = r.topics[top:]
    if rest:
        out += [
            f"{len(rest)} more topics:",
            "",
            "| Topic | Questions | Label | Codes |",
            "| ---: | ---: | --- | --- |",
        ]
        out += [
            f"| {t.topic_id} | {t.count} | {_md(_one_line(t.label, 90))} | {', '.join(_codes(t.stats))} |"
            for t in rest
        ]
        out.append("")

    def item_table(title: str, rows: list[ReportItem], detail: str | None) -> None:
        out.extend([f"## {title} ({len(rows)})", ""])
        if not rows:
            out.extend(["None in this period.", ""])
            return
        head = ["Date", "Topic", "Question", *([detail] if detail else []), "Answer given"]
        out.append("| " + " | ".join(head) + " |")
        out.append("| " + " | ".join("---" for _ in head) + " |")
        for it in rows[:items]:
            cells = [
                it.created_at.date().isoformat(),
                str(it.topic_id or "–"),
                _md(_one_line(it.question, 120)),
            ]
            if detail:
                d = _md(it.detail) or "–"
                cells.append(f"{d} ({it.status})" if it.status else d)
            answer = _one_line(
                (it.answer_summary or "").replace("**", ""), 140
            )  # no bold cut in half
            cells.append(_md(answer) + (f" `{it.codes}`" if it.codes else ""))
            out.append("| " + " | ".join(cells) + " |")
        if len(rows) > items:
            out.append(f"\n… and {len(rows) - items} more (see the CSV export).")
        out.append("")

    item_table("Low-confidence answers", r.low_confidence, None)
    item_table("👎 Not helpful, with reasons", r.thumbs_down_items, "Reason")
    item_table("Escalations", r.escalations, "Note")

    out += [f"## Decisions recorded ({len(r.decisions)})", ""]
    if not r.decisions:
        out += [
            "None in this period. Record one with `codedesk review decide TOPIC --text … --by …`.",
            "",
        ]
    for d in r.decisions:
        who = f" by {_md(d.decided_by)}" if d.decided_by else ""
        eff = f", effective {d.effective.isoformat()}" if d.effective else ""
        out.append(
            f"- **{_decision_text(d)}** on topic {d.topic_id} “{_md(d.topic_label)}”{who}{eff}: "
            f"{_md(_one_line(d.text, 300))}"
        )
    out.append("")
    from codedesk.review.discussion import discussions_markdown

    out += [
        f"## Code-change discussions ({len(r.discussions)})",
        "",
        discussions_markdown(r.discussions),
    ]
    return "\n".join(out)
