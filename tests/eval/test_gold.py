"""Quality floors per split and category on the gold set (eval/dev.jsonl, eval/test.jsonl), through the real answerer.

Each floor sits a little under the score measured (eval/README.md; README "Quality"), so a regression fails the
suite while noise in a question or two does not. The test split is the headline; dev is what the team tunes on.
Both halves of the first 259 questions (batch 1) were tuned on before the split, so their floors stay as they were.
The `multi`, `icd9` and `index_path` floors are low on purpose: they are the honest baseline measured when those
questions were written (issue 11, 2 Dec 2026, every CMS source, lexical retrieval), to be raised as the system
improves — never by reading the test split's misses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codedesk.retrieval.evaluate import evaluate, load_gold
from codedesk.retrieval.service import build_answerer
from codedesk.settings import Settings

SPLITS = ("dev", "test")
REPO_EVAL = Path(__file__).resolve().parents[2] / "eval"
Floors = dict[
    str, dict[str, float]
]  # category -> metric (a key of CategoryScore.scores()) -> floor

# The embedded FY2026 book with its dense index, no CMS folder.
EMBEDDED: Floors = {
    "title": {"hit@1": 0.99},
    "paraphrase": {"hit@1": 0.88, "hit@5": 0.93},
    "index": {"hit@1": 0.8, "hit@5": 0.9},
    "header": {"hit@1": 0.99},
    "invalid": {"invalid_flagged": 0.99},
}
# Every CMS source, lexical retrieval only. Measured (dev / test): guideline sec@3 90.5 / 95.2; changes, drug,
# neoplasm hit@1 100 / 100. The `changes` questions naming a deleted code all fell in the test split.
CMS_BOTH: Floors = {
    "guideline": {"section_hit@3": 0.85},
    "changes": {"hit@1": 0.6},
    "drug": {"hit@1": 0.9},
    "neoplasm": {"hit@1": 0.85},
}
# Test `drug` 0.85 (7 of 8): one adverse-effect question names its manifestation, which the sequencing rules now
# put first (I.C.19.e.5.a: the nature of the adverse effect, then the T code) while its key holds the T code only.
# Measured by switching that ordering off (8 of 8), not by reading the question; the multi first-listed rate
# gains three questions from the same change (50.8% → 53.3%).
CMS: dict[str, Floors] = {
    "dev": CMS_BOTH,
    "test": CMS_BOTH
    | {"changes": {"hit@1": 0.6, "invalid_flagged": 0.99}, "drug": {"hit@1": 0.85}},
}
# Held-out-style questions (batch 2), same answerer. Measured 2 Dec 2026 20:46 UTC, dev / test:
# multi first-listed 46.2 / 46.7, all present 28.8 / 32.0, recall 55.0 / 59.4, "high" right 40.0 (of 20) / 50.0 (of 50)
# (21:09, `codedesk eval` on the ingested CMS home, after others' confidence work: test multi "high" 84.2% of 19);
# icd9 hit@1 88.9 / 81.0, hit@5 100 / 95.2; index_path hit@1 100 / 95.0, hit@5 100 / 95.0;
# "high" answers right over every category 88.5 (of 131) / 83.2 (of 173).
HELD_OUT: dict[str, Floors] = {
    "dev": {
        "multi": {"hit@1": 0.4, "all_present": 0.23, "recall": 0.48, "high_precision": 0.33},
        "icd9": {"hit@1": 0.77, "hit@5": 0.88},
        "index_path": {"hit@1": 0.87, "hit@5": 0.87},
    },
    "test": {
        "multi": {"hit@1": 0.4, "all_present": 0.27, "recall": 0.52, "high_precision": 0.43},
        "icd9": {"hit@1": 0.75, "hit@5": 0.9},
        "index_path": {"hit@1": 0.85, "hit@5": 0.9},
    },
}
HIGH_PRECISION_ALL = {"dev": 0.83, "test": 0.78}


def _scores(answerer, split: str, categories: list[str]) -> dict:
    return evaluate(answerer, load_gold(split), categories=categories, split=split).as_dict()


def _below(scores: dict, floors: Floors) -> list[str]:
    """Every (category, metric) under its floor, with the score measured. No "high" answer at all is no failure."""
    return [
        f"{cat} {metric} {scores[cat][metric]} < {floor}"
        for cat, want in floors.items()
        for metric, floor in want.items()
        if (scores[cat][metric] is None and metric != "high_precision")
        or (scores[cat][metric] is not None and scores[cat][metric] < floor)
    ]


def test_every_category_has_floors_on_both_splits() -> None:
    rows = load_gold("all")
    unfloored = {"pcs", "hcpcs"}  # 7 questions each: too few for a floor per split
    floored = set(EMBEDDED) | set(CMS["test"]) | set(HELD_OUT["test"]) | unfloored
    assert {r["category"] for r in rows} <= floored
    for split in SPLITS:
        assert {r["category"] for r in load_gold(split)} >= floored - unfloored, split


@pytest.mark.parametrize("split", SPLITS)
def test_code_categories_over_the_full_index(full_answerer, split: str) -> None:
    assert not _below(_scores(full_answerer, split, list(EMBEDDED)), EMBEDDED)


@pytest.fixture(scope="module")
def cms_answerer(cms_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Every CMS source, lexical retrieval only (no index needed)."""
    home = tmp_path_factory.mktemp("eval-cms")
    return build_answerer(
        Settings(home=home, cms_data_dir=cms_data_dir, _env_file=None), dense=False
    )


