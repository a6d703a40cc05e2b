"""The diff between two ICD-10-CM years, and its cross-check against the official addenda.

`diff(old, new)` lists the codes added, deleted and retitled, the codes that became headers (with
the old reportable codes they replaced and the new ones under them) and the instructional notes
that changed, each with its chapter; `Diff` filters by prefix or chapter and splits by chapter.
`cross_check(diff, addenda, old, new)` compares a diff FY N-1 -> FY N with the FY N addenda and
explains each disagreement (`CrossCheck`).

Diff rules (`diff`): codes are reportable codes, 7th-character forms included (`reportable_codes`).
A code reportable in the old version that is a header in the new one (its category expanded) is
listed under `became_header` with the old reportable codes it replaced, and also counted as deleted.
Titles are compared after folding accents and spaces (the plain-text code lists are ASCII:
"Meniere" vs "Ménière" is no revision). Header title revisions and instructional-note changes need
both versions to be full Tabular Lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codedesk.cms.addenda import Addenda, CodeChange
from codedesk.cms.codebook import CodeBook
from codedesk.retrieval.code_set import Version, day_text, fold, plain


# ---- the diff ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class Added:
    code: str
    title: str
    chapter: str | None = None


@dataclass(slots=True)
class Revision:
    code: str
    old_title: str
    new_title: str
    header: bool = False  # a header's title (category, subcategory, base needing a 7th character)
    chapter: str | None = None


@dataclass(slots=True)
class Expansion:
    """A code that was reportable (or the base of reportable codes) and is now a header."""

    code: str
    title: str  # its title in the new version
    no_longer_reportable: list[str]  # the old reportable codes it replaced
    now_reportable: list[str]  # the new reportable codes under it
    chapter: str | None = None


@dataclass(slots=True)
class NoteChange:
    code: str
    kind: str  # excludes1, includes, inclusion_term, seventh_character_def, …
    added: list[str]
    removed: list[str]
    chapter: str | None = None


@dataclass
class Diff:
    old: str
    new: str
    prefix: str | None = None
    chapter: str | None = None
    added: list[Added] = field(default_factory=list)
    deleted: list[Added] = field(default_factory=list)
    revised: list[Revision] = field(default_factory=list)
    became_header: list[Expansion] = field(default_factory=list)
    notes_changed: list[NoteChange] = field(default_factory=list)
    notes_compared: bool = False  # False when either side is a flat list or built from its addenda

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "deleted": len(self.deleted),
            "revised": len(self.revised),
            "became_header": len(self.became_header),
            "notes_changed": len(self.notes_changed),
        }

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())

    def to_json(self) -> dict:
        """The JSON of issue 6, exactly these keys."""
        return {
            "from": self.old,
            "to": self.new,
            "added": [{"code": a.code, "title": a.title} for a in self.added],
            "deleted": [{"code": d.code, "title": d.title} for d in self.deleted],
            "revised": [
                {"code": r.code, "old_title": r.old_title, "new_title": r.new_title}
                for r in self.revised
            ],
            "became_header": [
                {"code": e.code, "no_longer_reportable": list(e.no_longer_reportable)}
                for e in self.became_header
            ],
            "notes_changed": [
                {"code": n.code, "kind": n.kind, "added": list(n.added), "removed": list(n.removed)}
                for n in self.notes_changed
            ],
        }

    def filtered(self, keep: Callable[[str, str | None], bool]) -> Diff:
        """A copy keeping the entries for which keep(code, chapter) is true."""
        return Diff(
            self.old,
            self.new,
            self.prefix,
            self.chapter,
            [a for a in self.added if keep(a.code, a.chapter)],
            [d for d in self.deleted if keep(d.code, d.chapter)],
            [r for r in self.revised if keep(r.code, r.chapter)],
            [
                e
                for e in self.became_header
                if keep(e.code, e.chapter)
                or any(keep(c, e.chapter) for c in e.no_longer_reportable)
            ],
            [n for n in self.notes_changed if keep(n.code, n.chapter)],
            self.notes_compared,
        )

    def by_chapter(self) -> dict[str, Diff]:
        """One diff per chapter with changes (for digests), chapters in numeric order."""
        chapters = {
            x.chapter
            for group in (
                self.added,
                self.deleted,
                self.revised,
                self.became_header,
                self.notes_changed,
            )
            for x in group
            if x.chapter
        }
        out = {}
        for ch in sorted(chapters, key=lambda c: int(c) if c.isdigit() else 99):
            part = self.filtered(lambda _code, chap, ch=ch: chap == ch)
            part.chapter = ch
            out[ch] = part
        return out


def _matches_prefix(code: str, prefix: str | None) -> bool:
    return prefix is None or plain(code).startswith(plain(prefix))


def diff(
    old: Version,
    new: Version,
    prefix: str | None = None,
    chapter: str | None = None,
    chapter_of: Callable[[str], str | None] | None = None,
) -> Diff:
    """What changed from `old` to `new` (any two versions), optionally for a prefix or chapter only."""

    def chap(code: str) -> str | None:
        return (
            new.chapter_of(code)
            or old.chapter_of(code)
            or (chapter_of(code) if chapter_of else None)
        )

    def keep(code: str, chapter_no: str | None) -> bool:
        return _matches_prefix(code, prefix) and (chapter is None or chapter_no == chapter)

    old_r, new_r = old.reportable, new.reportable
    # Notes are compared between two Tabular Lists only: a year built from its addenda has the notes of the
    # year before, so "no note changed" would be a claim nobody checked.
    notes = old.full and new.full and not (old.basis or new.basis)
    out = Diff(old.fiscal_year, new.fiscal_year, prefix, chapter, notes_compared=notes)
    for code, title in new_r.items():
        if code not in old_r:
            out.added.append(Added(code, title, chap(code)))
    expansions: dict[str, Expansion] = {}
    for code, title in old_r.items():
        if code in new_r:
            if fold(title) != fold(new_r[code]):
                out.revised.append(Revision(code, title, new_r[code], False, chap(code)))
            continue
        chapter_no = chap(code)
        out.deleted.append(Added(code, title, chapter_no))
        base = new.expansion_base(code, old)
        if base is not None:
            exp = expansions.get(base)
            if exp is None:
                exp = expansions[base] = Expansion(
                    base, new.status(base).title, [], new.reportable_under(base), chap(base)
                )
            exp.no_longer_reportable.append(code)
    out.became_header = list(expansions.values())
    if old.book is not None and new.book is not None:
        _header_revisions(old.book, new.book, out)
        if notes:
            _note_changes(old.book, new.book, out)
    if prefix is not None or chapter is not None:
        out = out.filtered(keep)
    return out


def _header_revisions(old: CodeBook, new: CodeBook, out: Diff) -> None:
    """Title changes of headers (categories, subcategories, bases needing a 7th character) in both books."""
    for code, node in new.nodes.items():
        if not new.is_diag(code):
            continue
        before = old.nodes.get(code)
        if before is None or not old.is_diag(code):
            continue
        if new.lookup(code).reportable or old.lookup(code).reportable:
            continue  # reportable codes are compared with their full titles above
        if fold(before.title) != fold(node.title):
            out.revised.append(Revision(code, before.title, node.title, True, node.chapter))


def _note_changes(old: CodeBook, new: CodeBook, out: Diff) -> None:
    """Instructional notes (and inclusion terms, 7th-character definitions) added or removed, per code."""
    for code in new.order:
        node, before = new.nodes[code], old.nodes.get(code)
        if before is None or before.kind != node.kind:
            continue
        kinds = list(dict.fromkeys([*before.notes, *node.notes]))
        for kind in kinds:
            old_texts = [fold(t) for t in before.notes.get(kind, ())]
            new_texts = [fold(t) for t in node.notes.get(kind, ())]
            added = list((Counter(new_texts) - Counter(old_texts)).elements())
            removed = list((Counter(old_texts) - Counter(new_texts)).elements())
            if added or removed:
                out.notes_changed.append(NoteChange(code, kind, added, removed, node.chapter))
        if before.seventh != node.seventh:
            old_defs = {f"{c}: {fold(t)}" for c, t in before.seventh.items()}
            new_defs = {f"{c}: {fold(t)}" for c, t in node.seventh.items()}
            if old_defs != new_defs:
                out.notes_changed.append(
                    NoteChange(
                        code,
                        "seventh_character_def",
                        sorted(new_defs - old_defs),
                        sorted(old_defs - new_defs),
                        node.chapter,
                    )
                )


# ---- the cross-check against the addenda ------------------------------------------------------------
@dataclass(slots=True)
class Disagreement:
    kind: str  # e.g. "added_not_in_addenda", "addenda_add_not_in_diff", "title_mismatch"
    code: str
    detail: str
    explanation: str


@dataclass
class CrossCheck:
    """How a diff FY N-1 -> FY N compares with the official FY N addenda."""

    addenda_path: str
    old: str
    new: str
    addenda_counts: dict[
        str, int
    ]  # reportable codes: add / delete / revise; headers: header_add, …
    agreed: dict[str, int]
    disagreements: list[Disagreement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def to_json(self) -> dict:
        return {
            "addenda": Path(self.addenda_path).name,
            "from": self.old,
            "to": self.new,
            "addenda_counts": self.addenda_counts,
            "agreed": self.agreed,
            "ok": self.ok,
            "disagreements": [
                {"kind": d.kind, "code": d.code, "detail": d.detail, "explanation": d.explanation}
                for d in self.disagreements
            ],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        name = Path(self.addenda_path).name
        out = [
            f"Cross-check FY{self.old} → FY{self.new} against {name}:",
            "  addenda (reportable codes): "
            + ", ".join(
                f"{self.addenda_counts.get(k, 0)} {k}" for k in ("add", "delete", "revise")
            ),
            "  agreed: " + ", ".join(f"{v} {k}" for k, v in self.agreed.items()),
        ]
        if self.ok:
            out.append(
                "  no disagreement: every change of the addenda is in the diff and every change of the "
                "diff is in the addenda"
            )
        else:
            out.append(f"  {len(self.disagreements)} disagreement(s):")
            by_kind: dict[str, list[Disagreement]] = {}
            for d in self.disagreements:
                by_kind.setdefault(d.kind, []).append(d)
            for kind, items in by_kind.items():
                out.append(f"  - {kind} ({len(items)}): {items[0].explanation}")
                out.extend(f"      {d.code}: {d.detail}" for d in items[:25])
                if len(items) > 25:
                    out.append(f"      … {len(items) - 25} more")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


def cross_check(
    d: Diff,
    addenda: Addenda,
    old: Version,
    new: Version,
    chapter_of: Callable[[str], str | None] | None = None,
) -> CrossCheck:
    """Compare a diff with the addenda of its new year (same prefix/chapter filter), explaining each
    disagreement. The new version may be an April update while the addenda are the October changes."""

    def chap(code: str) -> str | None:
        return (
            new.chapter_of(code)
            or old.chapter_of(code)
            or (chapter_of(code) if chapter_of else None)
        )

    def kept(change: CodeChange) -> bool:
        return _matches_prefix(change.code, d.prefix) and (
            d.chapter is None or chap(change.code) == d.chapter
        )

    changes = [c for c in addenda.changes if kept(c)]
    codes = {
        a: {c.code: c for c in changes if c.action == a and not c.header}
        for a in ("add", "delete", "revise")
    }
    headers = [c for c in changes if c.header]
    counts = {a: len(v) for a, v in codes.items()}
    for a in ("add", "delete", "revise"):
        counts[f"header_{a}"] = sum(1 for c in headers if c.action == a)
    april = (
        f" the FY{new.fiscal_year} book is the {day_text(new.update_date)} update"
        if new.update_date
        else ""
    )
    old_src = f"FY{old.fiscal_year} ({old.file_name})"
    result = CrossCheck(addenda.path, old.fiscal_year, new.fiscal_year, counts, {})
    dis = result.disagreements

    diff_add = {a.code: a for a in d.added}
    diff_del = {x.code: x for x in d.deleted}
    diff_rev = {r.code: r for r in d.revised if not r.header}
    for label, ours, theirs in (
        ("add", diff_add, codes["add"]),
        ("delete", diff_del, codes["delete"]),
        ("revise", diff_rev, codes["revise"]),
    ):
        result.agreed[label] = len(ours.keys() & theirs.keys())
        for code in sorted(theirs.keys() - ours.keys()):
            c = theirs[code]
            why = _why_missing(label, code, old, new)
            dis.append(
                Disagreement(f"addenda_{label}_not_in_diff", code, f"addenda: {c.title}", why)
            )
        for code in sorted(ours.keys() - theirs.keys()):
            if label == "add":
                why = (
                    f"not an October change: added after the addenda were published —{april}, so this is most "
                    f"likely an April {new.fiscal_year} addition (valid from {day_text(new.update_date)})"
                    if new.update_date
                    else f"the addenda do not list it: check the FY{new.fiscal_year} source file"
                )
                dis.append(Disagreement("added_not_in_addenda", code, ours[code].title, why))
            elif label == "delete":
                why = (
                    f"the addenda do not delete it:{april or ' check the source files'}; the April updates "
                    "do not normally delete codes, so compare the files"
                )
                dis.append(Disagreement("deleted_not_in_addenda", code, ours[code].title, why))
            else:
                r = ours[code]
                why = (
                    f"a title change the October addenda do not list:{april or ''} (April title fixes), "
                    f"or a wording difference between {old_src} and the Tabular List"
                )
                dis.append(
                    Disagreement(
                        "revised_not_in_addenda", code, f"'{r.old_title}' -> '{r.new_title}'", why
                    )
                )
    # titles: the addenda's words against each version's
    for code, c in codes["add"].items():
        title = new.reportable.get(code)
        if title is not None and fold(title) != fold(c.title):
            dis.append(
                Disagreement(
                    "title_mismatch",
                    code,
                    f"addenda '{c.title}', FY{new.fiscal_year} '{title}'",
                    f"the title was revised after the addenda{(' —' + april) if april else ''}",
                )
            )
    for code, c in codes["delete"].items():
        title = old.reportable.get(code)
        if title is not None and fold(title) != fold(c.title):
            dis.append(
                Disagreement(
                    "title_mismatch",
                    code,
                    f"addenda '{c.title}', FY{old.fiscal_year} '{title}'",
                    f"{old_src} is not the release the addenda were written against",
                )
            )
    for code, c in codes["revise"].items():
        before, after = old.reportable.get(code), new.reportable.get(code)
        if before is not None and c.old_title and fold(before) != fold(c.old_title):
            dis.append(
                Disagreement(
                    "title_mismatch",
                    code,
                    f"addenda from '{c.old_title}', FY{old.fiscal_year} '{before}'",
                    f"{old_src} is not the release the addenda were written against",
                )
            )
        if after is not None and fold(after) != fold(c.title):
            dis.append(
                Disagreement(
                    "title_mismatch",
                    code,
                    f"addenda to '{c.title}', FY{new.fiscal_year} '{after}'",
                    f"the title was revised again after the addenda{(' —' + april) if april else ''}",
                )
            )
    # headers: checked against each full book
    header_ok = 0
    for c in headers:
        if c.action in ("add", "revise") and new.full:
            st = new.status(c.code)
            if not st.header:
                dis.append(
                    Disagreement(
                        f"addenda_header_{c.action}_not_a_header",
                        c.code,
                        f"addenda: {c.title}",
                        f"the addenda list a header FY{new.fiscal_year} does not have as a header",
                    )
                )
                continue
            if c.action == "revise" and fold(st.title) != fold(c.title):
                dis.append(
                    Disagreement(
                        "title_mismatch",
                        c.code,
                        f"addenda to '{c.title}', FY{new.fiscal_year} '{st.title}'",
                        "header title revised again after the addenda",
                    )
                )
                continue
            header_ok += 1
        elif c.action == "delete" and new.full:
            if new.status(c.code).header:
                dis.append(
                    Disagreement(
                        "addenda_header_delete_still_header",
                        c.code,
                        f"addenda: {c.title}",
                        f"FY{new.fiscal_year} still has it as a header",
                    )
                )
                continue
            header_ok += 1
    if headers:
        result.agreed["headers"] = header_ok
    if not old.full:
        result.notes.append(
            f"FY{old.fiscal_year} is a flat list of reportable codes ({old.file_name}): header "
            f"changes were checked against FY{new.fiscal_year} only, and header title revisions "
            "and instructional notes cannot be compared."
        )
    if new.update_date:
        result.notes.append(
            f"The addenda list the 1 October changes; FY{new.fiscal_year} is the "
            f"{day_text(new.update_date)} update, so any April change shows as a disagreement above."
        )
    return result


def _why_missing(action: str, code: str, old: Version, new: Version) -> str:
    """Why the diff lacks a change the addenda list."""
    in_old, in_new = code in old.reportable, code in new.reportable
    if action == "add" and in_old:
        return (
            f"already reportable in FY{old.fiscal_year} ({old.file_name}): that list is not the release the "
            "addenda start from"
        )
    if action == "add":
        return (
            f"not reportable in FY{new.fiscal_year} ({new.file_name}): deleted again by the April update, "
            "or the files differ"
        )
    if action == "delete" and in_new:
        return (
            f"still reportable in FY{new.fiscal_year} ({new.file_name}): restored by the April update, "
            "or the files differ"
        )
    if action == "delete":
        return f"not in FY{old.fiscal_year} ({old.file_name}): that list is not the release the addenda start from"
    return "the titles compare equal after folding accents and spaces, or the code is missing from one version"
