"""Write more dev data for the PHI scrubber from the same distribution as the held-out test part.

The held-out part (tests/data/phi_corpus_test.jsonl) was written once by build_phi_test_corpus.py with
its own seed; that script is not changed and not re-run. This script imports it for its templates and
value generators (Faker and Mimesis names and places in 14 locales, dates, phones, ids, clinical terms
and ICD-10-CM codes), re-seeds every random source with another seed, and writes a dev file that may
be tuned on:

    /tmp/phivenv/bin/python tests/data/build_phi_dev_corpus.py --seed 7 --out tests/data/phi_corpus_dev2.jsonl

Needs faker==40.54.0, mimesis==22.2.0 and simple-icd-10-cm==1.5.0 at build time only (a throw-away
venv, e.g. ``python3.13 -m venv /tmp/phivenv``); they are not project dependencies. Never pass the
test part's seed (20261203).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_generator(seed: int):
    """The test generator module, with every random source re-seeded to `seed`."""
    spec = importlib.util.spec_from_file_location("_phi_gen", HERE / "build_phi_test_corpus.py")
    gen = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(gen)
    if seed == gen.SEED:
        raise SystemExit("that is the held-out test part's seed: pick another")
    from faker import Faker
    from mimesis import Address, Person
    from mimesis.locales import Locale

    gen.rng.seed(seed)
    Faker.seed(seed)
    gen.M_PERSON = Person(Locale.EN, seed=seed)
    gen.M_ADDR = Address(Locale.EN, seed=seed)
    return gen


def build(seed: int, rounds: int) -> list[dict]:
    gen = load_generator(seed)
    cases = []
    for i in range(rounds):  # each template `rounds` times; as in the test part, every sixth round
        for t in gen.TEMPLATES:  # has a share typed all in lower case
            case = gen.fill(t)
            if i % 6 == 5 and gen.rng.random() < 0.5:
                case = {
                    "question": case["question"].lower(),
                    "phi": [p.lower() for p in case["phi"]],
                    "keep": [k.lower() for k in case["keep"]],
                }
            cases.append(case)
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--rounds", type=int, default=6, help="times each of the 50 templates is filled (6 -> 300)"
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "phi_corpus_dev2.jsonl", help="'-' for stdout"
    )
    args = ap.parse_args(argv)
    text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in build(args.seed, args.rounds))
    if str(args.out) == "-":
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"{text.count(chr(10))} questions -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
