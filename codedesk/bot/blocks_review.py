"""Block Kit builders for team-lead review and code-change discussion: pure functions from plain data
(the review port's `WeekSummary`, `Discussion`, `RecentQuestion`, `DecisionResult`, and
`codedesk.retrieval.versions.Diff`) to Slack view and message dicts, tested with plain dict checks.
Nothing here calls Slack, reads settings or opens the database.

- App Home: `lead_home_view` (this week's top topics, open low-confidence and 👎 items, "Record a
  decision" buttons) and `coder_home_view` (the guide and the person's own recent questions).
- The decision modal: `decision_modal`, read back with `decision_input`.
- Code changes: `changes_message` (one message for `/code-changes` or a chapter of the digest,
  truncated within Slack's limits with a count of what was left out) and `changes_full_messages`
  (the complete lists, for the digest thread).
- `weekly_digest` for `codedesk digest weekly`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from codedesk.bot.blocks import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    SUGGESTED_PROMPTS,
    Block,
    Rendered,
    button_value,
    context,
    divider,
    home_view,
    plain,
    section,
)
from codedesk.bot.review_port import (
    DecisionResult,
    Discussion,
    OpenItem,
    RecentQuestion,
    WeekSummary,
)
from codedesk.bot.text import escape_mrkdwn, shorten

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
MAX_HEADER_TEXT = 150
MAX_MODAL_TITLE = 24

ACTION_DECIDE = "codedesk_home_decide"
ACTION_HOME_REFRESH = "codedesk_home_refresh"
DECISION_MODAL = "codedesk_decision_modal"
DECISION_TEXT_BLOCK, DECISION_TEXT_ACTION = "decision_text", "text"
DECISION_DATE_BLOCK, DECISION_DATE_ACTION = "decision_effective", "date"
DECISION_BY_BLOCK, DECISION_BY_ACTION = "decision_by", "by"
DECISION_DRAFT_BLOCK, DECISION_DRAFT_ACTION = "decision_draft", "draft"
DEFAULT_DECIDED_BY = "Coding committee"
DECISION_TEXT_MAX = 3000

CHANGE_KINDS = ("added", "deleted", "revised", "became_header", "notes_changed")
CHANGE_TITLES = {
    "added": "Added codes",
    "deleted": "Deleted codes",
    "revised": "Revised titles",
    "became_header": "Codes that became headers",
    "notes_changed": "Instructional notes changed",
}
CHANGE_ICONS = {
    "added": "🆕",
    "deleted": "🗑️",
    "revised": "✏️",
    "became_header": "🔀",
    "notes_changed": "📝",
}
CHANGE_COUNTS = {
    "added": "added",
    "deleted": "deleted",
    "revised": "revised",
    "became_header": "became headers",
    "notes_changed": "note changes",
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

MSG_CHANGES_USAGE = (
    "Ask for the changes to a code prefix or a chapter: `/code-changes N18`, "
    "`/code-changes chapter 4`, or name the fiscal years: `/code-changes 2025 2026 N18`."
)
MSG_DECISION_EMPTY = "Write the decision the team reached."
MSG_NOT_A_LEAD = "Only team leads can record decisions. Ask your CodeDesk admin to add you (CODEDESK_TEAM_LEADS)."
MSG_DISCUSS = "💬 Discuss these changes in this message's thread — replies and reactions go to the team's review."


# ----------------------------------------------------------------------------- small parts


def slack_date(when: datetime, fmt: str = "{date_short_pretty}") -> str:
    """A date Slack shows in the reader's own time zone, with an ISO fallback."""
    return f"<!date^{int(when.timestamp())}^{fmt}|{when:%Y-%m-%d}>"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{round(100 * x)}%"


def _codes(codes: str | None, limit: int = 3) -> str:
    items = [c for c in (codes or "").split(",") if c][:limit]
    return " ".join(f"`{c}`" for c in items)


def _decide_button(
    *, query_id: int, topic_id: int | None, label: str, text: str = "Record a decision"
) -> Block:
    return {
        "type": "button",
        "action_id": ACTION_DECIDE,
        "text": plain(text),
        "value": button_value({"query": query_id, "topic": topic_id, "q": label}),
    }


