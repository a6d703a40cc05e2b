"""`codedesk`: ingest, ask, chat, eval, sources, serve, db. Builds the settings once and passes them down."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer
from typer.core import TyperGroup

from codedesk.errors import CodeDeskError
from codedesk.settings import Settings, fiscal_year_of

if TYPE_CHECKING:
    from codedesk.review.port import ReviewService


class _LazyGroup(TyperGroup):
    """Click's lazy-loading group: the sub-apps of `_SUB_APPS` (defined at the end of this module) are
    imported only when one is invoked or help lists them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *sorted(_SUB_APPS)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _SUB_APPS:
            return super().get_command(ctx, name)
        try:
            group = typer.main.get_group(_SUB_APPS[name]())
        except ImportError as err:  # a broken optional package must not break the other commands
            log.debug("%s commands unavailable: %s", name, err)
            return None
        group.name = name
        return group


app = typer.Typer(
    cls=_LazyGroup,
    help="CodeDesk: exact ICD-10-CM, ICD-10-PCS and HCPCS codes with the rules behind them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("codedesk")
UNEXPECTED = (
    "Something went wrong answering this question; it has been logged. Try rephrasing it, or "
    "run with --verbose and tell the CodeDesk maintainers."
)


def _setup(ctx: typer.Context, verbose: bool) -> Settings:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("chromadb", "httpx", "onnxruntime", "root"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        settings = Settings()
    except Exception as err:  # pydantic validation of CODEDESK_* variables
        typer.echo(f"Configuration error: {err}", err=True)
        raise typer.Exit(2) from None
    from codedesk.state import private_dir

    private_dir(settings.home)  # owner-only: the query log, keys and caches live here
    ctx.obj = settings
    return settings


@app.callback()
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    _setup(ctx, verbose)


def _fail(err: Exception, code: int = 1) -> typer.Exit:
    typer.echo(f"codedesk: {err}", err=True)
    return typer.Exit(code)


@app.command()
def ingest(
    ctx: typer.Context,
    force: bool = typer.Option(False, help="Rebuild even when nothing changed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Read every source found and (re)build the index. The previous index serves until this succeeds."""
    from codedesk.ingest.run import ingest as run_ingest
    from codedesk.retrieval.service import warm_caches

    try:
        summary = run_ingest(ctx.obj, force=force, progress=not quiet)
    except CodeDeskError as err:
        raise _fail(f"{err}\nNothing was changed: the previous index is still serving.") from None
    for notice in summary.notices:
        typer.echo(f"notice: {notice}", err=True)
    typer.echo("\n".join(summary.lines()))
    # the answer caches are built now, so the first question after an ingest only reads them
    typer.echo(f"answer caches ready in {warm_caches(ctx.obj):.1f} s")


@app.command()
def sources(
    ctx: typer.Context, verify: bool = typer.Option(False, help="Check sha256 checksums too.")
) -> None:
    """The sources of the manifest by fiscal year: found / missing / ingested, from where, and which year is
    in effect today."""
    from codedesk.ingest.manifest import verify_checksum
    from codedesk.ingest.sources import group_by_year, resolved_sources
    from codedesk.ingest.store import IndexStore

    settings: Settings = ctx.obj
    try:
        resolved = resolved_sources(settings)
    except CodeDeskError as err:
        raise _fail(err) from None
    counts: dict[str, str] = {}
    try:
        gen = IndexStore(settings).active()
        counts = dict(p.split("=", 1) for p in gen.sources.split(",") if "=" in p) if gen else {}
    except CodeDeskError as err:
        typer.echo(f"notice: {err}", err=True)
    today = settings.today_date
    typer.echo(
        f"Today ({today.isoformat()}) is in FY{fiscal_year_of(today)}; a question with no year or date of "
        f"service is answered for FY{settings.fiscal_year}."
    )
    typer.echo(f"  {'source':<26} {'kind':<21} {'status':<9} {'ingested':>9}  where")
    for group in group_by_year(resolved, today):
        title = group.title
        if group.period:
            start, end = group.period
            title += f"  {start:%-d %b %Y} – {end:%-d %b %Y}" + (
                "  ← in effect today" if group.in_effect else ""
            )
        book = counts.get(f"tabular-fy{group.fiscal_year}") if group.fiscal_year else None
        if book:
            has_tabular = any(r.found for r in group.sources if r.source.kind == "tabular")
            title += (
                f"  (code book in the index: {int(book):,} entries"
                + (
                    ""
                    if has_tabular
                    else f", built from FY{int(group.fiscal_year) - 1} and the official addenda"
                )
                + ")"
            )
        typer.echo(title)
        for r in group.sources:
            src = r.source
            n = counts.get(src.id) or (
                counts.get(f"tabular-fy{src.fiscal_year}")
                if src.kind == "tabular" and r.found
                else None
            )
            status = r.status if not (r.found and n) else "ingested"
            check = ""
            if verify and r.found:
                ok = verify_checksum(r)
                check = "" if ok is None else (" (checksum ok)" if ok else " (CHECKSUM MISMATCH)")
                if ok is None and src.scheme == "cms" and r.path and r.path.is_file():
                    check = f" ({_content_check(src, r.path)})"
            where = (
                (f"{r.path}" + (f" (package {r.version})" if r.version else ""))
                if r.found
                else r.reason
            )
            if src.effective_from and src.in_effect(today):
                where += "  ← in effect today"
            typer.echo(f"  {src.id:<26} {src.kind:<21} {status:<9} {n or '-':>9}  {where}{check}")
        fetchable = [r for r in group.sources if not r.found and r.source.url]
        if fetchable and settings.cms_data_dir and group.fiscal_year:
            typer.echo(
                f"  {len(fetchable)} not found: `codedesk fetch --year {group.fiscal_year}` downloads them"
            )


def _content_check(src, path: Path) -> str:
    """What `codedesk fetch` checks in a file without a recorded checksum, for one already on disk."""
    from codedesk.ingest.fetch import FetchError, check_content

    try:
        return check_content(src, path)
    except FetchError as err:
        return f"CONTENT CHECK FAILED: {err}"


@app.command()
def fetch(
    ctx: typer.Context,
    only: list[str] = typer.Option(None, "--only", help="Source ids to fetch."),
    year: str = typer.Option(
        None,
        "--year",
        help="Fetch the sources in effect during this fiscal year "
        "(e.g. 2027: its ICD-10 files and the HCPCS quarter starting with it).",
    ),
    manifest: Path = typer.Option(None, help="Another source manifest (TOML)."),
    timeout: float = typer.Option(30.0, help="Seconds per download."),
) -> None:
    """Download the official CMS files into CODEDESK_CMS_DATA_DIR, verify them (sha256, or the file's own
    counts and year) and install them where ingest reads them."""
    from codedesk.ingest.fetch import fetch_all
    from codedesk.ingest.manifest import load_manifest

    settings: Settings = ctx.obj
    if not settings.cms_data_dir:
        raise _fail("set CODEDESK_CMS_DATA_DIR to the folder the CMS files should go to", 2)
    if year is not None:
        year = year.strip().upper().removeprefix("FY")
        if not (len(year) == 4 and year.isdigit()):
            raise _fail(f"--year takes a fiscal year such as 2027, not {year!r}", 2)
    try:
        results = fetch_all(
            load_manifest(manifest), settings.cms_data_dir, only=only, year=year, timeout=timeout
        )
    except (CodeDeskError, ValueError) as err:
        raise _fail(err, 2) from None
    if not results:
        raise _fail(
            f"no source of the manifest is in effect during FY{year}"
            if year
            else "nothing to fetch",
            2,
        )
    for r in results:
        typer.echo(f"{'ok  ' if r.ok else 'FAIL'} {r.source_id}: {r.message}")
    saved = sum(1 for r in results if r.ok and r.path)
    typer.echo(
        f"{saved} saved, {sum(1 for r in results if not r.ok)} failed"
        + ("; run `codedesk ingest` to use them" if saved else "")
    )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _answerer(settings: Settings):
    from codedesk.retrieval.service import build_answerer

    return build_answerer(settings)


def _logger(settings: Settings, no_log: bool):
    if no_log:
        return None
    try:
        from codedesk.review.log import QueryLogger

        return QueryLogger(settings)
    except Exception as err:  # the log must never stop an answer
        log.warning("query log unavailable error=%s", type(err).__name__)
        return None


def review_port(settings: Settings, *, query_log: bool = True) -> ReviewService:
    """The bot's review port (`codedesk.bot.review_port.ReviewPort`) over the review database:
    the one place it is built for the bot (with the answer log for the Slack app, `query_log`;
    without one for `codedesk digest`, which logs no answers). The bot imports nothing from
    `codedesk.review`. A query log that cannot be opened (an unwritable home, a bad database URL) stops
    the server with its error: a bot that answers without logging would fail the team leads silently."""
    from codedesk.review.log import QueryLogger
    from codedesk.review.port import ReviewService

    return ReviewService(settings, QueryLogger(settings) if query_log else None)


def _digest_review(settings: Settings) -> ReviewService:
    return review_port(settings, query_log=False)


def _log(
    logger, question: str, answer, surface: str, latency_ms: float, index_version: str | None
) -> None:
    if logger is None:
        return
    try:
        log_id = logger.log_answer(
            question=question,
            answer=answer,
            surface=surface,
            user_id=os.environ.get("USER"),
            channel=None,
            latency_ms=latency_ms,
            index_version=index_version,
        )
        if log_id is not None and answer.id is None:
            answer.id = f"q-{log_id}"
    except Exception as err:
        log.warning("query not logged error=%s", type(err).__name__)


@app.command()
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(None, help="The question (omit with --batch)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer object."),
    batch: Path = typer.Option(
        None, "--batch", help="JSON Lines of {id, question}; one answer object a line."
    ),
    fiscal_year: str = typer.Option(None, "--fy", help="Answer for this fiscal year (e.g. 2025)."),
    no_log: bool = typer.Option(
        False, "--no-log", help="Do not write the question to the query log."
    ),
) -> None:
    """Answer one question, or a batch file of them."""
    settings: Settings = ctx.obj
    if batch is None and (question is None or not question.strip()):
        raise _fail(
            'Ask a coding question, e.g. codedesk ask "type 2 diabetes with CKD stage 3b"', 2
        )
    try:
        answerer = _answerer(settings)
    except CodeDeskError as err:
        raise _fail(err) from None
    logger = _logger(settings, no_log)
    if batch is not None:
        _ask_batch(answerer, logger, batch, fiscal_year)
        return
    start = time.perf_counter()
    try:
        answer = answerer.answer(question, fiscal_year=fiscal_year)
    except CodeDeskError as err:
        raise _fail(err, 2) from None
    except Exception:
        log.exception("answer failed")
        raise _fail(UNEXPECTED) from None
    _log(
        logger,
        question,
        answer,
        "cli",
        (time.perf_counter() - start) * 1000,
        answerer.index_version,
    )
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        from codedesk.render import print_answer

        print_answer(answer)


def _ask_batch(answerer, logger, path: Path, fiscal_year: str | None) -> None:
    """One answer object a line, same order; a bad line gets an error object, never stops the batch.

    The file is read as bytes and each line decoded on its own, so one invalid UTF-8 byte costs only
    its line; a UTF-8 byte-order mark is ignored; a line nested too deeply for the JSON parser, or a
    `fiscal_year` that is not a year, gets its own error without echoing the raw value."""
    try:
        data = path.read_bytes() if str(path) != "-" else sys.stdin.buffer.read()
    except OSError as err:
        raise _fail(f"cannot read {path}: {err.strerror or type(err).__name__}") from None
    for n, raw in enumerate(data.split(b"\n"), 1):
        item, error = _batch_line(raw, n)
        if item is None and error is None:
            continue  # a blank line
        if error is not None:  # the id is kept when the line is an object (an empty question)
            print(
                json.dumps(
                    {"id": _safe_id(item.get("id")) if item else None, "line": n, "error": error}
                ),
                flush=True,
            )
            continue
        if item is None:  # unreachable: a line without an error has its object
            continue
        qid, question = item["id"], item["question"]
        year, error = _batch_year(item.get("fiscal_year"), fiscal_year)
        if error is not None:
            print(
                json.dumps(
                    {"id": _safe_id(qid), "line": n, "error": error, "codes": [], "citations": []}
                ),
                flush=True,
            )
            continue
        start = time.perf_counter()
        try:
            answer = answerer.answer(question, fiscal_year=year)
        except CodeDeskError as err:
            print(
                json.dumps(
                    {
                        "id": _safe_id(qid),
                        "line": n,
                        "question": question,
                        "error": str(err),
                        "codes": [],
                        "citations": [],
                    }
                ),
                flush=True,
            )
            continue
        except Exception:
            log.exception("answer failed line=%d", n)
            print(
                json.dumps(
                    {
                        "id": _safe_id(qid),
                        "line": n,
                        "question": question,
                        "error": UNEXPECTED,
                        "codes": [],
                        "citations": [],
                    }
                ),
                flush=True,
            )
            continue
        _log(
            logger,
            question,
            answer,
            "cli",
            (time.perf_counter() - start) * 1000,
            answerer.index_version,
        )
        answer.id = _safe_id(qid)
        print(answer.model_dump_json(), flush=True)


_BATCH_SHAPE = 'a JSON object {"id": …, "question": "…"}'


def _batch_line(raw: bytes, n: int) -> tuple[dict | None, str | None]:
    """(the line's object, None), (the object or None, an error naming line `n`), or (None, None) for a
    blank line."""
    if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark (Windows editors write one)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"line {n} is not valid UTF-8 (byte {err.start + 1}): save the file as UTF-8"
    line = line.removesuffix("\r")
    if not line.strip():
        return None, None
    try:
        item = json.loads(line)
    except RecursionError:
        return None, f"line {n} is nested too deeply to read: it should be {_BATCH_SHAPE}"
    except ValueError as err:
        return None, f"line {n} is not {_BATCH_SHAPE}: {getattr(err, 'msg', 'invalid JSON')}"
    if not isinstance(item, dict):
        return None, f"line {n} is not {_BATCH_SHAPE}"
    if not isinstance(item.get("question"), str) or not item["question"].strip():
        return item, f'line {n} has no "question" text: it should be {_BATCH_SHAPE}'
    return {**item, "id": item.get("id")}, None


def _batch_year(given: object, default: str | None) -> tuple[str | None, str | None]:
    """(the line's fiscal year as 4 digits, or `default` when it gives none; an error without the value)."""
    if given is None or given == "":
        return default, None
    if isinstance(given, int) and not isinstance(given, bool):
        given = str(given)
    if isinstance(given, str):
        year = given.strip().upper().removeprefix("FY")
        if len(year) == 4 and year.isascii() and year.isdigit():
            return year, None
    return None, '"fiscal_year" must be a year such as 2025 or "2025"'


def _safe_id(qid: object) -> object:
    """The line's id as given when it is a short string or a number, else none (never a huge echo)."""
    if isinstance(qid, bool) or qid is None:
        return qid
    if isinstance(qid, (int, float)):
        return qid
    if isinstance(qid, str) and len(qid) <= 200:
        return qid
    return None


@app.command()
def check(
    ctx: typer.Context,
    codes: str = typer.Argument(..., help='The codes, principal first: "E11.22, N18.32, I12.9".'),
    output: str = typer.Option("text", "--format", help="text or json."),
    year: str = typer.Option(
        None, "--year", help="ICD-10-CM fiscal year (default: the year in effect today)."
    ),
    payment_year: int = typer.Option(
        None, "--payment-year", help="HCC payment year (default: next year)."
    ),
    show: list[str] = typer.Option(
        None, "--show", help="cc_mcc and/or hcc (default: CODEDESK_CODING_SETTING's)."
    ),
    esrd: bool = typer.Option(False, "--esrd", help="Also the CMS-HCC ESRD models."),
    rxhcc: bool = typer.Option(False, "--rxhcc", help="Also the RxHCC (Part D) model."),
) -> None:
    """Check a code list: validity, sequencing, CC/MCC with the first code as principal, HCCs (cited)."""
    from codedesk.retrieval.code_check import run_check

    if output not in ("text", "json") or any(s not in ("cc_mcc", "hcc") for s in show or ()):
        raise _fail("--format takes text or json; --show takes cc_mcc or hcc", 2)
    try:
        result = run_check(
            ctx.obj,
            codes,
            fiscal_year=year,
            payment_year=payment_year,
            show=tuple(show) if show else None,
            esrd=esrd,
            rxhcc=rxhcc,
        )
    except CodeDeskError as err:
        raise _fail(err, 2) from None
    if output == "json":
        typer.echo(result.report.model_dump_json(indent=2))
    else:
        from codedesk.render import print_check

        print_check(result.report)
    if any(f.severity == "error" for f in result.report.findings) or not all(
        s.reportable for s in result.report.statuses
    ):
        raise typer.Exit(1)  # scripts: a list with an error fails


@app.command()
def chat(
    ctx: typer.Context, no_log: bool = typer.Option(False, "--no-log", help="Do not log questions.")
) -> None:
    """A conversation in the terminal. Follow-ups ("and if it's stage 4?") keep the context."""
    from codedesk.render import console, print_answer

    settings: Settings = ctx.obj
    console.print("[bold]CodeDesk[/bold] — loading the code book and index…")
    try:
        answerer = _answerer(settings)
    except CodeDeskError as err:
        raise _fail(err) from None
    logger = _logger(settings, no_log)
    years = ", ".join(f"FY{y}" for y in sorted(answerer.books, reverse=True))
    console.print(
        f"Ready ({years}). Ask a coding question; [bold]/new[/bold] starts over, [bold]/quit[/bold] leaves."
    )
    history: list[str] = []
    while True:
        try:
            question = console.input("[bold cyan]you ›[/bold cyan] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if question in ("/quit", "/exit", "quit", "exit"):
            return
        if question == "/new":
            history.clear()
            console.print("Starting a new topic.")
            continue
        if not question:
            continue
        start = time.perf_counter()
        try:
            answer = answerer.answer(question, history=history)
        except CodeDeskError as err:
            console.print(f"[yellow]{err}[/yellow]")
            continue
        except Exception:
            log.exception("answer failed")
            console.print(f"[red]{UNEXPECTED}[/red]")
            continue
        _log(
            logger,
            question,
            answer,
            "cli",
            (time.perf_counter() - start) * 1000,
            answerer.index_version,
        )
        print_answer(answer)
        history.append(question)


@app.command()
def start(ctx: typer.Context) -> None:
    """What `make run` starts: the Slack bot when SLACK_BOT_TOKEN is set (environment or .env),
    otherwise the terminal chat."""
    from codedesk.bot.config import BotSettings

    if BotSettings().slack_bot_token:
        from codedesk.bot.cli import serve_command_for

        ctx.invoke(
            serve_command_for(review_port), ctx=ctx, port=None, host="0.0.0.0", log_level="INFO"
        )
    else:
        ctx.invoke(chat, ctx=ctx, no_log=False)


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    split: str = typer.Option("test", help="dev (tune on it), test (the headline) or all."),
    gold: Path = typer.Option(None, help="Another gold file (JSON Lines) instead of the split."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these categories."),
    show_misses: bool = typer.Option(False, "--misses", help="Print every miss."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
) -> None:
    """Score the answers on the gold set per category: hit@1/hit@5, multi-code keys, sections, "high" precision."""
    from codedesk.retrieval.evaluate import evaluate, format_report, load_gold

    try:
        rows = load_gold(split) if gold is None else gold
        if show_misses and gold is None and split != "dev":
            typer.echo(
                "Reading the test split's misses while changing the system turns it into a dev set.",
                err=True,
            )
        answerer = _answerer(ctx.obj)
        report = evaluate(answerer, rows, categories=category or None, split=str(gold or split))
    except (CodeDeskError, OSError, ValueError) as err:
        raise _fail(err) from None
    typer.echo(
        json.dumps(report.as_dict(), indent=2) if as_json else format_report(report, show_misses)
    )


def _db_app() -> typer.Typer:
    from codedesk.review.cli import db_app

    return db_app


def _review_app() -> typer.Typer:
    from codedesk.review.cli import review_app

    return review_app


def _changes_app() -> typer.Typer:
    from codedesk.retrieval.changes import changes_app

    return changes_app


def _serve_app() -> typer.Typer:
    from codedesk.bot.cli import make_serve_app

    return make_serve_app(review_port)


def _digest_app() -> typer.Typer:
    from codedesk.bot.digest import make_digest_app

    return make_digest_app(_digest_review)


# Sub-apps owned by their packages, imported only when one is invoked (or for --help): `codedesk ask`
# never imports SQLAlchemy's schema, Slack or the change reports (click's lazy-loading group pattern).
_SUB_APPS = {
    "changes": _changes_app,
    "db": _db_app,
    "digest": _digest_app,
    "review": _review_app,
    "serve": _serve_app,
}
