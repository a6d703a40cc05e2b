"""The LangChain retrieval chain: prepare → retrieve (in parallel) → code-aware rank → compose.

Each step is a Runnable, so a model-backed composer can replace the last one without touching
retrieval. Retrievers are `BaseRetriever`s returning `Document`s with their scores in metadata.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel
from pydantic import ConfigDict

from codedesk.cache import LazyMap
from codedesk.cms.codebook import CodeBook, normalize_code
from codedesk.errors import CodeDeskError, IndexUnavailable
from codedesk.retrieval.alpha_index import IndexHit, cover, joint_coverage, load_vocabulary
from codedesk.retrieval.code_check import answer_code_check
from codedesk.retrieval.codesearch import Candidate, CodeSearcher, DenseSearch
from codedesk.retrieval.compose import Draft, Lookup, Passage, compose
from codedesk.retrieval.notes import codes_in_note
from codedesk.retrieval.query import ParsedQuestion, parse_question
from codedesk.retrieval.ranker import excludes1_conflicts, item_for, rank_search
from codedesk.retrieval.routing import named_systems, route
from codedesk.retrieval.schema import Answer, CodeItem
from codedesk.retrieval.sequencing import (
    answer_order_question,
    dropped_codes,
    implied_codes,
    missing_lookups,
    order_items,
    replaced_codes,
)
from codedesk.retrieval.text import FREE_STEMS, NOT, stem, tokens, words

log = logging.getLogger(__name__)
RULE_ONLY = 0.6
INDEX_ROAD = (
    0.6  # share of the question's words the Alphabetic Index paths must explain to lead the answer
)
NO_ROAD_COVER = (
    0.5  # ... under which a one-word Tabular match is no answer when no Index path explains a word
)
CONDITIONS_NAMED = 0.8  # ... for a question worded as a rule question to be answered with codes too
_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|what if|if|instead|same|also|but)\b", re.I)


@dataclass(slots=True)
class State:
    """What flows between the steps of the chain."""

    question: str
    search_text: str
    focus: str  # the newest words: they decide 7th characters and companions in a follow-up
    parsed: ParsedQuestion
    fiscal_year: str
    book: CodeBook | None
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None
    rule_intent: float = 0.0  # 0..1: asks about a coding rule rather than for a code
    route_named: bool = False  # the question names the code system it wants (ICD-10-PCS, HCPCS, …)


# Attributes a follow-up may change ("and if it's stage 4?"): the new value replaces the old one.
_SLOTS = [
    re.compile(p, re.I)
    for p in (
        r"\bstage\s*\w+\b|\b(?:ckd|stage)\s*\d[ab]?\b",
        r"\b(?:right|left|bilateral|unspecified side)\b",
        r"\b(?:initial|subsequent|sequela|follow[- ]up)\b(?:\s+encounter)?",
        r"\btype\s*(?:1|2|i|ii|one|two)\b",
        r"\b(?:open|closed)\b",
        r"\b(?:displaced|nondisplaced)\b",
        r"\b(?:acute|chronic|acute on chronic)\b",
    )
]


def merge_follow_up(previous: str, follow_up: str) -> str:
    """The previous question with every attribute the follow-up restates removed."""
    for slot in _SLOTS:
        if slot.search(follow_up):
            previous = slot.sub(" ", previous)
    return previous


class CodeRetriever(BaseRetriever):
    """Reportable ICD-10-CM base codes for a question: BM25F + dense + code-aware re-rank."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: CodeSearcher
    dense: Any = None  # DenseSearch | None
    k: int = 10

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        dense: DenseSearch | None = self.dense
        try:
            cands = self.searcher.search(query, k=self.k, dense=dense)
        except IndexUnavailable:
            log.warning("dense index unavailable; lexical only")
            cands = self.searcher.search(query, k=self.k)
            for c in cands:
                c.dense = -1.0  # marks the fallback for the composer
        return [
            Document(
                page_content=self.searcher.book.nodes[c.code].title,
                metadata={
                    "code": c.code,
                    "score": c.score,
                    "cover": c.cover,
                    "prec": c.prec,
                    "lex": c.lex,
                    "dense": c.dense,
                    "exact": c.exact,
                },
            )
            for c in cands
        ]


def _candidates(docs: list[Document]) -> list[Candidate]:
    return [
        Candidate(
            d.metadata["code"],
            d.metadata["score"],
            d.metadata["cover"],
            d.metadata["prec"],
            d.metadata["lex"],
            d.metadata["dense"],
            d.metadata["exact"],
        )
        for d in docs
    ]