def _question_line(text: str, limit: int = 200) -> str:
    return f"_{escape_mrkdwn(shorten(text, limit))}_"


# ----------------------------------------------------------------------------- App Home


def lead_home_view(summary: WeekSummary, *, discussions: Sequence[Discussion] = ()) -> Block:
    """The Home tab of a team lead: the week's summary and its discussions (shown as one line each,
    at most five)."""
    s = summary
    blocks: list[Block] = [
        {"type": "header", "text": plain("CodeDesk — team lead review")},
        context(
            f"Last 7 days: {slack_date(s.since)} – {slack_date(s.until)} · "
            f"*{s.questions}* question{'s' if s.questions != 1 else ''} from *{s.people}* "
            f"{'person' if s.people == 1 else 'people'} · 👍 {s.thumbs_up} / 👎 {s.thumbs_down} "
            f"(helpful {_pct(s.helpful_ratio)}) · 🔴 {s.low_confidence} low confidence · "
            f"🙋 {s.escalations_open} open escalation{'s' if s.escalations_open != 1 else ''}"
        ),
        {
            "type": "actions",
            "block_id": "codedesk_home_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACTION_HOME_REFRESH,
                    "text": plain("↻ Refresh"),
                    "value": "refresh",
                }
            ],
        },
        divider(),
        section(
            "*Top topics this week*"
            if s.by_topic
            else "*Most asked this week* _(by question; run `codedesk review topics` to group similar questions)_"
        ),
    ]
    if not s.top:
        blocks.append(context("No questions were asked in the last 7 days."))
    for i, t in enumerate(s.top, 1):
        what = f"topic {t.topic_id} · " if s.by_topic and t.topic_id else ""
        decided = (
            f" · ✅ {t.decisions} decision{'s' if t.decisions != 1 else ''}" if t.decisions else ""
        )
        codes = f" · {_codes(t.codes)}" if t.codes else ""
        text = f"*{i}.* {_question_line(t.label)}\n{what}asked *{t.count}×*{codes}{decided}"
        blocks.append(
            {
                **section(text),
                "accessory": _decide_button(
                    query_id=t.query_id, topic_id=t.topic_id, label=t.label
                ),
            }
        )
    blocks += _items_blocks(
        "🔴 *Low-confidence answers to review*",
        s.open_low,
        s.open_low_total,
        "No open low-confidence answers in the last 30 days.",
    )
    blocks += _items_blocks(
        "👎 *Answers marked not helpful*",
        s.open_down,
        s.open_down_total,
        "No open 👎 in the last 30 days.",
    )
    if discussions:
        blocks.append(divider())
        blocks.append(section("*Code-change discussions this week*"))
        lines = []
        for d in list(discussions)[:5]:
            reacts = " ".join(f":{name}: {n}" for name, n in d.reactions.most_common(4))
            lines.append(
                f"• {escape_mrkdwn(shorten(d.label, 120))} — {len(d.replies)} "
                f"repl{'y' if len(d.replies) == 1 else 'ies'}" + (f" · {reacts}" if reacts else "")
            )
        blocks.append(section("\n".join(lines)))
    blocks.append(divider())
    blocks.append(
        context(
            "A decision is written as a team guideline with its provenance; "
            "after the next `codedesk ingest` CodeDesk cites it beside the official source. "
            "Items leave this list once their topic has a decision."
        )
    )
    return {"type": "home", "blocks": _cap_blocks(blocks, MAX_HOME_BLOCKS)}


def _items_blocks(title: str, items: Sequence[OpenItem], total: int, empty: str) -> list[Block]:
    blocks: list[Block] = [divider(), section(title + (f" ({total})" if total else ""))]
    if not items:
        return blocks + [context(empty)]
    for item in items:
        bits = [slack_date(item.when)]
        if item.codes:
            bits.append(_codes(item.codes))
        if item.confidence and item.kind != "low_confidence":
            bits.append(f"confidence {item.confidence}")
        if item.topic_id:
            bits.append(f"topic {item.topic_id}")
        text = _question_line(item.question)
        if item.detail:
            text += f"\n> {escape_mrkdwn(shorten(item.detail, 300))}"
        text += "\n" + " · ".join(bits)
        blocks.append(
            {
                **section(text),
                "accessory": _decide_button(
                    query_id=item.query_id, topic_id=item.topic_id, label=item.question
                ),
            }
        )
    if total > len(items):
        blocks.append(
            context(f"… and {total - len(items)} more (`codedesk review` lists them all).")
        )
    return blocks


