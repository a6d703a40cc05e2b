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
        self.chain = AnswerChain(
            self.books, self.searchers, settings.fiscal_year,
            dense_for=(lambda fy: self.dense.code_search(fy)) if self.dense else None,
            changes=self._changes,
            max_chars=settings.max_question_chars, top_k=settings.top_k,
        )
        self._runnable = self.chain.runnable()
        log.info("answerer ready years=%s dense=%s seconds=%.2f", ",".join(self.books), bool(self.dense),
                 time.perf_counter() - start)

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

    def _changes(self, state: Any) -> Any:
        return answer_changes(state.question, state.parsed, self.versions, self.settings.fiscal_year)

    def answer(self, question: str, *, history: list[str] | None = None, fiscal_year: str | None = None) -> Answer:
        """Raises `CodeDeskError` (safe to show) for questions that cannot be answered as asked."""
        if not isinstance(question, str):
            raise CodeDeskError("The question must be text.")
        result = self._runnable.invoke({"question": question, "history": history or [], "fiscal_year": fiscal_year})
        if self.dense is None:
            result.warnings.append("The vector index is not built: answers use the code book's words only. "
                                   "Run `codedesk ingest`.")
        return result


def build_answerer(settings: Settings, **kwargs: Any) -> Answerer:
    return Answerer(settings, **kwargs)
