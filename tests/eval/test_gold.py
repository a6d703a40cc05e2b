"""Quality floors on the project's own gold questions (eval/gold.jsonl), through the real answerer.

The floors sit a little under the measured scores (README), so a regression fails the suite while
noise in a handful of questions does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codedesk.settings import Settings
from retrieval.evaluate import evaluate
from retrieval.service import build_answerer
from tests.conftest import REPO

GOLD = REPO / "eval" / "gold.jsonl"


def _scores(answerer, categories: list[str]) -> dict:
    return evaluate(answerer, GOLD, categories=categories).as_dict()


def test_code_categories_over_the_full_index(full_answerer) -> None:
    d = _scores(full_answerer, ["title", "paraphrase", "index", "header", "invalid"])
    assert d["title"]["hit@1"] >= 0.99
    assert d["paraphrase"]["hit@1"] >= 0.88 and d["paraphrase"]["hit@5"] >= 0.93
    assert d["index"]["hit@1"] >= 0.8 and d["index"]["hit@5"] >= 0.9
    assert d["header"]["hit@1"] >= 0.99
    assert d["invalid"]["invalid_flagged"] >= 0.99


@pytest.fixture(scope="module")
def cms_answerer(cms_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Every CMS source, lexical retrieval only (no index needed)."""
    home = tmp_path_factory.mktemp("eval-cms")
    return build_answerer(Settings(home=home, cms_data_dir=cms_data_dir, _env_file=None), dense=False)


def test_guideline_sections(cms_answerer) -> None:
    d = _scores(cms_answerer, ["guideline"])
    assert d["guideline"]["section_hit@3"] >= 0.85


def test_fiscal_year_changes(cms_answerer) -> None:
    d = _scores(cms_answerer, ["changes"])
    assert d["changes"]["hit@1"] >= 0.6 and d["changes"]["invalid_flagged"] >= 0.99


def test_drug_and_neoplasm_tables(cms_answerer) -> None:
    d = _scores(cms_answerer, ["drug", "neoplasm"])
    assert d["drug"]["hit@1"] >= 0.9
    assert d["neoplasm"]["hit@1"] >= 0.85
