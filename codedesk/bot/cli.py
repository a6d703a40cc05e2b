"""`codedesk serve`, mounted by the composition root with the review port builder it owns:

    from codedesk.bot.cli import make_serve_app
    app.add_typer(make_serve_app(review_port), name="serve")

(`serve_command_for(review_port)` is the same command as a plain function, for `ctx.invoke`.)
`codedesk serve --workers N` (or CODEDESK_WORKERS=N) runs N uvicorn worker processes behind one
port (see `codedesk.bot.serve.serve_http`), once `codedesk serve --prepare` has filled the shared
caches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from codedesk.errors import CodeDeskError

if TYPE_CHECKING:
    from codedesk.bot.runtime import ReviewFor


def _given(value: Any, default: Any) -> Any:
    """A parameter's value when this function is called directly (ctx.invoke from `codedesk start`
    passes only some of them: the others arrive as typer's OptionInfo placeholders)."""
    return default if isinstance(value, typer.models.OptionInfo) else value


def _from_dotenv(name: str, kind: type) -> Any:
    """A variable from ./.env (where the Settings objects read theirs), or None."""
    try:
        from dotenv import dotenv_values

        value = dotenv_values(".env").get(name)
        return kind(value) if value not in (None, "") else None
    except (OSError, ValueError):
        return None


def share_metrics(path: Path | str) -> str:
    """Put prometheus_client in its multiprocess mode with `path` as the shared directory (emptied
    of a previous run's files). Must run before prometheus_client is first imported: the workers
    inherit the variable, and so does this process when it serves alone."""
    path = Path(path).resolve()
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return str(path)


def prepare_in_subprocess(log_level: str, timeout_s: float = 900.0) -> int:
    """`--prepare` in a child process (its models stay out of the supervisor); its exit code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")] if p
    )
    command = [sys.executable, "-m", "codedesk", "serve", "--prepare", "--log-level", log_level]
    try:
        return subprocess.run(command, env=env, timeout=timeout_s).returncode
    except subprocess.TimeoutExpired:
        return -1


def run_serve(
    ctx: typer.Context,
    review_for: ReviewFor,
    *,
    port: int | None,
    host: str,
    log_level: str,
    workers: int | None,
    metrics_dir: Path | None,
    prepare: bool,
) -> None:
    """Socket Mode when SLACK_APP_TOKEN is set, else HTTP with N uvicorn workers. Exits 2 on a
    configuration error (naming every missing setting), 1 when the port cannot be had."""
    from codedesk.bot.config import BotSettings
    from codedesk.bot.runtime import EXIT_CONFIG
    from codedesk.settings import Settings

    workers = workers or _from_dotenv("CODEDESK_WORKERS", int) or 1
    try:
        # `codedesk` built the settings already
        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
        bot = BotSettings()
        if prepare:
            from codedesk.bot.observability import configure_logging
            from codedesk.bot.runtime import prepare_caches

            configure_logging(log_level)
            prepare_caches(settings)
            return
        bot.require()
        if not bot.socket_mode:
            shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.home / "metrics"
            share_metrics(metrics_dir or shared)
        from codedesk.bot.observability import configure_logging
        from codedesk.bot.serve import serve, serve_http

        configure_logging(log_level)  # key=value lines with pid and request id
        if bot.socket_mode:
            if workers > 1:
                typer.echo(
                    "codedesk serve: Socket Mode runs one process; --workers is for HTTP mode.",
                    err=True,
                )
            serve(settings, review=review_for(settings), bot_settings=bot)
            return
        os.environ["CODEDESK_LOG_LEVEL"] = log_level  # the workers configure their own logging
        if workers > 1 and prepare_in_subprocess(log_level) == EXIT_CONFIG:
            typer.echo(
                "codedesk serve: configuration error while preparing (see above); not "
                "starting workers.",
                err=True,
            )
            sys.exit(EXIT_CONFIG)
        sys.exit(
            serve_http(
                review_for,
                workers=workers,
                host=host,
                log_level=log_level,
                port=port if port is not None else settings.port,
            )
        )
    except CodeDeskError as err:  # settings missing, model mismatch, …: say what to do, no trace
        typer.echo(f"codedesk serve: {err}", err=True)
        sys.exit(EXIT_CONFIG)
    except OSError as err:  # the port is taken, …
        typer.echo(f"codedesk serve: {err}", err=True)
        sys.exit(1)


def serve_command_for(review_for: ReviewFor) -> Callable[..., None]:
    """The `codedesk serve` command, with the composition root's review port builder."""

    def serve_command(
        ctx: typer.Context,
        port: int = typer.Option(
            None, "--port", "-p", help="HTTP port (default CODEDESK_PORT, 3000)."
        ),
        host: str = typer.Option("0.0.0.0", "--host", help="HTTP bind address."),
        log_level: str = typer.Option(
            "INFO", "--log-level", envvar="CODEDESK_LOG_LEVEL", help="DEBUG, INFO, WARNING…"
        ),
        workers: int = typer.Option(
            None,
            "--workers",
            "-w",
            min=1,
            max=64,
            envvar="CODEDESK_WORKERS",
            help="Worker processes behind the one port (default "
            "CODEDESK_WORKERS, in the environment or .env, else 1). "
            "Each loads its own code books, model and clients: "
            "~0.5 GB of memory each.",
        ),
        metrics_dir: Path = typer.Option(
            None,
            "--metrics-dir",
            envvar="CODEDESK_METRICS_DIR",
            help="Directory where the workers share their metrics "
            "(PROMETHEUS_MULTIPROC_DIR; default that variable, "
            "else CODEDESK_HOME/metrics). Emptied at start.",
        ),
        prepare: bool = typer.Option(
            False,
            "--prepare",
            hidden=True,
            help="Only fill the shared caches, then exit (run before the workers start).",
        ),
    ) -> None:
        """Serve CodeDesk in Slack: Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP with
        events, commands and interactivity at /slack/events, and /healthz, /readyz, /metrics."""
        run_serve(
            ctx,
            review_for,
            port=port,
            host=host,
            log_level=_given(log_level, "INFO"),
            workers=_given(workers, None),
            metrics_dir=_given(metrics_dir, None),
            prepare=_given(prepare, False),
        )

    return serve_command


def make_serve_app(review_for: ReviewFor) -> typer.Typer:
    serve_app = typer.Typer(
        help="Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP).",
        add_completion=False,
        no_args_is_help=False,
    )
    serve_app.callback(invoke_without_command=True)(serve_command_for(review_for))
    return serve_app
