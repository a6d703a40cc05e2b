"""Alphabetic Index phrasing probes: questions sampled from the Index's own paths with a fixed seed.

    CODEDESK_HOME=… CODEDESK_CMS_DATA_DIR=… python bench/index_probes.py --seed 2027 --n 200 [--show]

Each probe is an Index path written the way coders write it ("Chyluria, due to, Wuchereria") or as a
phrase ("Anemia in chronic kidney disease"), and its expected code is the one the path prints (a dash
code or a FY2025 code that became a header is met by any code under it). The script answers every
probe twice, without and with the Alphabetic Index road, and prints hit@1 / hit@5 for both. Paths
that end at a code missing from the year answered, at a cross-reference, or in the Neoplasm and Drug
tables are not sampled. Use one seed while tuning and report another.
"""

from __future__ import annotations

import argparse
import random
import re

from probe_score import score

from codedesk.cms.codebook import normalize_code
from codedesk.cms.index_xml import parse_index_xml
from codedesk.ingest.sources import resolved_sources
from codedesk.retrieval.service import build_answerer
from codedesk.settings import Settings


def probes(index_path: str, book, n: int, seed: int) -> list[tuple[str, str]]:
    terms = parse_index_xml(index_path).terms
    rng = random.Random(seed)
    pool = [
        t
        for t in terms
        if t.codes
        and not t.codes[0].startswith(("C", "D0", "D1", "D2", "D3", "D4"))
        and len(t.path) <= 4
        and not any(
            "NEC" in p or p.lower() in ("with", "in", "due to") and i == len(t.path) - 1
            for i, p in enumerate(t.path)
        )
    ]
    rng.shuffle(pool)
    out = []
    for t in pool:
        code = normalize_code(t.codes[0])
        if code not in book.nodes or not book.is_diag(code):
            continue
        parts = [re.sub(r"\s+", " ", p).strip() for p in t.path]
        if rng.random() < 0.5:
            text = ", ".join(parts)
        else:
            main = parts[0].split(",")[0]
            text = " ".join([main, *parts[1:]])
        out.append((text, code))
        if len(out) >= n:
            break
    return out


def hit(codes: list[str], want: str, k: int) -> bool:
    return any(c == want or c.replace(".", "").startswith(want.replace(".", "")) for c in codes[:k])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument(
        "--show", action="store_true", help="print every probe (only for the tuning seed)"
    )
    ap.add_argument("--dense", action="store_true")
    args = ap.parse_args()
    settings = Settings()
    answerer = build_answerer(settings, dense=args.dense)
    index = next(r.path for r in resolved_sources(settings) if r.found and r.source.kind == "index")
    book = answerer.books[settings.fiscal_year]
    qs = probes(str(index), book, args.n, args.seed)
    road = answerer.chain.index_search
    lines = []
    for label, search in (
        ("before (Tabular search only)", None),
        ("after (Alphabetic Index road)", road),
    ):
        answerer.chain.index_search = search
        result = score(
            answerer, qs, hit=hit, system="ICD-10-CM", show=args.show and search is not None
        )
        lines.append(result.line(label))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
