"""Measure the scrubber on the PHI corpus: identifiers caught and clinical terms kept.

Run ``python -m review.phi_report`` (optionally with a corpus path) for the numbers the README
reports. The corpus (``tests/data/phi_corpus.jsonl``) holds questions written by the team, one
JSON object a line: ``{"question": …, "phi": [identifiers to remove], "keep": [terms to keep]}``.

An identifier counts as caught only when no part of it survives: the whole string is gone and
none of its words (two characters or more) is left in the scrubbed text outside the tags.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from review.scrub import TAG_RE, scrub

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "phi_corpus.jsonl"


@dataclass
class PhiReport:
    questions: int = 0
    identifiers_total: int = 0
    identifiers_caught: int = 0
    clinical_total: int = 0
    clinical_kept: int = 0
    missed: list[tuple[int, str]] = field(default_factory=list)   # (line number, identifier)
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (line number, clinical term)

    @property
    def caught_ratio(self) -> float:
        return self.identifiers_caught / self.identifiers_total if self.identifiers_total else 1.0

    @property
    def kept_ratio(self) -> float:
        return self.clinical_kept / self.clinical_total if self.clinical_total else 1.0

    def summary(self) -> str:
        return (f"PHI corpus: {self.questions} questions; identifiers caught "
                f"{self.identifiers_caught}/{self.identifiers_total} ({self.caught_ratio:.1%}); "
                f"clinical terms kept {self.clinical_kept}/{self.clinical_total} ({self.kept_ratio:.1%})")


def identifier_survives(identifier: str, scrubbed: str) -> bool:
    """True when the identifier, or any word of it, is still readable in `scrubbed`."""
    outside_tags = TAG_RE.sub(" ", scrubbed)
    if identifier in outside_tags:
        return True
    for word in re.findall(r"\w+", identifier):
        if len(word) >= 2 and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", outside_tags, re.IGNORECASE):
            return True
    return False


def evaluate(corpus: Path = DEFAULT_CORPUS) -> PhiReport:
    report = PhiReport()
    for line_no, line in enumerate(corpus.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        case = json.loads(line)
        out = scrub(case["question"]).text
        report.questions += 1
        for identifier in case.get("phi", []):
            report.identifiers_total += 1
            if identifier_survives(identifier, out):
                report.missed.append((line_no, identifier))
            else:
                report.identifiers_caught += 1
        for term in case.get("keep", []):
            report.clinical_total += 1
            if term in out:
                report.clinical_kept += 1
            else:
                report.dropped.append((line_no, term))
    return report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = evaluate(Path(args[0]) if args else DEFAULT_CORPUS)
    print(report.summary())
    for line_no, identifier in report.missed:
        print(f"  missed   line {line_no}: {identifier}")
    for line_no, term in report.dropped:
        print(f"  dropped  line {line_no}: {term}")
    return 0 if not report.missed and not report.dropped else 1


if __name__ == "__main__":
    raise SystemExit(main())
