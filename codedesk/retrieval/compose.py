"""The deterministic composer: a senior coder's reply from established facts, no language model.

Pure: takes a `Draft` (what retrieval and the code book established) and returns the `Answer`
(`schema.py`). Codes and titles first, then why, the notes that apply, and the sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codedesk.cms.codebook import CodeBook, CodeInfo, Note
from codedesk.retrieval.ranker import Ranked
from codedesk.retrieval.schema import Answer, Citation, CodeItem, Confidence, dedupe_citations

NOTE_ORDER = (
    "code_first",
    "use_additional_code",
    "code_also",
    "excludes1",
    "excludes2",
    "includes",
    "seventh_character",
    "note",
)
MAX_NOTES = 10


@dataclass(slots=True)
class Lookup:
    """A code the question named, as the book knows it."""

    asked: str
    info: CodeInfo
    items: list[CodeItem] = field(default_factory=list)  # reportable codes to offer
    notes: list[Note] = field(default_factory=list)


@dataclass(slots=True)
class Passage:
    """A cited text from another source (guidelines, index, tables, team guidelines)."""

    citation: Citation
    text: str
    score: float = 0.0  # how well it matches the question (0..1)


@dataclass(slots=True)
class Draft:
    question: str
    fiscal_year: str
    book: CodeBook | None
    lookups: list[Lookup] = field(default_factory=list)
    ranked: Ranked | None = None
    passages: list[Passage] = field(default_factory=list)
    extra_items: list[CodeItem] = field(
        default_factory=list
    )  # codes from other sources (tables, PCS, HCPCS)
    extra_citations: list[Citation] = field(default_factory=list)  # where those codes come from
    confidence: Confidence = "low"
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None  # set when no codes may be offered (unknown fiscal year, …)
    change: Any = (
        None  # retrieval.changes.ChangeAnswer: a code-change or validity answer, complete as is
    )
    rule_first: bool = (
        False  # a question about a coding rule: the guideline passages lead the answer
    )
    road: str = (
        ""  # how the codes were found: index | tabular | table | procedure ("" when not said)
    )
    index_hits: list[Any] = field(
        default_factory=list
    )  # retrieval.alpha_index.IndexHit: the Index paths taken
    moves: list[Any] = field(
        default_factory=list
    )  # retrieval.sequencing.Move: reorderings the guidelines made
    order_check: Any = (
        None  # retrieval.sequencing.OrderCheck: a pasted list checked against the rules
    )


def _tabular_title(fy: str) -> str:
    return f"ICD-10-CM Tabular List FY{fy}"


def _code_line(item: CodeItem, fy: str) -> str:
    if item.system != "ICD-10-CM":  # PCS and HCPCS carry their own release year in the citation
        where = f"{'valid' if item.billable else 'not valid'} {item.system} code"
    else:
        status = (
            "reportable"
            if item.billable
            else "needs a 7th character"
            if item.needs_seventh
            else "header, not reportable"
        )
        where = f"{status}, {item.system} FY{fy}"
    line = f"**{item.code}** — {item.description} ({where})"
    return line + (f"\n    _{item.note}_" if item.note else "")


def _code_list(items: list[CodeItem], fy: str) -> str:
    return (
        _code_line(items[0], fy)
        if len(items) == 1
        else "\n".join(f"- {_code_line(i, fy)}" for i in items)
    )


def _note_lines(code: str, notes: list[Note]) -> list[str]:
    ordered = sorted(notes, key=lambda n: NOTE_ORDER.index(n.kind) if n.kind in NOTE_ORDER else 99)
    groups: dict[tuple[str, str], list[str]] = {}
    for note in ordered:
        if (
            note.kind == "note" and note.source.isdigit()
        ):  # chapter-wide narrative: cited, not repeated
            continue
        groups.setdefault((note.label, note.source), []).append(note.text.lstrip(", "))
    lines = []
    for (label, source), texts in groups.items():
        # "code to identify control using:" introduces the items after it
        joined = "".join(t + (" " if t.endswith(":") else "; ") for t in texts).strip().rstrip(";")
        lines.append(f"- {label} ({source}): {joined}")
    if len(lines) > MAX_NOTES:
        lines = [
            *lines[:MAX_NOTES],
            f"- … {len(lines) - MAX_NOTES} more notes at {code} and above in the Tabular List",
        ]
    return lines


def _note_citations(fy: str, notes: list[Note], limit: int = 8) -> list[Citation]:
    out = []
    for note in sorted(
        notes, key=lambda n: NOTE_ORDER.index(n.kind) if n.kind in NOTE_ORDER else 99
    ):
        if note.kind in ("note", "includes") and len(out) >= 3:
            continue
        out.append(
            Citation(
                source_type="tabular",
                title=_tabular_title(fy),
                section=note.kind,
                code=note.source,
                fiscal_year=fy,
                quote=note.text.lstrip(", ")[:300],
            )
        )
        if len(out) >= limit:
            break
    return out


def compose(draft: Draft) -> Answer:
    fy = draft.fiscal_year
    parts: list[str] = []
    codes: list[CodeItem] = []
    cites: list[Citation] = []
    if draft.refusal:
        return Answer(
            question=draft.question,
            answer=draft.refusal,
            confidence="low",
            fiscal_year=fy,
            warnings=draft.warnings,
        )
    if draft.change is not None:
        ch = draft.change
        return Answer(
            question=draft.question,
            answer=ch.text,
            codes=list(ch.items),
            citations=dedupe_citations(ch.citations),
            confidence=draft.confidence,
            fiscal_year=fy,
            warnings=draft.warnings,
        )

    if draft.order_check is not None:
        parts.append(draft.order_check.text)
        cites.extend(draft.order_check.citations())
    for lk in draft.lookups:
        info = lk.info
        if info.exists and info.reportable:
            parts.append(
                _code_line(
                    lk.items[0]
                    if lk.items
                    else CodeItem(code=info.code, description=info.title, billable=True),
                    fy,
                )
            )
        elif info.exists:
            parts.append(f"**{info.code}** — {info.title}: {info.reason}.")
            if lk.items:
                parts.append(
                    "Reportable codes under it:\n"
                    + "\n".join(f"- {_code_line(i, fy)}" for i in lk.items[:12])
                    + (f"\n- … {len(lk.items) - 12} more" if len(lk.items) > 12 else "")
                )
        else:
            parts.append(f"**{info.code}** is not a valid code: {info.reason}.")
            if lk.items:
                parts.append(
                    "Nearest valid codes:\n" + "\n".join(f"- {_code_line(i, fy)}" for i in lk.items)
                )
        # a code that does not exist answers only with its own category's codes (E11.99 -> E11.9); neighbours
        # in other categories (E99.99 -> E89.0) are listed, never answered
        codes.extend(i for i in lk.items if info.exists or i.code[:3] == info.code[:3].upper())
        if info.exists:
            base = info.base or info.code
            cites.append(
                Citation(
                    source_type="tabular",
                    title=_tabular_title(fy),
                    section="code",
                    code=base,
                    fiscal_year=fy,
                    quote=info.title,
                )
            )
            if lk.notes:
                parts.append(
                    f"Notes that apply to {info.code}:\n"
                    + "\n".join(_note_lines(info.code, lk.notes))
                )
                cites.extend(_note_citations(fy, lk.notes))

    ranked = draft.ranked
    if ranked and ranked.items:
        codes.extend(ranked.items)
    if ranked and ranked.main:
        parts.append(_code_list(ranked.main, fy))
        for item in ranked.main:
            base = draft.book.lookup(item.code).base or item.code if draft.book else item.code
            cites.append(
                Citation(
                    source_type="tabular",
                    title=_tabular_title(fy),
                    section="code",
                    code=base,
                    fiscal_year=fy,
                    quote=item.description,
                )
            )
        if ranked.conflicts:
            parts.append("⚠️ " + "\n⚠️ ".join(ranked.conflicts))
        first = ranked.main[0]
        if ranked.notes.get(first.code):
            parts.append(
                f"Notes that apply to {first.code}:\n"
                + "\n".join(_note_lines(first.code, ranked.notes[first.code]))
            )
            cites.extend(_note_citations(fy, ranked.notes[first.code]))
    if ranked and ranked.alternatives:
        parts.append(
            "Also consider: "
            + "; ".join(f"{i.code} {i.description}" for i in ranked.alternatives[:4])
        )

    if draft.moves:
        parts.append(
            "Order (Official Guidelines):\n" + "\n".join(f"- {m.text()}" for m in draft.moves)
        )
        cites.extend(m.rule.citation(m.code) for m in draft.moves)
    if draft.road == "index" and draft.index_hits:
        book_year = draft.index_hits[0].index_year
        paths = "\n".join(
            f"- {h.path} **{h.printed}**" + (f" → {h.code}" if h.code != h.printed else "")
            for h in draft.index_hits
        )
        parts.append(
            f"Found through the Alphabetic Index (FY{book_year}), verified in the Tabular List FY{fy}:\n"
            + paths
        )
        cites = [h.citation() for h in draft.index_hits] + cites
    elif draft.road == "tabular" and ranked and ranked.main:
        parts.append(
            "No Alphabetic Index path explained the question: these codes come from searching the "
            f"Tabular List FY{fy} titles. Check them in the Index."
        )

    if draft.extra_items:  # PCS and HCPCS codes answer a procedure question: they lead
        parts.insert(0, _code_list(draft.extra_items, fy))
        codes = draft.extra_items + codes
    cites = draft.extra_citations + cites

    quoted = []
    for passage in draft.passages:
        c = passage.citation
        where = " ".join(
            x
            for x in (
                c.section and f"§{c.section}" if c.source_type == "guideline" else c.section,
                c.page and f"p. {c.page}",
            )
            if x
        )
        quoted.append(f"> {passage.text}\n— {c.title}{', ' + where if where else ''}")
        cites.append(c)
    parts = quoted + parts if draft.rule_first else parts + quoted

    if draft.reasons:
        parts.append("Why: " + " ".join(draft.reasons))
    if not cites:
        draft.warnings.append(
            "Nothing could be cited for this answer: verify in the Alphabetic Index and Tabular List."
        )
    if draft.confidence == "low" and (codes or draft.passages):
        parts.append(
            "Confidence is low: check the Alphabetic Index entry and the Tabular List instructions "
            "before you report these codes."
        )
    if not parts:
        parts.append(
            "I could not find codes or guidance for that question. Try the condition's main term "
            "(e.g. “Fracture, femur, neck”) or name a code (e.g. E11.22)."
        )
    srcs = sorted(
        {
            f"{c.title}" + (f" — {c.code}" if c.code else "")
            for c in cites
            if c.source_type == "tabular"
        }
    )
    if srcs:
        parts.append("Sources: " + "; ".join(srcs[:6]) + (" …" if len(srcs) > 6 else ""))
    # one entry per code, first occurrence wins (ranked order)
    unique: dict[str, CodeItem] = {}
    for item in codes:
        unique.setdefault(item.code, item)
    return Answer(
        question=draft.question,
        answer="\n\n".join(parts),
        codes=list(unique.values()),
        citations=dedupe_citations(cites),
        confidence=draft.confidence,
        fiscal_year=fy,
        warnings=draft.warnings,
        code_check=getattr(draft.order_check, "report", None),
    )  # a code check's typed report
