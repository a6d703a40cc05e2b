"""The answer object of DESIGN.md: the same in Slack, in `codedesk ask --json` and in the log."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Confidence = Literal["high", "medium", "low"]
System = Literal["ICD-10-CM", "ICD-10-PCS", "HCPCS"]


class CodeItem(BaseModel):
    code: str
    system: System = "ICD-10-CM"
    description: str
    billable: bool = Field(description="Reportable as written; False for headers and codes missing a 7th character")
    needs_seventh: bool = False
    note: str | None = Field(None, description="Why this code is offered: companion, 7th character assumed, …")


class Citation(BaseModel):
    source_type: Literal["tabular", "guideline", "index", "drug_table", "neoplasm_table", "addenda", "pcs",
                         "hcpcs", "team_guideline", "code_book"]
    title: str
    section: str | None = None  # guideline dotted id (I.C.4.a.3) or tabular note kind (excludes1)
    page: int | None = None
    code: str | None = None
    fiscal_year: str | None = None
    quote: str | None = None


class Answer(BaseModel):
    id: str | None = None
    question: str
    answer: str = Field(description="Markdown for people")
    codes: list[CodeItem] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    confidence: Confidence = "low"
    fiscal_year: str | None = None
    warnings: list[str] = Field(default_factory=list)
    composer: str = Field("deterministic", description="Who worded the answer: deterministic or model")
    guard: list[str] = Field(default_factory=list, description="What the citation guard removed or corrected, "
                             "and why a model answer fell back to the deterministic one")
