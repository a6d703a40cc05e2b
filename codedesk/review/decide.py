"""Team-lead decisions turned into team guidelines the bot cites.

`decide(settings, topic_id, text, decided_by)` records a `review_decision` on a review topic and
writes it as a team guideline markdown file (the format of `codedesk.ingest.team`) in
``settings.team_guidelines_dir`` or the repository's ``guidelines/team``. After the next
``codedesk ingest`` answers cite it beside the official source it refines.

- The id is the next free ``TG-NNN``: one more than the highest id among the folder's files and the
  guidelines any earlier decision wrote (so the id of a deleted file is never given again).
- A file is never overwritten (exclusive create); concurrent deciders are serialised by a lock
  file in ``settings.home``.
- The front matter carries the provenance: topic id, decision id, how many questions and over
  which period, when it was recorded.
- The decision text is scrubbed before it is stored or written, like everything in the log.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from codedesk.errors import CodeDeskError
from codedesk.phi.scrub import scrub
from codedesk.review.log import add_decision
from codedesk.review.models import ReviewDecision, ReviewTopic, utcnow
from codedesk.review.topics import topic_sources

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout: codedesk/<layer>/this file
DEFAULT_TEAM_DIR = REPO_ROOT / "guidelines" / "team"
GUIDELINE_STATUSES = {
    "approved": "accepted",
    "draft": "proposed",
}  # guideline status -> decision status
TITLE_CHARS = 120
_TG = re.compile(r"^TG-(\d{3,})")
_REFINE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9.\-]*(?: [A-Za-z0-9.\-]+)?$"
)  # I.C.4.a, E11.22, Appendix I


class DecisionError(CodeDeskError):
    """The decision cannot be recorded; the message says why and what to do."""


class UnknownTopic(DecisionError):
    def __init__(self, topic_id: int) -> None:
        super().__init__(
            f"No review topic {topic_id}. Run `codedesk review topics` to list the topics of a period."
        )
        self.topic_id = topic_id


@dataclass(frozen=True, slots=True)
class DecisionResult:
    decision_id: int
    topic_id: int
    guideline_id: str  # TG-002
    path: Path
    status: str  # the guideline's: approved | draft
    decision_status: str  # the decision row's: accepted | proposed
    effective: date
    refines: tuple[str, ...]
    title: str


def team_dir(settings: Any) -> Path:
    folder = getattr(settings, "team_guidelines_dir", None)
    return Path(folder) if folder else DEFAULT_TEAM_DIR


def used_ids(folder: Path, session: Session | None = None) -> set[int]:
    """TG numbers taken: files in the folder (any status) and guidelines written by earlier decisions."""
    numbers: set[int] = set()
    if folder.is_dir():
        for p in folder.iterdir():
            m = _TG.match(p.name)
            if m:
                numbers.add(int(m.group(1)))
    if session is not None:
        for path in session.exec(
            select(ReviewDecision.guideline_path).where(
                col(ReviewDecision.guideline_path).is_not(None)
            )
        ):
            m = _TG.match(Path(path or "").name)
            if m:
                numbers.add(int(m.group(1)))
    return numbers


def slug(text: str, words: int = 6) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    tokens = [t for t in re.findall(r"[a-z0-9]+", ascii_text.lower()) if t not in {"name", "date"}]
    return "-".join(tokens[:words]) or "decision"


def parse_refines(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = re.split(r"[,;]", value) if isinstance(value, str) else list(value)
    out = []
    for item in items:
        item = " ".join(str(item).split()).removeprefix("Section ").strip()
        if not item:
            continue
        if not _REFINE.match(item):
            raise DecisionError(
                f"--refines {item!r} is not a guideline section or code (e.g. I.C.4.a or E11.22)"
            )
        if item not in out:
            out.append(item)
    return out


def infer_refines(topic: ReviewTopic) -> list[str]:
    """What the topic's answers rested on: its two most cited official guideline sections, then
    its top code (team guidelines and code-book notes are not 'official sections')."""
    sections = [
        s.section for s in topic_sources(topic) if s.source_type == "guideline" and s.section
    ]
    out = list(dict.fromkeys(sections))[:2]
    codes = [c for c in (topic.codes or "").split(",") if c]
    if codes:
        out.append(codes[0])
    return out


def _title(label: str) -> str:
    t = " ".join(label.split())
    t = re.sub(r"\s*\[[A-Z_ 0-9+]+\]\s*", " ", t).strip() or t  # scrub tags make poor titles
    if len(t) > TITLE_CHARS:
        t = t[: TITLE_CHARS - 1].rstrip() + "…"
    return t[:1].upper() + t[1:]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_guideline(
    *,
    guideline_id: str,
    title: str,
    effective: date,
    approved_by: str,
    status: str,
    refines: Sequence[str],
    topic: ReviewTopic,
    decision_id: int,
    text: str,
    recorded: str,
) -> str:
    first = topic.first_seen.date().isoformat() if topic.first_seen else ""
    last = topic.last_seen.date().isoformat() if topic.last_seen else ""
    period = f"{first}..{last}" if first else ""
    n = topic.query_count
    meta = [
        ("id", guideline_id),
        ("title", title),
        ("effective", effective.isoformat()),
        ("approved_by", approved_by),
        ("status", status),
    ]
    if refines:
        meta.append(("refines", ", ".join(refines)))
    meta += [
        ("source", "codedesk review decide"),
        ("topic_id", str(topic.id)),
        ("decision_id", str(decision_id)),
        ("question_count", str(n)),
        ("period", period),
        ("recorded", recorded),
    ]
    front = "\n".join(f"{k}: {_one_line(v)}" for k, v in meta if v != "")
    asked = f"asked {n} time{'s' if n != 1 else ''}" + (
        f" between {first} and {last}"
        if first and first != last
        else f" on {first}"
        if first
        else ""
    )
    basis = (
        f" Cite the official source first ({', '.join(refines)}); this guideline adds our practice to it and "
        "never overrides it."
        if refines
        else " It adds our own practice to the official rules; it never overrides them."
    )
    examples = [e for e in (topic.examples or []) if e != topic.label][:3]
    also = (
        ("\n\nAlso asked as:\n" + "\n".join(f"- {_one_line(e)}" for e in examples))
        if examples
        else ""
    )
    body = (
        f"Decision of the team's coding review on a question coders {asked} (review topic {topic.id})."
        f"{basis}\n\n## Decision\n\n**Question:** {_one_line(topic.label)}{also}\n\n{text.strip()}\n"
    )
    return f"---\n{front}\n---\n\n{body}"


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "team-guidelines.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def decide(
    settings: Any,
    topic_id: int,
    text: str,
    decided_by: str,
    effective: date | str | None = None,
    status: str = "approved",
    *,
    refines: str | Sequence[str] | None = None,
    engine: Any = None,
) -> DecisionResult:
    """Record a decision on `topic_id` and write it as team guideline TG-NNN.

    `status` is the guideline's: ``approved`` (the bot cites it after the next ingest; the decision
    row is ``accepted``) or ``draft`` (written but not indexed; the row is ``proposed``).
    `refines` defaults to the official sections and code the topic's answers cited most.
    Raises `UnknownTopic` or `DecisionError` with a message for the user."""
    from codedesk.review.db import engine_for
    from codedesk.review.migrate import ensure_schema

    if status not in GUIDELINE_STATUSES:
        raise DecisionError(
            f"status must be one of {', '.join(GUIDELINE_STATUSES)}, not {status!r}"
        )
    clean = scrub(text or "").text.strip()
    if not clean:
        raise DecisionError("the decision text is empty: say what the team decided (--text)")
    decided_by = _one_line(decided_by or "")
    if not decided_by:
        raise DecisionError('say who decided (--by), e.g. --by "Coding committee"')
    if isinstance(effective, str):
        try:
            effective = date.fromisoformat(effective.strip())
        except ValueError:
            raise DecisionError(
                f"--effective {effective!r} is not a date: use YYYY-MM-DD"
            ) from None
    effective = effective or utcnow().date()
    wanted_refines = parse_refines(refines)

    folder = team_dir(settings)
    engine = engine or engine_for(settings)
    ensure_schema(engine)
    path: Path | None = None
    with _lock(Path(settings.home)), Session(engine, expire_on_commit=False) as session:
        try:
            topic = session.get(ReviewTopic, topic_id)
            if topic is None:
                raise UnknownTopic(topic_id)
            refs = wanted_refines or infer_refines(topic)
            title = _title(topic.label)
            row = add_decision(
                session,
                topic_id=topic_id,
                text=clean,
                decided_by=decided_by,
                status=GUIDELINE_STATUSES[status],
                effective_date=effective,
            )
            assert row.id is not None
            folder.mkdir(parents=True, exist_ok=True)
            number = max(used_ids(folder, session), default=0) + 1
            recorded = utcnow().isoformat(timespec="seconds")
            while True:
                gid = f"TG-{number:03d}"
                candidate = folder / f"{gid}-{slug(title)}.md"
                if any(folder.glob(f"{gid}-*")) or any(folder.glob(f"{gid}.*")):
                    number += 1  # taken meanwhile by a file written by hand
                    continue
                content = render_guideline(
                    guideline_id=gid,
                    title=title,
                    effective=effective,
                    approved_by=decided_by,
                    status=status,
                    refines=refs,
                    topic=topic,
                    decision_id=row.id,
                    text=clean,
                    recorded=recorded,
                )
                try:
                    with open(candidate, "x", encoding="utf-8") as handle:  # never overwrite
                        path = candidate
                        handle.write(content)
                except FileExistsError:
                    number += 1
                    continue
                break
            row.guideline_path = str(path)
            session.add(row)
            session.commit()
        except BaseException:
            session.rollback()
            if path is not None:  # no decision row: no orphan guideline either
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
    log.info(
        "decision recorded id=%s topic=%s guideline=%s status=%s", row.id, topic_id, gid, status
    )
    return DecisionResult(
        decision_id=row.id,
        topic_id=topic_id,
        guideline_id=gid,
        path=path,
        status=status,
        decision_status=GUIDELINE_STATUSES[status],
        effective=effective,
        refines=tuple(refs),
        title=title,
    )
