"""A check of a code list, or of one code's level, the way an encoder does it: each code's validity in the
year's code book, the list's sequencing findings (retrieval.sequencing), the CC/MCC levels of the
secondary codes given the first as principal (retrieval.drg_levels, CMS MS-DRG Tables 6I/6J/6K) and the
HCC categories with the hierarchies applied (retrieval.hcc, CMS mappings).

`CODEDESK_CODING_SETTING` chooses what is shown by default: CC/MCC for inpatient coders, HCCs for
outpatient, professional and risk adjustment coders, both when unset; a question that names MCC/CC or
HCC gets it whatever the setting.

`CodeCheck` answers like `codedesk.retrieval.sequencing.OrderCheck` (codes, findings, suggested, moves, text,
citations()) so the chain shows it where it shows an order check; `report` is the typed JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from codedesk.cms.codebook import CodeBook, normalize_code
from codedesk.codes import PROSE_CODE
from codedesk.retrieval.drg_levels import Level, drg_levels
from codedesk.retrieval.hcc import ModelResult, category_name, hccs, payment_year_for
from codedesk.retrieval.schema import (
    CcMccLevel,
    Citation,
    CodeCheckReport,
    CodeStatus,
    HccCategory,
    ListFinding,
    dedupe_citations,
)
from codedesk.retrieval.sequencing import OrderCheck, answer_order_question, check_order, sequence

SHOW_BY_SETTING = {
    "inpatient": ("cc_mcc",),
    "outpatient": ("hcc",),
    "professional": ("hcc",),
    "risk_adjustment": ("hcc",),
    None: ("cc_mcc", "hcc"),
}
LIST_EXCLUSIONS_UP_TO = 30  # a PDX collection this small is listed in the text

_CODE = re.compile(rf"\b{PROSE_CODE}\b", re.I)
_CC = re.compile(
    r"\b(m?cc|m?ccs|complications? (?:or|and|/) comorbidit\w+|cc/mcc|cc exclusions?|ms-?drg)\b",
    re.I,
)
_HCC = re.compile(r"\b(hccs?|rxhccs?|risk[- ]adjust\w*|raf|hierarchical condition)\b", re.I)
_ESRD = re.compile(r"\besrd (?:model|hcc)|\bdialysis model\b", re.I)
_RX = re.compile(r"\brx ?hccs?\b|\bpart d\b", re.I)
_CHECK = re.compile(
    r"^\s*(?:/code-check\b|check\b)|\bcheck (?:this|these|the|my)\b|\bis this (?:list )?right\b",
    re.I,
)
_PRINCIPAL = re.compile(
    rf"\b(?:principal|primary|pdx|first[- ]listed)(?:\s+(?:diagnosis|dx|code))?"
    rf"(?:\s+(?:is|of|=|:|being))?\s*[:=]?\s*({PROSE_CODE})\b",
    re.I,
)


@dataclass(slots=True)
class CheckRequest:
    codes: list[str]  # in the order given (the principal first when the question names one)
    principal: str | None  # named by the question ("with principal I12.9"); else the first code
    show: tuple[str, ...]  # cc_mcc / hcc
    sequencing: bool  # a list to check, not one code's level
    esrd: bool = False
    rxhcc: bool = False


def parse_check_question(text: str, setting: str | None = None) -> CheckRequest | None:
    """The request in a question about levels or HCCs ("is J96.01 an MCC?", "does N18.4 count as a CC with
    principal I12.9?", "does E11.22 map to an HCC?") or a list to check ("check E11.22, N18.32, I12.9");
    None when the question is neither."""
    codes = list(dict.fromkeys(normalize_code(m.group(0)) for m in _CODE.finditer(text)))
    if not codes:
        return None
    wants = tuple(k for k, rx in (("cc_mcc", _CC), ("hcc", _HCC)) if rx.search(text))
    esrd, rx = bool(_ESRD.search(text)), bool(_RX.search(text))
    if rx or esrd:
        wants = tuple(dict.fromkeys((*wants, "hcc")))
    listed = bool(_CHECK.search(text))
    if not wants and not listed:
        return None
    m = _PRINCIPAL.search(text)
    principal = normalize_code(m.group(1)) if m else None
    if principal:
        codes = [principal, *(c for c in codes if c != principal)]
    show = wants or SHOW_BY_SETTING.get(setting, SHOW_BY_SETTING[None])
    return CheckRequest(
        codes,
        principal,
        show,
        sequencing=listed or (len(codes) > 1 and principal is None),
        esrd=esrd,
        rxhcc=rx,
    )


@dataclass(slots=True)
class CodeCheck:
    """The answer to a check; duck-types `OrderCheck` for the chain and the composer."""

    codes: list[str]
    findings: list[Any]  # retrieval.sequencing.Finding
    suggested: list[str]
    moves: list[Any]
    text: str
    report: CodeCheckReport
    cites: list[Citation] = field(default_factory=list)

    def citations(self) -> list[Citation]:
        return list(self.cites)


def check_codes(
    codes: list[str],
    book: CodeBook,
    *,
    show: tuple[str, ...] = ("cc_mcc", "hcc"),
    sequencing: bool = True,
    principal: str | None = None,
    payment_year: int | None = None,
    today: date | None = None,
    books: dict[str, CodeBook] | None = None,
    cms_data_dir: Any = None,
    esrd: bool = False,
    rxhcc: bool = False,
    setting: str | None = None,
    order: OrderCheck | None = None,
) -> CodeCheck:
    """Check `codes` (the principal first) in `book`'s fiscal year. `payment_year` defaults to the year after
    `today`'s (diagnoses of dates of service in N count for payment year N+1)."""
    fy = book.fiscal_year
    codes = list(dict.fromkeys(normalize_code(c) for c in codes if c and c.strip()))
    report = CodeCheckReport(
        codes=codes,
        fiscal_year=fy,
        coding_setting=setting,
        shown=[*(("sequencing",) if sequencing and len(codes) > 1 else ()), *show],
    )
    cites: list[Citation] = []
    parts: list[str] = []
    infos = {c: book.lookup(c) for c in codes}
    for c, info in infos.items():
        report.statuses.append(
            CodeStatus(
                code=c,
                fiscal_year=fy,
                valid=info.exists,
                reportable=info.reportable,
                title=info.title,
                reason=info.reason,
                seventh_character=info.seventh_char,
            )
        )
    ok = [c for c in codes if infos[c].reportable]
    bad = [c for c in codes if not infos[c].reportable]
    head = f"**Codes (ICD-10-CM FY{fy})**: " + "; ".join(
        f"{c} {'reportable' if infos[c].reportable else 'NOT reportable — ' + infos[c].reason}"
        for c in codes
    )
    parts.append(head)

    findings, suggested, moves = [], ok, []
    if sequencing and len(codes) > 1:
        order = order or answer_order_question(", ".join(codes) + " right order?", book)
        if order is not None:
            findings, suggested, moves, order_text = (
                order.findings,
                order.suggested,
                order.moves,
                order.text,
            )
        else:  # not read as a list (cannot happen with two codes and the cue words): the rules still run
            findings, seq = check_order(book, codes), sequence(book, ok)
            suggested, moves, order_text = seq.codes, seq.moves, ""
        parts.append(f"**Sequencing (Official Guidelines, Tabular List FY{fy})**: {order_text}")
        for f in findings:
            report.findings.append(
                ListFinding(
                    kind=f.kind,
                    severity=f.severity,
                    code=f.code,
                    others=list(f.others),
                    message=f.message,
                    section=f.rule.section,
                    page=f.rule.page,
                )
            )
            cites.extend(f.citations())
        report.suggested_order = list(suggested)
    elif bad:
        report.suggested_order = list(ok)

    first = principal or (codes[0] if len(codes) > 1 else None)
    if "cc_mcc" in show:
        parts.append(
            _levels(
                report,
                book,
                ok,
                first,
                suggested,
                books,
                cms_data_dir,
                cites,
                principal is not None,
            )
        )
    if "hcc" in show:
        py = payment_year or payment_year_for((today or date.today()).year)
        parts.append(_hccs(report, ok, py, esrd, rxhcc, cites))
    report.principal = first
    report.text = "\n\n".join(p for p in parts if p)
    report.citations = dedupe_citations(cites)
    return CodeCheck(
        codes, findings, list(suggested), list(moves), report.text, report, report.citations
    )


def _levels(
    report: CodeCheckReport,
    book: CodeBook,
    ok: list[str],
    principal: str | None,
    suggested: list[str],
    books: dict[str, CodeBook] | None,
    cms_data_dir: Any,
    cites: list[Citation],
    named: bool,
) -> str:
    levels = drg_levels(cms_data_dir)
    tables, fallback = levels.tables_for(book.fiscal_year)
    if tables is None:
        report.notes.append(fallback)
        return f"**CC/MCC**: {fallback}"
    table_book = (
        (books or {}).get(tables.fiscal_year) if tables.fiscal_year != book.fiscal_year else book
    )
    # "is J96.01 an MCC with principal J96.01?": the one code is rated against itself
    secondary = (
        [c for c in ok if c != principal] or ([principal] if ok == [principal] else [])
        if principal
        else ok
    )
    lines = []
    for code in secondary:
        known = table_book.lookup(code).reportable if table_book is not None else True
        lv = levels.level(code, book.fiscal_year, principal, known)
        report.cc_mcc.append(_level_model(lv))
        line = lv.text().removesuffix(f". {lv.note}") if lv.note else lv.text()
        if lv.level and lv.principal is None and 0 < lv.collection_size <= LIST_EXCLUSIONS_UP_TO:
            members = sorted(normalize_code(c) for c in tables.collections[lv.collection])
            line += f": {', '.join(members)}"
        lines.append(f"- {line}")
        if lv.level:
            cites.append(tables.citation(lv.table, lv.code, lv.title))
            if lv.collection:
                cites.append(
                    tables.citation(
                        "6K",
                        lv.code,
                        f"PDX collection {lv.collection}: {lv.collection_size} "
                        "principal diagnoses that make it a non-CC",
                    )
                )
        elif lv.in_tables:
            cites.extend(tables.citation(t, lv.code, "not listed") for t in ("6I", "6J"))
    if fallback:
        report.notes.append(fallback)
    who = f"principal diagnosis {principal}" + ("" if named else ", the first code listed")
    title = f"**CC/MCC ({tables.label}, secondary diagnoses" + (
        f", {who})**" if principal else ")**"
    )
    out = [title, *lines] if lines else [title, "- no secondary diagnosis to rate"]
    if principal and suggested and suggested[0] != principal and principal in suggested:
        out.append(
            f"\n_The sequencing rules put {suggested[0]} first: with it as the principal diagnosis the levels "
            "can differ._"
        )
    if fallback:
        out.append(f"\n_{fallback}_")
    return "\n".join(out)


def _level_model(lv: Level) -> CcMccLevel:
    return CcMccLevel(
        code=lv.code,
        level=lv.level,
        counts_as=lv.counts_as,
        principal=lv.principal,
        excluded=lv.excluded,
        pdx_collection=lv.collection,
        pdx_collection_size=lv.collection_size,
        alive_only=lv.alive_only,
        in_tables=lv.in_tables,
        table=lv.table or None,
        fiscal_year=lv.fiscal_year,
        msdrg_version=lv.version,
        text=lv.text(),
    )


def _hccs(
    report: CodeCheckReport,
    ok: list[str],
    payment_year: int,
    esrd: bool,
    rxhcc: bool,
    cites: list[Citation],
) -> str:
    report.payment_year = payment_year
    try:
        results = hccs(ok, payment_year, esrd=esrd, rxhcc=rxhcc)
    except LookupError as err:
        report.notes.append(str(err))
        return f"**HCC**: {err}"
    out = []
    for res in results:
        report.payment_year = res.payment_year
        out.append(
            f"**HCC ({res.name}, payment year {res.payment_year}: dates of service in "
            f"{res.payment_year - 1})**"
        )
        out.extend(f"- {line}" for line in res.lines())
        for note in res.notes:
            if note not in report.notes:
                report.notes.append(note)
        if res.notes:
            out.append("\n" + " ".join(f"_{n}_" for n in res.notes) + "\n")
        report.hcc.extend(_hcc_models(res))
        cites.append(res.citation())
    return "\n".join(out)


def _hcc_models(res: ModelResult) -> list[HccCategory]:
    out = []
    for c in res.mapped:
        edit = res.edited.get(c.cc)
        parent = res.dropped.get(c.cc)
        out.append(
            HccCategory(
                code=c.code,
                model=res.name,
                payment_year=res.payment_year,
                category=c.name(res.model),
                label=c.label,
                counted=edit is None and parent is None,
                dropped_by=category_name(res.model, parent) if parent and edit is None else None,
                why=edit.why
                if edit
                else (
                    f"{category_name(res.model, parent)} is higher in the hierarchy"
                    if parent
                    else None
                ),
            )
        )
    out.extend(
        HccCategory(
            code=c, model=res.name, payment_year=res.payment_year, category=None, counted=False
        )
        for c in res.unmapped
    )
    return out


def answer_code_check(
    question: str,
    book: CodeBook | None,
    order: OrderCheck | None = None,
    *,
    books: dict[str, CodeBook] | None = None,
    settings: Any = None,
) -> CodeCheck | None:
    """For the chain: the check a question asks for, or the list an order question pastes with what the
    coding setting shows by default; None for any other question (and for an order question when no
    setting is configured: the sequencing answer stands alone)."""
    if book is None:
        return None
    setting = getattr(settings, "coding_setting", None)
    request = parse_check_question(question, setting)
    if request is None:
        if order is None or setting is None:
            return None
        request = CheckRequest(order.codes, None, SHOW_BY_SETTING[setting], sequencing=True)
    return check_codes(
        request.codes,
        book,
        show=request.show,
        sequencing=request.sequencing,
        principal=request.principal,
        today=getattr(settings, "today_date", None),
        books=books,
        cms_data_dir=getattr(settings, "cms_data_dir", None),
        esrd=request.esrd,
        rxhcc=request.rxhcc,
        setting=setting,
        order=order if request.sequencing else None,
    )


def split_codes(text: str) -> list[str]:
    """The codes of a pasted list ("E11.22, N18.32 I12.9", "e1122;n1832"), in order."""
    return [normalize_code(m.group(0)) for m in _CODE.finditer(text or "")]


def run_check(
    settings: Any,
    text: str,
    *,
    fiscal_year: str | None = None,
    payment_year: int | None = None,
    show: tuple[str, ...] | None = None,
    esrd: bool = False,
    rxhcc: bool = False,
) -> CodeCheck:
    """`codedesk check`: load the year's code book (and the MS-DRG tables' year, to tell a code new since
    them) and check the list. Raises `CodeDeskError` for an empty list or a year not loaded."""
    from codedesk.cms.books import book_sources, load_book
    from codedesk.errors import CodeDeskError

    codes = split_codes(text)
    if not codes:
        raise CodeDeskError(
            f'no ICD-10-CM code found in {text!r}: list codes such as "E11.22, N18.32, I12.9"'
        )
    fy = (fiscal_year or settings.fiscal_year).upper().removeprefix("FY")
    sources = book_sources(settings)
    if fy not in sources:
        have = ", ".join(f"FY{y}" for y in sorted(sources, reverse=True))
        raise CodeDeskError(f"no ICD-10-CM code set for FY{fy} is loaded (loaded: {have})")
    tables_year = next(
        reversed([y for y in drg_levels(settings.cms_data_dir).years if y <= fy]), None
    )
    books = {
        y: load_book(sources[y], settings.cache_dir) for y in {fy, tables_year} if y in sources
    }
    setting = settings.coding_setting
    return check_codes(
        codes,
        books[fy],
        show=show or SHOW_BY_SETTING[setting],
        sequencing=True,
        payment_year=payment_year,
        today=settings.today_date,
        books=books,
        cms_data_dir=settings.cms_data_dir,
        esrd=esrd,
        rxhcc=rxhcc,
        setting=setting,
    )


__all__ = [
    "CheckRequest",
    "CodeCheck",
    "answer_code_check",
    "check_codes",
    "parse_check_question",
    "run_check",
    "split_codes",
]
