"""Code changes between fiscal years: the `codedesk changes` command and answers to change questions.

`changes_app` is mounted as `codedesk changes`:

    codedesk changes --from 2025 --to 2026 [--prefix N18 | --chapter 4] [--format md|csv|json]

`answer_changes` answers "what changed in N18 this year?", "is E11.A valid for DOS 2024-06-01?",
"what do I use now instead of S30.1XXA?", "was X deleted?" from the loaded versions and addenda
(`codedesk.retrieval.versions`), or returns None when a question is about neither changes nor validity.
Every code offered (`items`) is reportable in the year the answer applies to; codes no longer valid
appear only in the text, marked as such. Replacements come from the code books only (the codes now
under an expanded header), never from crosswalks.

This module holds the command; the parts live beside it: `diff_render` (the diff as Markdown, CSV,
JSON), `change_answers` (`answer_changes` and the "what changed" answers) and `code_answers` (one
code across the years: validity, since when, deleted, replaced). `answer_changes` and `ChangeAnswer`
are re-exported here.
"""

from __future__ import annotations

import typer

from codedesk.errors import CodeDeskError
from codedesk.retrieval.change_answers import answer_changes
from codedesk.retrieval.code_answers import MAX_ITEMS, MAX_LINES, ChangeAnswer
from codedesk.retrieval.diff_render import (
    CSV_FIELDS,
    NOTE_KIND_LABELS,
    SECTION_TITLES,
    render_csv,
    render_json,
    render_md,
)
from codedesk.retrieval.versions import VersionError, VersionSet, parse_prefix
from codedesk.settings import Settings

__all__ = [
    "CSV_FIELDS",
    "MAX_ITEMS",
    "MAX_LINES",
    "NOTE_KIND_LABELS",
    "SECTION_TITLES",
    "ChangeAnswer",
    "answer_changes",
    "changes_app",
    "changes_command",
    "render_csv",
    "render_json",
    "render_md",
]


# ---- the command ------------------------------------------------------------------------------------
changes_app = typer.Typer(
    help="What changed in ICD-10-CM between two fiscal years.",
    add_completion=False,
    no_args_is_help=False,
)


def changes_command(
    ctx: typer.Context,
    from_year: str = typer.Option(
        None, "--from", help="Older fiscal year (default: the year before --to)."
    ),
    to_year: str = typer.Option(
        None, "--to", help="Newer fiscal year (default: CODEDESK_FISCAL_YEAR)."
    ),
    prefix: str = typer.Option(
        None, "--prefix", help="Only codes starting with this (N18, E11.A, S30.1)."
    ),
    chapter: str = typer.Option(
        None, "--chapter", help="Only this chapter, by number (4 = E00-E89)."
    ),
    fmt: str = typer.Option(
        "md", "--format", "-f", help="md (sections with counts), csv (a row per change) or json."
    ),
    check: bool = typer.Option(
        None,
        "--check/--no-check",
        help="Cross-check against the official addenda when the file exists "
        "(default: on for md, off for json and csv).",
    ),
) -> None:
    """List added, deleted and revised codes, codes that became headers and changed notes."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    fmt = (fmt or "md").lower()
    if fmt not in ("md", "csv", "json"):
        raise typer.BadParameter(
            f"'{fmt}' is not a format: use md, csv or json", param_hint="--format"
        )
    if prefix and chapter:
        raise typer.BadParameter(
            "give either --prefix or --chapter, not both", param_hint="--prefix"
        )
    try:
        if prefix:
            prefix = parse_prefix(prefix)  # before loading anything: a typo fails fast
        versions = VersionSet.load(settings)
        new = versions.get(to_year or settings.fiscal_year).fiscal_year
        old = versions.get(from_year or str(int(new) - 1)).fiscal_year
        if int(old) >= int(new):
            raise VersionError(f"--from FY{old} must be older than --to FY{new}.")
        d = versions.diff(old, new, prefix=prefix, chapter=chapter)
        want_check = check if check is not None else fmt == "md"
        cc = versions.cross_check(d) if want_check else None
    except (CodeDeskError, ValueError) as err:
        typer.echo(f"codedesk changes: {err}", err=True)
        raise typer.Exit(2) from None
    if fmt == "json":
        typer.echo(render_json(d, cc), nl=False)
    elif fmt == "csv":
        typer.echo(render_csv(d), nl=False)
    else:
        typer.echo(render_md(d, versions, cc), nl=False)


changes_app.callback(invoke_without_command=True)(changes_command)
