"""A diff between two years as `codedesk changes` prints it: Markdown, CSV or JSON.

`render_md` gives headed sections with counts (by chapter for a whole-code-set diff) and the
cross-check against the addenda when there is one; `render_csv` one row per change; `render_json`
the diff's JSON with the cross-check. The section titles and note-kind labels are shared with the
answers to change questions (`codedesk.retrieval.change_answers`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from codedesk.retrieval.versions import CrossCheck, Diff, Version, VersionSet

# ---- rendering a diff -------------------------------------------------------------------------------
SECTION_TITLES = {
    "added": "Added codes",
    "deleted": "Deleted codes",
    "revised": "Revised titles",
    "became_header": "Codes that became headers",
    "notes_changed": "Instructional notes changed",
}
NOTE_KIND_LABELS = {
    "includes": "Includes",
    "inclusion_term": "Inclusion term",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "code_first": "Code first",
    "use_additional_code": "Use additional code",
    "code_also": "Code also",
    "note": "Note",
    "seventh_character": "7th character note",
    "seventh_character_def": "7th character values",
}


def _scope(d: Diff) -> str:
    if d.prefix:
        return f" — {d.prefix}"
    if d.chapter:
        return f" — chapter {d.chapter}"
    return ""


def _not_compared(old: Version, new: Version) -> str:
    """Why header titles and instructional notes were not compared between two versions."""
    flat = next((v for v in (old, new) if not v.full), None)
    if flat is not None:
        return (
            f"Header titles and instructional notes are not compared: FY{flat.fiscal_year} is a flat list of "
            "reportable codes."
        )
    built = new if new.basis else old
    return (
        f"Instructional notes are not compared: FY{built.fiscal_year} is built from its addenda, with the "
        f"notes of FY{int(built.fiscal_year) - 1}."
    )


def render_md(
    d: Diff, versions: VersionSet, check: CrossCheck | None = None, by_chapter: bool = True
) -> str:
    """Headed sections with counts, then the cross-check against the addenda when there is one."""
    old, new = versions.get(d.old), versions.get(d.new)
    counts = d.counts()
    lines = [
        f"# ICD-10-CM changes FY{d.old} → FY{d.new}{_scope(d)}",
        "",
        f"- From: {old.description}",
        f"- To: {new.description}",
        "",
        "| change | count |",
        "| --- | ---: |",
    ]
    lines += [f"| {SECTION_TITLES[k]} | {v} |" for k, v in counts.items()]
    lines.append("")
    lines.append(
        "Codes made unreportable by an expansion are listed under *Codes that became headers* and also "
        "counted as deleted. Codes include every 7th-character form."
    )
    if not d.notes_compared:
        lines.append(_not_compared(old, new))
    if by_chapter and not d.prefix and not d.chapter and not d.empty:
        lines += [
            "",
            "## By chapter",
            "",
            "| chapter | added | deleted | revised | became headers | notes |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for ch, part in d.by_chapter().items():
            c = part.counts()
            lines.append(
                f"| {ch} | {c['added']} | {c['deleted']} | {c['revised']} | {c['became_header']} | "
                f"{c['notes_changed']} |"
            )
    lines += ["", f"## {SECTION_TITLES['added']} ({counts['added']})", ""]
    lines += [f"- `{a.code}` {a.title}" for a in d.added] or ["None."]
    lines += ["", f"## {SECTION_TITLES['deleted']} ({counts['deleted']})", ""]
    expanded = {c: e.code for e in d.became_header for c in e.no_longer_reportable}
    lines += [
        f"- `{x.code}` {x.title}"
        + (f" — {expanded[x.code]} became a header" if x.code in expanded else "")
        for x in d.deleted
    ] or ["None."]
    lines += ["", f"## {SECTION_TITLES['revised']} ({counts['revised']})", ""]
    lines += [
        f"- `{r.code}`{' (header)' if r.header else ''}: “{r.old_title}” → “{r.new_title}”"
        for r in d.revised
    ] or ["None."]
    lines += ["", f"## {SECTION_TITLES['became_header']} ({counts['became_header']})", ""]
    lines += [
        f"- `{e.code}` {e.title} — no longer reportable: {', '.join(e.no_longer_reportable)}; "
        f"report one of: {', '.join(e.now_reportable)}"
        for e in d.became_header
    ] or ["None."]
    lines += ["", f"## {SECTION_TITLES['notes_changed']} ({counts['notes_changed']})", ""]
    if not d.notes_compared:
        lines.append("Not compared: " + _not_compared(old, new).split(": ", 1)[1])
    else:
        for n in d.notes_changed:
            label = NOTE_KIND_LABELS.get(n.kind, n.kind)
            parts = [f"added “{t}”" for t in n.added] + [f"removed “{t}”" for t in n.removed]
            lines.append(f"- `{n.code}` {label}: " + "; ".join(parts))
        if not d.notes_changed:
            lines.append("None.")
    if check is not None:
        lines += [
            "",
            f"## Cross-check against the official addenda ({Path(check.addenda_path).name})",
            "",
            "```",
            *check.lines(),
            "```",
        ]
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("change", "code", "title", "old_title", "new_title", "kind", "related", "chapter")


def render_csv(d: Diff) -> str:
    """One row per change; a note change is one row per note added or removed."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for a in d.added:
        w.writerow(
            {"change": "added", "code": a.code, "title": a.title, "chapter": a.chapter or ""}
        )
    for x in d.deleted:
        w.writerow(
            {"change": "deleted", "code": x.code, "title": x.title, "chapter": x.chapter or ""}
        )
    for r in d.revised:
        w.writerow(
            {
                "change": "revised",
                "code": r.code,
                "old_title": r.old_title,
                "new_title": r.new_title,
                "kind": "header" if r.header else "code",
                "chapter": r.chapter or "",
            }
        )
    for e in d.became_header:
        w.writerow(
            {
                "change": "became_header",
                "code": e.code,
                "title": e.title,
                "related": " ".join(e.no_longer_reportable),
                "chapter": e.chapter or "",
            }
        )
    for n in d.notes_changed:
        for text in n.added:
            w.writerow(
                {
                    "change": "note_added",
                    "code": n.code,
                    "title": text,
                    "kind": n.kind,
                    "chapter": n.chapter or "",
                }
            )
        for text in n.removed:
            w.writerow(
                {
                    "change": "note_removed",
                    "code": n.code,
                    "title": text,
                    "kind": n.kind,
                    "chapter": n.chapter or "",
                }
            )
    return buf.getvalue()


def render_json(d: Diff, check: CrossCheck | None = None) -> str:
    data = d.to_json()
    if check is not None:
        data["cross_check"] = check.to_json()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
