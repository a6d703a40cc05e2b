"""Code changes between fiscal years: the `codedesk changes` command and answers to change questions.

`changes_app` is mounted as `codedesk changes`:

    codedesk changes --from 2025 --to 2026 [--prefix N18 | --chapter 4] [--format md|csv|json]

`answer_changes` answers "what changed in N18 this year?", "is E11.A valid for DOS 2024-06-01?",
"what do I use now instead of S30.1XXA?", "was X deleted?" from the loaded versions and addenda
(`retrieval.versions`), or returns None when a question is about neither changes nor validity.
Every code offered (`items`) is reportable in the year the answer applies to; codes no longer valid
appear only in the text, marked as such. Replacements come from the code books only (the codes now
under an expanded header), never from crosswalks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import typer

from codedesk.codes import PROSE_START
from codedesk.errors import CodeDeskError
from codedesk.settings import Settings
from ingest.addenda import CodeChange
from retrieval.codebook import normalize_code
from retrieval.query import ParsedQuestion
from retrieval.schema import Citation, CodeItem
from retrieval.text import stem, tokens
from retrieval.versions import (
    CodeStatus,
    CrossCheck,
    Diff,
    Version,
    VersionError,
    VersionSet,
    day_text,
    fetch_hint,
    parse_prefix,
    plain,
)

MAX_LINES = 15  # per section of an answer
MAX_ITEMS = 20

# ---- rendering a diff -------------------------------------------------------------------------------
SECTION_TITLES = {"added": "Added codes", "deleted": "Deleted codes", "revised": "Revised titles",
                  "became_header": "Codes that became headers", "notes_changed": "Instructional notes changed"}
NOTE_KIND_LABELS = {"includes": "Includes", "inclusion_term": "Inclusion term", "excludes1": "Excludes1",
                    "excludes2": "Excludes2", "code_first": "Code first", "use_additional_code": "Use additional code",
                    "code_also": "Code also", "note": "Note", "seventh_character": "7th character note",
                    "seventh_character_def": "7th character values"}


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
        return f"Header titles and instructional notes are not compared: FY{flat.fiscal_year} is a flat list of " \
               "reportable codes."
    built = new if new.basis else old
    return (f"Instructional notes are not compared: FY{built.fiscal_year} is built from its addenda, with the "
            f"notes of FY{int(built.fiscal_year) - 1}.")


def render_md(d: Diff, versions: VersionSet, check: CrossCheck | None = None, by_chapter: bool = True) -> str:
    """Headed sections with counts, then the cross-check against the addenda when there is one."""
    old, new = versions.get(d.old), versions.get(d.new)
    counts = d.counts()
    lines = [f"# ICD-10-CM changes FY{d.old} → FY{d.new}{_scope(d)}", "",
             f"- From: {old.description}", f"- To: {new.description}", "",
             "| change | count |", "| --- | ---: |"]
    lines += [f"| {SECTION_TITLES[k]} | {v} |" for k, v in counts.items()]
    lines.append("")
    lines.append("Codes made unreportable by an expansion are listed under *Codes that became headers* and also "
                 "counted as deleted. Codes include every 7th-character form.")
    if not d.notes_compared:
        lines.append(_not_compared(old, new))
    if by_chapter and not d.prefix and not d.chapter and not d.empty:
        lines += ["", "## By chapter", "", "| chapter | added | deleted | revised | became headers | notes |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for ch, part in d.by_chapter().items():
            c = part.counts()
            lines.append(f"| {ch} | {c['added']} | {c['deleted']} | {c['revised']} | {c['became_header']} | "
                         f"{c['notes_changed']} |")
    lines += ["", f"## {SECTION_TITLES['added']} ({counts['added']})", ""]
    lines += [f"- `{a.code}` {a.title}" for a in d.added] or ["None."]
    lines += ["", f"## {SECTION_TITLES['deleted']} ({counts['deleted']})", ""]
    expanded = {c: e.code for e in d.became_header for c in e.no_longer_reportable}
    lines += [f"- `{x.code}` {x.title}" + (f" — {expanded[x.code]} became a header" if x.code in expanded else "")
              for x in d.deleted] or ["None."]
    lines += ["", f"## {SECTION_TITLES['revised']} ({counts['revised']})", ""]
    lines += [f"- `{r.code}`{' (header)' if r.header else ''}: “{r.old_title}” → “{r.new_title}”"
              for r in d.revised] or ["None."]
    lines += ["", f"## {SECTION_TITLES['became_header']} ({counts['became_header']})", ""]
    lines += [f"- `{e.code}` {e.title} — no longer reportable: {', '.join(e.no_longer_reportable)}; "
              f"report one of: {', '.join(e.now_reportable)}" for e in d.became_header] or ["None."]
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
        lines += ["", f"## Cross-check against the official addenda ({Path(check.addenda_path).name})", "", "```",
                  *check.lines(), "```"]
    return "\n".join(lines) + "\n"


CSV_FIELDS = ("change", "code", "title", "old_title", "new_title", "kind", "related", "chapter")


def render_csv(d: Diff) -> str:
    """One row per change; a note change is one row per note added or removed."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for a in d.added:
        w.writerow({"change": "added", "code": a.code, "title": a.title, "chapter": a.chapter or ""})
    for x in d.deleted:
        w.writerow({"change": "deleted", "code": x.code, "title": x.title, "chapter": x.chapter or ""})
    for r in d.revised:
        w.writerow({"change": "revised", "code": r.code, "old_title": r.old_title, "new_title": r.new_title,
                    "kind": "header" if r.header else "code", "chapter": r.chapter or ""})
    for e in d.became_header:
        w.writerow({"change": "became_header", "code": e.code, "title": e.title,
                    "related": " ".join(e.no_longer_reportable), "chapter": e.chapter or ""})
    for n in d.notes_changed:
        for text in n.added:
            w.writerow({"change": "note_added", "code": n.code, "title": text, "kind": n.kind,
                        "chapter": n.chapter or ""})
        for text in n.removed:
            w.writerow({"change": "note_removed", "code": n.code, "title": text, "kind": n.kind,
                        "chapter": n.chapter or ""})
    return buf.getvalue()


