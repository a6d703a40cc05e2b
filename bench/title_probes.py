"""Exact-title probes: "What is the ICD-10-CM code for <title>?" for codes sampled with a fixed seed.

    CODEDESK_HOME=… CODEDESK_CMS_DATA_DIR=… python bench/title_probes.py --seed 2027 --n 300 [--dense] [--show]

A question that is a code's own Tabular title (any reportable FY code, all chapters) must answer that code
first. Titles are sampled from the code book of the year in effect, so nothing here is tuned on: use one
seed while working and report another. Prints hit@1, hit@5 and the precision of "high".
"""

from __future__ import annotations

import argparse
import random

from probe_score import score

from codedesk.retrieval.service import build_answerer
from codedesk.settings import Settings


def probes(book, n: int, seed: int) -> list[tuple[str, str]]:
    codes = sorted(book.reportable_codes())
    rng = random.Random(seed)
    picked = rng.sample(codes, min(n, len(codes)))
    return [(f"What is the ICD-10-CM code for {book.title(c)}?", c) for c in picked]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument(
        "--show", action="store_true", help="print every miss (only for the tuning seed)"
    )
    ap.add_argument("--dense", action="store_true")
    args = ap.parse_args()
    settings = Settings()
    answerer = build_answerer(settings, dense=args.dense)
    book = answerer.books[settings.fiscal_year]
    qs = probes(book, args.n, args.seed)
    print(score(answerer, qs, show=args.show).line(f"FY{book.fiscal_year} exact titles"))


if __name__ == "__main__":
    main()
