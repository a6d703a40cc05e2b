"""The answer service: loads the code books, searchers and the index once, answers many questions."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from codedesk.cache import LazyMap
from codedesk.cms.books import book_sources, load_book
from codedesk.embeddings import get_embedder
from codedesk.errors import CodeDeskError, IndexUnavailable
from codedesk.retrieval.chain import AnswerChain
from codedesk.retrieval.changes import answer_changes
from codedesk.retrieval.codesearch import load_searcher
from codedesk.retrieval.guidelines import guideline_intent, load_guideline_searcher
from codedesk.retrieval.schema import Answer
from codedesk.retrieval.text import tokens
from codedesk.retrieval.versions import VersionSet
from codedesk.settings import Settings

log = logging.getLogger(__name__)
# The fiscal years whose dense search failed in the answer being computed (see `require_index`).
_index_misses: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "codedesk_index_misses", default=None
)
TABLE_INTENT = 0.5  # below it, table rows are not offered ahead of the Tabular List
PROCEDURE_INTENT = 0.5  # below it, a question is read as a diagnosis question


_UNSET = object()


class _OnFirstUse:
    """Stands for an object that is built on its first attribute access (thread-safe; built once, None too)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build, self._lock, self._value = build, threading.Lock(), _UNSET

    def _resolve(self) -> Any:
        if self._value is _UNSET:
            with self._lock:
                if self._value is _UNSET:
                    self._value = self._build()
        return self._value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)


