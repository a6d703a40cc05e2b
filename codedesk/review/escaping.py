"""User text made inert for each output format the review reports write: one helper per format.

Questions, 👎 reasons, escalation notes and discussion replies are typed by people; a report must
show them as text, never run them. Every helper first drops control characters (`strip_controls`):
terminal escapes (ESC, BEL) would drive the terminal a Markdown or CSV report is printed to, and the
bidirectional overrides would make a line read differently from what it holds.

- `md_text`: Markdown, one line (table cells, list items): no raw HTML (`<script>`), no link or
  image syntax, no autolink and no `javascript:` scheme left live.
- `csv_cell`: a CSV cell a spreadsheet shows as text, never as a formula (`=HYPERLINK(…)`).
- HTML is escaped by `html.escape` in `codedesk.review.report_html` (`_e`).

Slack mrkdwn has its own helper, `codedesk.bot.text.escape_mrkdwn`.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab/newline/CR, DEL, C1 controls, and the Unicode bidi embeddings/overrides/isolates.
_CONTROLS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
)
# What would make user text a code span or a new table cell, backslash-escaped (CommonMark allows it
# before any ASCII punctuation), and the `](` / `][` that would close a link or image label. A lone
# `[NAME]` (the scrubber's placeholders) stays readable: no reference definition can exist in a line
# we write, so it never links.
_MD_SPECIAL = re.compile(r"([\\`|])")
_MD_LINK_CLOSE = re.compile(r"\](?=\s*[(\[])")
# URL schemes that run code or load content when a renderer makes them a link.
_SCHEMES = re.compile(r"(?i)\b(javascript|vbscript|data|file)(\s*):")
# A spreadsheet formula: = + - @ (and their full-width forms), after any blanks a spreadsheet trims.
_FORMULA_START = re.compile(r"^[\s\x00-\x1f]*[=+\-@\uff1d\uff0b\uff0d\uff20]")


def strip_controls(text: str | None) -> str:
    """`text` without control characters (newlines and tabs kept)."""
    return _CONTROLS.sub("", text or "")


def md_text(text: str | None) -> str:
    """One line of user text, shown as typed in any Markdown renderer: whitespace folded, `&`, `<`
    and `>` as entities (no raw HTML), backticks, pipes and a link's closing `](` backslash-escaped
    (no links, images, code spans or table breaks) and `javascript:`-like schemes broken (no autolink)."""
    t = " ".join(strip_controls(text).split())
    t = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    t = _MD_LINK_CLOSE.sub(r"\\]", _MD_SPECIAL.sub(r"\\\1", t))
    return _SCHEMES.sub(lambda m: f"{m.group(1)}{m.group(2)}&#58;", t)


def csv_cell(value: Any) -> Any:
    """A CSV cell: text without control characters, and a leading quote when a spreadsheet would
    read it as a formula. Numbers and None pass unchanged."""
    if not isinstance(value, str):
        return value
    text = strip_controls(value)
    return "'" + text if _FORMULA_START.match(text) else text
