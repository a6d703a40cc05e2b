"""Block Kit builders: pure functions from an `Answer` (and ids) to Slack message and view dicts.

Nothing here calls Slack or reads settings; every builder is tested with plain dict checks.
Slack's limits are respected here, not in the listeners: a section's text stays within 3,000
characters, a message within 50 blocks, a context block within 10 elements, a button value
within 2,000 characters. What does not fit is returned as `overflow` (further messages) so the
listener can post it in the thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from codedesk.bot.text import escape_mrkdwn, markdown_to_mrkdwn, shorten
from codedesk.cms.tabular import NOTE_LABELS
from codedesk.retrieval.schema import Answer, Citation, CodeItem

Block = dict[str, Any]

MAX_SECTION_TEXT = 3000
MAX_BLOCKS = 50
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 3000  # notifications show far less; keep the fallback short

# action ids / callback ids the listeners register
FEEDBACK_BLOCK_ID = "codedesk_feedback"
ACTION_UP = "codedesk_feedback_up"
ACTION_DOWN = "codedesk_feedback_down"
ACTION_ESCALATE = "codedesk_escalate"
ACTION_SHARE = "codedesk_share"
FEEDBACK_MODAL = "codedesk_feedback_modal"
REASON_BLOCK, REASON_ACTION = "reason", "choices"
DETAILS_BLOCK, DETAILS_ACTION = "details", "text"

FEEDBACK_REASONS: list[tuple[str, str]] = [
    ("wrong_code", "Wrong code"),
    ("missing_code", "A code is missing"),
    ("citation", "Wrong or missing citation"),
    ("fiscal_year", "Outdated or wrong fiscal year"),
    ("misunderstood", "Misunderstood the question"),
    ("other", "Something else"),
]

NO_CITATION_WARNING = (
    "I could not cite an official source for this answer. Verify it in the "
    "Tabular List and the Official Guidelines before you code from it."
)
CONTINUED_NOTICE = "The rest of this answer is in the thread ↓"
CONTINUED_EPHEMERAL_NOTICE = "The rest of this answer follows ↓"

GREETING = (
    "Hi! I'm CodeDesk. Ask me a coding question in plain words and I'll answer with "
    "exact ICD-10-CM, ICD-10-PCS or HCPCS codes and the official rules behind them."
)
SUGGESTED_PROMPTS: list[dict[str, str]] = [
    {"title": "Diabetes with CKD", "message": "Code for type 2 diabetes with CKD stage 3?"},
    {
        "title": "Symptoms vs diagnosis",
        "message": "Can I code a symptom together with a confirmed diagnosis?",
    },
    {
        "title": "7th characters",
        "message": "Which 7th character for a subsequent encounter of a wrist fracture?",
    },
    {"title": "What changed", "message": "What changed in N18 this year?"},
]
STATUS_LOOKING_UP = "Looking up codes…"

# User-facing messages: say what to do next, never show an exception.
MSG_INDEX_RETRYING = (
    "The code index is unavailable right now — retrying… "
    "I'll update this message as soon as it is back."
)
MSG_INDEX_DOWN = (
    "The code index is still unavailable, so I can't answer yet. Please ask again in a few "
    "minutes; if it keeps happening, tell your CodeDesk admin (the index may need `codedesk ingest`)."
)
MSG_INTERNAL = (
    "Something went wrong on my side while answering, and it has been logged. Please try again; "
    "if it happens again, tell your CodeDesk admin."
)
MSG_EMPTY = (
    "Ask me a coding question in plain words, for example: "
    "_code for type 2 diabetes with CKD stage 3?_"
)
MSG_RATE_LIMITED = (
    "You're asking faster than I can keep up ({limit} questions a minute). "
    "Take a breath and ask again in a minute — your question wasn't lost, just not answered."
)
MSG_CHANNEL_NOT_ALLOWED = (
    "I'm not set up to answer in this channel. Ask me in a direct message, "
    "or ask your CodeDesk admin to add this channel."
)
MSG_FEEDBACK_THANKS_UP = "Thanks — glad it helped. Your 👍 is recorded."
MSG_FEEDBACK_THANKS_DOWN = "Thanks — your feedback is recorded and a team lead will look at it."
MSG_FEEDBACK_UNAVAILABLE = (
    "I couldn't record that feedback (the answer log is unavailable). Please try again later."
)
MSG_ESCALATED = "Sent to the team leads in <#{channel}>. They'll reply there or in this thread."
MSG_ESCALATION_OFF = (
    "Escalation isn't configured: ask your CodeDesk admin to set CODEDESK_ESCALATION_CHANNEL."
)
MSG_SHARED = "Shared in the channel ✓"
MSG_SHARE_FAILED = (
    "I couldn't post in this channel (I may not be a member). "
    "Invite me with `/invite @CodeDesk` and press Share again."
)


@dataclass(slots=True)
class Rendered:
    """A message ready for chat.postMessage: `text` (notification fallback) and `blocks`;
    `overflow` holds further messages (lists of blocks) that did not fit."""

    text: str
    blocks: list[Block]
    overflow: list[list[Block]] = field(default_factory=list)


# ----------------------------------------------------------------------------- primitives


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, *, emoji: bool = True) -> Block:
    return {"type": "plain_text", "text": text, "emoji": emoji}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(_fit(text, MAX_SECTION_TEXT))}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(_fit(t, MAX_SECTION_TEXT)) for t in texts[:MAX_CONTEXT_ELEMENTS]],
    }


def divider() -> Block:
    return {"type": "divider"}


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at paragraph, then line, then word
    boundaries; never loses a character other than the whitespace it cuts at."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            at = window.rfind(sep)
            if at > limit // 3:
                cut = at + (1 if sep == ". " else 0)
                break
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _sections(text: str) -> list[Block]:
    return [section(piece) for piece in split_text(text)]


def button_value(payload: dict[str, Any]) -> str:
    """JSON for a button value, shortening its question ("q") until it fits 2,000 characters."""
    data = dict(payload)
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    while len(value) > MAX_BUTTON_VALUE and data.get("q"):
        data["q"] = shorten(
            data["q"], max(20, len(data["q"]) - (len(value) - MAX_BUTTON_VALUE) - 10)
        )
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return value


def parse_value(value: str | None) -> dict[str, Any]:
    """A button value or private_metadata back to a dict ({} when absent or not ours)."""
    if not value:
        return {}
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ----------------------------------------------------------------------------- answer parts


def code_line(item: CodeItem) -> str:
    """'• `E11.22` — Type 2 diabetes mellitus with … · reportable' (plus status and note)."""
    if item.billable:
        status = "reportable"
    elif item.needs_seventh:
        status = "needs a 7th character"
    else:
        status = "header — not reportable, pick a code below it"
    system = "" if item.system == "ICD-10-CM" else f" ({item.system})"
    line = f"• `{item.code}`{system} — {escape_mrkdwn(item.description)} · _{status}_"
    if item.needs_seventh and item.billable:
        line += " · _7th character included_"
    if item.note:
        line += f"\n      ↳ {escape_mrkdwn(item.note)}"
    return line


def codes_text(codes: list[CodeItem]) -> str:
    return "*Codes*\n" + "\n".join(code_line(item) for item in codes)


def _where(code: str) -> str:
    """A note's home: a code or block as written, a bare chapter number as 'chapter 19'."""
    return f"chapter {code}" if code.isdigit() else code


