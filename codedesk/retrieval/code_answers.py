"""Answers about one code across the fiscal years, and the parts every change answer is made of.

`_code_answer` says whether a code is valid for a date of service or year, since when, whether it
was deleted and what replaced it (the codes now under an expanded header, never a crosswalk),
with the code's history in the loaded code sets. `ChangeAnswer` is the answer record; `_item`,
the addenda citations and the de-duplication are shared with the "what changed" answers
(`codedesk.retrieval.change_answers`), which also dispatch to `_code_answer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from codedesk.cms.addenda import CodeChange
from codedesk.cms.codebook import normalize_code
from codedesk.retrieval.schema import Citation, CodeItem
from codedesk.retrieval.text import tokens
from codedesk.retrieval.versions import CodeStatus, Version, VersionSet, day_text, fetch_hint, plain

MAX_LINES = 15  # per section of an answer
MAX_ITEMS = 20


# ---- answers ----------------------------------------------------------------------------------------
@dataclass
class ChangeAnswer:
    text: str  # markdown, in a coder's words
    items: list[CodeItem] = field(default_factory=list)  # only codes valid in `fiscal_year`
    citations: list[Citation] = field(default_factory=list)
    fiscal_year: str | None = None  # the year the answer applies to
    kind: str = ""  # changes | validity | since | replacement | deleted
    confidence: str = (
        "high"  # "low" when nothing could be established (year not loaded, topic not understood)
    )


def _not_loaded(fy: str, versions: VersionSet, dos: date | None, kind: str) -> ChangeAnswer:
    when = f"a date of service of {day_text(dos)} (FY{fy})" if dos else f"FY{fy}"
    return ChangeAnswer(
        f"I have no ICD-10-CM code set for {when} loaded, so I cannot say which codes are valid "
        f"then. Loaded: {versions.loaded_text} "
        f"({', '.join(f'FY{v.fiscal_year} {v.effective_text}' for v in versions.versions.values())}). "
        f"Ask about one of those years, or {fetch_hint(fy)[0].lower()}{fetch_hint(fy)[1:]}",
        [],
        [],
        fy,
        kind,
        "low",
    )


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


def _code_answer(
    mentions: list,
    versions: VersionSet,
    target: Version | str | None,
    dos: date | None,
    kind: str,
    question: str = "",
) -> ChangeAnswer:
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
    items = [i for i in _dedupe_items(items) if i.code in allowed][
        :MAX_ITEMS
    ]  # never an invalid code
    return ChangeAnswer("\n\n".join(parts), items, _dedupe_cites(cites), target.fiscal_year, kind)


def _one_code(
    code: str,
    versions: VersionSet,
    target: Version,
    dos: date | None,
    kind: str,
    question: str = "",
) -> tuple[str, list[CodeItem], list[Citation]]:
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
        since = (
            f"It is new in FY{first.fiscal_year} (valid from {day_text(first.start)})."
            if first.fiscal_year == fy and versions.previous(fy) is not None
            else f"It is in every loaded code set from FY{first.fiscal_year} to FY{fy}."
            if all(s.reportable for v, s in timeline if first.fiscal_year <= v.fiscal_year <= fy)
            else ""
        )
        oldest = next(iter(versions.versions.values()))
        lead = {
            "validity": f"**Yes — {code} is valid for {when}.**",
            "since": (
                f"**{code} has been valid since at least FY{first.fiscal_year} ({day_text(first.start)}), "
                "the oldest code set loaded.**"
                if first is oldest
                else f"**{code} became valid on {day_text(first.start)} (FY{first.fiscal_year}).**"
            ),
            "deleted": f"**No — {code} has not been deleted: it is valid in {span}.**",
            "replacement": f"**{code} is still valid in {span}: keep using it; nothing replaces it.**",
        }[kind]
        lines.append(lead)
        lines.append(
            f"{code} — {st.title} (reportable, {target.title}, effective {target.effective_text}). "
            f"{since}".strip()
        )
        items.append(_item(target, code, f"valid in FY{fy}"))
        after = [v for v, s in timeline if v.fiscal_year > fy and not s.reportable]
        if after:
            lines.append(
                f"Note: it is no longer valid from FY{after[0].fiscal_year} ({day_text(after[0].start)})."
            )
        cites.extend(_addenda_cites(versions, code))
    else:
        gone_from = None  # the first version after the last one where it was reportable
        if earlier:
            last = earlier[-1]
            gone_from = next(
                (v for v, s in timeline if v.fiscal_year > last.fiscal_year and not s.reportable),
                None,
            )
        if kind in ("validity", "since"):
            lines.append(f"**No — {code} is not valid for {when}.**")
            if dos is not None:
                lines.append(
                    f"That date falls in {span}, the {target.title} ({target.file_name}). "
                    f"{_sentence(reason)}"
                )
            else:
                lines.append(
                    f"In the {target.title} ({target.file_name}, effective {target.effective_text}): "
                    f"{_sentence(reason)}"
                )
        elif kind == "deleted":
            if gone_from is not None:
                lines.append(
                    f"**Yes — {code} was deleted: it is not valid from {day_text(gone_from.start)} "
                    f"(FY{gone_from.fiscal_year}).**"
                )
            elif later:
                lines.append(
                    f"**No — {code} was not deleted: it is a new code, first valid in "
                    f"FY{later[0].fiscal_year} "
                    f"(from {day_text(later[0].start)}).** It is not valid in {span}."
                )
            else:
                lines.append(
                    f"**{code} is not a reportable code in any loaded code set** ({versions.loaded_text}): "
                    f"{_sentence(reason)}"
                )
        else:
            lines.append(f"**{code} is not valid in {span}.** {_sentence(reason)}")
        if earlier:
            last = earlier[-1]
            old_title = last.reportable.get(code, "")
            lines.append(
                f"{code} — {old_title} was valid through FY{last.fiscal_year} (until {day_text(last.end)})."
            )
            cites.append(last.citation(code, f"{code} {old_title}"))
            base = gone_from.expansion_base(code, last) if gone_from is not None else None
            if base is not None:
                options = by_words(target, _replacements(target, code, base), question)
                expanded_at = (
                    f"From {day_text(gone_from.start)} (FY{gone_from.fiscal_year}) {base} was expanded: "
                    f"it is now a header ({target.status(base).title or gone_from.status(base).title})"
                )
                if options:
                    lines.append(
                        f"{expanded_at}, so {code} is no longer reportable. Report the code that matches "
                        f"the documentation (FY{fy}):"
                    )
                    lines += [f"- **{c}** — {target.reportable[c]}" for c in options[:MAX_LINES]]
                    if len(options) > MAX_LINES:
                        lines.append(f"- … {len(options) - MAX_LINES} more under {base}")
                    items += [
                        _item(
                            target,
                            c,
                            f"under {base}, which replaced {code} in FY{gone_from.fiscal_year}",
                        )
                        for c in options
                    ]
                    node_quote = f"{base} {target.status(base).title}: " + ", ".join(options[:6])
                    cites.append(target.citation(base, node_quote))
                else:
                    lines.append(f"{expanded_at}; FY{fy} has no reportable code under it.")
            elif gone_from is not None:
                lines.append(
                    f"It was deleted from FY{gone_from.fiscal_year} ({day_text(gone_from.start)}). The code "
                    "books list no code that takes its place: look the condition up in the Alphabetic Index "
                    f"for FY{fy} and verify in the Tabular List."
                )
            cites.extend(_addenda_cites(versions, code))
            if base is not None:
                for c in _replacements(target, code, base)[:3]:
                    cites.extend(_addenda_cites(versions, c))
        elif later:
            first = later[0]
            lines.append(
                f"{code} — {first.reportable[code]} is new in FY{first.fiscal_year}: valid for dates of "
                f"service from {day_text(first.start)} ({first.title}, effective {first.effective_text})."
            )
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
    lines += [
        "",
        f"_In the loaded code sets: {history}._",
    ]  # a paragraph of its own, not the list's last item
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
    if (
        change.line < 1 or first < 0 or change.line > len(lines)
    ):  # not read from a file: rebuild its words
        if change.action == "revise":
            return f"Revise from: {change.code} {change.old_title} / Revise to: {change.code} {change.title}"
        return f"{change.action.capitalize()}: {change.code} {change.title}"
    return " / ".join(" ".join(x.split()) for x in lines[first : change.line])


def _addenda_cites(
    versions: VersionSet, code: str, years: list[str] | None = None
) -> list[Citation]:
    """The addenda lines that list a code (adds, deletes, revisions), for every loaded addenda file."""
    out = []
    for fy in years or list(versions.addenda_paths):
        addenda = versions.addenda(fy)
        if addenda is None:
            continue
        for change in addenda.changes:
            if change.code == code and not change.header:
                out.append(
                    Citation(
                        source_type="addenda",
                        title=versions.addenda_title(fy),
                        code=code,
                        fiscal_year=fy,
                        section=change.action,
                        quote=_addenda_quote(addenda.path, change),
                    )
                )
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
