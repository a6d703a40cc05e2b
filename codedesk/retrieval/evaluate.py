"""`codedesk eval`: scores per gold category on the dev or test split (eval/dev.jsonl, eval/test.jsonl).

Single-answer rows (`expected_codes` lists equally good answers): hit@1 / hit@5.
Multi-code rows (category `multi`: `expected_codes` is the whole answer key in reporting order):
first-listed code right (reported as hit@1), every key code among the first len(key)+1 codes ("all"),
and recall (share of the key among those codes). Guideline rows: hit@3 of the cited sections.
For every category, "high" confidence is scored too: the share of high answers that are right (first code
right; for multi the whole key present; for guideline a cited section; for invalid the code flagged).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codedesk.errors import CodeDeskError

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
SPLITS = ("dev", "test", "all")
MULTI = frozenset(
    {"multi"}
)  # categories whose expected_codes is an ordered answer key, not alternatives


@dataclass(slots=True)
class CategoryScore:
    n: int = 0
    code_n: int = 0
    hit1: int = 0
    hit5: int = 0
    key_n: int = 0  # multi-code rows
    key_all: int = 0
    key_recall: float = 0.0
    section_n: int = 0
    section_hit3: int = 0
    invalid_n: int = 0
    invalid_ok: int = 0
    high_n: int = 0
    high_right: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: CategoryScore) -> None:
        for name in (
            "n",
            "code_n",
            "hit1",
            "hit5",
            "key_n",
            "key_all",
            "key_recall",
            "section_n",
            "section_hit3",
            "invalid_n",
            "invalid_ok",
            "high_n",
            "high_right",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def scores(self) -> dict[str, Any]:
        def share(num: float, den: int) -> float | None:
            return round(num / den, 4) if den else None

        return {
            "n": self.n,
            "hit@1": share(self.hit1, self.code_n),
            "hit@5": share(self.hit5, self.code_n),
            "all_present": share(self.key_all, self.key_n),
            "recall": share(self.key_recall, self.key_n),
            "section_hit@3": share(self.section_hit3, self.section_n),
            "invalid_flagged": share(self.invalid_ok, self.invalid_n),
            "high_n": self.high_n,
            "high_precision": share(self.high_right, self.high_n),
        }


@dataclass(slots=True)
class Report:
    categories: dict[str, CategoryScore]
    latencies_ms: list[float]
    split: str = "all"

    def total(self) -> CategoryScore:
        tot = CategoryScore()
        for s in self.categories.values():
            tot.add(s)
        return tot

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: s.scores() for name, s in sorted(self.categories.items())}
        out["all"] = self.total().scores()
        lat = sorted(self.latencies_ms)
        out["latency_ms"] = {
            "p50": round(statistics.median(lat), 1) if lat else None,
            "p95": round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        }
        out["split"] = self.split
        return out


def load_gold(split: str = "test", eval_dir: Path = EVAL_DIR) -> list[dict]:
    """The rows of eval/dev.jsonl, eval/test.jsonl or both ("all"), in id order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    names = ("dev", "test") if split == "all" else (split,)
    rows = [
        json.loads(line)
        for name in names
        for line in (eval_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return sorted(rows, key=lambda r: int(r["id"].split("-", 1)[1]))


def _section_hit(cited: list[str], expected: list[str]) -> bool:
    """A cited section matches an expected one, or is a subsection of it."""
    return any(c == e or c.startswith(e + ".") for c in cited for e in expected)


def evaluate(
    answerer: Any, gold: Path | list[dict], categories: list[str] | None = None, split: str = "all"
) -> Report:
    """Ask every row in its own fiscal year. `gold`: a JSON Lines file, or rows from `load_gold`."""
    if isinstance(gold, (str, Path)):
        rows = [
            json.loads(line)
            for line in Path(gold).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    else:
        rows = list(gold)
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
            sections = [
                c.section for c in ans.citations if c.source_type == "guideline" and c.section
            ][:3]
            text, confidence = ans.answer, ans.confidence
        except CodeDeskError as err:
            codes, sections, text, confidence = [], [], str(err), None
        lat.append((time.perf_counter() - start) * 1000)
        rid, q = row["id"], row["question"][:70]
        expected = row.get("expected_codes") or []
        checks: list[bool] = []
        if expected and row["category"] in MULTI:
            window = codes[: len(expected) + 1]
            first = bool(codes) and codes[0] == expected[0]
            found = [c for c in expected if c in window]
            s.code_n += 1
            s.key_n += 1
            s.hit1 += first
            s.hit5 += expected[0] in codes[:5]
            s.key_all += len(found) == len(expected)
            s.key_recall += len(found) / len(expected)
            checks.append(len(found) == len(expected))
            if not (first and len(found) == len(expected)):
                s.misses.append(
                    f"{rid} {q!r}: expected {expected}, got {codes[: len(expected) + 2]}"
                )
        elif expected:
            first = bool(codes) and codes[0] in expected
            s.code_n += 1
            s.hit1 += first
            s.hit5 += bool(set(codes[:5]) & set(expected))
            checks.append(first)
            if not first:
                s.misses.append(f"{rid} {q!r}: expected {expected[0]}, got {codes[:3]}")
        if row.get("expected_sections"):
            hit = _section_hit(sections, row["expected_sections"])
            s.section_n += 1
            s.section_hit3 += hit
            checks.append(hit)
            if not hit:
                s.misses.append(
                    f"{rid} {q!r}: expected §{row['expected_sections']}, got {sections}"
                )
        if row.get("expect_invalid"):
            ok = "not a valid code" in text or "does not exist" in text or "not valid" in text
            s.invalid_n += 1
            s.invalid_ok += ok
            checks.append(ok)
            if not ok:
                s.misses.append(f"{rid} {q!r}: not flagged invalid")
        if confidence == "high":
            s.high_n += 1
            s.high_right += bool(checks) and all(checks)
            if checks and not all(checks):
                s.misses.append(f"{rid} {q!r}: wrong with HIGH confidence")
    return Report(cats, lat, split)


def format_report(report: Report, show_misses: bool = False) -> str:
    d = report.as_dict()

    def pct(v: float | None) -> str:
        return "      -" if v is None else f"{100 * v:6.1f}%"

    def line(name: str, row: dict[str, Any]) -> str:
        high = f"{pct(row['high_precision'])} of {row['high_n']:>3}"
        return (
            f"{name:<12} {row['n']:>4} {pct(row['hit@1'])} {pct(row['hit@5'])} {pct(row['all_present'])} "
            f"{pct(row['recall'])} {pct(row['section_hit@3'])} {pct(row['invalid_flagged'])}  {high}"
        )

    lines = [
        f"split: {report.split}",
        f"{'category':<12} {'n':>4} {'hit@1':>7} {'hit@5':>7} {'all':>7} {'recall':>7} {'sec@3':>7} "
        f"{'invalid':>7}  {'high: right of n':>16}",
    ]
    lines += [line(name, d[name]) for name in sorted(report.categories)]
    lines.append(line("all", d["all"]))
    lines.append(
        "multi: hit@1 = first-listed code right; all = every key code in the first len(key)+1 codes; "
        "recall = share of the key there"
    )
    lines.append(f"latency p50 {d['latency_ms']['p50']} ms, p95 {d['latency_ms']['p95']} ms")
    if show_misses:
        for name, s in sorted(report.categories.items()):
            lines += [f"  miss [{name}] {m}" for m in s.misses]
    return "\n".join(lines)
