"""The dev / test split of the gold set: fixed, seeded, stratified by category, reproducible.

    .venv/bin/python eval/split.py           # rewrite eval/dev.jsonl and eval/test.jsonl from their union
    .venv/bin/python eval/split.py --check   # exit 1 if the files do not hold the split this script gives

Rows are grouped by batch (a range of ids written at one time) and category. Within a group the rows are
ordered by sha256("<SEED>:<id>") and the first round(n × dev share) go to dev, the rest to test. A batch,
once written, is never extended: new questions get new ids in a new batch, so the split of every row
already written never moves. `eval/check_gold.py` runs the same check.

dev  (`eval/dev.jsonl`): read it, tune on it, print its misses.
test (`eval/test.jsonl`): the headline. Do not read its questions or misses while changing the system.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(EVAL_DIR.parent))

from codedesk.retrieval.evaluate import load_gold  # noqa: E402

SPLITS = ("dev", "test")  # the files; "all" reads both
SEED = "codedesk-gold-split-2026-12"


@dataclass(frozen=True, slots=True)
class Batch:
    first: int  # id numbers g-<first> … g-<last>, inclusive
    last: int
    dev_share: float
    what: str


BATCHES = (
    Batch(
        1,
        259,
        0.5,
        "the team's first gold set (tuned on before the split: both halves are optimistic)",
    ),
    Batch(
        260,
        599,
        0.3,
        "issue 11: multi-code, ICD-9-era and Index-phrasing questions from the Guidelines, "
        "the Index and coding exercises; most go to test",
    ),
)


def id_number(row_id: str) -> int:
    return int(row_id.split("-", 1)[1])


def batch_of(row_id: str) -> Batch | None:
    n = id_number(row_id)
    return next((b for b in BATCHES if b.first <= n <= b.last), None)


def assign(rows: list[dict]) -> dict[str, str]:
    """id -> "dev" | "test" for every row (rows outside every batch are left out: check_gold reports them)."""
    groups: dict[tuple[int, str], list[str]] = {}
    for row in rows:
        batch = batch_of(row["id"])
        if batch is not None:
            groups.setdefault((batch.first, row["category"]), []).append(row["id"])
    out: dict[str, str] = {}
    for (first, _cat), ids in groups.items():
        share = next(b.dev_share for b in BATCHES if b.first == first)
        ids.sort(key=lambda i: hashlib.sha256(f"{SEED}:{i}".encode()).hexdigest())
        n_dev = round(len(ids) * share)
        out.update({i: "dev" if k < n_dev else "test" for k, i in enumerate(ids)})
    return out


def read(split: str, eval_dir: Path = EVAL_DIR) -> list[dict]:
    """The rows of one split ("dev" or "test") or of both ("all"), in id order."""
    return load_gold(split, eval_dir)


def misplaced(eval_dir: Path = EVAL_DIR) -> list[str]:
    """Rows whose file is not the split `assign` gives them."""
    wrong = []
    for split in SPLITS:
        rows = read(split, eval_dir)
        want = assign(read("all", eval_dir))
        wrong += [
            f"{r['id']}: in {split}.jsonl, the split puts it in {want.get(r['id'], 'no batch')}"
            for r in rows
            if want.get(r["id"]) != split
        ]
    return wrong


def write(eval_dir: Path = EVAL_DIR) -> dict[str, int]:
    rows = read("all", eval_dir)
    want = assign(rows)
    counts = {}
    for split in SPLITS:
        part = [r for r in rows if want.get(r["id"]) == split]
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
        (eval_dir / f"{split}.jsonl").write_text(text, encoding="utf-8")
        counts[split] = len(part)
    return counts


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        wrong = misplaced()
        print("\n".join(wrong) or "OK: every row is in the split the seed gives it")
        return 1 if wrong else 0
    print(write())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