def _note_label(kind: str | None) -> str:
    return NOTE_LABELS.get(kind or "", (kind or "Note").replace("_", " ").capitalize())


NOTE_KINDS = (
    "includes",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "note",
    "seventh_character",
)


def notes_text(citations: list[Citation]) -> str | None:
    """Instructional notes that apply (tabular citations of a note kind, with a quote), one line per
    note kind and code: '• *Code first* (N18): any associated: diabetic CKD (E11.22); …'."""
    grouped: dict[tuple[str, str | None], list[str]] = {}
    for cite in citations:
        if cite.source_type != "tabular" or cite.section not in NOTE_KINDS or not cite.quote:
            continue
        quotes = grouped.setdefault((cite.section, cite.code), [])
        quote = cite.quote.strip().lstrip(",;: ").strip()
        if quote and quote not in quotes:
            quotes.append(quote)
    lines = []
    for (kind, code), quotes in grouped.items():
        text = ""
        for quote in quotes:
            text += quote if not text else (" " if text.rstrip().endswith(":") else "; ") + quote
        where = f" ({_where(code)})" if code else ""
        lines.append(f"• *{_note_label(kind)}*{where}: {escape_mrkdwn(shorten(text, 600))}")
    return "*Notes that apply*\n" + "\n".join(lines) if lines else None


