"""The answer object: the same in Slack, in `codedesk ask --json` and in the log."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Confidence = Literal["high", "medium", "low"]
System = Literal["ICD-10-CM", "ICD-10-PCS", "HCPCS"]


class CodeItem(BaseModel):
    code: str
    system: System = "ICD-10-CM"
    description: str
    billable: bool = Field(
        description="Reportable as written; False for headers and codes missing a 7th character"
    )
    needs_seventh: bool = False
    note: str | None = Field(
        None, description="Why this code is offered: companion, 7th character assumed, …"
    )


class Citation(BaseModel):
    source_type: Literal[
        "tabular",
        "guideline",
        "index",
        "drug_table",
        "neoplasm_table",
        "addenda",
        "pcs",
        "hcpcs",
        "team_guideline",
        "code_book",
        "drg_table",
        "hcc_mapping",
    ]
    title: str
    section: str | None = None  # guideline dotted id (I.C.4.a.3) or tabular note kind (excludes1)
    page: int | None = None
    code: str | None = None
    fiscal_year: str | None = None
    quote: str | None = None


def dedupe_citations(cites: list[Citation]) -> list[Citation]:
    """Each citation once, first seen first (one source, section, code, page and quote)."""
    seen, out = set(), []
    for c in cites:
        key = (c.source_type, c.section, c.code, c.page, c.quote)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


class CodeStatus(BaseModel):
    """One code of a checked list as the year's code book knows it."""

    code: str
    fiscal_year: str
    valid: bool = Field(
        description="Exists in the year's code set (a header exists but is not reportable)"
    )
    reportable: bool
    title: str = ""
    reason: str = Field("", description="Why it is not reportable or not valid")
    seventh_character: str | None = None


class ListFinding(BaseModel):
    """A sequencing finding of retrieval.sequencing, with its rule."""

    kind: str
    severity: Literal["error", "check"]
    code: str
    others: list[str] = Field(default_factory=list)
    message: str
    section: str = Field(description="Official Guidelines section")
    page: int | None = None


class CcMccLevel(BaseModel):
    """A code's CC/MCC level as a secondary diagnosis (CMS MS-DRG Tables 6I/6J/6K)."""

    code: str
    level: Literal["MCC", "CC"] | None
    counts_as: Literal["MCC", "CC", "non-CC"]
    principal: str | None = None
    excluded: bool = Field(
        False, description="The principal is in the code's PDX exclusion collection (Table 6K)"
    )
    pdx_collection: str | None = None
    pdx_collection_size: int = 0
    alive_only: bool = False
    in_tables: bool = True
    table: str | None = None
    fiscal_year: str
    msdrg_version: str
    text: str


class HccCategory(BaseModel):
    """A code's category in one CMS risk adjustment model and payment year, after the hierarchies."""

    code: str
    model: str
    payment_year: int
    category: str | None = Field(description="HCC 37, RxHCC 30; None when the code maps to none")
    label: str | None = None
    counted: bool = Field(description="Still counted after the hierarchies and the model's edits")
    dropped_by: str | None = None
    why: str | None = None


class CodeCheckReport(BaseModel):
    """`codedesk check`, /code-check and a code-list question: codes, sequencing, CC/MCC, HCC."""

    codes: list[str]
    fiscal_year: str
    shown: list[Literal["sequencing", "cc_mcc", "hcc"]]
    coding_setting: str | None = None
    statuses: list[CodeStatus] = Field(default_factory=list)
    findings: list[ListFinding] = Field(default_factory=list)
    suggested_order: list[str] = Field(default_factory=list)
    principal: str | None = None
    cc_mcc: list[CcMccLevel] = Field(default_factory=list)
    payment_year: int | None = None
    hcc: list[HccCategory] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="Year fallbacks and what was not available"
    )
    text: str = Field("", description="Markdown for people")
    citations: list[Citation] = Field(default_factory=list)


class Answer(BaseModel):
    id: str | None = None
    question: str
    answer: str = Field(description="Markdown for people")
    codes: list[CodeItem] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    confidence: Confidence = "low"
    fiscal_year: str | None = None
    warnings: list[str] = Field(default_factory=list)
    composer: str = Field(
        "deterministic", description="Who worded the answer: deterministic or model"
    )
    guard: list[str] = Field(
        default_factory=list,
        description="What the citation guard removed or corrected, "
        "and why a model answer fell back to the deterministic one",
    )
    code_check: CodeCheckReport | None = Field(
        None,
        description="A checked code list: validity, sequencing, "
        "CC/MCC levels, HCC categories (codedesk/retrieval/code_check.py)",
    )
