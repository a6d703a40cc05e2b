"""Terminal rendering of an answer (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel

from codedesk.retrieval.schema import Answer, CodeCheckReport

console = Console(highlight=False)
_STYLE = {"high": "green", "medium": "yellow", "low": "red"}


def print_answer(answer: Answer) -> None:
    for warning in answer.warnings:
        console.print(f"[yellow]⚠ {warning}[/yellow]")
    title = f"confidence: [{_STYLE[answer.confidence]}]{answer.confidence}[/]"
    if answer.fiscal_year:
        title += f" · FY{answer.fiscal_year}"
    console.print(Panel(Markdown(answer.answer), title=title, title_align="left", expand=True))
    cited = [c for c in answer.citations if c.source_type != "tabular"]
    for c in cited[:6]:
        where = ", ".join(
            x
            for x in (
                c.section and f"§{c.section}",
                c.page and f"p. {c.page}",
                c.fiscal_year and f"FY{c.fiscal_year}",
            )
            if x
        )
        console.print(f"  [dim]↳ {c.title}{' — ' + where if where else ''}[/dim]")


def print_check(report: CodeCheckReport) -> None:
    """`codedesk check`: the report's text, then its sources (CMS tables and mappings, guidelines)."""
    console.print(
        Panel(
            Markdown(report.text),
            title=f"code check · FY{report.fiscal_year}",
            title_align="left",
            expand=True,
        )
    )
    for c in report.citations:
        if c.source_type == "tabular":
            continue
        where = ", ".join(
            x
            for x in (
                c.section and f"§{c.section}" if c.source_type == "guideline" else c.section,
                c.page and f"p. {c.page}",
            )
            if x
        )
        console.print(
            f"  [dim]↳ {c.title}{' — ' + where if where else ''}{' · ' + c.code if c.code else ''}[/dim]"
        )
