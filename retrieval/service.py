"""The answer service: loads the code books, searchers and the index once, answers many questions."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from typing import Any

from codedesk.embeddings import get_embedder
from codedesk.errors import CodeDeskError, IndexUnavailable
from codedesk.settings import Settings
from retrieval.books import load_books
from retrieval.chain import AnswerChain
from retrieval.codesearch import load_searcher
from retrieval.changes import answer_changes
from retrieval.guidelines import guideline_intent, load_guideline_searcher
from retrieval.schema import Answer
from retrieval.text import tokens
from retrieval.versions import VersionSet

log = logging.getLogger(__name__)
# The fiscal years whose dense search failed in the answer being computed (see `require_index`).
_index_misses: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("codedesk_index_misses",
                                                                                  default=None)
TABLE_INTENT = 0.5  # below it, table rows are not offered ahead of the Tabular List
PROCEDURE_INTENT = 0.5  # below it, a question is read as a diagnosis question


class Answerer:
    """`answer(question, history=…, fiscal_year=…) -> Answer`. Thread-safe; build once per process."""

    def __init__(self, settings: Settings, *, dense: bool = True, require_index: bool = False) -> None:
        """`require_index`: when the vector index cannot be reached mid-answer, raise
        `IndexUnavailable` (the Slack bot then says "retrying" and retries) instead of answering
        from the code book's words only with a warning (the CLI's behaviour)."""
        start = time.perf_counter()
        self.settings = settings
        self.require_index = require_index
        self.books = load_books(settings)
        self.searchers = {fy: load_searcher(book, settings.cache_dir) for fy, book in self.books.items()}
        self.dense = None
        self.index_version: str | None = None
        if dense:
            self.dense = self._open_dense()
        self.versions = VersionSet.load(settings, settings.cache_dir)
        self.guidelines = self._load_guidelines()
        self.alpha = self._load_alpha_index()
        self.tables = self._load_tables()
        self.procedures = self._load_procedures()
        self.composer = None
        if settings.llm:  # model-backed answers behind the citation guard (retrieval/llm.py)
            from retrieval.llm import ModelComposer

            self.composer = ModelComposer(settings)
        self.chain = AnswerChain(
            self.books, self.searchers, lambda: settings.fiscal_year,
            dense_for=self._dense_search if self.dense else None,
            changes=self._changes, passages=self._passages if self.guidelines else None,
            extra_codes=self._extra_codes,
            rule_intent=guideline_intent,
            max_chars=settings.max_question_chars, top_k=settings.top_k, composer=self.composer,
            index_search=self._index_search if self.alpha is not None else None,
            clock_year=settings.fiscal_year_set is None,
        )
        self.chain.settings = settings  # the coding setting and today's date for code checks
        self._runnable = self.chain.runnable()
        log.info("answerer ready years=%s dense=%s llm=%s seconds=%.2f", ",".join(self.books), bool(self.dense),
                 settings.llm or "-", time.perf_counter() - start)

    def _open_dense(self) -> Any:
        from ingest.store import IndexStore
        from retrieval.dense import DenseIndex

        try:
            store = IndexStore(self.settings)
            if store.active() is None:  # nothing built yet: don't pay for loading the model
                raise IndexUnavailable("the code index has not been built yet: run `codedesk ingest`")
            dense = DenseIndex(store, get_embedder(self.settings.cache_dir, self.settings.embedding_backend))
        except IndexUnavailable as err:
            log.warning("dense index not available: %s", err)
            return None
        self.index_version = dense.generation.gen
        return dense

    def _dense_search(self, fiscal_year: str) -> Any:
        """The dense code search of one year, noting a failure for `require_index`."""
        search = self.dense.code_search(fiscal_year)

        def run(question: str, k: int) -> Any:
            try:
                return search(question, k)
            except IndexUnavailable:
                misses = _index_misses.get()
                if misses is not None:
                    misses.append(fiscal_year)
                raise  # the chain falls back to the code book's words

        return run

    def _load_guidelines(self) -> Any:
        """The Official Guidelines searcher (with PCS and team guidelines) when the PDF is available."""
        from ingest.sources import resolved_sources

        found = {r.source.kind: r for r in resolved_sources(self.settings) if r.found}
        pdf = found.get("guidelines_pdf")
        if pdf is None:
            return None
        team = []
        if "team" in found:
            from ingest.team import load_team_guidelines

            team = load_team_guidelines(found["team"].path)
        from ingest.pcs import load_pcs

        embed = self.dense.embedder.encode if self.dense else None
        try:
            return load_guideline_searcher(pdf.path, pdf.source.fiscal_year or self.settings.fiscal_year,
                                           self.settings.cache_dir, embed=embed, pcs_guidelines=load_pcs().guidelines,
                                           team=team)
        except CodeDeskError as err:
            log.warning("guidelines unavailable: %s", err)
            return None

    def _load_alpha_index(self) -> Any:
        """The Alphabetic Index to Diseases and Injuries (CODEDESK_CMS_DATA_DIR), the first road to codes."""
        from ingest.sources import resolved_sources
        from retrieval.alpha_index import load_alpha_index

        path = next((r.path for r in resolved_sources(self.settings) if r.found and r.source.kind == "index"), None)
        if path is None:
            return None
        try:
            return load_alpha_index(path, self.settings.cache_dir)
        except CodeDeskError as err:
            log.warning("alphabetic index unavailable: %s", err)
            return None

    def _index_search(self, state: Any) -> list[Any]:
        """Codes the Alphabetic Index leads to, completed and verified in the Tabular List of the year asked."""
        if state.book is None:
            return []
        tables = self.tables.get(state.fiscal_year)
        return self.alpha.search(state.search_text, state.book,
                                 drug_class=tables.drug_class if tables is not None else None)

    def _load_tables(self) -> dict[str, Any]:
        """The Table of Drugs and the Neoplasm Table (and external-cause index), one searcher per code book
        so every code they give is completed and checked against the year answered."""
        from ingest.sources import resolved_sources
        from retrieval.tables import load_table_searcher

        found = {r.source.kind: r.path for r in resolved_sources(self.settings) if r.found}
        drug, neoplasm = found.get("drug_table"), found.get("neoplasm_table")
        if not (drug or neoplasm):
            return {}
        # the main Alphabetic Index is its own road (retrieval.alpha_index), not a table
        index_paths = [found[k] for k in ("external_cause_index",) if k in found]
        try:
            return {fy: load_table_searcher(drug, neoplasm, book, self.settings.cache_dir, index_paths)
                    for fy, book in self.books.items()}
        except CodeDeskError as err:
            log.warning("tables unavailable: %s", err)
            return {}

    def _load_procedures(self) -> Any:
        """ICD-10-PCS (packages) and HCPCS Level II (CODEDESK_CMS_DATA_DIR) procedure codes."""
        from ingest.sources import resolved_sources
        from retrieval.procedures import load_procedure_searcher

        hcpcs = next((r.path for r in resolved_sources(self.settings) if r.found and r.source.kind == "hcpcs"), None)
        try:
            return load_procedure_searcher(hcpcs, self.settings.cache_dir)
        except CodeDeskError as err:
            log.warning("procedure codes unavailable: %s", err)
            return None

    def _extra_codes(self, state: Any) -> tuple[list[Any], list[Any]]:
        """Codes from the Drug/Neoplasm tables, or ICD-10-PCS/HCPCS, when the question is about one."""
        tables = self.tables.get(state.fiscal_year)
        if tables is not None:
            kind, conf = tables.intent(state.search_text)
            if kind is not None and conf >= TABLE_INTENT:
                hits = _second_sites(tables.match(state.search_text, k=3, kind=kind), state.search_text)
                if hits:
                    return [h.item(state.book) for h in hits], [h.citation() for h in hits]
        if self.procedures is not None:
            system, conf = self.procedures.intent(state.search_text)
            if system is not None and conf >= PROCEDURE_INTENT:
                if system == "hcpcs" and not self.procedures.has_hcpcs:
                    state.warnings.append("HCPCS Level II is not loaded: set CODEDESK_CMS_DATA_DIR to a folder "
                                          "with the CMS HCPCS file and run `codedesk ingest`.")
                    return [], []
                hits = self.procedures.search(state.search_text, k=5, system=system)
                return [h.item() for h in hits], [h.citation() for h in hits]
        return [], []

    def _passages(self, state: Any) -> list[Any]:
        """The best guideline passages; the chain's rank step decides whether they are shown."""
        out = []
        for hit in self.guidelines.search(state.search_text, k=3):
            passage = hit.passage()
            passage.score = hit.score
            out.append(passage)
        return out

    def _changes(self, state: Any) -> Any:
        return answer_changes(state.question, state.parsed, self.versions, state.fiscal_year)

    def answer(self, question: str, *, history: list[str] | None = None, fiscal_year: str | None = None,
               user_id: str | None = None, on_partial: Callable[[str], None] | None = None,
               budget: Callable[[str], bool] | None = None) -> Answer:
        """Raises `CodeDeskError` (safe to show) for questions that cannot be answered as asked.

        `user_id` keys the per-user daily budget of model-worded answers (None: no budget applied);
        `budget(user_id)` takes one answer from it (default: this process's `DailyBudget`).
        `on_partial` watches a model-worded answer being written (its text so far, unsupported codes
        masked); it is never called without a model, and the returned answer is what counts."""
        if not isinstance(question, str):
            raise CodeDeskError("The question must be text.")
        inp = {"question": question, "history": history or [], "fiscal_year": fiscal_year}
        misses: list[str] = []
        token = _index_misses.set(misses)  # the chain's parallel steps run in copies of this context
        try:
            if self.composer is not None:
                from retrieval.llm import asking_user

                with asking_user(user_id, on_partial, budget):
                    result = self._runnable.invoke(inp)
            else:
                result = self._runnable.invoke(inp)
        finally:
            _index_misses.reset(token)
        if misses and self.require_index:
            raise IndexUnavailable("the code index is unavailable; retrying")
        if self.dense is None:
            result.warnings.append("The vector index is not built: answers use the code book's words only. "
                                   "Run `codedesk ingest`.")
        return result


def _second_sites(hits: list[Any], question: str) -> list[Any]:
    """The best table row, then a further row only when it says a word of the question the rows before it did
    not ("breast and lung cancer"): "Breast > skin" below "Breast", or "Bone > frontal" below "Frontal > lobe",
    adds no word the question said; a Table of Drugs row also needs its substance (main term) said: "Antagonist
    > anticoagulant" is no second drug of "coumadin … on long-term anticoagulation"."""
    said = set(tokens(question))
    out, seen = [], set()
    for h in hits:
        words = set(tokens(h.term))
        substance = h.source_type != "drug_table" or bool(set(tokens(h.term.split(">")[0])) & said)
        if not out or (words - seen) & said and substance:
            out.append(h)
            seen |= words
    return out


def build_answerer(settings: Settings, **kwargs: Any) -> Answerer:
    return Answerer(settings, **kwargs)
