"""`codedesk eval`: hit@1/hit@5 for codes and hit@3 for guideline sections, per gold category."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codedesk.errors import CodeDeskError


@dataclass(slots=True)
class CategoryScore:
    n: int = 0
    code_n: int = 0
    hit1: int = 0
    hit5: int = 0
    section_n: int = 0
    section_hit3: int = 0
    invalid_n: int = 0
    invalid_ok: int = 0
    misses: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Report:
    categories: dict[str, CategoryScore]
    latencies_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, s in sorted(self.categories.items()):
            out[name] = {"n": s.n,
                         "hit@1": round(s.hit1 / s.code_n, 4) if s.code_n else None,
                         "hit@5": round(s.hit5 / s.code_n, 4) if s.code_n else None,
                         "section_hit@3": round(s.section_hit3 / s.section_n, 4) if s.section_n else None,
                         "invalid_flagged": round(s.invalid_ok / s.invalid_n, 4) if s.invalid_n else None}
        lat = sorted(self.latencies_ms)
        out["latency_ms"] = {"p50": round(statistics.median(lat), 1) if lat else None,
                             "p95": round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else None}
        return out


def _section_hit(cited: list[str], expected: list[str]) -> bool:
    """A cited section matches an expected one, or is a subsection of it."""
    return any(c == e or c.startswith(e + ".") for c in cited for e in expected)


def evaluate(answerer: Any, gold: Path, categories: list[str] | None = None) -> Report:
    rows = [json.loads(line) for line in Path(gold).read_text(encoding="utf-8").splitlines() if line.strip()]
    cats: dict[str, CategoryScore] = {}
    lat: list[float] = []
    for row in rows:
        if categories and row["category"] not in categories:
            continue
        s = cats.setdefault(row["category"], CategoryScore())
        s.n += 1
        start = time.perf_counter()
        try:
            ans = answerer.answer(row["question"], fiscal_year=row.get("fiscal_year"))
            codes = [c.code for c in ans.codes]
            sections = [c.section for c in ans.citations if c.source_type == "guideline" and c.section][:3]
            text = ans.answer
        except CodeDeskError as err:
            codes, sections, text = [], [], str(err)
        lat.append((time.perf_counter() - start) * 1000)
        expected = row.get("expected_codes") or []
        if expected:
            s.code_n += 1
            s.hit1 += bool(codes) and codes[0] in expected
            s.hit5 += bool(set(codes[:5]) & set(expected))
            if not (codes and codes[0] in expected):
                s.misses.append(f"{row['id']} {row['question'][:70]!r}: expected {expected[0]}, got {codes[:3]}")
        if row.get("expected_sections"):
            s.section_n += 1
            hit = _section_hit(sections, row["expected_sections"])
            s.section_hit3 += hit
            if not hit:
                s.misses.append(f"{row['id']} {row['question'][:70]!r}: expected §{row['expected_sections']}, "
                                f"got {sections}")
        if row.get("expect_invalid"):
            s.invalid_n += 1
            ok = "not a valid code" in text or "does not exist" in text or "not valid" in text
            s.invalid_ok += ok
            if not ok:
                s.misses.append(f"{row['id']} {row['question'][:70]!r}: not flagged invalid")
    return Report(cats, lat)


def format_report(report: Report, show_misses: bool = False) -> str:
    d = report.as_dict()
    lines = [f"{'category':<12} {'n':>4} {'hit@1':>7} {'hit@5':>7} {'sec@3':>7} {'invalid':>8}"]
    tot = CategoryScore()

    def pct(v: float | None) -> str:
        return "      -" if v is None else f"{100 * v:6.1f}%"

    for name, s in sorted(report.categories.items()):
        row = d[name]
        lines.append(f"{name:<12} {s.n:>4} {pct(row['hit@1'])} {pct(row['hit@5'])} {pct(row['section_hit@3'])} "
                     f"{pct(row['invalid_flagged']):>8}")
        for f in ("n", "code_n", "hit1", "hit5", "section_n", "section_hit3"):
            setattr(tot, f, getattr(tot, f) + getattr(s, f))
    lines.append(f"{'all':<12} {tot.n:>4} {pct(tot.hit1 / tot.code_n if tot.code_n else None)} "
                 f"{pct(tot.hit5 / tot.code_n if tot.code_n else None)} "
                 f"{pct(tot.section_hit3 / tot.section_n if tot.section_n else None)}")
    lines.append(f"latency p50 {d['latency_ms']['p50']} ms, p95 {d['latency_ms']['p95']} ms")
    if show_misses:
        for name, s in sorted(report.categories.items()):
            lines += [f"  miss [{name}] {m}" for m in s.misses]
    return "\n".join(lines)
