"""The answer service: loads the code books, searchers and the index once, answers many questions."""

from __future__ import annotations

import logging
import time
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
from retrieval.versions import VersionSet

log = logging.getLogger(__name__)


class Answerer:
    """`answer(question, history=…, fiscal_year=…) -> Answer`. Thread-safe; build once per process."""

    def __init__(self, settings: Settings, *, dense: bool = True) -> None:
        start = time.perf_counter()
        self.settings = settings
        self.books = load_books(settings)
        self.searchers = {fy: load_searcher(book, settings.cache_dir) for fy, book in self.books.items()}
        self.dense = None
        self.index_version: str | None = None
        if dense:
            self.dense = self._open_dense()
        self.versions = VersionSet.load(settings, settings.cache_dir)
        self.guidelines = self._load_guidelines()
        self.composer = None
        if settings.llm:  # model-backed answers behind the citation guard (retrieval/llm.py)
            from retrieval.llm import ModelComposer

            self.composer = ModelComposer(settings)
        self.chain = AnswerChain(
            self.books, self.searchers, settings.fiscal_year,
            dense_for=(lambda fy: self.dense.code_search(fy)) if self.dense else None,
            changes=self._changes, passages=self._passages if self.guidelines else None,
            rule_intent=guideline_intent,
            max_chars=settings.max_question_chars, top_k=settings.top_k, composer=self.composer,
        )
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

    def _passages(self, state: Any) -> list[Any]:
        """Guideline passages when the question is about a rule, or when one matches it very well."""
        hits = self.guidelines.search(state.search_text, k=3)
        if not hits:
            return []
        if state.rule_intent >= 0.3 or hits[0].score >= 0.7:
            return [h.passage() for h in hits]
        return []

    def _changes(self, state: Any) -> Any:
        return answer_changes(state.question, state.parsed, self.versions, self.settings.fiscal_year)

    def answer(self, question: str, *, history: list[str] | None = None, fiscal_year: str | None = None,
               user_id: str | None = None) -> Answer:
        """Raises `CodeDeskError` (safe to show) for questions that cannot be answered as asked.

        `user_id` keys the per-user daily budget of model-worded answers (None: no budget applied)."""
        if not isinstance(question, str):
            raise CodeDeskError("The question must be text.")
        inp = {"question": question, "history": history or [], "fiscal_year": fiscal_year}
        if self.composer is not None:
            from retrieval.llm import asking_user

            with asking_user(user_id):
                result = self._runnable.invoke(inp)
        else:
            result = self._runnable.invoke(inp)
        if self.dense is None:
            result.warnings.append("The vector index is not built: answers use the code book's words only. "
                                   "Run `codedesk ingest`.")
        return result


def build_answerer(settings: Settings, **kwargs: Any) -> Answerer:
    return Answerer(settings, **kwargs)
