"""Measure the scrubber like a de-identification system: identifiers caught, clinical terms kept.

Run ``python -m codedesk.phi.report`` for the numbers the README reports: recall of identifiers and
retention of clinical terms on the held-out test part and on each dev part, and the milliseconds per
question. ``--dev`` measures the dev parts only (what tuning may look at); ``--missed`` lists what
leaked or was dropped; corpus paths measure those files alone.

The corpus is one JSON object a line: ``{"question": …, "phi": [identifiers], "keep": [terms]}``.
``tests/data/phi_corpus_dev.jsonl`` holds the team's questions and the cases the scrubber was tuned
on; ``tests/data/phi_corpus_dev2.jsonl`` is more dev data from the test part's generator with another
seed (``tests/data/build_phi_dev_corpus.py --seed 7``); ``tests/data/phi_corpus_test.jsonl`` was
generated before tuning by
``tests/data/build_phi_test_corpus.py`` (names and places from Faker and Mimesis, not from the
scrubber's own lists) and is never edited to fit.

An identifier counts as caught only when no part of it survives: the whole string is gone and
none of its words (two characters or more) is left in the scrubbed text outside the tags.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codedesk.phi.scrub import TAG_RE, scrub

_DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
DEV_CORPUS = _DATA / "phi_corpus_dev.jsonl"
DEV2_CORPUS = _DATA / "phi_corpus_dev2.jsonl"
DEV_CORPORA = [DEV_CORPUS, DEV2_CORPUS]
TEST_CORPUS = _DATA / "phi_corpus_test.jsonl"
DEFAULT_CORPUS = TEST_CORPUS


@dataclass
class PhiReport:
    questions: int = 0
    identifiers_total: int = 0
    identifiers_caught: int = 0
    clinical_total: int = 0
    clinical_kept: int = 0
    missed: list[tuple[int, str]] = field(default_factory=list)  # (line number, identifier)
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (line number, clinical term)
    seconds: float = 0.0  # time spent scrubbing, all questions

    @property
    def ms_per_question(self) -> float:
        return 1000 * self.seconds / self.questions if self.questions else 0.0

    @property
    def caught_ratio(self) -> float:
        return self.identifiers_caught / self.identifiers_total if self.identifiers_total else 1.0

    @property
    def kept_ratio(self) -> float:
        return self.clinical_kept / self.clinical_total if self.clinical_total else 1.0

    def summary(self, label: str = "PHI corpus") -> str:
        return (
            f"{label}: {self.questions} questions; identifiers caught "
            f"{self.identifiers_caught}/{self.identifiers_total} (recall {self.caught_ratio:.1%}); "
            f"clinical terms kept {self.clinical_kept}/{self.clinical_total} ({self.kept_ratio:.1%}); "
            f"{self.ms_per_question:.2f} ms/question"
        )


def identifier_survives(identifier: str, scrubbed: str) -> bool:
    """True when the identifier, or any word of it, is still readable in `scrubbed`."""
    outside_tags = TAG_RE.sub(" ", scrubbed)
    if identifier in outside_tags:
        return True
    for word in re.findall(r"\w+", identifier):
        if len(word) >= 2 and re.search(
            rf"(?<!\w){re.escape(word)}(?!\w)", outside_tags, re.IGNORECASE
        ):
            return True
    return False


def evaluate(
    corpus: Path = DEFAULT_CORPUS, scrubber: Callable[[str], str] | None = None
) -> PhiReport:
    """Score `scrubber` (text in, scrubbed text out; ours by default) on one corpus file."""
    run = scrubber or (lambda text: scrub(text).text)
    report = PhiReport()
    for line_no, line in enumerate(corpus.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        case = json.loads(line)
        started = time.perf_counter()
        out = run(case["question"])
        report.seconds += time.perf_counter() - started
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
    show = "--missed" in args
    dev_only = "--dev" in args
    paths = [a for a in args if not a.startswith("--")]
    started = time.perf_counter()
    scrub("warm up: load the word lists")
    print(f"scrubber loaded in {1000 * (time.perf_counter() - started):.0f} ms")
    dev_parts = [(p.stem.removeprefix("phi_corpus_"), p) for p in DEV_CORPORA if p.exists()]
    parts = [(Path(p).name, Path(p)) for p in paths] or (
        dev_parts if dev_only else [("test (held out)", TEST_CORPUS), *dev_parts]
    )
    ok = True
    for label, path in parts:
        report = evaluate(path)
        print(report.summary(label))
        ok = ok and not report.missed and not report.dropped
        if show:
            for line_no, identifier in report.missed:
                print(f"  missed   {path.name}:{line_no}: {identifier}")
            for line_no, term in report.dropped:
                print(f"  dropped  {path.name}:{line_no}: {term}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