def coder_home_view(recent: Sequence[RecentQuestion], *, logging: bool = True) -> Block:
    """The Home tab for everyone else: the guide, then the person's own recent questions
    (scrubbed `question`, `codes`, `confidence`, `created_at`)."""
    view = home_view()
    blocks = list(view["blocks"])
    blocks.append(divider())
    blocks.append(section("*Your recent questions*"))
    if not logging:
        blocks.append(context("The answer log is off, so your questions are not listed here."))
    elif not recent:
        blocks.append(
            context(
                "You haven't asked anything yet. Try: _" + SUGGESTED_PROMPTS[0]["message"] + "_"
            )
        )
    else:
        for q in recent:
            bits = [slack_date(q.created_at, "{date_short_pretty} {time}")]
            if q.codes:
                bits.append(_codes(q.codes))
            if q.confidence:
                bits.append(f"confidence {q.confidence}")
            blocks.append(section(_question_line(q.question, 300) + "\n" + " · ".join(bits)))
        blocks.append(
            context("Shown as logged: patient details are removed before anything is stored.")
        )
    return {"type": "home", "blocks": _cap_blocks(blocks, MAX_HOME_BLOCKS)}


def _cap_blocks(blocks: list[Block], limit: int) -> list[Block]:
    if len(blocks) <= limit:
        return blocks
    return blocks[: limit - 1] + [context("… more below the Home tab's limit.")]


# ----------------------------------------------------------------------------- decision modal


