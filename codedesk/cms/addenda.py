"""Parser of the ICD-10-CM code-change addenda (icd10cm_order_addenda_YYYY.txt, icd10cm_codes_addenda_YYYY.txt).

Both layouts are fixed-width. Each line starts with a 13-character action field
(`Add:`, `Delete:`, `Revise from:`, `Revise to:`), then

- order-file layout: header flag (1 = valid code for reporting, 0 = header), code (7), short title
  (60), long title — `Revise from: 1 A7741   Ehrlichiosis chafeensis …  Ehrlichiosis chafeensis …`
- codes-file layout: code (7), long title — `Add:         C810A   Nodular lymphocyte …`

A trailing summary ("Codes", "252 additions", …) ends the change list; when present its counts are
checked against what was parsed, so a damaged file cannot pass as a short one. Codes are returned
with their dot (`E11.A`, `C81.0A`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from codedesk.codes import CODE_RE
from codedesk.codes import dotted as _dotted
from codedesk.errors import SourceError

log = logging.getLogger(__name__)

SYSTEM = "ICD-10-CM"
_ACTIONS = {
    "Add:": "add",
    "Delete:": "delete",
    "Revise from:": "revise_from",
    "Revise to:": "revise_to",
}
_ACTION_RE = re.compile(r"^(Add:|Delete:|Revise from:|Revise to:)")
_ORDER_RE = re.compile(r"^(?P<action>.{13})(?P<flag>[01]) (?P<code>[A-Z0-9]{3,7}) *(?P<rest>.*)$")
_SUMMARY_COUNT = re.compile(r"^\s*(\d+)\s+(additions|deletions|revisions)\s*$")
_SUMMARY_OTHER = re.compile(r"^\s*(Codes|Headers|of which|\d+\s+\S.*)\s*$")


@dataclass(slots=True)
class CodeChange:
    action: str  # add | delete | revise
    code: str  # with its dot: "E11.A"
    title: str  # long title (the new one for a revision)
    short_title: str | None = None  # order layout only
    header: bool | None = None  # order layout only: True = header (not reportable)
    old_title: str | None = None  # revisions: long title before
    old_short_title: str | None = None  # revisions, order layout: short title before
    old_header: bool | None = None  # revisions, order layout: header flag before
    line: int = 0  # line of the change in the file (the "Revise to:" line for revisions)


@dataclass(slots=True)
class Addenda:
    path: str
    layout: str  # order | codes
    changes: list[CodeChange]

    def counts(self) -> Counter[str]:
        return Counter(c.action for c in self.changes)


def dotted(code: str) -> str:
    """'E11A' -> 'E11.A'; 'A7741' -> 'A77.41'; 'QA171' -> 'QA1.71'; three characters stay as they are."""
    return _dotted(code)


def _detect_layout(path: Path, lines: list[str]) -> str:
    for number, line in enumerate(lines, 1):
        if _ACTION_RE.match(line):
            return "order" if _ORDER_RE.match(line) else "codes"
        if line.strip():
            raise SourceError(
                path, "not an addenda file: first line is not Add:/Delete:/Revise", line=number
            )
    raise SourceError(path, "no Add:/Delete:/Revise lines: empty or not an addenda file")


def _parse_line(
    path: Path, layout: str, number: int, line: str
) -> tuple[str, str, str, str | None, bool | None]:
    """(action, code, long title, short title, header flag) of one change line."""
    action = _ACTIONS.get(line[:13].strip())
    if action is None:
        raise SourceError(
            path, f"malformed line: unknown action {line[:13].strip()!r}", line=number
        )
    if layout == "order":
        m = _ORDER_RE.match(line)
        if not m or len(line) < 85:
            raise SourceError(
                path,
                "malformed order-layout line: expected flag, code, 60-character "
                "short title and long title",
                line=number,
            )
        code, short, long = m.group("code"), line[23:83].strip(), line[84:].strip()
        header: bool | None = m.group("flag") == "0"
    else:
        code, long, short, header = line[13:20].strip(), line[21:].strip(), None, None
        if len(line) < 22 or line[20] != " ":
            raise SourceError(
                path,
                "malformed codes-layout line: expected a 7-character code field and a title",
                line=number,
            )
    if "." in code or not CODE_RE.match(code):
        raise SourceError(path, f"malformed line: {code!r} is not an ICD-10-CM code", line=number)
    if not long:
        raise SourceError(path, f"malformed line: code {code} has no title", line=number)
    return action, dotted(code), long, short, header


def parse_addenda(path: str | Path) -> Addenda:
    """Parse either addenda layout; raise SourceError (file, line) on any malformed line."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        lines = path.read_text(encoding="cp1252", errors="replace").splitlines()
    layout = _detect_layout(path, lines)
    changes: list[CodeChange] = []
    pending: tuple[int, str, str | None, bool | None, str] | None = None  # an open "Revise from:"
    summary: dict[str, dict[str, int]] = {}
    block = "Codes"
    in_summary = False
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if _ACTION_RE.match(line):
            if in_summary:
                raise SourceError(
                    path, "malformed file: a change line after the summary", line=number
                )
            action, code, long, short, header = _parse_line(path, layout, number, line)
            if pending and action != "revise_to":
                raise SourceError(
                    path,
                    f"'Revise from:' for {pending[4]} is not followed by 'Revise to:'",
                    line=pending[0],
                )
            if action == "revise_from":
                pending = (number, long, short, header, code)
            elif action == "revise_to":
                if not pending or pending[4] != code:
                    raise SourceError(
                        path,
                        f"'Revise to:' for {code} without a matching 'Revise from:'",
                        line=number,
                    )
                changes.append(
                    CodeChange(
                        "revise",
                        code,
                        long,
                        short,
                        header,
                        pending[1],
                        pending[2],
                        pending[3],
                        number,
                    )
                )
                pending = None
            else:
                changes.append(CodeChange(action, code, long, short, header, line=number))
            continue
        if not line.strip():
            continue
        if not changes:
            raise SourceError(path, "malformed line before the first change", line=number)
        in_summary = True
        count = _SUMMARY_COUNT.match(line)
        if count:
            summary.setdefault(block, {})[count.group(2)] = int(count.group(1))
        elif line.strip() in ("Codes", "Headers"):
            block = line.strip()
        elif not _SUMMARY_OTHER.match(line):
            raise SourceError(
                path,
                f"malformed line: {line.strip()[:40]!r} is neither a change nor a summary line",
                line=number,
            )
    if pending:
        raise SourceError(
            path,
            f"'Revise from:' for {pending[4]} is not followed by 'Revise to:' (truncated?)",
            line=pending[0],
        )
    _check_summary(path, layout, changes, summary)
    result = Addenda(str(path), layout, changes)
    log.info(
        "addenda parsed path=%s layout=%s changes=%d counts=%s",
        path,
        layout,
        len(changes),
        dict(result.counts()),
    )
    return result