def render_json(d: Diff, check: CrossCheck | None = None) -> str:
    data = d.to_json()
    if check is not None:
        data["cross_check"] = check.to_json()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---- the command ------------------------------------------------------------------------------------
changes_app = typer.Typer(help="What changed in ICD-10-CM between two fiscal years.", add_completion=False,
                          no_args_is_help=False)


def changes_command(
    ctx: typer.Context,
    from_year: str = typer.Option(None, "--from", help="Older fiscal year (default: the year before --to)."),
    to_year: str = typer.Option(None, "--to", help="Newer fiscal year (default: CODEDESK_FISCAL_YEAR)."),
    prefix: str = typer.Option(None, "--prefix", help="Only codes starting with this (N18, E11.A, S30.1)."),
    chapter: str = typer.Option(None, "--chapter", help="Only this chapter, by number (4 = E00-E89)."),
    fmt: str = typer.Option("md", "--format", "-f", help="md (sections with counts), csv (a row per change) or json."),
    check: bool = typer.Option(None, "--check/--no-check",
                               help="Cross-check against the official addenda when the file exists "
                                    "(default: on for md, off for json and csv)."),
) -> None:
    """List added, deleted and revised codes, codes that became headers and changed notes."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    fmt = (fmt or "md").lower()
    if fmt not in ("md", "csv", "json"):
        raise typer.BadParameter(f"'{fmt}' is not a format: use md, csv or json", param_hint="--format")
    if prefix and chapter:
        raise typer.BadParameter("give either --prefix or --chapter, not both", param_hint="--prefix")
    try:
        if prefix:
            prefix = parse_prefix(prefix)  # before loading anything: a typo fails fast
        versions = VersionSet.load(settings)
        new = versions.get(to_year or settings.fiscal_year).fiscal_year
        old = versions.get(from_year or str(int(new) - 1)).fiscal_year
        if int(old) >= int(new):
            raise VersionError(f"--from FY{old} must be older than --to FY{new}.")
        d = versions.diff(old, new, prefix=prefix, chapter=chapter)
        want_check = check if check is not None else fmt == "md"
        cc = versions.cross_check(d) if want_check else None
    except (CodeDeskError, ValueError) as err:
        typer.echo(f"codedesk changes: {err}", err=True)
        raise typer.Exit(2) from None
    if fmt == "json":
        typer.echo(render_json(d, cc), nl=False)
    elif fmt == "csv":
        typer.echo(render_csv(d), nl=False)
    else:
        typer.echo(render_md(d, versions, cc), nl=False)


changes_app.callback(invoke_without_command=True)(changes_command)


# ---- answers ----------------------------------------------------------------------------------------
@dataclass
class ChangeAnswer:
    text: str  # markdown, in a coder's words
    items: list[CodeItem] = field(default_factory=list)  # only codes valid in `fiscal_year`
    citations: list[Citation] = field(default_factory=list)
    fiscal_year: str | None = None  # the year the answer applies to
    kind: str = ""  # changes | validity | since | replacement | deleted
    confidence: str = "high"  # "low" when nothing could be established (year not loaded, topic not understood)


# Strong words ask for a successor whatever the code; weak ones ("use E11.65 instead of E11.9?") only when a
# code named is not valid in the year asked about — otherwise it is a coding question for the chain.
_REPLACE = re.compile(r"\b(?:what|which codes?) (?:replaced?|replaces)\b|\b(?:was|is|been|got) replaced\b|"
                      rf"\breplaced (?:by|with)\b|\breplacement (?:code )?(?:for|of) {PROSE_START}|\bsuccessor\b|"
                      r"\bno longer (?:valid|reportable|billable)\b|\bwhat (?:became of|happened to)\b", re.I)
_REPLACE_WEAK = re.compile(r"\binstead of\b|\buse now\b|\bnow use\b|\bin place of\b|"
                           r"\bwhat (?:do|should|can|would) (?:i|we) (?:now |then )?use\b", re.I)
# "change in mental status" is a diagnosis, not a change question: the patterns want change *of codes*.
_CHANGES = re.compile(
    r"\bwhat(?:'s|s| is| has| have|)\s+(?:changed|new)\b"
    r"|\b(?:code|coding|icd-?10(?:-cm)?)\s+(?:set\s+)?(?:changes|updates|revisions)\b"
    r"|\b(?:any|the|yearly|annual|october|april|fy\s*20\d\d|20\d\d)\s+(?:code\s+)?(?:changes|updates)\b"
    r"|\bchanges?\s+(?:to|in|for|from|between)\s+(?:the\s+)?"
    rf"(?:{PROSE_START}|codes?\b|chapter|fy|20\d\d|category|this|last)"
    r"|\bchanged?\s+(?:this|last|in)\s+(?:fiscal\s+)?(?:year|fy|20\d\d)"
    r"|\b(?:did|has|have)\s+(?:anything|something|\S*\d\S*|(?:the|this|that) codes?)\s+(?:\w+\s+)?changed?\b"
    r"|\b(?:new|added|deleted|revised|expanded|retired) codes\b|\baddenda\b"
    r"|\bwhat codes (?:were|are|got) (?:new|added|deleted|revised|expanded)\b", re.I)
_DELETED = re.compile(r"\b(?:deleted|removed|retired|discontinued|terminated|expired|deactivated|invalidated)\b", re.I)
_VALID = re.compile(r"\b(?:valid|invalid|still (?:good|ok|okay|usable|active|billable|reportable|around)|effective|"
                    r"in effect|when (?:was|did|does|is)|can (?:i|we) still (?:use|code|bill|report)|"
                    r"does \S+ (?:still )?exist|new code|new in (?:fy|20\d\d)|"
                    r"(?:is|was) (?:it|\S*\d\S*) (?:a )?new|was \S+ (?:added|introduced|created))\b", re.I)
# "is E11.9 a valid principal diagnosis?" is about sequencing, not the code set — unless a date or year is named.
_NOT_VERSION = re.compile(r"\b(?:principal|primary|first[- ]listed|secondary|sequenc\w*|together|combination|along)\b",
                          re.I)
_TIME = re.compile(r"\b(?:still|anymore|any more|currently|now|yet|this year|last year|when|since|until|today)\b", re.I)
_VALID_DATED = re.compile(r"\b(?:billable|reportable|use|used|usable|ok|okay|allowed|acceptable|accepted)\b", re.I)
_PAIR = re.compile(r"\b(?:fy\s*)?(20\d\d)\s*(?:to|->|→|vs\.?|versus|and|-)\s*(?:fy\s*)?(20\d\d)\b", re.I)
_CHAPTER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)
_LAST_YEAR = re.compile(r"\b(?:last|previous|prior) (?:fiscal )?year\b", re.I)
# Words of a change question that name no topic.
_CHANGE_WORDS = frozenset(stem(w) for w in """changed change changes new newly what whats anything any codes code year
years fiscal fy this last previous prior current now update updates updated added add deleted delete deletion
deletions revised revision revisions retired expanded expansion different difference differences addenda list
show tell me october april all category categories chapter were been since 2023 2024 2025 2026 2027 latest recent
recently happened happen s t""".split())


def answer_changes(question: str, parsed: ParsedQuestion, versions: VersionSet,
                   default_year: str) -> ChangeAnswer | None:
    """An answer about code changes or validity by year/date of service, or None when the question
    is about neither (the retrieval chain then answers it)."""
    text = question or parsed.text
    mentions = [m for m in parsed.mentions if m.first]
    dos = parsed.date_of_service
    named_year = parsed.fiscal_year
    target = _target(versions, named_year, dos, default_year) if mentions else None
    invalid = [m for m in mentions if isinstance(target, str) or not target.status(m.first).reportable]
    if mentions and (_REPLACE.search(text) or (_REPLACE_WEAK.search(text) and invalid)):
        return _code_answer(invalid or mentions, versions, target, dos, "replacement", text)
    if _CHANGES.search(text) and not (mentions and _DELETED.search(text) and not re.search(r"\bcodes\b", text, re.I)):
        return _changes_answer(text, parsed, versions, default_year)
    if mentions and _DELETED.search(text):
        return _code_answer(mentions, versions, target, dos, "deleted", text)
    dated = bool(dos or named_year or _TIME.search(text))
    if mentions and (_VALID.search(text) or (dated and _VALID_DATED.search(text))):
        if not dated and _NOT_VERSION.search(text) and not invalid:
            return None
        kind = "since" if re.search(r"\bwhen\b", text, re.I) and dos is None else "validity"
        return _code_answer(mentions, versions, target, dos, kind, text)
    return None


def _target(versions: VersionSet, named_year: str | None, dos: date | None, default_year: str) -> Version | str:
    """The version an answer applies to, or the fiscal year asked for when it is not loaded."""
    if dos is not None:
        v = versions.version_for(dos)
        return v if v is not None else str(dos.year + 1 if dos.month >= 10 else dos.year)
    fy = named_year or default_year
    return versions.versions.get(fy) or fy


def _not_loaded(fy: str, versions: VersionSet, dos: date | None, kind: str) -> ChangeAnswer:
    when = f"a date of service of {day_text(dos)} (FY{fy})" if dos else f"FY{fy}"
    return ChangeAnswer(f"I have no ICD-10-CM code set for {when} loaded, so I cannot say which codes are valid "
                        f"then. Loaded: {versions.loaded_text} "
                        f"({', '.join(f'FY{v.fiscal_year} {v.effective_text}' for v in versions.versions.values())}). "
                        f"Ask about one of those years, or {fetch_hint(fy)[0].lower()}{fetch_hint(fy)[1:]}",
                        [], [], fy, kind, "low")


# ---- one code across the years ----------------------------------------------------------------------
def _item(version: Version, code: str, note: str | None = None) -> CodeItem:
    title = version.reportable.get(code, "")
    seventh = len(plain(code)) == 7
    if version.book is not None:
        info = version.book.lookup(code)
        seventh = bool(info.base)
    return CodeItem(code=code, description=title, billable=True, needs_seventh=seventh, note=note)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _state_word(st: CodeStatus) -> str:
    if st.reportable:
        return "reportable"
    if st.header:
        return "not reportable as written (a header, or needs more characters)"
    return "not in the code set"


def _code_answer(mentions: list, versions: VersionSet, target: Version | str | None, dos: date | None,
                 kind: str, question: str = "") -> ChangeAnswer:
    if target is None or isinstance(target, str):
        return _not_loaded(str(target), versions, dos, kind)
    parts, items, cites = [], [], []
    for m in mentions[:5]:
        text, its, cs = _one_code(normalize_code(m.first), versions, target, dos, kind, question)
        parts.append(text)
        items.extend(its)
        cites.extend(cs)
    allowed = set(target.reportable)
    if dos is not None and target.update_date and dos < target.update_date:
        allowed -= versions.april_additions(target.fiscal_year)
    items = [i for i in _dedupe_items(items) if i.code in allowed][:MAX_ITEMS]  # never an invalid code
    return ChangeAnswer("\n\n".join(parts), items, _dedupe_cites(cites), target.fiscal_year, kind)


def _one_code(code: str, versions: VersionSet, target: Version, dos: date | None,
              kind: str, question: str = "") -> tuple[str, list[CodeItem], list[Citation]]:
    fy = target.fiscal_year
    when = f"a date of service of {day_text(dos)}" if dos else f"FY{fy}"
    span = f"FY{fy} ({target.effective_text})"
    timeline = [(v, v.status(code)) for v in versions.versions.values()]
    st = target.status(code)
    code = st.code
    if dos is not None:
        valid, _, reason = versions.valid_on(code, dos)
    else:
        valid, reason = st.reportable, st.reason
    earlier = [v for v, s in timeline if s.reportable and v.fiscal_year < fy]
    later = [v for v, s in timeline if s.reportable and v.fiscal_year > fy]
    items: list[CodeItem] = []
    cites: list[Citation] = []
    lines: list[str] = []

    if valid:
        cites.append(target.citation(code, f"{code} {st.title}"))
        first = next(v for v, s in timeline if s.reportable)
        since = (f"It is new in FY{first.fiscal_year} (valid from {day_text(first.start)})."
                 if first.fiscal_year == fy and versions.previous(fy) is not None
                 else f"It is in every loaded code set from FY{first.fiscal_year} to FY{fy}."
                 if all(s.reportable for v, s in timeline if first.fiscal_year <= v.fiscal_year <= fy) else "")
        oldest = next(iter(versions.versions.values()))
        lead = {"validity": f"**Yes — {code} is valid for {when}.**",
                "since": (f"**{code} has been valid since at least FY{first.fiscal_year} ({day_text(first.start)}), "
                          "the oldest code set loaded.**" if first is oldest else
                          f"**{code} became valid on {day_text(first.start)} (FY{first.fiscal_year}).**"),
                "deleted": f"**No — {code} has not been deleted: it is valid in {span}.**",
                "replacement": f"**{code} is still valid in {span}: keep using it; nothing replaces it.**"}[kind]
        lines.append(lead)
        lines.append(f"{code} — {st.title} (reportable, {target.title}, effective {target.effective_text}). "
                     f"{since}".strip())
        items.append(_item(target, code, f"valid in FY{fy}"))
        after = [v for v, s in timeline if v.fiscal_year > fy and not s.reportable]
        if after:
            lines.append(f"Note: it is no longer valid from FY{after[0].fiscal_year} ({day_text(after[0].start)}).")
        cites.extend(_addenda_cites(versions, code))
    else:
        gone_from = None  # the first version after the last one where it was reportable
        if earlier:
            last = earlier[-1]
            gone_from = next((v for v, s in timeline if v.fiscal_year > last.fiscal_year and not s.reportable), None)
        if kind in ("validity", "since"):
            lines.append(f"**No — {code} is not valid for {when}.**")
            if dos is not None:
                lines.append(f"That date falls in {span}, the {target.title} ({target.file_name}). "
                             f"{_sentence(reason)}")
            else:
                lines.append(f"In the {target.title} ({target.file_name}, effective {target.effective_text}): "
                             f"{_sentence(reason)}")
        elif kind == "deleted":
            if gone_from is not None:
                lines.append(f"**Yes — {code} was deleted: it is not valid from {day_text(gone_from.start)} "
                             f"(FY{gone_from.fiscal_year}).**")
            elif later:
                lines.append(f"**No — {code} was not deleted: it is a new code, first valid in "
                             f"FY{later[0].fiscal_year} "
                             f"(from {day_text(later[0].start)}).** It is not valid in {span}.")
            else:
                lines.append(f"**{code} is not a reportable code in any loaded code set** ({versions.loaded_text}): "
                             f"{_sentence(reason)}")
        else:
            lines.append(f"**{code} is not valid in {span}.** {_sentence(reason)}")
        if earlier:
            last = earlier[-1]
            old_title = last.reportable.get(code, "")
            lines.append(f"{code} — {old_title} was valid through FY{last.fiscal_year} (until {day_text(last.end)}).")
            cites.append(last.citation(code, f"{code} {old_title}"))
            base = gone_from.expansion_base(code, last) if gone_from is not None else None
            if base is not None:
                options = by_words(target, _replacements(target, code, base), question)
                expanded_at = f"From {day_text(gone_from.start)} (FY{gone_from.fiscal_year}) {base} was expanded: " \
                              f"it is now a header ({target.status(base).title or gone_from.status(base).title})"
                if options:
                    lines.append(f"{expanded_at}, so {code} is no longer reportable. Report the code that matches "
                                 f"the documentation (FY{fy}):")
                    lines += [f"- **{c}** — {target.reportable[c]}" for c in options[:MAX_LINES]]
                    if len(options) > MAX_LINES:
                        lines.append(f"- … {len(options) - MAX_LINES} more under {base}")
                    items += [_item(target, c, f"under {base}, which replaced {code} in FY{gone_from.fiscal_year}")
                              for c in options]
                    node_quote = f"{base} {target.status(base).title}: " + ", ".join(options[:6])
                    cites.append(target.citation(base, node_quote))
                else:
                    lines.append(f"{expanded_at}; FY{fy} has no reportable code under it.")
            elif gone_from is not None:
                lines.append(f"It was deleted from FY{gone_from.fiscal_year} ({day_text(gone_from.start)}). The code "
                             "books list no code that takes its place: look the condition up in the Alphabetic Index "
                             f"for FY{fy} and verify in the Tabular List.")
            cites.extend(_addenda_cites(versions, code))
            if base is not None:
                for c in _replacements(target, code, base)[:3]:
                    cites.extend(_addenda_cites(versions, c))
        elif later:
            first = later[0]
            lines.append(f"{code} — {first.reportable[code]} is new in FY{first.fiscal_year}: valid for dates of "
                         f"service from {day_text(first.start)} ({first.title}, effective {first.effective_text}).")
            if kind == "validity" and dos is not None:
                lines.append(f"For {day_text(dos)} code from the FY{fy} code set.")
            cites.append(first.citation(code, f"{code} {first.reportable[code]}"))
            cites.extend(_addenda_cites(versions, code))
        elif st.header:
            under = target.reportable_under(code)
            lines.append(f"{code} is not reportable as written in FY{fy}; its reportable codes:")
            lines += [f"- **{c}** — {target.reportable.get(c, '')}" for c in under[:MAX_LINES]]
            if len(under) > MAX_LINES:
                lines.append(f"- … {len(under) - MAX_LINES} more")
            items += [_item(target, c, f"under {code}") for c in under if c in target.reportable]
        if st.title or not any(c.title == target.title for c in cites):
            cites.append(target.citation(code, f"{code} {st.title}" if st.title else None))
    history = "; ".join(f"FY{v.fiscal_year} {_state_word(s)}" for v, s in timeline)
    lines += ["", f"_In the loaded code sets: {history}._"]  # a paragraph of its own, not the list's last item
    return "\n".join(lines), items, cites


def by_words(version: Version, codes: list[str], question: str) -> list[str]:
    """Codes in the order their titles say the question's words (ties keep their order): the
    heterozygous form first for "heterozygous familial hypercholesterolemia"."""
    want = set(tokens(question))
    if not want:
        return list(codes)
    said = {c: len(want & set(tokens(version.reportable.get(c, "")))) for c in codes}
    return sorted(codes, key=lambda c: -said[c])


def _same_seventh(codes: list[str], like: str) -> list[str]:
    """For a 7th-character code, those of `codes` with the same 7th character (S30.1XXA ->
    S30.11XA, S30.12XA, S30.13XA); otherwise all of them."""
    p = plain(like)
    if len(p) == 7:
        same = [c for c in codes if len(plain(c)) == 7 and plain(c)[-1] == p[-1]]
        if same:
            return same
    return list(codes)


def _replacements(target: Version, code: str, base: str) -> list[str]:
    """The reportable codes of `target` under the expanded `base`; for a 7th-character code, those
    with the same 7th character (S30.1XXA -> S30.11XA, S30.12XA, S30.13XA)."""
    if not target.is_header(base) and target.book is not None:
        return []
    return _same_seventh(target.reportable_under(base), code)


# ---- what changed -----------------------------------------------------------------------------------
def _pair(text: str, parsed: ParsedQuestion, default_year: str) -> tuple[str, str]:
    m = _PAIR.search(text)
    if m and m.group(1) != m.group(2):
        a, b = sorted((m.group(1), m.group(2)))
        return a, b
    if parsed.fiscal_year:
        return str(int(parsed.fiscal_year) - 1), parsed.fiscal_year
    new = str(int(default_year) - 1) if _LAST_YEAR.search(text) else default_year
    return str(int(new) - 1), new


@lru_cache(maxsize=4)
def _header_tokens(version: Version) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """{category|subcategory: [(code, title tokens)]} of a full book, computed once per version."""
    out: dict[str, list[tuple[str, frozenset[str]]]] = {"category": [], "subcategory": []}
    assert version.book is not None
    for code, node in version.book.nodes.items():
        if node.kind in out:
            out[node.kind].append((code, frozenset(tokens(node.title))))
    return out


def _topic(text: str, versions: VersionSet, new: Version, old: Version) -> tuple[list[str], str]:
    """Categories a change question names in words ("CKD codes" -> N18), and the words read."""
    text = _PAIR.sub(" ", text)
    topic = [t for t in tokens(text) if t not in _CHANGE_WORDS and not t.isdigit()]
    if not topic:
        return [], ""
    want = set(topic)
    words = " ".join(w for w in re.findall(r"[A-Za-z0-9'-]+", text) if set(tokens(w)) & want)
    version = new if new.book is not None else old
    if version.book is None:
        return [], words
    scored: list[tuple[int, str]] = []
    for level in ("category", "subcategory"):
        scored = [(len(have - want), code) for code, have in _header_tokens(version)[level] if want <= have]
        if scored:
            break
    if not scored:
        return [], words
    scored.sort()
    best = [c for s, c in scored if s == scored[0][0]] if scored[0][0] == 0 else [c for _, c in scored]
    return best[:5], words


def _changes_answer(text: str, parsed: ParsedQuestion, versions: VersionSet, default_year: str) -> ChangeAnswer:
    old_fy, new_fy = _pair(text, parsed, default_year)
    missing = [fy for fy in (old_fy, new_fy) if fy not in versions.versions]
    if missing:
        return ChangeAnswer(f"I cannot compare FY{old_fy} with FY{new_fy}: no code set for "
                            f"{' or '.join('FY' + m for m in missing)} is loaded (loaded: {versions.loaded_text}). "
                            "Ask about changes between loaded years, e.g. "
                            f"“what changed in N18 in FY{list(versions.versions)[-1]}?”", [], [], new_fy, "changes",
                            "low")
    old, new = versions.get(old_fy), versions.get(new_fy)
    full = versions.diff(old, new)
    scopes: list[tuple[str, Diff]] = []  # (label, diff); a diff with prefix/chapter set is cross-checked alike
    chapter = _CHAPTER.search(text)
    mentions = [m for m in parsed.mentions if m.first]
    read_as = ""
    if chapter:
        ch = chapter.group(1)
        if ch not in versions.chapters():
            return ChangeAnswer(f"There is no chapter {ch} in ICD-10-CM: chapters are numbered 1 to "
                                f"{versions.chapters()[-1]}.", [], [], new_fy, "changes", "low")
        scopes.append((f"chapter {ch}", versions.diff(old, new, chapter=ch)))
    elif mentions:
        for m in mentions[:3]:
            first = normalize_code(m.first)
            if m.last:
                lo, hi = plain(first)[:3], plain(normalize_code(m.last))[:3]
                scopes.append((f"{first}-{normalize_code(m.last)}",
                               full.filtered(lambda c, _ch, lo=lo, hi=hi: lo <= plain(c)[:3] <= hi)))
                continue
            try:
                part = versions.diff(old, new, prefix=first)
            except VersionError as err:
                return ChangeAnswer(str(err), [], [], new_fy, "changes", "low")
            title = new.status(part.prefix or first).title or old.status(part.prefix or first).title
            scopes.append((f"{part.prefix} ({title})" if title else str(part.prefix), part))
    else:
        cats, words = _topic(text, versions, new, old)
        if words and not cats:
            return ChangeAnswer(f"I could not tell which codes “{words}” means. Name a category or code "
                                f"(“what changed in N18?”) or a chapter (“what changed in chapter 4?”).",
                                [], [], new_fy, "changes", "low")
        for cat in cats:
            title = new.status(cat).title or old.status(cat).title
            scopes.append((f"{cat} ({title})", versions.diff(old, new, prefix=cat)))
        if cats:
            matched_in = new.fiscal_year if new.full else old.fiscal_year
            read_as = (f"I took “{words}” to mean {', '.join(cats)} (matched in the FY{matched_in} "
                       "Tabular List titles); name a code or category to narrow it.")
        else:
            scopes.append(("all codes", full))
    return _render_changes(scopes, old, new, versions, read_as, full, text, mentions)


def _render_changes(scopes: list[tuple[str, Diff]], old: Version, new: Version, versions: VersionSet,
                    read_as: str, full: Diff, question: str = "", mentions: list | None = None) -> ChangeAnswer:
    fy = new.fiscal_year
    lines = [f"**ICD-10-CM changes FY{old.fiscal_year} → FY{fy}**, effective {day_text(new.start)} "
             f"(FY{fy}: {new.effective_text})."]
    if read_as:
        lines.append(read_as)
    items: list[CodeItem] = []
    cites: list[Citation] = []
    addenda = versions.addenda(fy) if int(fy) == int(old.fiscal_year) + 1 else None
    april = versions.april_additions(fy) if new.update_date else frozenset()
    for label, d in scopes:
        c = d.counts()
        lines.append("")
        if d.empty:
            notes = " and its instructional notes did not change" if d.notes_compared else ""
            lines.append(f"**{label}:** no code was added, deleted or retitled{notes}.")
            node = new.status(label.split(" ")[0])
            if node.exists:
                cites.append(new.citation(node.code, f"{node.code} {node.title}"))
            continue
        lines.append(f"**{label}:** {c['added']} added, {c['deleted']} deleted, {c['revised']} revised titles, "
                     f"{c['became_header']} codes became headers"
                     + (f", {c['notes_changed']} note changes." if d.notes_compared else "."))
        if d.added:
            lines.append(f"New codes — valid for dates of service from {day_text(new.start)}:")
            lines += [f"- **{a.code}** — {a.title}" + (f" (April update: valid from {day_text(new.update_date)})"
                                                      if a.code in april and new.update_date else "")
                      for a in d.added[:MAX_LINES]]
            if len(d.added) > MAX_LINES:
                lines.append(f"- … {len(d.added) - MAX_LINES} more")
            items += [_item(new, a.code, f"new in FY{fy}") for a in d.added]
            cites += [new.citation(a.code, f"{a.code} {a.title}") for a in d.added[:3]]
        if d.became_header:
            lines.append(f"Codes that became headers — the old codes are **not valid** from {day_text(new.start)}:")
            for e in d.became_header[:MAX_LINES]:
                lines.append(f"- {e.code} {e.title}: {', '.join(e.no_longer_reportable)} no longer reportable; "
                             f"now {', '.join(e.now_reportable[:8])}{' …' if len(e.now_reportable) > 8 else ''}")
                cites.append(new.citation(e.code, f"{e.code} {e.title}: " + ", ".join(e.now_reportable[:6])))
            # the codes to report now, the one the question describes first (same 7th character as
            # the old code it names: S30.1XXA -> S30.11XA)
            named = [normalize_code(m.first) for m in mentions or []]
            for e in d.became_header:
                like = next((c for c in named if c in e.no_longer_reportable), "")
                ranked = by_words(new, _same_seventh(e.now_reportable, like), question)
                if like and ranked:
                    lines.append("")
                    lines.append(f"In place of {like}, the FY{fy} code that matches your question's words: "
                                 f"**{ranked[0]}** — {new.reportable[ranked[0]]}"
                                 + (f" (or {', '.join(ranked[1:4])}, as documented)." if ranked[1:] else "."))
                items += [_item(new, code, f"under {e.code}, expanded in FY{fy}") for code in ranked]
        plain_deleted = [x for x in d.deleted if not any(x.code in e.no_longer_reportable for e in d.became_header)]
        if plain_deleted:
            lines.append(f"Deleted — **not valid** from {day_text(new.start)}:")
            lines += [f"- {x.code} — {x.title}" for x in plain_deleted[:MAX_LINES]]
            cites += [old.citation(x.code, f"{x.code} {x.title}") for x in plain_deleted[:2]]
        if d.revised:
            lines.append("Revised titles:")
            lines += [f"- **{r.code}**{' (header)' if r.header else ''}: “{r.old_title}” → “{r.new_title}”"
                      for r in d.revised[:MAX_LINES]]
            if len(d.revised) > MAX_LINES:
                lines.append(f"- … {len(d.revised) - MAX_LINES} more")
            items += [_item(new, r.code, f"title revised in FY{fy}") for r in d.revised if r.code in new.reportable]
            cites += [new.citation(r.code, f"{r.code} {r.new_title}") for r in d.revised[:2]]
        if d.notes_changed:
            lines.append("Instructional notes changed:")
            for n in d.notes_changed[:MAX_LINES]:
                parts = [f"added “{t}”" for t in n.added] + [f"removed “{t}”" for t in n.removed]
                lines.append(f"- {n.code} {NOTE_KIND_LABELS.get(n.kind, n.kind)}: " + "; ".join(parts))
            if len(d.notes_changed) > MAX_LINES:
                lines.append(f"- … {len(d.notes_changed) - MAX_LINES} more")
        if addenda is not None:
            for code in [x.code for x in (*d.added[:2], *d.deleted[:1], *d.revised[:1])]:
                cites += _addenda_cites(versions, code, years=[fy])
        scope = f" --prefix {d.prefix}" if d.prefix else f" --chapter {d.chapter}" if d.chapter else ""
        if sum(c.values()) > MAX_LINES:
            lines.append(f"Full list: `codedesk changes --from {old.fiscal_year} --to {fy}{scope}`.")
    how = (f"Compared code by code: the {old.title} ({old.file_name}) and the {new.title} ({new.file_name}).")
    if addenda is not None:
        checks = [versions.cross_check(d) for _, d in scopes if d.prefix or d.chapter or d is full]
        checks = [cc for cc in checks if cc is not None]
        if checks and len(checks) == len(scopes):
            bad = sum(len(cc.disagreements) for cc in checks)
            name = Path(checks[0].addenda_path).name
            how += (f" The official addenda ({name}) list the same changes." if not bad else
                    f" The official addenda ({name}) differ on {bad} change(s): run "
                    f"`codedesk changes --from {old.fiscal_year} --to {fy}` for the cross-check.")
    lines += ["", f"_{how}_"]
    allowed = set(new.reportable)
    items = [i for i in _dedupe_items(items) if i.code in allowed][:MAX_ITEMS]
    if not cites:
        cites.append(new.citation(None, None))
    return ChangeAnswer("\n".join(lines), items, _dedupe_cites(cites), fy, "changes")


# ---- citations --------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _file_lines(path: str) -> tuple[str, ...]:
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return tuple(text.splitlines())


def _addenda_quote(path: str, change: CodeChange) -> str:
    """The change's own line(s) of the addenda file ("Revise from" and "Revise to" for a revision)."""
    try:
        lines = _file_lines(path)
    except OSError:
        lines = ()
    first = change.line - (2 if change.action == "revise" else 1)
    if change.line < 1 or first < 0 or change.line > len(lines):  # not read from a file: rebuild its words
        if change.action == "revise":
            return f"Revise from: {change.code} {change.old_title} / Revise to: {change.code} {change.title}"
        return f"{change.action.capitalize()}: {change.code} {change.title}"
    return " / ".join(" ".join(x.split()) for x in lines[first:change.line])


def _addenda_cites(versions: VersionSet, code: str, years: list[str] | None = None) -> list[Citation]:
    """The addenda lines that list a code (adds, deletes, revisions), for every loaded addenda file."""
    out = []
    for fy in years or list(versions.addenda_paths):
        addenda = versions.addenda(fy)
        if addenda is None:
            continue
        for change in addenda.changes:
            if change.code == code and not change.header:
                out.append(Citation(source_type="addenda", title=versions.addenda_title(fy), code=code,
                                    fiscal_year=fy, section=change.action, quote=_addenda_quote(addenda.path, change)))
    return out


def _dedupe_items(items: list[CodeItem]) -> list[CodeItem]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it.code not in seen:
            seen.add(it.code)
            out.append(it)
    return out


def _dedupe_cites(cites: list[Citation]) -> list[Citation]:
    seen: set[tuple] = set()
    out = []
    for c in cites:
        key = (c.source_type, c.title, c.code, c.section if c.source_type == "addenda" else None)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out[:12]