class AnswerChain:
    """Builds the Runnable for a set of code books and optional extra retrievers."""

    settings: Any = (
        None  # codedesk Settings (coding setting, today) for code checks; set by the answer service
    )

    def __init__(
        self,
        books: dict[str, CodeBook],
        searchers: dict[str, CodeSearcher],
        default_year: str,
        dense_for: Any = None,
        passages: Any = None,
        extra_codes: Any = None,
        changes: Any = None,
        max_chars: int = 2000,
        top_k: int = 5,
        composer: Any = None,
        rule_intent: Any = None,
        index_search: Any = None,
        clock_year: bool = False,
    ) -> None:
        """`default_year`: the year answered when a question names none (a str, or a callable read per
        question: the year in effect today). `clock_year`: that year comes from the clock, not from the
        operator, so when it is not loaded the newest loaded year before it answers, with a warning."""
        self.books, self.searchers, self.default_year = books, searchers, default_year
        self.clock_year = clock_year
        # one per year, built on first use: a year's searcher (and the dense index) load only when it is asked
        self.retrievers: LazyMap[str, CodeRetriever] = LazyMap(
            searchers,
            lambda fy: CodeRetriever(
                searcher=searchers[fy], dense=dense_for(fy) if dense_for else None
            ),
        )
        self.passages = passages  # (State) -> list[Passage]
        self.extra_codes = (
            extra_codes  # (State) -> (list[CodeItem], list[Citation]): tables, PCS, HCPCS
        )
        self.changes = changes  # (State) -> ChangeAnswer | None: code changes and validity by date
        self.rule_intent = rule_intent  # (question) -> float
        self.index_search = index_search  # (State) -> list[IndexHit]: the Alphabetic Index road (retrieval.alpha_index)
        self.max_chars, self.top_k = max_chars, top_k
        self.composer = (
            composer  # (Draft, Answer) -> Answer: rewords the deterministic answer (retrieval.llm)
        )

    # ---- steps ---------------------------------------------------------------------------------
    def prepare(self, inp: dict[str, Any]) -> State:
        raw = (inp.get("question") or "").strip()
        if not raw:
            raise CodeDeskError(
                "Ask a coding question, e.g. “code for type 2 diabetes with CKD stage 3?” "
                "or “is E11.2 billable?”"
            )
        warnings = []
        if len(raw) > self.max_chars:
            warnings.append(
                f"Your question was {len(raw):,} characters; only the first {self.max_chars:,} were read."
            )
            raw = raw[: self.max_chars]
        parsed = parse_question(raw)
        if parsed.date_error:  # an impossible date of service is an error, never ignored
            raise CodeDeskError(parsed.date_error)
        history = [h for h in (inp.get("history") or []) if h and h.strip()]
        search_text = raw
        if history and (_FOLLOW_UP.match(raw) or len(tokens(raw)) <= 4):
            search_text = f"{merge_follow_up(history[-1][: self.max_chars], raw)} {raw}"
            if not parsed.mentions:
                parsed.mentions = (
                    parse_question(history[-1]).mentions if len(tokens(raw)) <= 2 else []
                )
        default = (
            self.default_year() if callable(self.default_year) else self.default_year
        )  # today's year
        fy = inp.get("fiscal_year") or parsed.fiscal_year or default
        older = [y for y in self.books if y < fy]
        if (
            fy not in self.books
            and self.clock_year
            and older
            and not (inp.get("fiscal_year") or parsed.fiscal_year)
        ):
            # today's year is not loaded (a fresh install has only the embedded FY2026): never silently
            warnings.append(
                f"FY{fy} is the ICD-10-CM code set in effect today, but it is not loaded: this answer "
                f"is from FY{max(older)}, and codes added, deleted or revised in FY{fy} are not "
                f"reflected. Fetch it with `codedesk fetch --year {fy}` and run `codedesk ingest`."
            )
            fy = max(older)
        state = State(
            raw,
            search_text,
            raw,
            parsed,
            fy,
            self.books.get(fy),
            warnings,
            rule_intent=self.rule_intent(raw) if self.rule_intent else 0.0,
        )
        if state.book is None:
            have = ", ".join(f"FY{y}" for y in sorted(self.books, reverse=True))
            state.refusal = (
                f"I have no ICD-10-CM code set for FY{fy} loaded, so I cannot confirm which codes are "
                f"valid then. Loaded: {have}. Ask again naming one of those years, or fetch FY{fy} "
                f"with `codedesk fetch --year {fy}` and run `codedesk ingest`."
            )
        elif getattr(
            state.book, "basis", None
        ):  # a year built from its addenda: every answer says so
            state.warnings.append(state.book.basis)
        return state

    def retrieve(self, state: State) -> dict[str, Any]:
        change = self.changes(state) if self.changes else None
        if (
            change is not None
        ):  # "what changed…", "valid for DOS…": answered from the versions alone
            return {"state": state, "change": change}
        if state.refusal:
            return {"state": state, "codes": [], "passages": [], "extra": ([], [])}
        order = answer_order_question(state.question, state.book)
        # "is J96.01 an MCC?", "check E11.22, N18.32": validity, sequencing, CC/MCC and HCC (retrieval.code_check)
        order = (
            answer_code_check(
                state.question, state.book, order, books=self.books, settings=self.settings
            )
            or order
        )
        if order is not None:  # "E11.22, N18.32, I12.9 — right order?": the sequencing rules answer
            return {"state": state, "codes": [], "passages": [], "extra": ([], []), "order": order}
        # A pure rule question ("can I code a symptom with a confirmed diagnosis?") gets no code list, unless
        # Alphabetic Index paths explain its words ("HTN + CKD stage 3a, what do I code"): conditions to code.
        rule_only = state.rule_intent >= RULE_ONLY and not state.parsed.mentions
        index_hits: list[IndexHit] | None = None  # searched once: the gate's hits are the answer's
        if rule_only and self.index_search is not None:
            index_hits = self.index_search(state)
            rule_only = joint_coverage(cover(index_hits, book=state.book)) < CONDITIONS_NAMED
        wants_search = not state.parsed.is_code_lookup and not rule_only
        if not (self.index_search and wants_search):
            index_step: Runnable = RunnableLambda(lambda s: [])
        elif index_hits is not None:
            index_step = RunnableLambda(lambda s: index_hits)
        else:
            index_step = RunnableLambda(self.index_search)
        steps: dict[str, Runnable] = {
            "codes": RunnableLambda(lambda s: s.search_text) | self.retrievers[state.fiscal_year]
            if wants_search
            else RunnableLambda(lambda s: []),
            "passages": RunnableLambda(self.passages)
            if self.passages
            else RunnableLambda(lambda s: []),
            "extra": RunnableLambda(self.extra_codes)
            if self.extra_codes
            else RunnableLambda(lambda s: ([], [])),
            "index": index_step,
        }
        out = RunnableParallel(steps).invoke(state)
        out["state"] = state
        return out

    def rank(self, found: dict[str, Any]) -> Draft:
        state: State = found["state"]
        draft = Draft(
            state.question,
            state.fiscal_year,
            state.book,
            warnings=list(state.warnings),
            refusal=state.refusal,
        )
        change = found.get("change")
        if change is not None:
            draft.refusal = None
            draft.change = change
            draft.fiscal_year = change.fiscal_year or state.fiscal_year
            draft.confidence = (
                change.confidence if change.confidence in ("high", "medium", "low") else "medium"
            )
            return draft
        if state.refusal:
            return draft
        book = state.book
        if found.get("order") is not None:
            return self._order_draft(state, draft, found["order"])
        passages = list(found.get("passages") or [])
        extra, draft.extra_citations = found.get("extra") or ([], [])
        extra = list(extra)
        lead = _underlying_first(
            book,
            _kept_instead(
                book,
                cover(list(found.get("index") or []), book=book),
                found.get("index") or [],
                state,
            ),
        )
        # the Index to External Causes adds to an injury only what `cover` took; its other paths are no
        # alternatives ("Fracture (circumstances unknown)" X58 beside a fracture)
        hits = [h for h in found.get("index") or [] if not h.external]
        both = self._route(state, draft, extra, lead)
        cands = _candidates(found.get("codes") or [])
        if cands and cands[0].exact and any(i.system == "ICD-10-CM" for i in extra):
            # the question is a code's own title ("Underdosing of therapeutic gases, sequela"): that code,
            # not the table row its words also reach
            extra = [i for i in extra if i.system != "ICD-10-CM"]
            draft.extra_citations = [
                c
                for c in draft.extra_citations
                if c.source_type not in ("drug_table", "neoplasm_table", "index")
            ]
        extra, draft.extra_citations = _drop_sites_of_other_conditions(
            book, state.search_text, extra, draft.extra_citations, hits
        )
        table = any(i.system == "ICD-10-CM" for i in extra)  # the Drug or Neoplasm Table answered
        # The Index leads when a path explains most of the question, unless the question is a code's own
        # title; over a table row only when its path explains every word with nothing assumed (the Index
        # itself sends a coder to the tables: "Cancer, see Neoplasm, malignant").
        road_index = (
            bool(lead)
            and (joint_coverage(lead) >= INDEX_ROAD or _misses_condition(book, cands, lead[0]))
            and not (cands and cands[0].exact and cands[0].code != _base(book, lead[0].code))
            and not (
                table
                and (lead[0].coverage < 1.0 or lead[0].assumed)
                and not _index_beats_table(state.search_text, lead, extra, draft.extra_citations)
            )
        )
        asked_for: list[CodeItem] = []
        if road_index and table:
            # the Index path answers; a table code stays when the Index code's own note asks for it, and a Table
            # of Drugs code always does unless a path codes the drug itself: the nature of an adverse effect is
            # followed by its T36-T50 code (I.C.19.e.5.a, I.C.2.c.2: "anemia due to antineoplastic chemotherapy,
            # adverse effect": D64.81, T45.1X5A)
            wanted = {
                c
                for n in book.inherited_notes(lead[0].code, ("use_additional_code", "code_first"))
                for c in codes_in_note(book, n.text)
            }
            drugs = tuple(
                c.code.rstrip("-") for c in draft.extra_citations if c.source_type == "drug_table"
            )
            asked_for = [
                i
                for i in extra
                if i.system == "ICD-10-CM"
                and (
                    _base(book, i.code) in wanted
                    or (
                        i.code.startswith(drugs)
                        and _adverse_effect(i.code)
                        and not any("T36" <= h.code[:3] <= "T50" for h in lead)
                    )
                )
            ]
            draft.extra_citations = [
                c
                for c in draft.extra_citations
                if c.source_type != "index"
                and any(i.code.startswith(c.code.rstrip("-")) for i in asked_for)
            ]
            extra, table = [], False
        # Table codes are ICD-10-CM codes: shown like a named code, with the notes that apply to it.
        for n, item in enumerate(i for i in extra if i.system == "ICD-10-CM"):
            info = book.lookup(item.code)
            if info.exists:
                draft.lookups.append(
                    Lookup(
                        item.code, info, [item], book.inherited_notes(item.code) if n == 0 else []
                    )
                )
        draft.extra_items = [i for i in extra if i.system != "ICD-10-CM"]
        leftover: list[str] = []
        more: list[IndexHit] = []
        if table and not road_index:
            # the table codes the drug or the site; another condition the question names is coded from its
            # own Index path ("angioedema due to lisinopril": T78.3XXA beside T46.4X5A), and the sequencing
            # rules order them (I.C.19.e.5.a: the nature of the adverse effect first)
            others = [h for h in hits if not _table_domain(book, h.code, draft.extra_citations)]
            leftover, more = _table_leftovers(
                state.search_text, extra, draft.extra_citations, others
            )
            for hit in more:
                item = item_for(book, hit.code, f"{hit.book}: {hit.path} {hit.printed}")
                draft.lookups.append(Lookup(hit.code, book.lookup(hit.code), [item]))
                draft.extra_citations.append(hit.citation())
            if len(draft.lookups) > 1:
                ordered, draft.moves = order_items(
                    book, draft.lookups, key=lambda lk: lk.items[0].code, question=state.question
                )
                if "table" not in named_systems(
                    state.question
                ):  # "… - drug code?": the asked code leads
                    draft.lookups = ordered
        for m in state.parsed.mentions[:5]:
            draft.lookups.append(self._lookup(book, m.first, m.last, state))
        draft.lookups = [lk for lk in draft.lookups if lk is not None]
        reportable = [lk.info.code for lk in draft.lookups if lk.info.reportable]
        draft.reasons.extend(f"⚠️ {c}" for c in excludes1_conflicts(book, reportable))
        if road_index:
            draft.road, draft.index_hits = "index", lead
            draft.ranked = self._index_ranked(state, lead, hits, cands)
            for item in asked_for:
                if item.code not in {i.code for i in draft.ranked.main}:
                    draft.ranked.report(item, book.inherited_notes(item.code))
        elif (
            cands
            and self.index_search is not None
            and not hits
            and _weak(cands[0], len(_content_words(state.search_text)))
        ):
            # no Index entry holds any of the words and no Tabular title says more than one ("; DROP TABLE …",
            # "ignore previous instructions"): a code would be a guess
            draft.reasons.append(
                "No Alphabetic Index entry holds these words and no Tabular List title says more than "
                f"one of them (best: {cands[0].code}): name the condition or the procedure, or a code."
            )
        elif cands:
            draft.road = "tabular" if self.index_search else ""
            draft.ranked = rank_search(
                book,
                self.searchers[state.fiscal_year],
                state.search_text,
                state.focus,
                cands,
                self.top_k,
            )
        if draft.ranked is not None and extra and not both:
            # a table or procedure code answers the question; Tabular List matches are alternatives
            keep = draft.ranked.main + draft.ranked.alternatives if not draft.extra_items else []
            draft.ranked.main, draft.ranked.alternatives = (
                [],
                keep,
            )  # a procedure question: no diagnoses
            draft.ranked.notes, draft.ranked.conflicts = {}, []
            draft.road, draft.index_hits = ("table" if table else "procedure"), []
        if draft.ranked is not None and draft.ranked.main:
            # codes a guideline replaces (an examination that found a condition: "with abnormal findings")
            for old, new, rule in replaced_codes(
                book, [i.code for i in draft.ranked.main], state.question
            ):
                at = next(n for n, i in enumerate(draft.ranked.main) if i.code == old)
                draft.ranked.main[at] = item_for(book, new, f"{rule.message} ({rule.section})")
                draft.ranked.notes[new] = book.inherited_notes(new)
                draft.ranked.alternatives = [a for a in draft.ranked.alternatives if a.code != new]
                draft.extra_citations.append(rule.citation(new))
            # codes a guideline says another code found replaces (M80, not the traumatic fracture)
            for code, rule in dropped_codes(
                book, [i.code for i in draft.ranked.main], state.question
            ):
                draft.ranked.main = [i for i in draft.ranked.main if i.code != code]
                draft.ranked.alternatives = [a for a in draft.ranked.alternatives if a.code != code]
                draft.extra_citations.append(rule.citation(code))
                draft.reasons.append(f"{code} not reported: {rule.message} ({rule.section})")
            # codes a guideline adds to the ones found (severe sepsis for sepsis with an organ dysfunction)
            for code, rule, _ in implied_codes(
                book, [i.code for i in draft.ranked.main], state.question
            ):
                # the code the rule asks for when the question does not say it, unless an Index path found one
                # the rule names ("severe sepsis … due to pneumococcal pneumonia": Sepsis > pneumococcal A40.3,
                # not A41.9 "unspecified organism")
                said = next(
                    (
                        h
                        for h in hits
                        if rule.unless is not None
                        and rule.unless.matches(book, h.code)
                        and not h.assumed
                    ),
                    None,
                )
                item = (
                    item_for(book, said.code, f"{said.book}: {said.path} {said.printed}")
                    if said is not None
                    else item_for(book, code, f"{rule.message} ({rule.section})")
                )
                draft.ranked.report(item, book.inherited_notes(item.code))
                draft.extra_citations.append(
                    said.citation() if said is not None else rule.citation(code)
                )
        if draft.road == "index" and draft.ranked is not None and self.index_search is not None:
            self._look_up_required(state, draft, lead)
        if draft.ranked is not None and len(draft.ranked.main) > 1:
            # the Official Guidelines' sequencing rules (codedesk/retrieval/data/sequencing.toml) set the order
            draft.ranked.main, draft.moves = order_items(
                book, draft.ranked.main, question=state.question
            )
        if cands and cands[0].dense < 0:
            draft.warnings.append(
                "The vector index is unavailable; this answer used the code book's words "
                "only. Run `codedesk ingest` or check the Chroma server."
            )
        if draft.road == "index":
            draft.confidence, why = _index_confidence(draft, lead)
        else:
            draft.confidence, why = _confidence(draft, cands)
        if (
            extra and not both
        ):  # a table row or procedure code matched: certain unless something had to be assumed
            assumed = "assum" in (extra[0].note or "").lower()
            draft.confidence, why = (
                (
                    "medium"
                    if assumed or draft.road == "procedure" and not state.route_named
                    else "high"
                ),
                "",
            )
            if draft.road == "table" and draft.confidence == "high" and leftover:
                draft.confidence = "medium"
                why = (
                    f"The table row does not explain every word (not explained: {', '.join(leftover[:6])}, "
                    "which the Alphabetic Index codes on its own): check whether it needs its own code."
                )
            elif draft.road == "table" and draft.confidence == "high" and more:
                draft.confidence = "medium"  # a second condition from its own Index path: verify it
                why = (
                    "Besides the table row, "
                    + ", ".join(f"{h.code} ({h.path})" for h in more)
                    + " was coded from its own Alphabetic Index path: check it against the documentation."
                )
        elif extra and draft.confidence == "high" and "assum" in (extra[0].note or "").lower():
            draft.confidence = "medium"
        if why:
            draft.reasons.append(why)
        draft.passages = _shown_passages(
            passages, state.rule_intent, draft.confidence, bool(draft.lookups)
        )
        draft.rule_first = bool(draft.passages) and state.rule_intent >= 0.3
        if draft.passages and not cands and not draft.lookups and not draft.index_hits:
            draft.confidence = "high" if draft.passages[0].score >= 0.6 else "medium"
        return draft

    def _order_draft(self, state: State, draft: Draft, order: Any) -> Draft:
        """A pasted list of codes checked against the sequencing rules: each code as the book knows it, in
        the suggested order. Never "high" with a finding: a list does not show the reason for the encounter."""
        draft.order_check = order
        rank = {c: n for n, c in enumerate(order.suggested)}
        unique: dict[tuple[str, str | None], Any] = {}  # a code pasted twice is shown once
        for m in state.parsed.mentions:
            unique.setdefault((normalize_code(m.first), m.last), m)
        mentions = sorted(
            list(unique.values())[:8], key=lambda m: rank.get(normalize_code(m.first), len(rank))
        )
        draft.lookups = [
            lk for m in mentions if (lk := self._lookup(state.book, m.first, m.last, state))
        ]
        draft.confidence = "medium" if order.findings else "high"
        return draft

    def _route(
        self, state: State, draft: Draft, extra: list[CodeItem], lead: list[IndexHit]
    ) -> bool:
        """Keep procedure codes only for a procedure question (item: route by code system). Returns
        whether the question asks for both diagnosis and procedure codes."""
        if not any(i.system != "ICD-10-CM" for i in extra):
            return False
        r = route(state.question, True, joint_coverage(lead))
        state.route_named = _names_procedure_system(state.question)
        if not r.procedure:
            extra[:] = [i for i in extra if i.system == "ICD-10-CM"]
            draft.extra_citations = [
                c for c in draft.extra_citations if c.source_type not in ("pcs", "hcpcs")
            ]
        if r.why:
            draft.reasons.append(r.why)
        return r.diagnosis and r.procedure

    def _look_up_required(self, state: State, draft: Draft, lead: list[IndexHit]) -> None:
        """A code a guideline says goes with one found, looked up in the Index as a coder would (I.C.21.c.8:
        Z08 with the history of the cancer: History > personal > malignant neoplasm > colon Z85.038)."""
        book, ranked = state.book, draft.ranked
        assert ranked is not None and self.index_search is not None
        for rule, _ in missing_lookups(book, [i.code for i in ranked.main], state.question):
            looked = self.index_search(
                dataclasses.replace(state, search_text=f"{rule.find} {state.search_text}")
            )
            said = set(tokens(rule.find))
            found = next(
                (
                    h
                    for h in looked
                    if not h.external
                    and not h.assumed
                    and rule.other is not None
                    and rule.other.matches(book, h.code)
                    and _stems_of(h) - said
                ),
                None,
            )
            if found is None:
                continue
            ranked.report(
                item_for(book, found.code, f"{found.book}: {found.path} {found.printed}"),
                book.inherited_notes(found.code),
            )
            draft.extra_citations += [found.citation(), rule.citation(found.code)]
            # a further path whose words the code found explains was only standing in for it ("prostate" of
            # Prostatism beside Z08 for "… prostate cancer")
            covered = _stems_of(lead[0]) | _stems_of(found)
            standing_in = {h.code for h in lead[1:] if _stems_of(h) <= covered}
            ranked.main = [i for i in ranked.main if i.code not in standing_in]

    def _index_ranked(
        self, state: State, lead: list[IndexHit], hits: list[IndexHit], cands: list[Candidate]
    ) -> Any:
        """The Index's codes first (completed in the Tabular List), the Tabular search's after them: the
        code-aware step then adds 7th characters, the companions the notes ask for, and alternatives."""
        book = state.book
        first: list[Candidate] = []
        seen: set[str] = set()
        # The Index found the category; when its path leaves words unexplained, the Tabular List picks the
        # subcode of that category that says more of them ("OA of R knee": M17.11 under the Index's M17)
        top = lead[0]
        better = _refinement(book, cands, top) if top.unexplained else None
        if better is not None:
            first.append(Candidate(better.code, 10.0, better.cover, 1.0))
            seen.add(better.code)
        for n, hit in enumerate([*lead, *(h for h in hits if h not in lead)]):
            base = _base(book, hit.code)
            if base not in seen:
                seen.add(base)
                first.append(Candidate(base, 10.0 - n * 0.01, hit.coverage, 1.0))
        merged = first + [c for c in cands if c.code not in seen]
        explained = frozenset(t for h in lead for t in _stems_of(h))
        ranked = rank_search(
            book,
            self.searchers[state.fiscal_year],
            state.search_text,
            state.focus,
            merged,
            self.top_k,
            explained,
        )
        have = {i.code for i in ranked.main} | {_base(book, i.code) for i in ranked.main}
        for hit in lead[1:]:  # a second condition the question names, from its own Index path
            if hit.code not in have and _base(book, hit.code) not in have:
                item = item_for(book, hit.code, f"{hit.book}: {hit.path} {hit.printed}")
                ranked.report(item, book.inherited_notes(item.code))
                have.add(item.code)
        ranked.conflicts = excludes1_conflicts(book, [i.code for i in ranked.main])
        return ranked

    def _lookup(self, book: CodeBook, first: str, last: str | None, state: State) -> Lookup | None:
        """What the book says of a code, range or family the question names (E11.2- reads as E11.2)."""
        info = book.lookup(first)
        if last:
            codes = [
                c for head in book.codes_in_range(first, last) for c in book.reportable_under(head)
            ]
            rng = book.lookup(first)
            rng.code, rng.title = f"{first}-{last}", f"range {first}–{last}"
            rng.reason, rng.exists, rng.reportable = "a range of codes, not one code", True, False
            return Lookup(f"{first}-{last}", rng, [item_for(book, c) for c in codes[:40]])
        if (
            not info.exists
            and "." not in first
            and len(first) == 3
            and not state.parsed.is_code_lookup
        ):
            return None  # "B12 deficiency": a word that looks like a code, in a sentence
        if info.exists and info.reportable:
            return Lookup(first, info, [item_for(book, info.code)], book.inherited_notes(info.code))
        if info.exists and info.needs_seventh:
            defs, source = book.seventh_defs(info.code)
            items = [
                item_for(
                    book, book.with_seventh(info.code, ch), f"7th character {ch}: {t} ({source})"
                )
                for ch, t in defs.items()
            ]
            return Lookup(first, info, items, book.inherited_notes(info.code))
        if info.exists and book.is_diag(info.code):
            items = [item_for(book, c) for c in book.reportable_under(info.code)]
            for it in items:
                if it.code not in book.nodes:
                    it.note = "7th character A shown; choose the one for the encounter"
            return Lookup(first, info, items, book.inherited_notes(info.code))
        if info.exists:  # a chapter or block
            return Lookup(first, info, [])
        return Lookup(
            first, info, [item_for(book, c, "nearest valid code") for c in book.nearest(first)]
        )

    def finish(self, draft: Draft) -> Answer:
        """The deterministic answer, handed to the optional composer (which falls back to it)."""
        answer = compose(draft)
        return self.composer(draft, answer) if self.composer is not None else answer

    def runnable(self) -> Runnable:
        return (
            RunnableLambda(self.prepare)
            | RunnableLambda(self.retrieve)
            | RunnableLambda(self.rank)
            | RunnableLambda(self.finish)
        ).with_config(run_name="codedesk_answer")


