"""The LangChain retrieval chain: prepare → retrieve (in parallel) → code-aware rank → compose.

Each step is a Runnable, so a model-backed composer can replace the last one without touching
retrieval. Retrievers are `BaseRetriever`s returning `Document`s with their scores in metadata.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel
from pydantic import ConfigDict

from codedesk.errors import CodeDeskError, IndexUnavailable
from retrieval.codebook import CodeBook
from retrieval.codesearch import Candidate, CodeSearcher, DenseSearch
from retrieval.compose import Draft, Lookup, Passage, compose
from retrieval.query import ParsedQuestion, parse_question
from retrieval.ranker import excludes1_conflicts, item_for, rank_search
from retrieval.schema import Answer
from retrieval.text import tokens

log = logging.getLogger(__name__)
RULE_ONLY = 0.6
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


# Attributes a follow-up may change ("and if it's stage 4?"): the new value replaces the old one.
_SLOTS = [re.compile(p, re.I) for p in (
    r"\bstage\s*\w+\b|\b(?:ckd|stage)\s*\d[ab]?\b", r"\b(?:right|left|bilateral|unspecified side)\b",
    r"\b(?:initial|subsequent|sequela|follow[- ]up)\b(?:\s+encounter)?", r"\btype\s*(?:1|2|i|ii|one|two)\b",
    r"\b(?:open|closed)\b", r"\b(?:displaced|nondisplaced)\b", r"\b(?:acute|chronic|acute on chronic)\b")]


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

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        dense: DenseSearch | None = self.dense
        try:
            cands = self.searcher.search(query, k=self.k, dense=dense)
        except IndexUnavailable:
            log.warning("dense index unavailable; lexical only")
            cands = self.searcher.search(query, k=self.k)
            for c in cands:
                c.dense = -1.0  # marks the fallback for the composer
        return [Document(page_content=self.searcher.book.nodes[c.code].title,
                         metadata={"code": c.code, "score": c.score, "cover": c.cover, "prec": c.prec,
                                   "lex": c.lex, "dense": c.dense, "exact": c.exact}) for c in cands]


def _candidates(docs: list[Document]) -> list[Candidate]:
    return [Candidate(d.metadata["code"], d.metadata["score"], d.metadata["cover"], d.metadata["prec"],
                      d.metadata["lex"], d.metadata["dense"], d.metadata["exact"]) for d in docs]


class AnswerChain:
    """Builds the Runnable for a set of code books and optional extra retrievers."""

    def __init__(self, books: dict[str, CodeBook], searchers: dict[str, CodeSearcher], default_year: str,
                 dense_for: Any = None, passages: Any = None, extra_codes: Any = None, changes: Any = None,
                 max_chars: int = 2000, top_k: int = 5, composer: Any = None, rule_intent: Any = None) -> None:
        self.books, self.searchers, self.default_year = books, searchers, default_year
        self.retrievers = {fy: CodeRetriever(searcher=s, dense=dense_for(fy) if dense_for else None)
                           for fy, s in searchers.items()}
        self.passages = passages  # (State) -> list[Passage]
        self.extra_codes = extra_codes  # (State) -> (list[CodeItem], list[Citation]): tables, PCS, HCPCS
        self.changes = changes  # (State) -> ChangeAnswer | None: code changes and validity by date
        self.rule_intent = rule_intent  # (question) -> float
        self.max_chars, self.top_k = max_chars, top_k
        self.composer = composer  # (Draft, Answer) -> Answer: rewords the deterministic answer (retrieval.llm)

    # ---- steps ---------------------------------------------------------------------------------
    def prepare(self, inp: dict[str, Any]) -> State:
        raw = (inp.get("question") or "").strip()
        if not raw:
            raise CodeDeskError("Ask a coding question, e.g. “code for type 2 diabetes with CKD stage 3?” "
                                "or “is E11.2 billable?”")
        warnings = []
        if len(raw) > self.max_chars:
            warnings.append(f"Your question was {len(raw):,} characters; only the first {self.max_chars:,} were read.")
            raw = raw[: self.max_chars]
        parsed = parse_question(raw)
        history = [h for h in (inp.get("history") or []) if h and h.strip()]
        search_text = raw
        if history and (_FOLLOW_UP.match(raw) or len(tokens(raw)) <= 4):
            search_text = f"{merge_follow_up(history[-1][: self.max_chars], raw)} {raw}"
            if not parsed.mentions:
                parsed.mentions = parse_question(history[-1]).mentions if len(tokens(raw)) <= 2 else []
        fy = inp.get("fiscal_year") or parsed.fiscal_year or self.default_year
        state = State(raw, search_text, raw, parsed, fy, self.books.get(fy), warnings,
                      rule_intent=self.rule_intent(raw) if self.rule_intent else 0.0)
        if state.book is None:
            have = ", ".join(f"FY{y}" for y in sorted(self.books, reverse=True))
            state.refusal = (f"I have no ICD-10-CM code set for FY{fy} loaded, so I cannot confirm which codes are "
                             f"valid then. Loaded: {have}. Ask again naming one of those years, or ingest the "
                             f"FY{fy} Tabular List (CODEDESK_CMS_DATA_DIR).")
        return state

    def retrieve(self, state: State) -> dict[str, Any]:
        change = self.changes(state) if self.changes else None
        if change is not None:  # "what changed…", "valid for DOS…": answered from the versions alone
            return {"state": state, "change": change}
        if state.refusal:
            return {"state": state, "codes": [], "passages": [], "extra": ([], [])}
        # A pure rule question ("can I code a symptom with a confirmed diagnosis?") gets no code list.
        wants_search = not state.parsed.is_code_lookup and not (state.rule_intent >= RULE_ONLY
                                                                 and not state.parsed.mentions)
        steps: dict[str, Runnable] = {
            "codes": RunnableLambda(lambda s: s.search_text) | self.retrievers[state.fiscal_year]
            if wants_search else RunnableLambda(lambda s: []),
            "passages": RunnableLambda(self.passages) if self.passages else RunnableLambda(lambda s: []),
            "extra": RunnableLambda(self.extra_codes) if self.extra_codes else RunnableLambda(lambda s: ([], [])),
        }
        out = RunnableParallel(steps).invoke(state)
        out["state"] = state
        return out

    def rank(self, found: dict[str, Any]) -> Draft:
        state: State = found["state"]
        draft = Draft(state.question, state.fiscal_year, state.book, warnings=list(state.warnings),
                      refusal=state.refusal)
        change = found.get("change")
        if change is not None:
            draft.refusal = None
            draft.change = change
            draft.fiscal_year = change.fiscal_year or state.fiscal_year
            draft.confidence = change.confidence if change.confidence in ("high", "medium", "low") else "medium"
            return draft
        if state.refusal:
            return draft
        book = state.book
        passages = list(found.get("passages") or [])
        extra, draft.extra_citations = found.get("extra") or ([], [])
        # Table codes are ICD-10-CM codes: shown like a named code, with the notes that apply to it.
        for n, item in enumerate(i for i in extra if i.system == "ICD-10-CM"):
            info = book.lookup(item.code)
            if info.exists:
                draft.lookups.append(Lookup(item.code, info, [item], book.inherited_notes(item.code) if n == 0 else []))
        draft.extra_items = [i for i in extra if i.system != "ICD-10-CM"]
        for m in state.parsed.mentions[:5]:
            draft.lookups.append(self._lookup(book, m.first, m.last, state))
        draft.lookups = [lk for lk in draft.lookups if lk is not None]
        reportable = [lk.info.code for lk in draft.lookups if lk.info.reportable]
        draft.reasons.extend(f"⚠️ {c}" for c in excludes1_conflicts(book, reportable))
        cands = _candidates(found.get("codes") or [])
        if cands:
            draft.ranked = rank_search(book, self.searchers[state.fiscal_year], state.search_text, state.focus,
                                       cands, self.top_k)
            if extra:  # a table or procedure code answers the question; Tabular List matches are alternatives
                keep = draft.ranked.main + draft.ranked.alternatives if not draft.extra_items else []
                draft.ranked.main, draft.ranked.alternatives = [], keep  # a procedure question: no diagnoses
                draft.ranked.notes, draft.ranked.conflicts = {}, []
            if cands[0].dense < 0:
                draft.warnings.append("The vector index is unavailable; this answer used the code book's words "
                                      "only. Run `codedesk ingest` or check the Chroma server.")
        draft.confidence, why = _confidence(draft, cands)
        if extra:  # a table row or procedure code matched: certain unless something had to be assumed
            draft.confidence, why = ("medium" if "assum" in (extra[0].note or "").lower() else "high"), ""
        if why:
            draft.reasons.append(why)
        draft.passages = _shown_passages(passages, state.rule_intent, draft.confidence, bool(draft.lookups))
        draft.rule_first = bool(draft.passages) and state.rule_intent >= 0.3
        if draft.passages and not cands and not draft.lookups:
            draft.confidence = "high" if draft.passages[0].score >= 0.6 else "medium"
        return draft

    def _lookup(self, book: CodeBook, first: str, last: str | None, state: State) -> Lookup | None:
        """What the book says of a code, range or family the question names (E11.2- reads as E11.2)."""
        info = book.lookup(first)
        if last:
            codes = [c for head in book.codes_in_range(first, last) for c in book.reportable_under(head)]
            rng = book.lookup(first)
            rng.code, rng.title = f"{first}-{last}", f"range {first}–{last}"
            rng.reason, rng.exists, rng.reportable = "a range of codes, not one code", True, False
            return Lookup(f"{first}-{last}", rng, [item_for(book, c) for c in codes[:40]])
        if not info.exists and "." not in first and len(first) == 3 and not state.parsed.is_code_lookup:
            return None  # "B12 deficiency": a word that looks like a code, in a sentence
        if info.exists and info.reportable:
            return Lookup(first, info, [item_for(book, info.code)], book.inherited_notes(info.code))
        if info.exists and info.needs_seventh:
            defs, source = book.seventh_defs(info.code)
            items = [item_for(book, book.with_seventh(info.code, ch), f"7th character {ch}: {t} ({source})")
                     for ch, t in defs.items()]
            return Lookup(first, info, items, book.inherited_notes(info.code))
        if info.exists and book.is_diag(info.code):
            items = [item_for(book, c) for c in book.reportable_under(info.code)]
            for it in items:
                if it.code not in book.nodes:
                    it.note = "7th character A shown; choose the one for the encounter"
            return Lookup(first, info, items, book.inherited_notes(info.code))
        if info.exists:  # a chapter or block
            return Lookup(first, info, [])
        return Lookup(first, info, [item_for(book, c, "nearest valid code") for c in book.nearest(first)])

    def finish(self, draft: Draft) -> Answer:
        """The deterministic answer, handed to the optional composer (which falls back to it)."""
        answer = compose(draft)
        return self.composer(draft, answer) if self.composer is not None else answer

    def runnable(self) -> Runnable:
        return (RunnableLambda(self.prepare) | RunnableLambda(self.retrieve) | RunnableLambda(self.rank)
                | RunnableLambda(self.finish)).with_config(run_name="codedesk_answer")


def _shown_passages(passages: list[Passage], rule_intent: float, code_confidence: str,
                    named_codes: bool) -> list[Passage]:
    """Guideline passages go with the answer when the question asks about a rule, when one matches
    very well, or when the codes found are uncertain and a passage matches fairly well."""
    if not passages:
        return []
    top = passages[0].score
    if rule_intent >= 0.3 or top >= 0.7 or (code_confidence != "high" and not named_codes and top >= 0.45
                                            and rule_intent >= 0.1):
        return passages
    return []


def _confidence(draft: Draft, cands: list[Candidate]) -> tuple[str, str]:
    """high / medium / low from the evidence, with the reason in a coder's words."""
    if draft.lookups and not cands:
        return "high", ""
    if not cands:
        return ("medium", "") if draft.passages or draft.extra_items else ("low", "")
    top = cands[0]
    margin = top.score - (cands[1].score if len(cands) > 1 else 0.0)
    ranked = draft.ranked
    missing = ", ".join(ranked.missing_words[:6]) if ranked else ""
    if top.exact:
        return "high", "The question is the official title (or an inclusion term) of the code."
    if top.cover >= 0.85 and top.prec >= 0.75 and margin >= 0.04:
        return "high", "Every word of the question is in the code's title, notes or hierarchy."
    if top.cover >= 0.6:
        return "medium", (f"Most words matched the Tabular List; not matched: {missing}." if missing
                          else "Several codes match about as well; pick by the documentation.")
    return "low", (f"The words matched only partly (not matched: {missing})." if missing else
                   "The words matched only partly.")


__all__ = ["AnswerChain", "CodeRetriever", "Passage", "State"]
