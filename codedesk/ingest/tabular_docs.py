"""Index documents of a code book (a Tabular List, or a year built from its addenda: retrieval.books): one
per code (title, inclusion terms, hierarchy) with a dense vector, and one per instructional note group
(lexical only). A code's vector text is its title and inclusion terms only, so the codes a new year keeps
unchanged reuse the vectors already computed (ingest.run keys vectors on their text)."""

from __future__ import annotations

from codedesk.cms.books import untitled_header
from codedesk.cms.codebook import SYSTEM, CodeBook
from codedesk.cms.tabular import NOTE_LABELS
from codedesk.ingest.documents import Doc, doc_id

_MAX_EMBED_WORDS = 48  # keeps vectors about the code, and embedding fast


def tabular_docs(book: CodeBook) -> list[Doc]:
    fy = book.fiscal_year
    docs: list[Doc] = []
    for code in book.order:
        node = book.nodes[code]
        diag = node.kind not in ("chapter", "block")
        chain = " > ".join(a.title for a in reversed(book.ancestors(code)) if a.kind != "chapter")
        incl = node.notes.get("inclusion_term", [])
        text = f"{code} {node.title}"
        if incl:
            text += "\nInclusion terms: " + "; ".join(incl)
        if chain:
            text += f"\nUnder: {chain}"
        leaf = book.is_leaf(code)
        defs = book.seventh_defs(code) if diag else None
        meta = {
            "source_type": "tabular",
            "system": SYSTEM,
            "fiscal_year": fy,
            "code": code,
            "kind": node.kind,
            "title": node.title[:500],
            "leaf": leaf,
            "reportable": leaf and not defs,
            "needs_seventh": bool(leaf and defs),
            "chapter": node.chapter,
        }
        embed = (
            " ".join(f"{node.title}; {'; '.join(incl)}".split()[:_MAX_EMBED_WORDS]) if diag else ""
        )
        if node.title == untitled_header(
            code, fy
        ):  # a header a codes addenda file names no title for
            embed = ""
        docs.append(Doc(doc_id(SYSTEM, fy, "code" if diag else node.kind, code), text, meta, embed))
        for kind, texts in node.notes.items():
            if kind == "inclusion_term":
                continue
            label = NOTE_LABELS.get(kind, kind)
            docs.append(
                Doc(
                    doc_id(SYSTEM, fy, "note", f"{code}:{kind}"),
                    f"{label} at {code} {node.title}: " + "; ".join(texts),
                    {
                        "source_type": "tabular",
                        "system": SYSTEM,
                        "fiscal_year": fy,
                        "code": code,
                        "section": kind,
                        "title": node.title[:500],
                    },
                    "",
                )
            )
    return docs
