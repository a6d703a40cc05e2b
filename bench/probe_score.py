"""The scoring loop the probe benchmarks share: hit@1, hit@5 and the precision of "high" over (question, code)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ProbeScore:
    n: int = 0
    hit1: int = 0
    hit5: int = 0
    high: int = 0
    high_right: int = 0

    def line(self, label: str) -> str:
        n = max(self.n, 1)
        return (
            f"{label}: n={self.n} hit@1 {100 * self.hit1 / n:.1f}% hit@5 {100 * self.hit5 / n:.1f}% "
            f"high {self.high} (right {100 * self.high_right / max(self.high, 1):.1f}%)"
        )


def exact(codes: list[str], want: str, k: int) -> bool:
    return want in codes[:k]


def score(
    answerer: Any,
    probes: list[tuple[str, str]],
    *,
    hit: Callable[[list[str], str, int], bool] = exact,
    system: str | None = None,
    show: bool = False,
) -> ProbeScore:
    """Answers every probe; `system` keeps only codes of that code system; `show` prints each miss."""
    out = ProbeScore(n=len(probes))
    for question, want in probes:
        a = answerer.answer(question)
        codes = [c.code for c in a.codes if system is None or c.system == system]
        one = hit(codes, want, 1)
        out.hit1 += one
        out.hit5 += hit(codes, want, 5)
        if a.confidence == "high":
            out.high += 1
            out.high_right += one
        if show and not one:
            print(f"MISS {question!r} want {want} got {codes[:5]} [{a.confidence}]")
    return out
