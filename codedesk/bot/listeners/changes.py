"""`/code-changes N18`, `/code-changes chapter 4`, `/code-changes 2025 2026 N18`: acknowledged at once,
then the changes between two fiscal years for a code prefix or a chapter, privately (ephemeral,
through the command's `response_url`), truncated within Slack's limits with a count of the rest.

The fiscal years default to the configured one (`CODEDESK_FISCAL_YEAR`) and the year before it;
one year given is the newer one. The versions are `codedesk.retrieval.versions.VersionSet.load(settings)`
(loaded once per process, so the first request takes a few seconds longer).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond

from codedesk.bot import blocks_review as R
from codedesk.bot.answering import Deps
from codedesk.bot.blocks import MSG_INTERNAL
from codedesk.bot.text import escape_mrkdwn, shorten
from codedesk.errors import CodeDeskError

log = logging.getLogger(__name__)

COMMAND = "/code-changes"
_YEAR = re.compile(r"^(?:fy)?(20\d\d)$|^fy(\d\d)$")
_CHAPTER_WORD = re.compile(r"^(?:chapter|chap|ch)\.?:?$")
_CHAPTER_JOINED = re.compile(r"^(?:chapter|chap|ch)\.?:?(\d{1,2})$")
_FILLER = frozenset(
    {"to", "from", "vs", "versus", "and", "->", "→", "-", "–", "changes", "in", "for", "between"}
)


class RequestError(ValueError):
    """What the person typed cannot be read; the message says what to type."""


@dataclass(frozen=True, slots=True)
class ChangesRequest:
    from_fy: str
    to_fy: str
    prefix: str | None = None
    chapter: str | None = None

    @property
    def scope(self) -> str:
        return self.prefix or (f"chapter {self.chapter}" if self.chapter else "all codes")

    def cli(self) -> str:
        """The `codedesk changes` command giving the full list."""
        where = (
            f" --prefix {self.prefix}"
            if self.prefix
            else f" --chapter {self.chapter}"
            if self.chapter
            else ""
        )
        return f"codedesk changes --from {self.from_fy} --to {self.to_fy}{where}"


def parse_request(text: str | None, *, default_to: str) -> ChangesRequest:
    """Read `N18`, `chapter 4`, `ch4`, `2025 2026 N18`, `FY2026 E11.A`, `2024 to 2025 chapter 19`."""
    from codedesk.retrieval.versions import VersionError, parse_prefix

    tokens = [t for t in re.split(r"[\s,]+", (text or "").strip().lower()) if t]
    if not tokens or tokens[0] in ("help", "?"):
        raise RequestError(R.MSG_CHANGES_USAGE)
    years: list[str] = []
    prefix = chapter = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok in _FILLER:
            continue
        m = _YEAR.match(tok)
        if m:
            years.append(m.group(1) or f"20{m.group(2)}")
            continue
        m = _CHAPTER_JOINED.match(tok)
        if m or _CHAPTER_WORD.match(tok):
            number = m.group(1) if m else (tokens[i] if i < len(tokens) else "")
            if not m:
                i += 1
            if not number.isdigit():
                raise RequestError(
                    f"Give the chapter's number, e.g. `/code-changes chapter 4` (E00-E89). "
                    f"{R.MSG_CHANGES_USAGE}"
                )
            if chapter is not None:
                raise RequestError("Ask for one chapter at a time.")
            chapter = str(int(number))
            continue
        if (
            tok.isdigit() and len(tok) <= 2 and chapter is None
        ):  # a bare chapter number: `/code-changes 4`
            chapter = str(int(tok))
            continue
        if prefix is not None:
            raise RequestError(
                f"Ask for one code prefix at a time (I read `{prefix}` and `{tok.upper()}`)."
            )
        try:
            prefix = parse_prefix(tok)
        except VersionError as err:
            raise RequestError(f"{err} {R.MSG_CHANGES_USAGE}") from None
    if prefix and chapter:
        raise RequestError("Give either a code prefix or a chapter, not both.")
    if len(years) > 2:
        raise RequestError("Name at most two fiscal years, e.g. `/code-changes 2025 2026 N18`.")
    if not years:
        to_fy = str(default_to)
        from_fy = str(int(to_fy) - 1)
    elif len(years) == 1:
        to_fy, from_fy = years[0], str(int(years[0]) - 1)
    else:
        from_fy, to_fy = sorted(years)
        if from_fy == to_fy:
            raise RequestError(
                "Name two different fiscal years, e.g. `/code-changes 2025 2026 N18`."
            )
    return ChangesRequest(from_fy=from_fy, to_fy=to_fy, prefix=prefix, chapter=chapter)


def chapter_title(versions: Any, chapter: str) -> str | None:
    """'Endocrine, nutritional and metabolic diseases (E00-E89)' from the newest full code book."""
    for version in reversed(list(versions.versions.values())):
        if version.book is not None:
            node = version.book.nodes.get(chapter)
            if node is not None and node.kind == "chapter":
                return node.title
    return None


def render_changes(versions: Any, request: ChangesRequest) -> R.Rendered:
    """The ephemeral reply for a request (raises `codedesk.retrieval.versions.VersionError` for a year not
    loaded, a prefix no code starts with, or an unknown chapter)."""
    from codedesk.retrieval.versions import VersionError

    old, new = versions.get(request.from_fy), versions.get(request.to_fy)
    if int(old.fiscal_year) >= int(new.fiscal_year):
        raise VersionError(f"FY{old.fiscal_year} must be older than FY{new.fiscal_year}.")
    d = versions.diff(
        old.fiscal_year, new.fiscal_year, prefix=request.prefix, chapter=request.chapter
    )
    scope = d.prefix or (f"chapter {d.chapter}" if d.chapter else "all codes")
    if d.chapter:
        name = chapter_title(versions, d.chapter)
        scope += f": {name}" if name else ""
    request = ChangesRequest(old.fiscal_year, new.fiscal_year, d.prefix, d.chapter)
    return R.changes_message(
        d,
        title=f"ICD-10-CM changes FY{old.fiscal_year} → FY{new.fiscal_year} — {scope}",
        subtitle=escape_mrkdwn(
            f"From {old.title} ({old.file_name}) to {new.title} ({new.file_name}); "
            "7th-character forms included."
        ),
        hint=f"The full list: `{request.cli()}`",
    )


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_code_changes(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            request = parse_request(command.get("text"), default_to=deps.settings.fiscal_year)
        except RequestError as err:
            ack(response_type="ephemeral", text=str(err))
            return
        ack(
            response_type="ephemeral",
            text=f"🔎 Looking up the changes FY{request.from_fy} → FY{request.to_fy} for "
            f"_{escape_mrkdwn(shorten(request.scope, 80))}_ …",
        )
        deps.pool.submit("command_code_changes", answer_changes_command, deps, respond, request)


def answer_changes_command(deps: Deps, respond: Respond, request: ChangesRequest) -> None:
    from codedesk.retrieval.versions import VersionSet

    try:
        rendered = render_changes(VersionSet.load(deps.settings), request)
    except CodeDeskError as err:  # a year not loaded, no such prefix or chapter: say what is there
        log.info("code_changes_refused scope=%s error=%s", request.scope, err)
        _respond(respond, text=f"⚠️ {err}")
        return
    except Exception:
        log.exception("code_changes_failed scope=%s", request.scope)
        _respond(respond, text=f"⚠️ {MSG_INTERNAL}")
        return
    _respond(respond, text=rendered.text, blocks=rendered.blocks)
    log.info(
        "code_changes_answered from=%s to=%s scope=%s blocks=%d",
        request.from_fy,
        request.to_fy,
        request.scope,
        len(rendered.blocks),
    )


def _respond(respond: Respond, **kwargs: Any) -> None:
    try:
        respond(response_type="ephemeral", replace_original=False, **kwargs)
    except Exception:
        log.exception("code_changes_respond_failed")