class Answerer:
    """`answer(question, history=…, fiscal_year=…) -> Answer`. Thread-safe; build once per process.

    Each part is loaded from its cache on first use — a year's code book and searcher when a question is
    answered in that year, the tables, the Alphabetic Index, the guidelines and the procedure codes when a
    question reaches them (procedure titles and HCPCS only for a procedure question), the versions for a
    question about code changes or validity. At start, only today's year is loaded, while the vector index
    and the embedding model open in a background thread. `warm()` loads everything."""

    def __init__(
        self, settings: Settings, *, dense: bool = True, require_index: bool = False
    ) -> None:
        """`require_index`: when the vector index cannot be reached mid-answer, raise
        `IndexUnavailable` (the Slack bot then says "retrying" and retries) instead of answering
        from the code book's words only with a warning (the CLI's behaviour)."""
        from codedesk.ingest.sources import resolved_sources

        start = time.perf_counter()
        self.settings = settings
        self.require_index = require_index
        cache = settings.cache_dir
        self._dense_ready = threading.Event()
        self._dense: Any = None
        self._dense_error: BaseException | None = None
        self.index_version: str | None = (
            None  # the generation served when the dense index was opened
        )
        if dense:  # the model and Chroma load while the caches are read
            threading.Thread(
                target=self._open_dense_in_background, name="codedesk-dense", daemon=True
            ).start()
        else:
            self._dense_ready.set()
        self._found = {r.source.kind: r for r in resolved_sources(settings) if r.found}
        sources = book_sources(settings)
        self.books: LazyMap[str, Any] = LazyMap(sources, lambda fy: load_book(sources[fy], cache))
        self.searchers: LazyMap[str, Any] = LazyMap(
            sources, lambda fy: load_searcher(self.books[fy], cache)
        )
        self.versions = _OnFirstUse(lambda: VersionSet.load(settings, cache))
        self._guidelines = (
            _OnFirstUse(self._load_guidelines) if "guidelines_pdf" in self._found else None
        )
        self._alpha = _OnFirstUse(self._load_alpha_index) if "index" in self._found else None
        self._external = _OnFirstUse(self._load_external_index)
        self._procedures = _OnFirstUse(self._load_procedures)
        self.tables: Mapping[str, Any] = (
            LazyMap(sources, self._load_tables)
            if {"drug_table", "neoplasm_table"} & set(self._found)
            else {}
        )
        self.composer = None
        if (
            settings.llm
        ):  # model-backed answers behind the citation guard (codedesk/retrieval/llm.py)
            from codedesk.retrieval.llm import ModelComposer

            self.composer = ModelComposer(settings)
        self.chain = AnswerChain(
            self.books,
            self.searchers,
            lambda: settings.fiscal_year,
            dense_for=self._dense_for if dense else None,
            changes=self._changes,
            passages=self._passages if self._guidelines is not None else None,
            extra_codes=self._extra_codes,
            rule_intent=guideline_intent,
            max_chars=settings.max_question_chars,
            top_k=settings.top_k,
            composer=self.composer,
            index_search=self._index_search if self._alpha is not None else None,
            clock_year=settings.fiscal_year_set is None,
        )
        self.chain.settings = settings  # the coding setting and today's date for code checks
        self._runnable = self.chain.runnable()
        # While the model and Chroma load: the year most questions are answered in (today's, else the
        # newest loaded before it, as the chain answers). Nothing more: the rest would only compete with
        # Chroma's import for the interpreter lock (measured: a later answer).
        fy = settings.fiscal_year
        fy = fy if fy in self.books else max((y for y in self.books if y < fy), default=None)
        if fy is not None:
            self.searchers[fy]  # loads the book and its searcher
        self._dense_ready.wait()
        if (
            self._dense_error is not None
        ):  # e.g. ModelMismatch: an error of the setup, said at start as before
            raise self._dense_error
        log.info(
            "answerer ready years=%s dense=%s llm=%s seconds=%.2f",
            ",".join(self.books),
            bool(self._dense),
            settings.llm or "-",
            time.perf_counter() - start,
        )

    # ---- parts loaded on first use ------------------------------------------------------------------
    @property
    def dense(self) -> Any:
        """The dense index (None when it is not built or not wanted)."""
        return self._dense

    @property
    def guidelines(self) -> Any:
        return self._guidelines._resolve() if self._guidelines is not None else None

    @property
    def alpha(self) -> Any:
        return self._alpha._resolve() if self._alpha is not None else None

    @property
    def external(self) -> Any:
        """The Index to External Causes as a road (None without it): how, where and doing what."""
        return self._external._resolve()

    @property
    def procedures(self) -> Any:
        return self._procedures._resolve()

    def warm(self, years: list[str] | None = None) -> None:
        """Load (building any missing cache entry) every part for these years (default: all), so the next
        questions pay nothing: after an ingest, or in a long-running process before it takes questions."""
        for fy in years or list(self.books):
            self.searchers[fy]
            if fy in self.tables:
                self.tables[fy]
        _ = (self.guidelines, self.alpha, self.external)  # loading them is the point
        procedures = self.procedures
        if procedures is not None:
            procedures.load_deferred()
        self.versions._resolve()

    def _open_dense_in_background(self) -> None:
        try:
            self._dense = self._open_dense()
        except BaseException as err:  # raised by __init__, as when it was opened there
            self._dense_error = err
        finally:
            self._dense_ready.set()

    def _open_dense(self) -> Any:
        from codedesk.ingest.store import IndexStore
        from codedesk.retrieval.dense import DenseIndex

        try:
            store = IndexStore(self.settings)
            if store.active() is None:  # nothing built yet: don't pay for loading the model
                raise IndexUnavailable(
                    "the code index has not been built yet: run `codedesk ingest`"
                )
            dense = DenseIndex(
                store, get_embedder(self.settings.cache_dir, self.settings.embedding_backend)
            )
        except IndexUnavailable as err:
            log.warning("dense index not available: %s", err)
            return None
        self.index_version = dense.generation.gen
        return dense

    def _dense_for(self, fiscal_year: str) -> Any:
        """The dense code search of one year for the chain, or None without a dense index."""
        return self._dense_search(fiscal_year) if self.dense is not None else None

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
        pdf = self._found.get("guidelines_pdf")
        if pdf is None:
            return None
        team = []
        if "team" in self._found:
            from codedesk.ingest.team import load_team_guidelines

            team = load_team_guidelines(self._found["team"].path)
        from codedesk.cms.pcs import pcs_db_path

        dense = self.dense
        embed = dense.embedder.encode if dense else None
        try:
            return load_guideline_searcher(
                pdf.path,
                pdf.source.fiscal_year or self.settings.fiscal_year,
                self.settings.cache_dir,
                embed=embed,
                pcs_db=pcs_db_path(),
                team=team,
            )
        except CodeDeskError as err:
            log.warning("guidelines unavailable: %s", err)
            return None

    def _load_alpha_index(self, kind: str = "index") -> Any:
        """The Alphabetic Index to Diseases and Injuries (CODEDESK_CMS_DATA_DIR), the first road to codes;
        `kind` "external_cause_index": the Index to External Causes."""
        from codedesk.retrieval.alpha_index import load_alpha_index

        found = self._found.get(kind)
        if found is None:
            return None
        try:
            return load_alpha_index(found.path, self.settings.cache_dir, kind)
        except CodeDeskError as err:
            log.warning("%s unavailable: %s", kind.replace("_", " "), err)
            return None

    def _load_external_index(self) -> Any:
        return self._load_alpha_index("external_cause_index")

    def _index_search(self, state: Any) -> list[Any]:
        """Codes the Alphabetic Index leads to, completed and verified in the Tabular List of the year asked;
        for an injury, the paths of the Index to External Causes too (`alpha_index.cover` keeps those that
        explain words the injury's paths left)."""
        alpha = self.alpha
        if (
            state.book is None or alpha is None
        ):  # (None: the Index failed to load; the log says why)
            return []
        tables = self.tables.get(state.fiscal_year)
        hits = alpha.search(
            state.search_text,
            state.book,
            drug_class=tables.drug_class if tables is not None else None,
        )
        from codedesk.retrieval.alpha_index import takes_external_cause  # loaded with the Index

        if hits and takes_external_cause(hits[0].code):
            external = self.external
            if external is not None:
                hits += external.search(state.search_text, state.book)
        return hits

    def _load_tables(self, fiscal_year: str) -> Any:
        """The Table of Drugs and the Neoplasm Table (and external-cause index) for one code book, so every
        code they give is completed and checked against the year answered (the parsed tables are shared)."""
        from codedesk.retrieval.tables import load_table_searcher

        found = {kind: r.path for kind, r in self._found.items()}
        drug, neoplasm = found.get("drug_table"), found.get("neoplasm_table")
        # the main Alphabetic Index is its own road (retrieval.alpha_index), not a table
        index_paths = [found[k] for k in ("external_cause_index",) if k in found]
        try:
            return load_table_searcher(
                drug, neoplasm, self.books[fiscal_year], self.settings.cache_dir, index_paths
            )
        except CodeDeskError as err:
            log.warning("tables unavailable: %s", err)
            return None

    def _load_procedures(self) -> Any:
        """ICD-10-PCS (packages) and HCPCS Level II (CODEDESK_CMS_DATA_DIR) procedure codes."""
        from codedesk.retrieval.procedures import load_procedure_searcher

        hcpcs = self._found.get("hcpcs")
        try:
            return load_procedure_searcher(hcpcs.path if hcpcs else None, self.settings.cache_dir)
        except CodeDeskError as err:
            log.warning("procedure codes unavailable: %s", err)
            return None

    def _extra_codes(self, state: Any) -> tuple[list[Any], list[Any]]:
        """Codes from the Drug/Neoplasm tables, or ICD-10-PCS/HCPCS, when the question is about one."""
        tables = self.tables.get(state.fiscal_year)
        if tables is not None:
            confs = tables.intents(state.search_text)
            # the best table, then the Table of Drugs too when it also answers: a condition due to a drug
            # taken for a neoplasm is coded from both (I.C.2.c.2: the anemia, the neoplasm, the adverse effect)
            kinds = sorted(
                (k for k in confs if confs[k] >= TABLE_INTENT),
                key=lambda k: (confs[k], k),
                reverse=True,
            )
            kinds = kinds[:1] + [k for k in kinds[1:] if k == "drug"]
            hits = [
                h
                for n, kind in enumerate(kinds)
                for h in _second_sites(
                    tables.match(state.search_text, k=3, kind=kind), state.search_text
                )[: None if n == 0 else 1]
            ]
            if hits:
                return [h.item(state.book) for h in hits], [h.citation() for h in hits]
        procedures = self.procedures
        if procedures is not None:
            system, conf = procedures.intent(state.search_text)
            if system is not None and conf >= PROCEDURE_INTENT:
                if system == "hcpcs" and not procedures.has_hcpcs:
                    state.warnings.append(
                        "HCPCS Level II is not loaded: set CODEDESK_CMS_DATA_DIR to a folder "
                        "with the CMS HCPCS file and run `codedesk ingest`."
                    )
                    return [], []
                hits = procedures.search(state.search_text, k=5, system=system)
                return [h.item() for h in hits], [h.citation() for h in hits]
        return [], []

    def _passages(self, state: Any) -> list[Any]:
        """The best guideline passages; the chain's rank step decides whether they are shown."""
        guidelines = self.guidelines
        if guidelines is None:  # the PDF failed to load (the log says why)
            return []
        out = []
        for hit in guidelines.search(state.search_text, k=3):
            passage = hit.passage()
            passage.score = hit.score
            out.append(passage)
        return out

    def _changes(self, state: Any) -> Any:
        return answer_changes(state.question, state.parsed, self.versions, state.fiscal_year)  # type: ignore[arg-type]

    def answer(
        self,
        question: str,
        *,
        history: list[str] | None = None,
        fiscal_year: str | None = None,
        user_id: str | None = None,
        on_partial: Callable[[str], None] | None = None,
        budget: Callable[[str], bool] | None = None,
    ) -> Answer:
        """Raises `CodeDeskError` (safe to show) for questions that cannot be answered as asked.

        `user_id` keys the per-user daily budget of model-worded answers (None: no budget applied);
        `budget(user_id)` takes one answer from it (default: this process's `DailyBudget`).
        `on_partial` watches a model-worded answer being written (its text so far, unsupported codes
        masked); it is never called without a model, and the returned answer is what counts."""
        if not isinstance(question, str):
            raise CodeDeskError("The question must be text.")
        inp = {"question": question, "history": history or [], "fiscal_year": fiscal_year}
        misses: list[str] = []
        token = _index_misses.set(
            misses
        )  # the chain's parallel steps run in copies of this context
        try:
            if self.composer is not None:
                from codedesk.retrieval.llm import asking_user

                with asking_user(user_id, on_partial, budget):
                    result = self._runnable.invoke(inp)
            else:
                result = self._runnable.invoke(inp)
        finally:
            _index_misses.reset(token)
        if misses and self.require_index:
            raise IndexUnavailable("the code index is unavailable; retrying")
        if self.dense is None:
            result.warnings.append(
                "The vector index is not built: answers use the code book's words only. "
                "Run `codedesk ingest`."
            )
        return result