def _check_summary(
    path: Path, layout: str, changes: list[CodeChange], summary: dict[str, dict[str, int]]
) -> None:
    """The files end with counts per block (Codes, and Headers in the order layout): compare."""
    if not summary:
        return
    parsed = Counter(c.action for c in changes)
    expected = Counter[str]()
    for block, counts in summary.items():
        if layout == "codes" and block == "Headers":
            continue  # the codes layout lists no headers
        expected["add"] += counts.get("additions", 0)
        expected["delete"] += counts.get("deletions", 0)
        expected["revise"] += counts.get("revisions", 0)
    for action in ("add", "delete", "revise"):
        if parsed[action] != expected[action]:
            raise SourceError(
                path,
                f"the summary counts {expected[action]} {action} changes, "
                f"the file lists {parsed[action]} (truncated or damaged?)",
            )


def find_addenda(cms_data_dir: Path | None) -> dict[str, Path]:
    """{fiscal year: addenda file} under cms/fy{N}/: the order layout preferred (it flags headers)."""
    out: dict[str, Path] = {}
    if not cms_data_dir:
        return out
    root = Path(cms_data_dir) / "cms"
    if not root.is_dir():
        return out
    for folder in sorted(root.glob("fy20[0-9][0-9]")):
        fy = folder.name[2:]
        for name in (f"icd10cm_order_addenda_{fy}.txt", f"icd10cm_codes_addenda_{fy}.txt"):
            if (folder / name).is_file():
                out[fy] = folder / name
                break
    return out