def _shown_passages(
    passages: list[Passage], rule_intent: float, code_confidence: str, named_codes: bool
) -> list[Passage]:
    """Guideline passages go with the answer when the question asks about a rule, when one matches
    very well, or when the codes found are uncertain and a passage matches fairly well."""
    if not passages:
        return []
    top = passages[0].score
    if (
        rule_intent >= 0.3
        or top >= 0.7
        or (code_confidence != "high" and not named_codes and top >= 0.45 and rule_intent >= 0.1)
    ):
        return passages
    return []


def _confidence(draft: Draft, cands: list[Candidate]) -> tuple[str, str]:
    """high / medium / low from the Tabular search's evidence, with the reason in a coder's words."""
    if draft.lookups and not cands:
        missing = [lk.info.code for lk in draft.lookups if not lk.info.exists]
        if missing:  # the nearest codes are neighbours by spelling, not by meaning
            return "medium", (
                f"{', '.join(missing)} does not exist in the code set; the nearest valid codes are "
                "neighbours by spelling, not by meaning: find the condition in the Alphabetic Index."
            )
        return "high", ""
    if not cands:
        return ("medium", "") if draft.passages or draft.extra_items else ("low", "")
    top = cands[0]
    margin = top.score - (cands[1].score if len(cands) > 1 else 0.0)
    ranked = draft.ranked
    missing = ", ".join(ranked.missing_words[:6]) if ranked else ""
    if top.exact:
        return "high", "The question is the official title (or an inclusion term) of the code."
    if (
        top.cover >= 0.85
        and top.prec >= 0.75
        and margin >= 0.04
        and not missing
        and not (ranked and ranked.conflicts)
    ):
        return "high", "Every word of the question is in the code's title, notes or hierarchy."
    if top.cover >= 0.6:
        return "medium", (
            f"Most words matched the Tabular List; not matched: {missing}. No Alphabetic Index path "
            "explained the question: check the Index."
            if missing
            else "Several codes match about as well; pick by the documentation."
        )
    return "low", (
        f"The words matched only partly (not matched: {missing})."
        if missing
        else "The words matched only partly."
    )