def _second_sites(hits: list[Any], question: str) -> list[Any]:
    """The best table row, then a further row only when it says a word of the question the rows before it did
    not ("breast and lung cancer"): "Breast > skin" below "Breast", or "Bone > frontal" below "Frontal > lobe",
    adds no word the question said; a Table of Drugs row also needs its substance (main term) said, on the cause's side
    of "due to": "Antagonist > anticoagulant" is no second drug of "coumadin … on long-term anticoagulation", nor
    "Hypotensive NEC" of "hypotension due to lisinopril"."""
    from codedesk.retrieval.tables import condition_and_cause

    said = set(tokens(question))
    sides = condition_and_cause(question.lower())
    named = set(tokens(sides[1])) if sides is not None else said
    out, seen = [], set()
    for h in hits:
        words = set(tokens(h.term))
        substance = h.source_type != "drug_table" or bool(set(tokens(h.term.split(">")[0])) & named)
        if not out or (words - seen) & said and substance:
            out.append(h)
            seen |= words
    return out


def build_answerer(settings: Settings, **kwargs: Any) -> Answerer:
    return Answerer(settings, **kwargs)


def warm_caches(settings: Settings) -> float:
    """Build every answer cache entry the sources allow (each year's code book and searcher, the tables,
    the Alphabetic Index, the guidelines, the procedure codes), so the first start after an ingest only
    reads them (codedesk.cache); `codedesk ingest` ends with it. Returns the seconds it took; a part that
    fails is logged and skipped."""
    start = time.perf_counter()
    try:
        build_answerer(settings).warm()
    except CodeDeskError as err:
        log.warning("answer caches not built: %s", err)
    return time.perf_counter() - start
