"""Pure text helpers: Slack markup out before retrieval, huge messages cut with a notice.

No I/O and no Slack client here; tested with plain strings.
"""

from __future__ import annotations

import re

# <@U123>, <@U123|name>, <@W123>
_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
# <!here>, <!channel>, <!everyone>, <!subteam^S123|@leads>, <!date^…|fallback>
_SPECIAL = re.compile(r"<!([^>|]+)(?:\|([^>]*))?>")
# <#C123|general>, <#C123>, <#C123|>
_CHANNEL = re.compile(r"<#[CGD][A-Z0-9]+(?:\|([^>]*))?>")
# <http://x|label>, <http://x>, <mailto:a@b.c|a@b.c>
_LINK = re.compile(r"<((?:https?|mailto|tel|ftp):[^>|]*)(?:\|([^>]*))?>")
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

TRUNCATION_NOTICE = (
    "Your message was long, so I read only its first {limit:,} characters. "
    "Ask one question at a time for the best answer."
)


def _special(match: re.Match[str]) -> str:
    label = (match.group(2) or "").strip()
    return label if match.group(1).startswith(("subteam^", "date^")) else ""


def clean_slack_text(text: str | None) -> str:
    """The question a person typed, without Slack's markup.

    Mentions and broadcast tags are removed, links and channels become their labels, code
    fences and backticks are stripped (their content kept: it often holds the code asked about),
    and the three HTML entities Slack escapes (&amp; &lt; &gt;) are decoded, last.
    """
    if not text:
        return ""
    out = _USER_MENTION.sub(" ", text)
    out = _SPECIAL.sub(_special, out)
    out = _CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else " ", out)
    out = _LINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), out)
    out = _FENCE.sub(lambda m: f" {m.group(1).strip()} ", out)
    out = _INLINE_CODE.sub(lambda m: m.group(1), out)
    out = out.replace("```", " ").replace("`", "")
    out = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    lines = [_SPACES.sub(" ", line).strip() for line in out.splitlines()]
    out = "\n".join(lines)
    out = _BLANK_LINES.sub("\n\n", out)
    return out.strip()


def truncate_question(text: str, limit: int) -> tuple[str, str | None]:
    """(text cut to `limit` characters at a word boundary, notice or None when nothing was cut)."""
    if limit <= 0 or len(text) <= limit:
        return text, None
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + " …", TRUNCATION_NOTICE.format(limit=limit)


def shorten(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """One line of at most `limit` characters (titles, button values, previews)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip() + ellipsis


# C0/C1 control characters (tab and newline kept) and Unicode bidi overrides: never useful in a message.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_mrkdwn(text: str) -> str:
    """User text shown as typed in Slack mrkdwn, the one helper for every message CodeDesk posts
    (`text` and blocks): the three characters Slack treats as control characters escaped, so a typed
    `<!channel>`, `<@U123>` or `<https://evil.example|click>` stays text, and control bytes dropped."""
    return _CONTROLS.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_to_mrkdwn(text: str) -> str:
    """The answer's markdown in Slack's mrkdwn: **bold** → *bold*, [label](url) → <url|label>,
    '# Heading' → *Heading*, '- item' → '• item'. Control characters are escaped first."""
    out = escape_mrkdwn(text)
    out = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"*\1*", out)
    out = re.sub(r"__(.+?)__", r"*\1*", out)
    out = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", out, flags=re.MULTILINE)
    out = re.sub(r"^(\s*)[-*]\s+", r"\1• ", out, flags=re.MULTILINE)
    return out