def _weak(top: Candidate, words: int) -> bool:
    """A Tabular match too thin to offer as a code when no Index path explains a word of the question: one
    word of several ("drop" of "; DROP TABLE query_log;--" is M21.379 "Foot drop")."""
    return not top.exact and top.cover < NO_ROAD_COVER and round(top.cover * words) <= 1


def _refinement(book: CodeBook, cands: list[Candidate], hit: IndexHit) -> Candidate | None:
    """The subcode of the Index code's category that says more of the question, when one assumes least: of
    those that refine it, the one whose title says fewest words the question does not ("OA of R knee": M17.11
    "Unilateral primary …, right knee" over M17.31 "… post-traumatic …"); none when two assume as little
    ("right eye" is H25.011 "Cortical …" as much as H25.11 "… nuclear …": H25.9 stays)."""
    asked = {t for w in (*hit.explained, *hit.unexplained) for t in tokens(w)}
    modifiers = {t for m in _PARENS.findall(hit.path) for t in tokens(m)} - FREE_STEMS
    found = [
        (len(set(tokens(book.title(c.code))) - asked - _SAYS_NOTHING), c)
        for c in cands
        if c.code[:3] == hit.code[:3]
        and c.cover > hit.coverage + 0.01
        and _refines(book, c.code, hit, asked, modifiers)
    ]
    if not found:
        return None
    least = min(n for n, _ in found)
    best = [c for n, c in found if n == least]
    return best[0] if len({c.code[:5] for c in best}) == 1 else None