def answer_prose(markdown: str, *, drop_notes: bool, drop_sources: bool) -> str:
    """The answer's markdown without the paragraphs the blocks show in structured form: a
    'Notes that apply…' list (shown from the citations) and a 'Sources:' line (the context block)."""
    kept = []
    for para in markdown.strip().split("\n\n"):
        head = para.lstrip().lower()
        if drop_notes and head.startswith("notes that apply"):
            continue
        if drop_sources and head.startswith(("sources:", "**sources**", "sources\n")):
            continue
        kept.append(para)
    return "\n\n".join(kept).strip() or markdown.strip()


_ICONS = {
    "guideline": "📘",
    "team_guideline": "📗",
    "tabular": "📑",
    "index": "🔎",
    "drug_table": "💊",
    "neoplasm_table": "🧬",
    "addenda": "🆕",
    "pcs": "🛠️",
    "hcpcs": "🏷️",
    "code_book": "📖",
    "drg_table": "🏥",
    "hcc_mapping": "📊",
}


def citation_text(cite: Citation) -> str:
    """One source: '📘 ICD-10-CM Official Guidelines FY2025 · §I.C.4.a.3 · p. 40' or
    '📑 Tabular List · `E11.22` · Use additional code · FY2026'."""
    parts = [cite.title]
    if cite.source_type in ("guideline", "team_guideline"):
        if cite.section:
            parts.append(f"§{cite.section}")
        if cite.code:
            parts.append(cite.code)
    else:
        if cite.code:
            parts.append(f"`{cite.code}`" if not cite.code.isdigit() else _where(cite.code))
        if cite.section:
            parts.append(
                _note_label(cite.section) if cite.source_type == "tabular" else cite.section
            )
    if cite.page is not None:
        parts.append(f"p. {cite.page}")
    if cite.fiscal_year and cite.fiscal_year not in cite.title:
        parts.append(f"FY{cite.fiscal_year}")
    return f"{_ICONS.get(cite.source_type, '📄')} " + " · ".join(
        escape_mrkdwn(p) if not p.startswith("`") else p for p in parts
    )


def citation_blocks(citations: list[Citation]) -> list[Block]:
    """Context blocks of citations, ten per block, the first element labelled 'Sources'."""
    texts = []
    seen: set[str] = set()
    for cite in citations:
        text = citation_text(cite)
        if text not in seen:
            seen.add(text)
            texts.append(text)
    blocks = []
    for start in range(0, len(texts), MAX_CONTEXT_ELEMENTS - 1):
        chunk = texts[start : start + MAX_CONTEXT_ELEMENTS - 1]
        blocks.append(context("*Sources*" if start == 0 else "*Sources (cont.)*", *chunk))
    return blocks


_CONFIDENCE = {"high": "🟢 high", "medium": "🟡 medium", "low": "🔴 low"}


def confidence_text(answer: Answer) -> str:
    text = f"Confidence: {_CONFIDENCE.get(answer.confidence, answer.confidence)}"
    if answer.fiscal_year:
        text += f" · FY{answer.fiscal_year} code set"
    return text


def fallback_text(answer: Answer) -> str:
    """Notification / screen-reader text: the top code and the start of the answer."""
    head = f"{answer.codes[0].code} — {answer.codes[0].description}: " if answer.codes else ""
    # escaped: the answer may repeat words of the question, which must not become mentions or links
    return (
        escape_mrkdwn(shorten(head + " ".join(answer.answer.split()), MAX_FALLBACK_TEXT))
        or "CodeDesk answer"
    )


# ----------------------------------------------------------------------------- actions


