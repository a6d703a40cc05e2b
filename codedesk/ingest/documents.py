"""The unit of the index: one document with a stable id, its text, metadata and a content hash; and
the documents made from each parsed CMS source (records from `codedesk.cms`)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from codedesk.cms.addenda import SYSTEM as ADDENDA_SYSTEM
from codedesk.cms.addenda import Addenda, CodeChange
from codedesk.cms.guidelines_pdf import INTRO_ID, SOURCE_TYPE, GuidelineChunk
from codedesk.cms.guidelines_pdf import SYSTEM as GUIDELINES_SYSTEM
from codedesk.cms.hcpcs import SYSTEM as HCPCS_SYSTEM
from codedesk.cms.hcpcs import HcpcsCode
from codedesk.cms.index_xml import KINDS, IndexFile, IndexTerm
from codedesk.cms.index_xml import SYSTEM as INDEX_SYSTEM
from codedesk.cms.pcs import SECTIONS, PcsData
from codedesk.cms.pcs import SYSTEM as PCS_SYSTEM

Meta = dict[str, str | int | float | bool]


@dataclass(slots=True)
class Doc:
    """A searchable record. `id` is stable: `{system}:{fy}:{kind}:{key}`."""

    id: str
    text: str  # shown and searched lexically
    metadata: Meta = field(default_factory=dict)
    embed_text: str | None = None  # what gets a dense vector; None = `text`

    @property
    def vector_text(self) -> str:
        return self.embed_text if self.embed_text is not None else self.text

    @property
    def content_hash(self) -> str:
        payload = "\x1f".join([self.text, self.vector_text, repr(sorted(self.metadata.items()))])
        return hashlib.sha1(payload.encode()).hexdigest()


def doc_id(system: str, fiscal_year: str, kind: str, key: str) -> str:
    return f"{system}:{fiscal_year}:{kind}:{key}"


# --------------------------------------------------------------------------- index xml


def _display_path(index: IndexFile, term: IndexTerm) -> str:
    parts = []
    node: IndexTerm | None = term
    while node is not None:
        parts.append(node.full_title)
        node = index.terms[node.parent] if node.parent is not None else None
    return " > ".join(reversed(parts))


def _refs(term: IndexTerm) -> str:
    refs = []
    if term.see:
        refs.append(f"see {term.see}")
    if term.see_also:
        refs.append(f"see also {term.see_also}")
    if term.seecat:
        refs.append(f"see category {term.seecat}")
    if term.subcat:
        refs.append(f"see subcategory {term.subcat}")
    if term.manif:
        refs.append(f"[{term.manif}]")
    return "; ".join(refs)


def _keys(index: IndexFile) -> list[str]:
    """A stable key per term: its path of titles, made unique by an occurrence number."""
    seen: dict[str, int] = {}
    keys = []
    for term in index.terms:
        base = " > ".join(term.path)
        n = seen.get(base, 0)
        seen[base] = n + 1
        keys.append(base if n == 0 else f"{base} #{n + 1}")
    return keys


def index_docs(index: IndexFile, fiscal_year: str) -> list[Doc]:
    """Index documents. Tables: one document per cell that holds a code (plus one per
    cross-reference row); indexes: one per term. Only index main terms get a dense vector."""
    kind_id, source_type, human = KINDS[index.kind]
    index_name = index.kind.removesuffix("_index").removesuffix("_table")
    docs: list[Doc] = []
    keys = _keys(index)
    for term, key in zip(index.terms, keys, strict=True):
        display = _display_path(index, term)
        base: dict[str, str | int | float | bool] = {
            "source_type": source_type,
            "fiscal_year": str(fiscal_year),
            "title": human,
            "index": index_name,
            "term": display,
            "level": term.level,
        }
        refs = _refs(term)
        if index.columns:
            for cell in term.cells:
                if cell.code is None:
                    continue
                docs.append(
                    Doc(
                        id=doc_id(INDEX_SYSTEM, fiscal_year, kind_id, f"{key} | {cell.column}"),
                        text=f"{display} | {cell.heading}: {cell.code}",
                        metadata={
                            **base,
                            "code": cell.code,
                            "column": cell.column,
                            "column_heading": cell.heading,
                            "incomplete": cell.incomplete,
                        },
                        embed_text="",
                    )
                )
            if refs and not any(c.code for c in term.cells):
                docs.append(
                    Doc(
                        id=doc_id(INDEX_SYSTEM, fiscal_year, kind_id, f"{key} | see"),
                        text=f"{display} — {refs}",
                        metadata={**base, "code": "", "column": ""},
                        embed_text="",
                    )
                )
            continue
        if term.level > 0 and not term.codes and not refs:
            continue  # a grouping subterm ("Contact > with"): its children carry the codes
        codes = " ".join(term.codes)
        text = " ".join(part for part in (display, codes, f"({refs})" if refs else "") if part)
        docs.append(
            Doc(
                id=doc_id(INDEX_SYSTEM, fiscal_year, kind_id, key),
                text=text,
                metadata={
                    **base,
                    "code": term.codes[0] if term.codes else "",
                    "see": term.see or "",
                    "incomplete": any(c.endswith("-") for c in term.codes),
                },
                # Main terms are few and carry the vocabulary; subterms are searched lexically only.
                embed_text=" ".join(term.full_title.split()[:40]) if term.level == 0 else "",
            )
        )
    return docs


# --------------------------------------------------------------------------- addenda


def addenda_docs(addenda: Addenda | Iterable[CodeChange], fiscal_year: str) -> list[Doc]:
    """One document per change: `ICD-10-CM:{fy}:addenda:{action}:{code}` (lexical only)."""
    changes = addenda.changes if isinstance(addenda, Addenda) else list(addenda)
    docs = []
    seen: Counter[str] = Counter()
    for change in changes:
        key = f"{change.action}:{change.code}"
        seen[key] += 1
        if seen[key] > 1:  # a code deleted as a code and added back as a header, listed twice
            key = f"{key}#{seen[key]}"
        kind = "header" if change.header else "code"
        if change.action == "revise":
            text = f'Revised {kind} {change.code} in FY{fiscal_year}: from "{change.old_title}" to "{change.title}"'
        else:
            verb = {"add": "New", "delete": "Deleted"}[change.action]
            text = f"{verb} {kind} {change.code} in FY{fiscal_year}: {change.title}"
        meta: dict[str, str | int | float | bool] = {
            "source_type": "addenda",
            "fiscal_year": str(fiscal_year),
            "title": f"ICD-10-CM addenda FY{fiscal_year}",
            "code": change.code,
            "action": change.action,
            "code_title": change.title,
        }
        if change.header is not None:
            meta["header"] = change.header
        if change.old_title is not None:
            meta["old_title"] = change.old_title
        docs.append(
            Doc(doc_id(ADDENDA_SYSTEM, fiscal_year, "addenda", key), text, meta, embed_text="")
        )
    return docs


# --------------------------------------------------------------------------- hcpcs


def hcpcs_docs(codes: Iterable[HcpcsCode], fiscal_year: str) -> list[Doc]:
    """One document per code: `HCPCS:{year}:code:{code}` (modifiers: `HCPCS:{year}:modifier:{code}`)."""
    docs = []
    for c in codes:
        status = f" (terminated {c.termination_date.isoformat()})" if c.termination_date else ""
        label = "HCPCS modifier" if c.kind == "modifier" else "HCPCS"
        meta: dict[str, str | int | float | bool] = {
            "source_type": "hcpcs",
            "fiscal_year": str(fiscal_year),
            "title": f"HCPCS Level II {fiscal_year}",
            "code": c.code,
            "kind": c.kind,
            "code_title": c.long_description,
            "short_title": c.short_description,
            "action_code": c.action_code,
            "coverage": c.coverage,
            "betos": c.betos,
            "terminated": c.terminated,
        }
        for name in ("add_date", "action_effective_date", "termination_date"):
            value = getattr(c, name)
            if value is not None:
                meta[name] = value.isoformat()
        docs.append(
            Doc(
                id=doc_id(
                    HCPCS_SYSTEM, fiscal_year, c.kind if c.kind == "modifier" else "code", c.code
                ),
                text=f"{label} {c.code}: {c.long_description}{status}",
                metadata=meta,
                embed_text="",  # ~7k codes: lexical only
            )
        )
    return docs


# --------------------------------------------------------------------------- pcs


def pcs_docs(data: PcsData, fiscal_year: str) -> list[Doc]:
    """Documents for codes (`ICD-10-PCS:{fy}:code:{code}`), axis values (`…:axis:{axis}:{scope}{value}`)
    and guidelines (`…:guideline:{id}`). Codes and most axis values are lexical only; root
    operations, approaches and guidelines (a few hundred) get short vectors."""
    fy = str(fiscal_year)
    title = f"ICD-10-PCS {fy}"
    docs: list[Doc] = []
    for c in data.codes:
        meta: dict[str, str | int | float | bool] = {
            "source_type": "pcs",
            "fiscal_year": fy,
            "title": title,
            "code": c.code,
            "kind": "code",
            "code_title": c.title,
            "pcs_section": SECTIONS.get(c.section, c.section),
            "source_fiscal_year": c.fiscal_year,
        }
        docs.append(
            Doc(
                doc_id(PCS_SYSTEM, fy, "code", c.code),
                f"ICD-10-PCS {c.code}: {c.title}",
                meta,
                embed_text="",
            )
        )
    for a in data.axes:
        where = SECTIONS.get(a.section, a.section)
        scope = (
            f" (table {a.scope})"
            if len(a.scope) == 3
            else f" (body system {a.scope[1]})"
            if len(a.scope) == 2
            else ""
        )
        text = f"ICD-10-PCS {where}, {a.axis_name.lower()} value {a.value}{scope}: {a.label}"
        for label, part in (
            ("Definition", a.definition),
            ("Explanation", a.explanation),
            ("Examples", a.examples),
        ):
            if part:
                text += f". {label}: {part}"
        small = a.axis in (3, 5) or a.axis == 1
        docs.append(
            Doc(
                doc_id(
                    PCS_SYSTEM,
                    fy,
                    "axis",
                    f"{a.axis}:{a.scope}{a.value}" if a.axis > 1 else f"1:{a.value}",
                ),
                text,
                {
                    "source_type": "pcs",
                    "fiscal_year": fy,
                    "title": title,
                    "kind": "axis",
                    "axis": a.axis,
                    "axis_name": a.axis_name,
                    "value": a.value,
                    "label": a.label,
                    "pcs_section": where,
                    "scope": a.scope,
                },
                embed_text=" ".join(
                    f"PCS {a.axis_name} {a.label}: {a.definition or ''}".split()[:40]
                )
                if small
                else "",
            )
        )
    for g in data.guidelines:
        docs.append(
            Doc(
                doc_id(PCS_SYSTEM, fy, "guideline", g.id),
                f"ICD-10-PCS Official Guidelines {g.id} {g.title}\n{g.text}",
                {
                    "source_type": "guideline",
                    "system": PCS_SYSTEM,
                    "fiscal_year": fy,
                    "title": f"ICD-10-PCS Official Guidelines FY{fy}",
                    "section": g.id,
                    "section_title": g.title,
                    "guideline_group": g.section,
                },
                embed_text=" ".join(f"{g.id} {g.title}: {g.text}".split()[:40]),
            )
        )
    return docs


# --------------------------------------------------------------------------- guidelines pdf


def guideline_docs(chunks: Iterable[GuidelineChunk], fiscal_year: str) -> list[Doc]:
    """Index documents, one per chunk: `ICD-10-CM:{fy}:guideline:{section}#{n}`."""
    docs = []
    for chunk in chunks:
        label = (
            chunk.section_id
            if chunk.section_id.startswith(("Appendix", INTRO_ID))
            else f"Section {chunk.section_id}"
        )
        trail = " > ".join(chunk.path)
        words = chunk.text.split()
        embed = " ".join(f"{chunk.section_id} {chunk.title}: {' '.join(words[:40])}".split()[:40])
        docs.append(
            Doc(
                id=doc_id(
                    GUIDELINES_SYSTEM, fiscal_year, "guideline", f"{chunk.section_id}#{chunk.index}"
                ),
                text=f"{label}. {trail}\n{chunk.text}",
                metadata={
                    "source_type": SOURCE_TYPE,
                    "fiscal_year": str(fiscal_year),
                    "title": f"ICD-10-CM Official Guidelines FY{fiscal_year}",
                    "section": chunk.section_id,
                    "section_title": chunk.title,
                    "page": chunk.page,
                    "chunk": chunk.index,
                    "narrative_change": chunk.bold,
                },
                embed_text=embed,
            )
        )
    return docs