def _refines(
    book: CodeBook, code: str, hit: IndexHit, asked: set[str], modifiers: set[str]
) -> bool:
    """A Tabular code that says a word the Index path left unexplained and the hit's own code does not
    (a sibling saying only what the hit's code says too is no refinement: "…, unspecified trimester"
    against the "…, first trimester" the weeks chose)."""
    said, own = _title_words(book, code), _title_words(book, hit.code)
    # nor one that loses a word the hit's own title says ("both eyes": "…, bilateral" is not refined by
    # "…, right eye" for the word "eye")
    kept = all(_said(w, said) for w in hit.explained if _said(w, own))
    # nor one that asserts a word the Index path prints as a nonessential modifier (`modifiers`) and the question
    # does not say (`asked`) ("Cataract (cortical) … > senile H25.9": "right eye" is no reason for H25.011
    # "Cortical …, right eye")
    invented = (set(tokens(book.title(code))) & modifiers) - asked
    # a word another word of the path already says is no reason ("thyroid" of "hyperthyroidism … thyroid storm":
    # not E05.31 "… from ectopic thyroid tissue …" for E05.91)
    left = [w for w in hit.unexplained if not any(w.lower() in x.lower() for x in hit.explained)]
    return kept and not invented and any(_said(w, said) and not _said(w, own) for w in left)