@pytest.fixture(scope="module")
def cms_scores(cms_answerer):
    """Scores of every category on a split, computed once per split."""
    cache: dict[str, dict] = {}

    def get(split: str) -> dict:
        if split not in cache:
            cache[split] = _scores(cms_answerer, split, [])
        return cache[split]

    return get


@pytest.mark.parametrize("split", SPLITS)
def test_guidelines_changes_and_tables(cms_scores, split: str) -> None:
    assert not _below(cms_scores(split), CMS[split])


@pytest.mark.parametrize("split", SPLITS)
def test_held_out_style_questions(cms_scores, split: str) -> None:
    """Multi-code keys in reporting order, ICD-9-era wording and Index paths: the baseline of issue 11."""
    assert not _below(cms_scores(split), HELD_OUT[split])


@pytest.mark.parametrize("split", SPLITS)
def test_high_confidence_is_mostly_right(cms_scores, split: str) -> None:
    """The share of "high" answers that are right, over every category (issue 11 item 5)."""
    total = cms_scores(split)["all"]
    assert total["high_n"] > 0
    assert total["high_precision"] >= HIGH_PRECISION_ALL[split], total


def test_split_is_the_seeded_one() -> None:
    """Every row sits in the file eval/split.py's seeded, stratified split gives it."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("gold_split", REPO_EVAL / "split.py")
    split = importlib.util.module_from_spec(spec)
    sys.modules["gold_split"] = split  # dataclasses look their module up there
    spec.loader.exec_module(split)  # type: ignore[union-attr]
    assert split.misplaced(REPO_EVAL) == []
    rows = load_gold("all")
    assert len(rows) >= 400 and len({r["id"] for r in rows}) == len(rows)
    assert sum(r["category"] == "multi" for r in rows) >= 150


def test_gold_set_passes_its_checks(
    cms_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """eval/check_gold.py on dev + test: codes reportable in their year, sections in the PDF, keys in order."""
    import importlib.util
    import sys

    monkeypatch.setenv("CODEDESK_CMS_DATA_DIR", str(cms_data_dir))
    spec = importlib.util.spec_from_file_location("check_gold", REPO_EVAL / "check_gold.py")
    check = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "check_gold", check)
    spec.loader.exec_module(check)  # type: ignore[union-attr]
    assert check.main([]) == 0, capsys.readouterr().out
