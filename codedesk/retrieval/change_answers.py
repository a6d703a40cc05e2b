"""Answering change questions: which kind a question is, and "what changed" between two years.

`answer_changes` reads a question ("what changed in N18 this year?", "is E11.A valid for DOS
2024-06-01?", "what do I use now instead of S30.1XXA?", "was X deleted?") and answers it from the
loaded versions and addenda, or returns None when it is about neither changes nor validity.
Questions about one code go to `codedesk.retrieval.code_answers`; "what changed" questions are
answered here: the pair of years, the codes, chapter or words ("CKD codes" -> N18) asked about, and
the changes with the codes valid now.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from codedesk.cms.codebook import normalize_code
from codedesk.codes import PROSE_START
from codedesk.retrieval.code_answers import (
    MAX_ITEMS,
    MAX_LINES,
    ChangeAnswer,
    _addenda_cites,
    _code_answer,
    _dedupe_cites,
    _dedupe_items,
    _item,
    _same_seventh,
    by_words,
)
from codedesk.retrieval.diff_render import NOTE_KIND_LABELS
from codedesk.retrieval.query import ParsedQuestion
from codedesk.retrieval.schema import Citation, CodeItem
from codedesk.retrieval.text import stem, tokens
from codedesk.retrieval.versions import Diff, Version, VersionError, VersionSet, day_text, plain

# Strong words ask for a successor whatever the code; weak ones ("use E11.65 instead of E11.9?") only when a
# code named is not valid in the year asked about — otherwise it is a coding question for the chain.
_REPLACE = re.compile(
    r"\b(?:what|which codes?) (?:replaced?|replaces)\b|\b(?:was|is|been|got) replaced\b|"
    rf"\breplaced (?:by|with)\b|\breplacement (?:code )?(?:for|of) {PROSE_START}|\bsuccessor\b|"
    r"\bno longer (?:valid|reportable|billable)\b|\bwhat (?:became of|happened to)\b",
    re.I,
)
_REPLACE_WEAK = re.compile(
    r"\binstead of\b|\buse now\b|\bnow use\b|\bin place of\b|"
    r"\bwhat (?:do|should|can|would) (?:i|we) (?:now |then )?use\b",
    re.I,
)
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
    r"|\bwhat codes (?:were|are|got) (?:new|added|deleted|revised|expanded)\b",
    re.I,
)
_DELETED = re.compile(
    r"\b(?:deleted|removed|retired|discontinued|terminated|expired|deactivated|invalidated)\b", re.I
)
_VALID = re.compile(
    r"\b(?:valid|invalid|still (?:good|ok|okay|usable|active|billable|reportable|around)|effective|"
    r"in effect|when (?:was|did|does|is)|can (?:i|we) still (?:use|code|bill|report)|"
    r"does \S+ (?:still )?exist|new code|new in (?:fy|20\d\d)|"
    r"(?:is|was) (?:it|\S*\d\S*) (?:a )?new|was \S+ (?:added|introduced|created))\b",
    re.I,
)
# "is E11.9 a valid principal diagnosis?" is about sequencing, not the code set — unless a date or year is named.
_NOT_VERSION = re.compile(
    r"\b(?:principal|primary|first[- ]listed|secondary|sequenc\w*|together|combination|along)\b",
    re.I,
)
_TIME = re.compile(
    r"\b(?:still|anymore|any more|currently|now|yet|this year|last year|when|since|until|today)\b",
    re.I,
)
_VALID_DATED = re.compile(
    r"\b(?:billable|reportable|use|used|usable|ok|okay|allowed|acceptable|accepted)\b", re.I
)
_PAIR = re.compile(
    r"\b(?:fy\s*)?(20\d\d)\s*(?:to|->|→|vs\.?|versus|and|-)\s*(?:fy\s*)?(20\d\d)\b", re.I
)
_CHAPTER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)
_LAST_YEAR = re.compile(r"\b(?:last|previous|prior) (?:fiscal )?year\b", re.I)
# Words of a change question that name no topic.
_CHANGE_WORDS = frozenset(
    stem(w)
    for w in """changed change changes new newly what whats anything any codes code year
