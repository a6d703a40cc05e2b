"""Team guidelines: markdown files in `guidelines/team/` written by the team's coding committee.

Each file opens with simple `key: value` front matter between `---` lines (no YAML needed):

    ---
    id: TG-001
    title: Physician query policy
    effective: 2025-01-15
    approved_by: Coding committee
    refines: I.A.19, I.B.14, III.B
    status: approved
    ---

Required: id (TG-NNN, also the start of the file name), title, effective (YYYY-MM-DD),
approved_by, status (draft | approved | retired). Optional: refines (comma-separated official
guideline sections or codes the document refines), and any other key, kept in `extra`.
The body is split at `## ` headings so answers can cite the part that applies.
A team guideline is always cited after the official source it refines, never instead of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from codedesk.errors import SourceError
from codedesk.ingest.documents import Doc, doc_id

log = logging.getLogger(__name__)

SYSTEM = "TEAM"
STATUSES = ("draft", "approved", "retired")
_ID_RE = re.compile(r"^TG-\d{3,}$")
_KEY_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$")
_REQUIRED = ("id", "title", "effective", "approved_by", "status")


@dataclass(slots=True)
class TeamSection:
    heading: str  # "" for the text before the first `## ` heading
    anchor: str  # "when-to-query"; "intro" for the text before the first heading
    text: str


@dataclass(slots=True)
class TeamGuideline:
    id: str
    title: str
    effective: date
    approved_by: str
    status: str
    refines: list[str]
    path: str
    body: str
    sections: list[TeamSection] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def citation(self) -> str:
        return f"Team guideline {self.id}, effective {self.effective.isoformat()}"


def _anchor(heading: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", heading.lower())) or "section"


def _front_matter(path: Path, lines: list[str]) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "---":
        raise SourceError(
            path, "missing front matter: the file must start with a '---' line", line=1
        )
    meta: dict[str, str] = {}
    for number in range(1, len(lines)):
        line = lines[number].rstrip()
        if line.strip() == "---":
            return meta, number + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _KEY_RE.match(line)
        if not m:
            raise SourceError(
                path,
                f"front matter line is not 'key: value': {line.strip()[:40]!r}",
                line=number + 1,
            )
        key = m.group(1).lower().replace("-", "_")
        if key in meta:
            raise SourceError(path, f"front matter key {key!r} given twice", line=number + 1)
        meta[key] = m.group(2).strip().strip("\"'")
    raise SourceError(path, "front matter is not closed by a '---' line")


def _sections(body: str) -> list[TeamSection]:
    sections: list[TeamSection] = []
    heading, buf = "", []
    for line in body.splitlines():
        m = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if m:
            if "\n".join(buf).strip():
                sections.append(
                    TeamSection(
                        heading, _anchor(heading) if heading else "intro", "\n".join(buf).strip()
                    )
                )
            heading, buf = m.group(1), []
        else:
            buf.append(line)
    if "\n".join(buf).strip():
        sections.append(
            TeamSection(heading, _anchor(heading) if heading else "intro", "\n".join(buf).strip())
        )
    return sections


def parse_team_guideline(path: str | Path) -> TeamGuideline:
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    meta, body_start = _front_matter(path, lines)
    missing = [k for k in _REQUIRED if not meta.get(k)]
    if missing:
        raise SourceError(path, f"front matter lacks {', '.join(missing)}")
    gid = meta.pop("id")
    if not _ID_RE.match(gid):
        raise SourceError(path, f"id {gid!r} is not of the form TG-001")
    if not path.name.startswith(gid):
        raise SourceError(
            path, f"file name must start with its id {gid} (e.g. {gid}-short-title.md)"
        )
    try:
        effective = date.fromisoformat(meta.pop("effective"))
    except ValueError:
        raise SourceError(path, "effective must be a date YYYY-MM-DD") from None
    status = meta.pop("status").lower()
    if status not in STATUSES:
        raise SourceError(path, f"status {status!r} is not one of {', '.join(STATUSES)}")
    refines = [r.strip() for r in re.split(r"[,;]", meta.pop("refines", "")) if r.strip()]
    body = "\n".join(lines[body_start:]).strip()
    if not body:
        raise SourceError(path, "the guideline has no text after its front matter")
    return TeamGuideline(
        gid,
        meta.pop("title"),
        effective,
        meta.pop("approved_by"),
        status,
        refines,
        str(path),
        body,
        _sections(body),
        meta,
    )


def load_team_guidelines(folder: str | Path) -> list[TeamGuideline]:
    """Every `TG-*.md` in the folder, sorted by id; all or nothing (an error names the bad file)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(folder, "team guideline folder not found")
    guidelines = [parse_team_guideline(p) for p in sorted(folder.glob("TG-*.md"))]
    seen: dict[str, str] = {}
    for g in guidelines:
        if g.id in seen:
            raise SourceError(g.path, f"id {g.id} is also used by {seen[g.id]}")
        seen[g.id] = g.path
    log.info("team guidelines loaded folder=%s count=%d", folder, len(guidelines))
    return guidelines


def to_docs(guidelines: Iterable[TeamGuideline], fiscal_year: str) -> list[Doc]:
    """One document per `## ` part of each approved guideline: `TEAM:{fy}:team_guideline:{id}#{anchor}`.
    Drafts and retired guidelines are not indexed (they must never be cited)."""
    docs = []
    for g in guidelines:
        if g.status != "approved":
            log.info("team guideline skipped id=%s status=%s", g.id, g.status)
            continue
        for part in g.sections:
            heading = f" — {part.heading}" if part.heading else ""
            docs.append(
                Doc(
                    id=doc_id(SYSTEM, fiscal_year, "team_guideline", f"{g.id}#{part.anchor}"),
                    text=f"{g.citation}: {g.title}{heading}\n{part.text}",
                    metadata={
                        "source_type": "team_guideline",
                        "fiscal_year": str(fiscal_year),
                        "title": f"Team guideline {g.id}: {g.title}",
                        "section": g.id,
                        "section_title": part.heading or g.title,
                        "anchor": part.anchor,
                        "effective": g.effective.isoformat(),
                        "approved_by": g.approved_by,
                        "refines": ", ".join(g.refines),
                        "citation": g.citation,
                    },
                    embed_text=" ".join(f"{g.title} {part.heading}: {part.text}".split()[:40]),
                )
            )
    return docs
