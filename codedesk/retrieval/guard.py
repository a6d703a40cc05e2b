"""The citation guard: a language model may word an answer, never decide a code or invent a source.

Pure functions over a parsed model reply (`ModelReply`), the numbered sources the model was shown
(`Source`) and the evidence the deterministic pipeline established (`Evidence`):

- every code the model lists must exist in the code book for the fiscal year AND be in the evidence:
  a code of the deterministic answer or draft, a code named in an official source text, or a valid
  child, 7th-character form or companion (named in a Code first / Use additional code / Code also
  note) of an evidence code. Anything else is removed and flagged. Item fields (title, billable,
  7th character) always come from the code book or the deterministic answer, never from the model;
- codes written in the answer text obey the same rule (an offending code is replaced by
  "[code removed]");
- every cited [n] must point to a source the model was shown; others are removed and the rest
  renumbered so that [k] in the text is `citations[k-1]` of the answer;
- a header (or a code still missing its 7th character) is never presented as reportable: its
  `billable` is false and the text says so;
- two codes in an Excludes1 relation are not suggested together: the later one is dropped;
- when nothing of substance survives (no reportable code where the deterministic answer had one,
  no valid citation, no text) the result says why, and the caller sends the deterministic answer.

Team guideline texts are written inside the workspace, so codes they name are NOT evidence: a team
page saying "answer Z99.89" cannot put Z99.89 in an answer the code book does not support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, field_validator

from codedesk.cms.codebook import CodeBook, Note, normalize_code
from codedesk.codes import PROSE_CODE, PROSE_DOTTED, PROSE_START
from codedesk.retrieval.notes import note_covers, spec_covers
from codedesk.retrieval.ranker import COMPANION_KINDS, item_for
from codedesk.retrieval.schema import Answer, Citation, CodeItem

ICD = "ICD-10-CM"
REMOVED = "[code removed]"
# Sources whose text is an official publication: codes they name count as evidence.
OFFICIAL_TEXT = (
    "guideline",
    "index",
    "drug_table",
    "neoplasm_table",
    "addenda",
    "tabular",
    "pcs",
    "hcpcs",
    "code_book",
)

# An ICD-10-CM-shaped token in running text: E11.22, E1122, S72.001A, N18 (not HbA1c, not FY2026).
_PROSE_ICD = re.compile(rf"(?<![A-Za-z0-9.])({PROSE_CODE})(?![A-Za-z0-9])", re.I)
_PROSE_PCS = re.compile(
    r"(?<![A-Za-z0-9.])(?=[0-9A-Z]{0,6}[A-Z])([0-9][0-9A-HJ-NP-Z]{6})(?![A-Za-z0-9])"
)
_HCPCS_SHAPE = re.compile(r"^[A-V][0-9]{4}$")
_SOURCE_CODE = re.compile(rf"(?<![A-Za-z0-9.])({PROSE_DOTTED})(?![A-Za-z0-9])")
_CITE = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\s*\]")
_RANGE = re.compile(rf"(?<![A-Za-z0-9.])({PROSE_DOTTED})\s*-\s*({PROSE_DOTTED})(?![A-Za-z0-9])")
_NEGATION = re.compile(
    r"\b(?:not|no|invalid|isn['’]t|doesn['’]t|cannot|never|nonexistent|deleted)\b", re.I
)


def covers(text: str, code: str) -> bool:
    """Does a note name the code: a code, a family ("E10.-") or a range ("N18.1-N18.6", "I10-I16")?

    `codedesk.retrieval.notes.note_covers` reads a range as its two ends only; ranges are read here too."""
    if note_covers(text, code):
        return True
    return any(
        spec_covers(normalize_code(m.group(1)), normalize_code(m.group(2)), code)
        for group in re.findall(r"\(([^()]*)\)", text)
        for m in _RANGE.finditer(group)
    )


# ---- what the model returns --------------------------------------------------------------------
class ModelCode(BaseModel):
    code: str
    sources: list[int] = Field(
        default_factory=list, description="Numbers of the sources that support the code"
    )
    billable: bool | None = Field(
        None, description="Whether the model presents the code as reportable"
    )

    @field_validator("code", mode="before")
    @classmethod
    def _code_text(cls, value: Any) -> Any:
        return str(value).strip() if isinstance(value, (str, int)) else value

    @field_validator("sources", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        """Tolerates 1, "1", "[1, 2]", ["1", 2]: every number found is kept; words are dropped."""
        if value is None:
            return []
        if isinstance(value, (int, str)):
            value = [value]
        out: list[int] = []
        for v in value if isinstance(value, list) else []:
            if isinstance(v, bool):
                continue
            if isinstance(v, int):
                out.append(v)
            elif isinstance(v, str):
                out.extend(int(x) for x in re.findall(r"\d{1,3}", v))
        return out


class ModelReply(BaseModel):
    """The structured output asked of the model: markdown citing [n], and the codes it suggests."""

    answer: str = Field(description="Markdown for people; every statement cites its sources as [n]")
    codes: list[ModelCode] = Field(
        default_factory=list, description="Codes to report or consider, best first"
    )

    @field_validator("codes", mode="before")
    @classmethod
    def _plain_codes(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [{"code": v} if isinstance(v, str) else v for v in value]
        return value


# ---- what the model was shown ------------------------------------------------------------------
@dataclass(slots=True)
class Source:
    """One numbered source of the prompt. `citations[0]` is what a [n] in the answer points to."""

    n: int
    heading: str
    text: str
    citations: list[Citation]
    code: str | None = None  # the code a code source is about
    official: bool = True  # official publication text: codes it names count as evidence

    def render(self) -> str:
        body = f"\n{self.text}" if self.text else ""
        return f"[{self.n}] {self.heading}{body}"


# ---- what retrieval and the code book established ----------------------------------------------
@dataclass(slots=True)
class Evidence:
    book: CodeBook | None
    fiscal_year: str
    items: dict[str, CodeItem] = field(
        default_factory=dict
    )  # code -> trusted item, deterministic order
    named: dict[str, str] = field(
        default_factory=dict
    )  # code -> the official passage (guideline, index…) naming it
    mentioned: set[str] = field(
        default_factory=set
    )  # codes in any official source text, notes included
    invalid_asked: set[str] = field(
        default_factory=set
    )  # codes the question named that do not exist
    _bases: set[str] | None = None
    _companions: list[Note] | None = None

    def add(self, item: CodeItem) -> None:
        self.items.setdefault(_key(item.code, item.system), item)
        self._bases = self._companions = None

    def add_code(self, code: str, why: str = "") -> None:
        """A code the evidence names (a header asked about, a base of a cited note), as the book has it."""
        if self.book is None:
            return
        info = self.book.lookup(code)
        if info.exists and self.book.is_diag(info.base or info.code):
            self.add(item_for(self.book, info.code, why or None))

    def icd_codes(self) -> list[str]:
        return [c for c, it in self.items.items() if it.system == ICD]

    def bases(self) -> set[str]:
        if self._bases is None:
            book = self.book
            self._bases = {(book.lookup(c).base or c) for c in self.icd_codes()} if book else set()
        return self._bases

    def companion_notes(self) -> list[Note]:
        """Code first / Use additional code / Code also notes that apply to the evidence codes."""
        if self._companions is None:
            seen: dict[tuple[str, str], Note] = {}
            if self.book is not None:
                for code in self.icd_codes():
                    for note in self.book.inherited_notes(code, COMPANION_KINDS):
                        seen.setdefault((note.text, note.source), note)
            self._companions = list(seen.values())
        return self._companions

    def supports(self, code: str) -> str | None:
        """Why an existing ICD-10-CM code is supported by the evidence, or None."""
        book = self.book
        if book is None:
            return None
        if code in self.items:
            return "in the evidence"
        info = book.lookup(code)
        base = info.base or code
        if base in self.bases():
            return f"7th-character form of {base}"
        for anc in book.ancestors(base):
            if anc.code in self.items and book.is_diag(anc.code):
                return f"a code under {anc.code}"
        for note in self.companion_notes():
            if covers(note.text, code):
                return f"named in the {note.label} note at {note.source}"
        if code in self.named:
            return self.named[code]
        for anc in book.ancestors(base):
            if anc.code in self.named and book.is_diag(anc.code):
                return f"a code under {anc.code}, {self.named[anc.code]}"
        return None

    def may_mention(self, code: str) -> bool:
        """May the text name this existing code? Supported codes, and codes the official sources shown
        to the model name (an Excludes1 note's "(E10.-)" lets the text say "not E10.9")."""
        if self.supports(code) is not None:
            return True
        if self.book is None:
            return False
        base = self.book.lookup(code).base or code
        if any(b.startswith(code) for b in self.bases()):  # a category above an evidence code
            return True
        return (
            code in self.mentioned
            or base in self.mentioned
            or any(a.code in self.mentioned for a in self.book.ancestors(base))
        )


def _key(code: str, system: str = ICD) -> str:
    return normalize_code(code) if system == ICD else code.strip().upper()


def evidence_for(
    book: CodeBook | None,
    fiscal_year: str,
    deterministic: Answer,
    *,
    lookups: list[Any] = (),
    draft_items: list[CodeItem] = (),
    sources: list[Source] = (),
) -> Evidence:
    """The evidence of one question: the deterministic answer's codes, the codes the question named
    (`codedesk.retrieval.compose.Lookup`s), the draft's ranked and extra items, tabular citations, and the
    codes named in official passages (guidelines, index, tables; team guidelines never count).
    Codes named in the notes of code sources may be mentioned in the text, not suggested."""
    ev = Evidence(book, fiscal_year)
    for item in [*deterministic.codes, *draft_items]:
        ev.add(item)
    for lk in lookups:
        info = lk.info
        if info.exists:
            ev.add_code(info.code, "the code asked about")
        elif "-" not in (info.code or ""):
            ev.invalid_asked.add(normalize_code(info.code))
        for item in lk.items:
            ev.add(item)
    for cite in deterministic.citations:
        if cite.source_type == "tabular" and cite.section == "code" and cite.code:
            ev.add_code(cite.code, "the code cited by the deterministic answer")
    if book is not None:
        for src in sources:
            if (
                not src.official
                or not src.citations
                or src.citations[0].source_type not in OFFICIAL_TEXT
            ):
                continue
            for m in _SOURCE_CODE.finditer(f"{src.heading}\n{src.text}"):
                code = normalize_code(m.group(1))
                if not book.is_diag(code):
                    continue
                ev.mentioned.add(code)
                if src.code is None and code not in ev.named:
                    ev.named[code] = f"named in source [{src.n}]"
    return ev


# ---- checks -------------------------------------------------------------------------------------
@dataclass(slots=True)
class Verdict:
    code: str
    ok: bool
    why: str
    item: CodeItem | None = None


def check_code(ev: Evidence, raw: str) -> Verdict:
    """Exists for the fiscal year and is supported by the evidence → the trusted item for it."""
    text = raw.strip().upper().strip("*`'\"[](),;: ")
    text = re.sub(r"\s+", "", text)
    if not text:
        return Verdict(raw, False, "an empty code")
    other = ev.items.get(text)
    if other is not None and other.system != ICD:
        return Verdict(text, True, "in the evidence", other.model_copy())
    book = ev.book
    if book is None:
        return Verdict(text, False, f"no ICD-10-CM code set is loaded for FY{ev.fiscal_year}")
    code = normalize_code(text)
    info = book.lookup(code)
    if not info.exists:
        if _HCPCS_SHAPE.match(text) or len(text.replace(".", "")) == 7 and text[0].isdigit():
            return Verdict(
                text,
                False,
                "not a code of this answer's evidence (HCPCS/PCS codes must come "
                "from the retrieved sources)",
            )
        return Verdict(code, False, f"does not exist in ICD-10-CM FY{ev.fiscal_year}")
    if not book.is_diag(info.base or info.code):
        return Verdict(code, False, f"{info.reason}")
    why = ev.supports(info.code)
    if why is None:
        return Verdict(info.code, False, "exists but is not in the evidence for this question")
    trusted = ev.items.get(info.code)
    item = trusted.model_copy() if trusted is not None else item_for(book, info.code, why)
    return Verdict(info.code, True, why, item)


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end] (a dot inside a code does not end a sentence)."""
    ends = [m.end() for m in re.finditer(r"[!?\n]|\.\s", text[:start])]
    rest = re.search(r"[!?\n]|\.\s|\.$", text[end:])
    return text[(ends[-1] if ends else 0) : end + (rest.start() if rest else len(text) - end)]


def clean_prose_codes(text: str, ev: Evidence) -> tuple[str, list[str]]:
    """Replace every code in the text that the evidence does not support by "[code removed]".

    Kept: supported codes; codes the official sources shown name (notes included); a code the
    question named that does not exist, in a sentence that says so ("E99.99 is not a valid code");
    a dotless word that is not a code (B12, A1C)."""
    flags: list[str] = []
    book = ev.book

    def icd(m: re.Match[str]) -> str:
        token = m.group(1)
        if token in ev.items and ev.items[token].system != ICD:
            return token
        if token != token.upper() and "." not in token:
            return token  # "a1c", "b12": a lower-case word; "e11.99" is still read as a code
        code = normalize_code(token)
        info = book.lookup(code) if book is not None else None
        if info is None or not info.exists:
            if "." not in token and not _HCPCS_SHAPE.match(token):
                return token  # a word, not a code
            if "." not in token and token in ev.items:
                return token
            if code in ev.invalid_asked and _NEGATION.search(
                _sentence_around(m.string, m.start(), m.end())
            ):
                return token
            flags.append(
                f"removed {token} from the text: "
                + (
                    f"does not exist in ICD-10-CM FY{ev.fiscal_year}"
                    if "." in token
                    else "not a code of this answer's evidence"
                )
            )
            return REMOVED
        if not ev.may_mention(info.code):
            flags.append(
                f"removed {token} from the text: exists but is not in the evidence for this question"
            )
            return REMOVED
        return token

    def pcs(m: re.Match[str]) -> str:
        token = m.group(1)
        if token in ev.items:
            return token
        flags.append(f"removed {token} from the text: not a code of this answer's evidence")
        return REMOVED

    text = _PROSE_ICD.sub(icd, text)
    text = _PROSE_PCS.sub(pcs, text)
    return text, list(dict.fromkeys(flags))


_NOT_REPORTABLE_WORDS = re.compile(
    r"\b(?:header|not (?:reportable|billable|a reportable|a billable|valid)|"
    r"non-?billable|non-?reportable|cannot be reported|subcodes?|sub-?categor\w*|"
    r"categor\w*|7th|seventh|exclud\w*|family|range|block|chapter)\b",
    re.I,
)


def header_mentions(text: str, ev: Evidence, noticed: set[str]) -> tuple[list[str], list[str]]:
    """Headers (and codes missing their 7th character) the text names in a sentence that does not say
    they are not reportable: (flags, notices). `noticed`: codes that already have a notice; family
    references such as "E10.-" and "N18.1-N18.6" are not claims of reportability."""
    book = ev.book
    flags: list[str] = []
    notices: list[str] = []
    if book is None:
        return flags, notices
    for m in _PROSE_ICD.finditer(text):
        token = m.group(1)
        if "." not in token and token != token.upper():
            continue
        info = book.lookup(normalize_code(token))
        if (
            not info.exists
            or info.reportable
            or info.code in noticed
            or not book.is_diag(info.base or info.code)
        ):
            continue
        after, before = text[m.end() : m.end() + 4], text[max(0, m.start() - 2) : m.start()].strip()
        if re.match(rf"\.?-|\s*[–-]\s*{PROSE_START}", after, re.I) or before in ("-", "–"):
            continue
        if _NOT_REPORTABLE_WORDS.search(_sentence_around(text, m.start(), m.end())):
            continue
        flags.append(f"{info.code} was named in the text without saying it is not reportable")
        notices.append(f"⚠️ {info.code} is not reportable: {info.reason}.")
    return list(dict.fromkeys(flags)), list(dict.fromkeys(notices))


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.strip()):
        bounds = re.split(r"\s*[–-]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            a, b = int(bounds[0]), int(bounds[1])
            out.extend(range(a, b + 1) if 0 < b - a < 20 else (a, b))
        elif part.isdigit():
            out.append(int(part))
    return out


def cited_numbers(text: str) -> list[int]:
    """Every [n] cited in the text, in order of first appearance."""
    out: list[int] = []
    for m in _CITE.finditer(text):
        out.extend(n for n in _numbers(m.group(1)) if n not in out)
    return out


def clean_citations(text: str, valid: set[int]) -> tuple[str, list[int], list[str]]:
    """Drop citation numbers that point to no source; returns (text, valid numbers in order, flags)."""
    flags: list[str] = []

    def fix(m: re.Match[str]) -> str:
        nums = _numbers(m.group(1))
        good = list(dict.fromkeys(n for n in nums if n in valid))
        for n in nums:
            if n not in valid:
                flags.append(f"removed citation [{n}]: there is no source {n}")
        return f"[{', '.join(map(str, good))}]" if good else ""

    text = _CITE.sub(fix, text)
    text = re.sub(r"[ \t]+([.,;:])", r"\1", text)
    return text, cited_numbers(text), list(dict.fromkeys(flags))


def renumber(text: str, mapping: dict[int, int]) -> str:
    def fix(m: re.Match[str]) -> str:
        nums = list(dict.fromkeys(mapping[n] for n in _numbers(m.group(1)) if n in mapping))
        return f"[{', '.join(map(str, nums))}]" if nums else ""

    return _CITE.sub(fix, text)


def excludes1_pair(book: CodeBook, a: str, b: str) -> Note | None:
    """The Excludes1 note that forbids reporting a with b (either way round), or None."""
    for x, y in ((a, b), (b, a)):
        for note in book.inherited_notes(x, ("excludes1",)):
            if covers(note.text, y) and not covers(note.text, x):
                return note
    return None


def drop_excludes1(
    book: CodeBook | None, items: list[CodeItem], prefer: set[str] = frozenset()
) -> tuple[list[CodeItem], list[str], list[str]]:
    """Keep the first of every Excludes1 pair — unless only the second is in `prefer` (the codes the
    deterministic answer offers), which then replaces the first. Returns (kept, flags, notices)."""
    if book is None:
        return items, [], []
    kept: list[CodeItem] = []
    flags: list[str] = []
    notices: list[str] = []
    for item in items:
        if item.system != ICD:
            kept.append(item)
            continue
        clash = next(
            (
                (k, note)
                for k in kept
                if k.system == ICD
                for note in [excludes1_pair(book, k.code, item.code)]
                if note
            ),
            None,
        )
        if clash is None:
            kept.append(item)
            continue
        first, note = clash
        if item.code in prefer and first.code not in prefer:
            kept[kept.index(first)] = item
            first, item = item, first
        flags.append(
            f"removed {item.code}: Excludes1 at {note.source} — may not be reported with {first.code}"
        )
        notices.append(
            f"⚠️ {first.code} and {item.code} may not be reported together (Excludes1 at "
            f"{note.source}: “{note.text}”); {item.code} was left out."
        )
    return kept, flags, notices


# ---- the guard ----------------------------------------------------------------------------------
@dataclass(slots=True)
class GuardResult:
    answer: Answer | None  # None: send the deterministic answer
    flags: list[str]
    fallback: str | None = None  # why the deterministic answer goes out


def guard(
    reply: ModelReply, sources: list[Source], ev: Evidence, deterministic: Answer
) -> GuardResult:
    flags: list[str] = []
    notices: list[str] = []
    by_n = {s.n: s for s in sources}
    book = ev.book

    # 1. codes: exist, supported, trusted fields, valid source numbers, no header shown as reportable
    items: list[CodeItem] = []
    code_sources: dict[str, list[int]] = {}
    noticed: set[str] = set()  # codes whose "not reportable" notice is already in the text
    for mc in reply.codes:
        verdict = check_code(ev, mc.code)
        if not verdict.ok or verdict.item is None:
            flags.append(f"removed code {verdict.code}: {verdict.why}")
            continue
        item = verdict.item
        if item.code in code_sources:
            continue
        bad = [n for n in mc.sources if n not in by_n]
        if bad:
            flags.append(
                f"removed citation {', '.join(f'[{n}]' for n in bad)} of {item.code}: no such source"
            )
        code_sources[item.code] = [n for n in dict.fromkeys(mc.sources) if n in by_n]
        if not item.billable and book is not None and item.system == ICD:
            reason = book.lookup(item.code).reason or "not reportable"
            item.note = f"Not reportable: {reason}"
            if mc.billable:
                flags.append(
                    f"{item.code} was presented as reportable: it is not ({reason}); billable set to false"
                )
                notices.append(f"⚠️ {item.code} is not reportable: {reason}.")
                noticed.add(item.code)
        items.append(item)
    direct = {c.code for c in deterministic.codes}
    items, ex_flags, ex_notices = drop_excludes1(book, items, direct)
    flags.extend(ex_flags)
    notices.extend(ex_notices)

    # 2. the text: codes, then citation numbers
    text, prose_flags = clean_prose_codes(reply.answer or "", ev)
    flags.extend(prose_flags)
    text, cited, cite_flags = clean_citations(text, set(by_n))
    flags.extend(cite_flags)
    header_flags, header_notices = header_mentions(text, ev, noticed)
    flags.extend(header_flags)
    notices.extend(header_notices)
    flags = list(dict.fromkeys(flags))

    # 3. substance
    had = [c for c in deterministic.codes if c.billable]
    if had and not any(i.billable for i in items):
        return GuardResult(None, flags, "no reportable code of the model answer survived the guard")
    if not cited:
        return GuardResult(None, flags, "the model answer cites no valid source")
    if len(re.sub(r"\[code removed\]|\[[\d, ]*\]|\W", "", text)) < 3:
        return GuardResult(None, flags, "the model answer is empty after the guard")

    # 4. citations: [k] in the text is citations[k-1]; sources cited only by codes and the
    #    supporting notes of cited code sources follow
    order = cited + [n for c in items for n in code_sources.get(c.code, []) if n not in cited]
    order = list(dict.fromkeys(order))
    mapping = {n: i + 1 for i, n in enumerate(order)}
    text = renumber(text, mapping)
    cites = [by_n[n].citations[0] for n in order]
    seen = {_cite_key(c) for c in cites}
    for n in order:
        for c in by_n[n].citations[1:]:
            if _cite_key(c) not in seen:
                seen.add(_cite_key(c))
                cites.append(c)
    if notices:
        text = text.rstrip() + "\n\n" + "\n".join(dict.fromkeys(notices))
    answer = Answer(
        id=deterministic.id,
        question=deterministic.question,
        answer=text.strip(),
        codes=items,
        citations=cites,
        confidence=deterministic.confidence,
        fiscal_year=deterministic.fiscal_year,
        warnings=list(deterministic.warnings),
        composer="model",
        guard=flags,
    )
    return GuardResult(answer, flags)


def _cite_key(c: Citation) -> tuple[Any, ...]:
    return (c.source_type, c.section, c.code, c.page, c.quote)


def fallback(deterministic: Answer, flags: list[str], reason: str) -> Answer:
    """The deterministic answer, with what the guard found and why the model answer was not used."""
    return deterministic.model_copy(
        update={"composer": "deterministic", "guard": [*flags, f"fallback: {reason}"]}
    )


__all__ = [
    "Evidence",
    "GuardResult",
    "ModelCode",
    "ModelReply",
    "Source",
    "check_code",
    "clean_citations",
    "clean_prose_codes",
    "drop_excludes1",
    "evidence_for",
    "excludes1_pair",
    "fallback",
    "guard",
    "header_mentions",
]