def action_blocks(
    *,
    log_id: int | str | None,
    question: str,
    fiscal_year: str | None = None,
    feedback: bool = True,
    escalation: bool = True,
    share: bool = False,
) -> list[Block]:
    """👍 / 👎 (when the answer was logged), 'Ask a team lead', and 'Share in channel' (ephemeral answers)."""
    elements: list[Block] = []
    ref = {"id": log_id, "q": question, "fy": fiscal_year}
    if share:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_SHARE,
                "style": "primary",
                "text": plain("Share in channel"),
                "value": button_value(ref),
            }
        )
    if feedback and log_id is not None:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_UP,
                "text": plain("👍"),
                "value": button_value({"id": log_id}),
                "accessibility_label": "Helpful",
            }
        )
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_DOWN,
                "text": plain("👎"),
                "value": button_value({"id": log_id}),
                "accessibility_label": "Not helpful",
            }
        )
    if escalation:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_ESCALATE,
                "text": plain("Ask a team lead"),
                "value": button_value(ref),
            }
        )
    return (
        [{"type": "actions", "block_id": FEEDBACK_BLOCK_ID, "elements": elements}]
        if elements
        else []
    )


# ----------------------------------------------------------------------------- whole answers


def answer_blocks(
    answer: Answer,
    *,
    log_id: int | str | None = None,
    notices: list[str] | None = None,
    feedback: bool = True,
    escalation: bool = True,
    share: bool = False,
    continued_notice: str = CONTINUED_NOTICE,
    max_blocks: int = MAX_BLOCKS,
) -> Rendered:
    """The full answer message.

    Order: notices, answer text, codes, notes that apply, warnings, sources, confidence, actions.
    Long text is split into sections of at most 3,000 characters; when the message would pass
    `max_blocks`, the first message keeps what fits plus the footer (confidence and buttons) and
    the rest goes to `overflow`, in messages of at most `max_blocks` blocks each.
    """
    content: list[Block] = []
    for notice in notices or []:
        content.append(context(f"ℹ️ {escape_mrkdwn(notice)}"))
    notes = notes_text(answer.citations)
    prose = answer_prose(
        answer.answer, drop_notes=notes is not None, drop_sources=bool(answer.citations)
    )
    content += _sections(markdown_to_mrkdwn(prose) or "_(no answer text)_")
    if answer.codes:
        content += _sections(codes_text(answer.codes))
    if notes:
        content += _sections(notes)
    warnings = list(answer.warnings)
    if not answer.citations and NO_CITATION_WARNING not in warnings:
        warnings.append(NO_CITATION_WARNING)
    for warning in warnings:
        content.append(context(f"⚠️ {escape_mrkdwn(warning)}"))
    content += citation_blocks(answer.citations)

    footer = [context(confidence_text(answer))]
    footer += action_blocks(
        log_id=log_id,
        question=answer.question,
        fiscal_year=answer.fiscal_year,
        feedback=feedback,
        escalation=escalation,
        share=share,
    )
    text = fallback_text(answer)
    if len(content) + len(footer) <= max_blocks:
        return Rendered(text=text, blocks=content + footer)
    room = max_blocks - len(footer) - 1
    first = content[:room] + [context(f"_{continued_notice}_")] + footer
    rest = content[room:]
    overflow = [rest[i : i + max_blocks] for i in range(0, len(rest), max_blocks)]
    return Rendered(text=text, blocks=first, overflow=overflow)


def message_blocks(text: str, *, warning: bool = False) -> Rendered:
    """A short message (error, notice) as one section; `text` is mrkdwn."""
    body = f"⚠️ {text}" if warning else text
    return Rendered(text=shorten(text, MAX_FALLBACK_TEXT), blocks=[section(body)])


WRITING_NOTICE = "✍️ Writing… codes and citations are checked before the final answer replaces this."


def writing_blocks(text: str) -> Rendered:
    """A model answer while it is written (text so far, unsupported codes already masked)."""
    body = markdown_to_mrkdwn(text)
    if (
        len(body) > MAX_SECTION_TEXT
    ):  # the start is enough to read along; the final answer has it all
        body = body[: MAX_SECTION_TEXT - 1] + "…"
    return Rendered(
        text=escape_mrkdwn(shorten(text, MAX_FALLBACK_TEXT)),
        blocks=[section(body), context(WRITING_NOTICE)],
    )


