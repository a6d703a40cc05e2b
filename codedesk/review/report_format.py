"""Formatting the review report's renderers share: percentages, codes, sources, decisions, lines.

Small text helpers used by the Markdown, CSV and HTML renderers alike, so the three show a topic's
codes, sources, confidence mix and decisions the same way.
"""

from __future__ import annotations

from collections import Counter

from codedesk.review.report_data import CONFIDENCES, DecisionInfo
from codedesk.review.topics import SourceCount, TopicStats

# --- shared formatting ----------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _codes(stats: TopicStats, limit: int = 4) -> list[str]:
    return [c for c, _ in stats.codes[:limit]]


def _source_text(s: SourceCount, of: int) -> str:
    return f"{s.short} ({s.count}/{of})" if of > 1 else s.short


def _decision_text(d: DecisionInfo) -> str:
    gid = d.guideline_id
    return f"{gid or f'decision {d.id}'} ({d.status})"


def _one_line(text: str | None, limit: int | None = None) -> str:
    t = " ".join((text or "").split())
    if limit and len(t) > limit:
        t = t[: limit - 1].rstrip() + "…"
    return t


def _conf_mix(c: Counter[str]) -> str:
    return ", ".join(f"{c[k]} {k}" for k in (*CONFIDENCES, "unknown") if c.get(k))


def _cap(text: str | None) -> str:
    """Questions are shown as asked, but with a capital first letter."""
    t = text or ""
    return t[:1].upper() + t[1:]