def decision_modal(
    *,
    query_id: int | None,
    topic_id: int | None,
    label: str,
    today: date,
    decided_by: str = DEFAULT_DECIDED_BY,
) -> Block:
    """Record a decision on a topic (or on a question's topic): the decision, its effective date,
    who decided, and whether it is a draft (written, not cited yet)."""
    meta = json.dumps({"query": query_id, "topic": topic_id}, separators=(",", ":"))
    about = f"topic {topic_id}" if topic_id else "this question"
    return {
        "type": "modal",
        "callback_id": DECISION_MODAL,
        "private_metadata": meta,
        "title": plain("Record a decision"),
        "submit": plain("Record"),
        "close": plain("Cancel"),
        "blocks": [
            section(f"*Question* ({about})\n{_question_line(label, 600)}"),
            {
                "type": "input",
                "block_id": DECISION_TEXT_BLOCK,
                "label": plain("Decision"),
                "hint": plain("How to code it from now on, and why. Leave out patient details."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DECISION_TEXT_ACTION,
                    "multiline": True,
                    "max_length": DECISION_TEXT_MAX,
                    "placeholder": plain(
                        "e.g. Assign E11.22 with N18.3x; the link is presumed (I.A.15)."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": DECISION_DATE_BLOCK,
                "label": plain("Effective date"),
                "element": {
                    "type": "datepicker",
                    "action_id": DECISION_DATE_ACTION,
                    "initial_date": today.isoformat(),
                },
            },
            {
                "type": "input",
                "block_id": DECISION_BY_BLOCK,
                "label": plain("Decided by"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DECISION_BY_ACTION,
                    "max_length": 120,
                    "initial_value": decided_by,
                },
            },
            {
                "type": "input",
                "block_id": DECISION_DRAFT_BLOCK,
                "optional": True,
                "label": plain("Status"),
                "element": {
                    "type": "checkboxes",
                    "action_id": DECISION_DRAFT_ACTION,
                    "options": [
                        {"text": plain("Draft — write it, but don't cite it yet"), "value": "draft"}
                    ],
                },
            },
        ],
    }


@dataclass(frozen=True, slots=True)
class DecisionInput:
    text: str
    effective: date | None
    decided_by: str
    draft: bool


def decision_input(values: dict[str, Any]) -> DecisionInput:
    """What a submitted decision modal says (`view.state.values`)."""

    def value(block: str, action: str) -> dict[str, Any]:
        return (values.get(block) or {}).get(action) or {}

    text = (value(DECISION_TEXT_BLOCK, DECISION_TEXT_ACTION).get("value") or "").strip()
    raw_date = value(DECISION_DATE_BLOCK, DECISION_DATE_ACTION).get("selected_date")
    try:
        effective = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        effective = None
    by = (
        " ".join((value(DECISION_BY_BLOCK, DECISION_BY_ACTION).get("value") or "").split())
        or DEFAULT_DECIDED_BY
    )
    chosen = value(DECISION_DRAFT_BLOCK, DECISION_DRAFT_ACTION).get("selected_options") or []
    return DecisionInput(
        text=text,
        effective=effective,
        decided_by=by,
        draft=any(o.get("value") == "draft" for o in chosen),
    )


def decision_errors(given: DecisionInput) -> dict[str, str]:
    """Errors to show in the modal (`response_action: errors`), by block id."""
    errors = {}
    if not given.text:
        errors[DECISION_TEXT_BLOCK] = MSG_DECISION_EMPTY
    return errors


def decision_recorded_text(result: DecisionResult) -> str:
    """The confirmation sent to the lead."""
    cite = (
        "CodeDesk cites it after the next `codedesk ingest`."
        if result.status == "approved"
        else "It is a draft: set `status: approved` in the file when it should be cited."
    )
    return (
        f"✅ Decision {result.decision_id} recorded on topic {result.topic_id} and written as team guideline "
        f"*{result.guideline_id}* ({result.status}, effective {result.effective.isoformat()}): "
        f"`{result.path.name}`. {cite}"
    )


# ----------------------------------------------------------------------------- code changes


def change_lines(d: Any) -> dict[str, list[str]]:
    """One mrkdwn line per change, by kind (`d`: a `codedesk.retrieval.versions.Diff`). Long titles and notes
    are shortened before they are escaped, so no escape is ever cut in half."""
    expanded = {c: e.code for e in d.became_header for c in e.no_longer_reportable}

    def esc(text: str, limit: int = 200) -> str:
        return escape_mrkdwn(shorten(text, limit))

    def some(codes: Sequence[str], n: int = 6) -> str:
        shown = ", ".join(f"`{c}`" for c in codes[:n])
        return shown + (f" +{len(codes) - n} more" if len(codes) > n else "")

    lines: dict[str, list[str]] = {
        "added": [f"• `{a.code}` {esc(a.title)}" for a in d.added],
        "deleted": [
            f"• `{x.code}` {esc(x.title)}"
            + (f" — `{expanded[x.code]}` became a header" if x.code in expanded else "")
            for x in d.deleted
        ],
        "revised": [
            f"• `{r.code}`{' (header)' if r.header else ''}: “{esc(r.old_title, 140)}” → "
            f"“{esc(r.new_title, 140)}”"
            for r in d.revised
        ],
        "became_header": [
            f"• `{e.code}` {esc(e.title, 120)} — no longer reportable: "
            f"{some(e.no_longer_reportable)}; report one of: {some(e.now_reportable)}"
            for e in d.became_header
        ],
        "notes_changed": [],
    }
    for n in d.notes_changed:
        label = NOTE_KIND_LABELS.get(n.kind, n.kind)
        parts = [f"added “{esc(t, 160)}”" for t in n.added[:3]] + [
            f"removed “{esc(t, 160)}”" for t in n.removed[:3]
        ]
        extra = len(n.added) + len(n.removed) - len(parts)
        lines["notes_changed"].append(
            f"• `{n.code}` {label}: " + "; ".join(parts) + (f"; +{extra} more" if extra > 0 else "")
        )
    return lines


def _pack(lines: Sequence[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Lines joined into texts of at most `limit` characters, cut only between lines."""
    return [text for text, _ in _pack_counted(lines, limit)]


def _pack_counted(lines: Sequence[str], limit: int = MAX_SECTION_TEXT) -> list[tuple[str, int]]:
    """(text, number of lines in it) for lines joined into texts of at most `limit` characters."""
    out: list[tuple[str, int]] = []
    current, n = "", 0
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            out.append((current, n))
            current, n = line, 1
        else:
            current, n = (f"{current}\n{line}" if current else line), n + 1
    if current:
        out.append((current, n))
    return out


def _kind_chunks(
    kind: str, items: Sequence[str], total: int | None = None
) -> list[tuple[str, int]]:
    """Sections of one kind of change, the first headed '*Added codes* (23)' (`total`, default all
    the items); counts exclude the heading."""
    chunks = _pack_counted(
        [f"*{CHANGE_TITLES[kind]}* ({len(items) if total is None else total})", *items]
    )
    return [(text, n - (1 if i == 0 else 0)) for i, (text, n) in enumerate(chunks)]


def counts_text(d: Any) -> str:
    c = d.counts()
    return " · ".join(f"{CHANGE_ICONS[k]} {c[k]} {CHANGE_COUNTS[k]}" for k in CHANGE_KINDS)


def _scope_text(d: Any) -> str:
    if d.prefix:
        return d.prefix
    if d.chapter:
        return f"chapter {d.chapter}"
    return "all codes"


def changes_fallback(d: Any, title: str | None = None) -> str:
    c = d.counts()
    head = title or f"ICD-10-CM changes FY{d.old} → FY{d.new} · {_scope_text(d)}"
    return shorten(
        f"{head}: {c['added']} added, {c['deleted']} deleted, {c['revised']} revised, "
        f"{c['became_header']} became headers, {c['notes_changed']} note changes",
        3000,
    )


@dataclass(slots=True)
class ChangesRendered(Rendered):
    """A changes message; `truncated` when some changes were left out (and counted)."""

    truncated: bool = False


def changes_message(
    d: Any,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    max_lines: int = 15,
    hint: str | None = None,
    footer: str | None = None,
    max_blocks: int = MAX_BLOCKS,
) -> ChangesRendered:
    """One message with the changes of a diff: a header, the counts, then up to `max_lines` lines per
    kind of change; what is left out is counted ("… and 12 more added codes"), and the message never
    passes `max_blocks` blocks or 3,000 characters a section. `hint` says where the full list is;
    `footer` is a last context line (e.g. "discuss in the thread")."""
    head = title or f"ICD-10-CM changes FY{d.old} → FY{d.new} — {_scope_text(d)}"
    blocks: list[Block] = [{"type": "header", "text": plain(shorten(head, MAX_HEADER_TEXT))}]
    if subtitle:
        blocks.append(context(subtitle))
    blocks.append(context(counts_text(d)))
    tail: list[Block] = []
    if not d.notes_compared:
        tail.append(
            context(
                "Instructional notes were not compared: one of the years is a flat list of reportable "
                "codes or built from its addenda."
            )
        )
    if footer:
        tail.append(context(footer))
    if d.empty:
        scope = d.prefix or (f"chapter {d.chapter}" if d.chapter else "ICD-10-CM")
        body = [section(f"No changes to {scope} between FY{d.old} and FY{d.new}.")]
        return ChangesRendered(
            text=changes_fallback(d, head), blocks=(blocks + body + tail)[:max_blocks]
        )

    lines = change_lines(d)
    room = max_blocks - len(blocks) - len(tail) - (1 if hint else 0)
    body: list[Block] = []
    hidden: dict[str, int] = {}  # kind -> changes not shown at all, once the message is full
    truncated = full = False
    for kind in CHANGE_KINDS:
        items = lines[kind]
        if not items:
            continue
        if full or len(body) >= room - 2:
            hidden[kind] = len(items)
            continue
        chunks = _kind_chunks(kind, items[:max_lines], len(items))
        fit = chunks[
            : max(0, room - 1 - len(body) - 1)
        ]  # keep a block for "… more" and one for the final note
        body += [section(text) for text, _ in fit]
        more = len(items) - sum(n for _, n in fit)
        if more:
            truncated = True
            body.append(context(f"… and {more} more {CHANGE_TITLES[kind].lower()}"))
        full = full or len(fit) < len(chunks)  # the message is full: later kinds are only counted
    if hidden:
        truncated = True
        body.append(
            context(
                "… not shown: "
                + ", ".join(f"{n} {CHANGE_TITLES[k].lower()}" for k, n in hidden.items())
            )
        )
    if hint and truncated:
        tail.insert(0, context(hint))
    return ChangesRendered(
        text=changes_fallback(d, head), blocks=blocks + body + tail, truncated=truncated
    )


def changes_full_messages(
    d: Any,
    *,
    heading: str = "The complete list",
    max_blocks: int = MAX_BLOCKS,
    max_messages: int = 5,
    hint: str | None = None,
) -> list[list[Block]]:
    """Every change of the diff as messages of at most `max_blocks` blocks (for a thread), at most
    `max_messages` of them; a last context line counts whatever still did not fit."""
    lines = change_lines(d)
    chunks: list[tuple[str, int]] = [(f"*{heading}*", 0)]
    for kind in CHANGE_KINDS:
        if lines[kind]:
            chunks += _kind_chunks(kind, lines[kind])
    capacity = max_blocks * max_messages
    if len(chunks) > capacity:
        kept = chunks[: capacity - 1]
        rest = sum(n for _, n in chunks[capacity - 1 :])
        blocks = [section(t) for t, _ in kept] + [
            context(f"… and {rest} more changes" + (f": {hint}" if hint else ""))
        ]
    else:
        blocks = [section(t) for t, _ in chunks]
    return [blocks[i : i + max_blocks] for i in range(0, len(blocks), max_blocks)]


# ----------------------------------------------------------------------------- weekly digest


def weekly_digest(
    summary: WeekSummary, *, discussions: Sequence[Discussion] = (), max_top: int = 5
) -> Rendered:
    """The weekly summary posted by `codedesk digest weekly`."""
    s = summary
    first, last = s.since, s.until
    head = f"CodeDesk weekly summary · {first:%d %b} – {last:%d %b %Y}"
    stats = [
        f"*Questions:* {s.questions} from {s.people} {'person' if s.people == 1 else 'people'}",
        f"*Feedback:* 👍 {s.thumbs_up} · 👎 {s.thumbs_down} · helpful {_pct(s.helpful_ratio)}",
        f"*Low confidence:* {s.low_confidence}"
        + (f" ({_pct(s.low_confidence / s.questions)})" if s.questions else ""),
        f"*Open escalations:* {s.escalations_open}",
    ]
    blocks: list[Block] = [
        {"type": "header", "text": plain(head)},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in stats]},
    ]
    if s.top:
        title = "*Top topics*" if s.by_topic else "*Most asked questions*"
        lines = [
            f"{i}. {_question_line(t.label, 150)} — {t.count}×"
            + (f" {_codes(t.codes, 2)}" if t.codes else "")
            for i, t in enumerate(s.top[:max_top], 1)
        ]
        blocks += [section(t) for t in _pack([title, *lines])]
    else:
        blocks.append(section("No questions were asked this week."))
    open_items = s.open_low_total + s.open_down_total
    if open_items:
        blocks.append(
            section(
                f"*To review:* {s.open_low_total} low-confidence answer"
                f"{'s' if s.open_low_total != 1 else ''} and {s.open_down_total} 👎 without a "
                "decision (last 30 days)."
            )
        )
    if discussions:
        replies = sum(len(d.replies) for d in discussions)
        blocks.append(
            section(
                f"*Code-change discussions:* {replies} repl{'y' if replies == 1 else 'ies'} in "
                f"{len(discussions)} thread{'s' if len(discussions) != 1 else ''}."
            )
        )
    blocks.append(
        context("Team leads: open CodeDesk's *Home* tab to review open items and record decisions.")
    )
    fallback = (
        f"CodeDesk this week: {s.questions} questions, 👍 {s.thumbs_up} / 👎 {s.thumbs_down}, "
        f"{s.low_confidence} low confidence"
    )
    return Rendered(text=fallback, blocks=blocks[:MAX_BLOCKS])