def escalation_blocks(
    answer: Answer,
    *,
    asked_by: str,
    channel: str | None,
    usergroup: str | None,
    team_leads: list[str],
    log_id: int | str | None,
    permalink: str | None,
    max_blocks: int = MAX_BLOCKS,
) -> Rendered:
    """The post in the escalation channel: who asks, the question, CodeDesk's answer (without
    buttons), a link back to the conversation, and a mention of the team leads."""
    if usergroup:
        mention = f"<!subteam^{usergroup}>"
    elif team_leads:
        mention = " ".join(f"<@{user}>" for user in team_leads)
    else:
        mention = "Team leads"
    where = f" in <#{channel}>" if channel and channel.startswith(("C", "G")) else ""
    head = [
        section(f"🙋 {mention}: <@{asked_by}> asked for a team lead's review{where}."),
        section(
            "*Question*\n"
            + "\n".join(
                "> " + line
                for line in split_text(escape_mrkdwn(answer.question), 2800)[0].splitlines()
            )
        ),
        section("*CodeDesk answered*"),
    ]
    body = answer_blocks(
        answer,
        log_id=log_id,
        feedback=False,
        escalation=False,
        share=False,
        max_blocks=max_blocks - len(head) - 2,
    )
    tail_bits = []
    if permalink:
        tail_bits.append(f"<{permalink}|Open the conversation>")
    if isinstance(log_id, int):
        tail_bits.append(f"Log #{log_id}")
    tail = [context(" · ".join(tail_bits))] if tail_bits else []
    # the question escaped like in the blocks: typed <!channel> or <url|label> must not become live here
    text = f"Escalation from <@{asked_by}>: " + escape_mrkdwn(
        shorten(answer.question, MAX_FALLBACK_TEXT - 40)
    )
    return Rendered(
        text=text, blocks=head + [divider()] + body.blocks + tail, overflow=body.overflow
    )


def feedback_modal(
    *, log_id: int | str, channel: str | None = None, message_ts: str | None = None
) -> Block:
    """The 👎 modal: what was wrong (checkboxes) and optional details."""
    meta = json.dumps({"id": log_id, "channel": channel, "ts": message_ts}, separators=(",", ":"))
    return {
        "type": "modal",
        "callback_id": FEEDBACK_MODAL,
        "private_metadata": meta,
        "title": plain("What was wrong?"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            section(
                "Thanks for telling us. Team leads review every 👎 and fix answers for everyone."
            ),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": plain("What was wrong"),
                "element": {
                    "type": "checkboxes",
                    "action_id": REASON_ACTION,
                    "options": [
                        {"text": plain(label), "value": value} for value, label in FEEDBACK_REASONS
                    ],
                },
            },
            {
                "type": "input",
                "block_id": DETAILS_BLOCK,
                "optional": True,
                "label": plain("Details (the right code, the rule you know applies…)"),
                "hint": plain("Please leave out patient names, dates of birth and record numbers."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DETAILS_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }


def feedback_reason(view_state: dict[str, Any]) -> str | None:
    """The reason recorded from a submitted feedback modal's `view.state.values`:
    'Wrong code; A code is missing: details…' (None when nothing was given)."""
    values = view_state or {}
    chosen = (values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}) or {}).get(
        "selected_options"
    ) or []
    labels = dict(FEEDBACK_REASONS)
    reasons = [labels.get(opt.get("value"), opt.get("value")) for opt in chosen]
    details = (
        (values.get(DETAILS_BLOCK, {}).get(DETAILS_ACTION, {}) or {}).get("value") or ""
    ).strip()
    text = "; ".join(r for r in reasons if r)
    if details:
        text = f"{text}: {details}" if text else details
    return text or None


def home_view() -> Block:
    """The App Home tab."""
    prompts = "\n".join(f"• _{p['message']}_" for p in SUGGESTED_PROMPTS)
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": plain("CodeDesk — medical coding help")},
            section(GREETING),
            section(
                "*Where to ask*\n• Mention me in a channel: `@CodeDesk code for …` — I answer in the thread.\n"
                "• Send me a direct message, or open the assistant panel. Follow-ups in a thread keep "
                "its context (_and if it's stage 4?_).\n"
                "• Type `/code your question` anywhere for a private answer you can share."
            ),
            section("*Try*\n" + prompts),
            context(
                "Every answer cites the Tabular List, the Official Guidelines or your team's guidelines. "
                "👍/👎 and *Ask a team lead* help your leads improve answers for everyone. "
                "Leave patient identifiers out of questions."
            ),
        ],
    }