years fiscal fy this last previous prior current now update updates updated added add deleted delete deletion
deletions revised revision revisions retired expanded expansion different difference differences addenda list
show tell me october april all category categories chapter were been since 2023 2024 2025 2026 2027 latest recent
recently happened happen s t""".split()
)


def answer_changes(
    question: str, parsed: ParsedQuestion, versions: VersionSet, default_year: str
) -> ChangeAnswer | None:
    """An answer about code changes or validity by year/date of service, or None when the question
    is about neither (the retrieval chain then answers it)."""
    text = question or parsed.text
    mentions = [m for m in parsed.mentions if m.first]
    dos = parsed.date_of_service
    named_year = parsed.fiscal_year
    target = _target(versions, named_year, dos, default_year) if mentions else None
    invalid = [
        m for m in mentions if isinstance(target, str) or not target.status(m.first).reportable
    ]
    if mentions and (_REPLACE.search(text) or (_REPLACE_WEAK.search(text) and invalid)):
        return _code_answer(invalid or mentions, versions, target, dos, "replacement", text)
    if _CHANGES.search(text) and not (
        mentions and _DELETED.search(text) and not re.search(r"\bcodes\b", text, re.I)
    ):
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


def _target(
    versions: VersionSet, named_year: str | None, dos: date | None, default_year: str
) -> Version | str:
    """The version an answer applies to, or the fiscal year asked for when it is not loaded."""
    if dos is not None:
        v = versions.version_for(dos)
        return v if v is not None else str(dos.year + 1 if dos.month >= 10 else dos.year)
    fy = named_year or default_year
    return versions.versions.get(fy) or fy


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
        scored = [
            (len(have - want), code)
            for code, have in _header_tokens(version)[level]
            if want <= have
        ]
        if scored:
            break
    if not scored:
        return [], words
    scored.sort()
    best = (
        [c for s, c in scored if s == scored[0][0]] if scored[0][0] == 0 else [c for _, c in scored]
    )
    return best[:5], words


def _changes_answer(
    text: str, parsed: ParsedQuestion, versions: VersionSet, default_year: str
) -> ChangeAnswer:
    old_fy, new_fy = _pair(text, parsed, default_year)
    missing = [fy for fy in (old_fy, new_fy) if fy not in versions.versions]
    if missing:
        return ChangeAnswer(
            f"I cannot compare FY{old_fy} with FY{new_fy}: no code set for "
            f"{' or '.join('FY' + m for m in missing)} is loaded (loaded: {versions.loaded_text}). "
            "Ask about changes between loaded years, e.g. "
            f"“what changed in N18 in FY{list(versions.versions)[-1]}?”",
            [],
            [],
            new_fy,
            "changes",
            "low",
        )
    old, new = versions.get(old_fy), versions.get(new_fy)
    full = versions.diff(old, new)
    scopes: list[
        tuple[str, Diff]
    ] = []  # (label, diff); a diff with prefix/chapter set is cross-checked alike
    chapter = _CHAPTER.search(text)
    mentions = [m for m in parsed.mentions if m.first]
    read_as = ""
    if chapter:
        ch = chapter.group(1)
        if ch not in versions.chapters():
            return ChangeAnswer(
                f"There is no chapter {ch} in ICD-10-CM: chapters are numbered 1 to "
                f"{versions.chapters()[-1]}.",
                [],
                [],
                new_fy,
                "changes",
                "low",
            )
        scopes.append((f"chapter {ch}", versions.diff(old, new, chapter=ch)))
    elif mentions:
        for m in mentions[:3]:
            first = normalize_code(m.first)
            if m.last:
                lo, hi = plain(first)[:3], plain(normalize_code(m.last))[:3]
                scopes.append(
                    (
                        f"{first}-{normalize_code(m.last)}",
                        full.filtered(lambda c, _ch, lo=lo, hi=hi: lo <= plain(c)[:3] <= hi),
                    )
                )
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
            return ChangeAnswer(
                f"I could not tell which codes “{words}” means. Name a category or code "
                f"(“what changed in N18?”) or a chapter (“what changed in chapter 4?”).",
                [],
                [],
                new_fy,
                "changes",
                "low",
            )
        for cat in cats:
            title = new.status(cat).title or old.status(cat).title
            scopes.append((f"{cat} ({title})", versions.diff(old, new, prefix=cat)))
        if cats:
            matched_in = new.fiscal_year if new.full else old.fiscal_year
            read_as = (
                f"I took “{words}” to mean {', '.join(cats)} (matched in the FY{matched_in} "
                "Tabular List titles); name a code or category to narrow it."
            )
        else:
            scopes.append(("all codes", full))
    return _render_changes(scopes, old, new, versions, read_as, full, text, mentions)


def _render_changes(
    scopes: list[tuple[str, Diff]],
    old: Version,
    new: Version,
    versions: VersionSet,
    read_as: str,
    full: Diff,
    question: str = "",
    mentions: list | None = None,
) -> ChangeAnswer:
    fy = new.fiscal_year
    lines = [
        f"**ICD-10-CM changes FY{old.fiscal_year} → FY{fy}**, effective {day_text(new.start)} "
        f"(FY{fy}: {new.effective_text})."
    ]
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
        lines.append(
            f"**{label}:** {c['added']} added, {c['deleted']} deleted, {c['revised']} revised titles, "
            f"{c['became_header']} codes became headers"
            + (f", {c['notes_changed']} note changes." if d.notes_compared else ".")
        )
        if d.added:
            lines.append(f"New codes — valid for dates of service from {day_text(new.start)}:")
            lines += [
                f"- **{a.code}** — {a.title}"
                + (
                    f" (April update: valid from {day_text(new.update_date)})"
                    if a.code in april and new.update_date
                    else ""
                )
                for a in d.added[:MAX_LINES]
            ]
            if len(d.added) > MAX_LINES:
                lines.append(f"- … {len(d.added) - MAX_LINES} more")
            items += [_item(new, a.code, f"new in FY{fy}") for a in d.added]
            cites += [new.citation(a.code, f"{a.code} {a.title}") for a in d.added[:3]]
        if d.became_header:
            lines.append(
                f"Codes that became headers — the old codes are **not valid** from {day_text(new.start)}:"
            )
            for e in d.became_header[:MAX_LINES]:
                lines.append(
                    f"- {e.code} {e.title}: {', '.join(e.no_longer_reportable)} no longer reportable; "
                    f"now {', '.join(e.now_reportable[:8])}{' …' if len(e.now_reportable) > 8 else ''}"
                )
                cites.append(
                    new.citation(e.code, f"{e.code} {e.title}: " + ", ".join(e.now_reportable[:6]))
                )
            # the codes to report now, the one the question describes first (same 7th character as
            # the old code it names: S30.1XXA -> S30.11XA)
            named = [normalize_code(m.first) for m in mentions or []]
            for e in d.became_header:
                like = next((c for c in named if c in e.no_longer_reportable), "")
                ranked = by_words(new, _same_seventh(e.now_reportable, like), question)
                if like and ranked:
                    lines.append("")
                    lines.append(
                        f"In place of {like}, the FY{fy} code that matches your question's words: "
                        f"**{ranked[0]}** — {new.reportable[ranked[0]]}"
                        + (f" (or {', '.join(ranked[1:4])}, as documented)." if ranked[1:] else ".")
                    )
                items += [
                    _item(new, code, f"under {e.code}, expanded in FY{fy}") for code in ranked
                ]
        plain_deleted = [
            x
            for x in d.deleted
            if not any(x.code in e.no_longer_reportable for e in d.became_header)
        ]
        if plain_deleted:
            lines.append(f"Deleted — **not valid** from {day_text(new.start)}:")
            lines += [f"- {x.code} — {x.title}" for x in plain_deleted[:MAX_LINES]]
            cites += [old.citation(x.code, f"{x.code} {x.title}") for x in plain_deleted[:2]]
        if d.revised:
            lines.append("Revised titles:")
            lines += [
                f"- **{r.code}**{' (header)' if r.header else ''}: “{r.old_title}” → “{r.new_title}”"
                for r in d.revised[:MAX_LINES]
            ]
            if len(d.revised) > MAX_LINES:
                lines.append(f"- … {len(d.revised) - MAX_LINES} more")
            items += [
                _item(new, r.code, f"title revised in FY{fy}")
                for r in d.revised
                if r.code in new.reportable
            ]
            cites += [new.citation(r.code, f"{r.code} {r.new_title}") for r in d.revised[:2]]
        if d.notes_changed:
            lines.append("Instructional notes changed:")
            for n in d.notes_changed[:MAX_LINES]:
                parts = [f"added “{t}”" for t in n.added] + [f"removed “{t}”" for t in n.removed]
                lines.append(
                    f"- {n.code} {NOTE_KIND_LABELS.get(n.kind, n.kind)}: " + "; ".join(parts)
                )
            if len(d.notes_changed) > MAX_LINES:
                lines.append(f"- … {len(d.notes_changed) - MAX_LINES} more")
        if addenda is not None:
            for code in [x.code for x in (*d.added[:2], *d.deleted[:1], *d.revised[:1])]:
                cites += _addenda_cites(versions, code, years=[fy])
        scope = (
            f" --prefix {d.prefix}" if d.prefix else f" --chapter {d.chapter}" if d.chapter else ""
        )
        if sum(c.values()) > MAX_LINES:
            lines.append(
                f"Full list: `codedesk changes --from {old.fiscal_year} --to {fy}{scope}`."
            )
    how = f"Compared code by code: the {old.title} ({old.file_name}) and the {new.title} ({new.file_name})."
    if addenda is not None:
        checks = [versions.cross_check(d) for _, d in scopes if d.prefix or d.chapter or d is full]
        checks = [cc for cc in checks if cc is not None]
        if checks and len(checks) == len(scopes):
            bad = sum(len(cc.disagreements) for cc in checks)
            name = Path(checks[0].addenda_path).name
            how += (
                f" The official addenda ({name}) list the same changes."
                if not bad
                else f" The official addenda ({name}) differ on {bad} change(s): run "
                f"`codedesk changes --from {old.fiscal_year} --to {fy}` for the cross-check."
            )
    lines += ["", f"_{how}_"]
    allowed = set(new.reportable)
    items = [i for i in _dedupe_items(items) if i.code in allowed][:MAX_ITEMS]
    if not cites:
        cites.append(new.citation(None, None))
    return ChangeAnswer("\n".join(lines), items, _dedupe_cites(cites), fy, "changes")