_PARENS = re.compile(r"\(([^)]*)\)")
# title words that assume nothing about the patient ("other" does: a kind the question did not name)
_SAYS_NOTHING = FREE_STEMS - set(tokens("other specified"))


def _title_words(book: CodeBook, code: str) -> set[str]:
    return {
        t
        for text in (book.title(code), *(a.title for a in book.ancestors(code)[:2]))
        for t in tokens(text)
        if not t.startswith(NOT)
    }


def _adverse_effect(code: str) -> bool:
    """A T36-T50 code of the adverse-effect column (its 6th character, or 5th before X, is 5: I.C.19.e.5)."""
    flat = code.replace(".", "")
    return "T36" <= flat[:3] <= "T50" and len(flat) > 5 and flat[5] == "5"


def _base(book: CodeBook, code: str) -> str:
    return book.lookup(code).base or code


def _said(word: str, titles: set[str]) -> bool:
    toks = [t for t in tokens(word) if not t.startswith(NOT)]
    return bool(toks) and all(t in titles for t in toks)


def _index_confidence(draft: Draft, lead: list[IndexHit]) -> tuple[str, str]:
    """high only when every content word is explained by an Index path or a code's title, nothing had to
    be assumed, and the Tabular List verified every code (reportable, no Excludes1 pair)."""
    ranked = draft.ranked
    main = ranked.main if ranked else []
    titles = {t for i in main for t in tokens(i.description) if not t.startswith(NOT)}
    explained = {w for h in lead for w in h.explained}
    asked = list(dict.fromkeys([*lead[0].explained, *lead[0].unexplained]))
    missing = [w for w in asked if w not in explained and not _said(w, titles)]
    assumed = [a for h in lead for a in h.assumed] + [
        i.note for i in main if i.note and "assumed" in i.note
    ]
    paths = "; ".join(f"{h.path} {h.printed}" for h in lead)
    unverified = [i.code for i in main if not i.billable]
    # a second condition from its own Index path: no Tabular note sets its order against the first
    unordered = [
        i.code
        for i in main
        if (i.note or "").startswith(("Alphabetic Index:", "Index to External Causes:"))
    ]
    if (
        not missing
        and not assumed
        and not unverified
        and not unordered
        and not (ranked and ranked.conflicts)
    ):
        return "high", (
            f"Every word of the question is explained by the Alphabetic Index ({paths}) and the "
            "Tabular List confirms the code(s)."
        )
    checks = []
    if missing:
        checks.append(f"not explained by the Index path: {', '.join(missing[:6])}")
    if assumed:
        checks.append(
            "assumed: " + "; ".join(dict.fromkeys(a.split(" — ")[0] for a in assumed[:3]))
        )
    if unverified:
        checks.append(f"not reportable as is: {', '.join(unverified)}")
    if unordered:
        checks.append(
            f"the order of {', '.join(unordered)} after {main[0].code} is set by no Tabular note: "
            "see the sequencing guidelines"
        )
    if ranked and ranked.conflicts:
        checks.append("an Excludes1 note applies between the codes")
    level = "medium" if len(missing) <= max(1, len(asked) // 3) and not unverified else "low"
    return level, f"Alphabetic Index: {paths}. Check — " + "; ".join(checks) + "."


@lru_cache(maxsize=1)
def _filler() -> frozenset[str]:
    vocabulary = load_vocabulary()  # parsed once here: the cache is this function's
    return (
        vocabulary.filler
        | vocabulary.connectors
        | frozenset(stem(w) for w in vocabulary.filler_exact)
    )


# The Index sends poisoning, toxic and adverse effects to the Table of Drugs ("Toxic (poisoning) - see
# Table of Drugs and Chemicals") and neoplasms to the Neoplasm Table: beside a row of that table, an Index
# path into the same part of the Tabular List codes the same event again, not another condition.
# (Tabular blocks and categories, and chapter 2 "Neoplasms")
_TABLE_DOMAINS = {"drug_table": ("T36-T50", "T51-T65", "T88"), "neoplasm_table": ("2",)}


def _table_domain(book: CodeBook, code: str, citations: list[Any]) -> bool:
    domains = {d for c in citations for d in _TABLE_DOMAINS.get(c.source_type, ())}
    if not domains:
        return False
    base = _base(book, code)
    return base[:3] in domains or any(a.code in domains for a in book.ancestors(base))


def _kept_instead(
    book: CodeBook, lead: list[IndexHit], hits: list[IndexHit], state: State
) -> list[IndexHit]:
    """A path ending at the code a guideline keeps instead of a lead code (I.C.9.e.5: "If a type 2 AMI is
    described as NSTEMI or STEMI, only assign code I21.A1"): it takes that code's place."""
    said = set(words(state.question))
    for h in hits[:12]:
        if h in lead or h.assumed or h.external or not lead:
            continue
        # its own subterm said as printed ("type 2", not the "2" of "2 days ago")
        if not set(words(_PARENS.sub(" ", h.path.split(" > ")[-1]))) <= said:
            continue
        codes = [x.code for x in lead]
        before = {c for c, _ in dropped_codes(book, codes, state.question)}
        gone = {c for c, _ in dropped_codes(book, [*codes, h.code], state.question)} - before
        if h.code in gone or not gone & set(codes):
            continue
        at = next(n for n, x in enumerate(lead) if x.code in gone)
        # it codes what the dropped path explained ("NSTEMI") as well as its own words ("type 2")
        explained = list(dict.fromkeys([*lead[at].explained, *h.explained]))
        lead = [x for n, x in enumerate(lead) if n == at or x.code not in gone]
        lead[at] = dataclasses.replace(
            h,
            explained=explained,
            unexplained=[w for w in h.unexplained if w not in explained],
            coverage=round(len(explained) / (len(h.explained) + len(h.unexplained)), 3),
        )
    return lead


def _underlying_first(book: CodeBook, lead: list[IndexHit]) -> list[IndexHit]:
    """A first code whose "Code first underlying disease" note names no code follows the condition its own Index
    path names as the cause ("Varix > esophagus > in (due to) > cirrhosis of liver" I85.10 after the cirrhosis
    K70.30): etiology followed by manifestation (I.A.13)."""
    if len(lead) < 2 or not any(
        not codes_in_note(book, n.text) for n in book.inherited_notes(lead[0].code, ("code_first",))
    ):
        return lead
    cause = next(
        (
            h
            for h in lead[1:]
            if not h.external and not h.cued and _stems_of(h) & _stems_of(lead[0])
        ),
        None,
    )
    return lead if cause is None else [cause, *(h for h in lead if h is not cause)]


def _misses_condition(book: CodeBook, cands: list[Candidate], hit: IndexHit) -> bool:
    """The best Tabular title match says none of the words the best Index path explains ("diverticulitis of
    sigmoid colon": S36.503A "Unspecified injury of sigmoid colon" against Diverticulitis K57.92): a coder
    starts from the condition the Index names, so the Index leads, with the words it left to check."""
    if not cands or hit.external or hit.cued or hit.assumed:
        return False
    return not _stems_of(hit) & set(tokens(book.title(cands[0].code)))


def _stems_of(hit: IndexHit) -> set[str]:
    """The stems of the question words an Index path explained."""
    return {t for w in hit.explained for t in tokens(w)}


def _drop_sites_of_other_conditions(
    book: CodeBook,
    question: str,
    items: list[CodeItem],
    citations: list[Any],
    hits: list[IndexHit],
) -> tuple[list[CodeItem], list[Any]]:
    """Table rows less a Neoplasm Table site that an Index path of another condition says is no site of a
    neoplasm: "malignant pleural effusion due to lung cancer" is Effusion > malignant pleural J91.0 and the lung,
    not a cancer of the pleura (C38.4). Items and citations are the table's parallel lists."""
    if len(items) < 2 or len(items) != len(citations):
        return items, citations
    other = {
        t
        for h in hits
        if not h.assumed and not _table_domain(book, h.code, citations)
        for t in _stems_of(h)
    }
    said = set(tokens(question))

    def site(c: Any) -> set[str]:  # the row's term path, as said ("Pleura, pleural (cavity) — …")
        return set(tokens((c.quote or "").split(" — ")[0])) & said

    rows = [
        (i, c)
        for i, c in zip(items, citations, strict=True)
        if c.source_type != "neoplasm_table" or not site(c) or not site(c) <= other
    ]
    if not rows or len(rows) == len(items):
        return items, citations
    return [i for i, _ in rows], [c for _, c in rows]


def _table_said(items: list[CodeItem], citations: list[Any]) -> set[str]:
    """The words a table row accounts for: its codes' titles, its term path and column."""
    said = set()
    for text in [
        *(i.description for i in items),
        *(c.section or "" for c in citations),
        *(c.quote or "" for c in citations),
    ]:
        said.update(t for t in tokens(text) if not t.startswith(NOT))
    return said


def _content_words(question: str) -> list[str]:
    return [
        w
        for w in dict.fromkeys(tokens(question))
        if not w.startswith(NOT) and w not in FREE_STEMS and w not in _filler() and not w.isdigit()
    ]


def _index_beats_table(
    question: str, lead: list[IndexHit], items: list[CodeItem], citations: list[Any]
) -> bool:
    """The Index leads when its first path assumes nothing and explains more of the question than the table
    rows, or its paths that assume nothing explain every word the rows do and more: the Index names the
    reason for the encounter ("follow-up exam after completed chemotherapy for colon cancer": Examination >
    follow-up > chemotherapy > malignant neoplasm Z08; "anemia due to chemotherapy for breast cancer": Anemia >
    due to > antineoplastic chemotherapy D64.81 beside the breast), the table only the site or the drug."""
    words = _content_words(question)
    said = {w for w in words if w in _table_said(items, citations)}

    def explained(hits: list[IndexHit]) -> set[str]:
        return {t for h in hits if not h.assumed for t in _stems_of(h)} & set(words)

    first, free = explained(lead[:1]), explained(lead)
    return len(first) > len(said) or said <= free and len(free) > len(said)


def _table_leftovers(
    question: str, items: list[CodeItem], citations: list[Any], hits: list[IndexHit]
) -> tuple[list[str], list[IndexHit]]:
    """What a table row leaves unexplained: the words of another condition the Alphabetic Index codes on
    its own ("CO poisoning …, headache": the headache needs its own code), minus those an Index path that
    assumes nothing explains (returned, one path per condition)."""
    said = _table_said(items, citations)
    words = _content_words(question)
    codes = {i.code for i in items}
    explains = {id(h): _stems_of(h) for h in hits}
    conditions = {t for h in hits if h.code not in codes for t in explains[id(h)]}
    missing = [w for w in words if w not in said and w in conditions]
    chosen: list[IndexHit] = []
    for h in hits:
        new = explains[id(h)] & set(missing)
        if (
            new
            and h.code not in codes
            and not h.assumed
            and h.code[:3] not in {c.code[:3] for c in chosen}
        ):
            chosen.append(h)
            missing = [w for w in missing if w not in new]
    return missing, chosen


def _names_procedure_system(question: str) -> bool:
    return "procedure" in named_systems(question)


__all__ = ["AnswerChain", "CodeRetriever", "Passage", "State"]
