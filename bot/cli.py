"""`codedesk serve`. Mount in codedesk/cli.py with either

    from bot.cli import serve_app
    app.add_typer(serve_app, name="serve")

or, as a plain command,

    from bot.cli import serve_command
    app.command("serve")(serve_command)

`codedesk serve --workers N` (or CODEDESK_WORKERS=N) runs N worker processes behind one port (see
`bot.serve.serve_workers`); `python -m bot.cli --listen-fd FD …` is how the supervisor starts each
worker.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from codedesk.errors import CodeDeskError

serve_app = typer.Typer(help="Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP).",
                        add_completion=False, no_args_is_help=False)


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


def serve_command(
    ctx: typer.Context,
    port: int = typer.Option(None, "--port", "-p", help="HTTP port (default CODEDESK_PORT, 3000)."),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP bind address."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING…"),
    workers: int = typer.Option(None, "--workers", "-w", min=1, max=64, envvar="CODEDESK_WORKERS",
                                help="Worker processes behind the one port (default CODEDESK_WORKERS, in the "
                                     "environment or .env, else 1). Each loads its own code books, model and "
                                     "clients: ~0.5 GB of memory each."),
    metrics_dir: Path = typer.Option(None, "--metrics-dir", envvar="CODEDESK_METRICS_DIR",
                                     help="Directory where workers share their metrics "
                                          "(default CODEDESK_HOME/metrics with --workers > 1)."),
    listen_fd: int = typer.Option(None, "--listen-fd", hidden=True,
                                  help="Serve on this inherited listening socket (set by the supervisor)."),
    reuse_port: bool = typer.Option(False, "--reuse-port", hidden=True,
                                    help="Listen with SO_REUSEPORT beside the other workers (set by the supervisor)."),
    prepare: bool = typer.Option(False, "--prepare", hidden=True,
                                 help="Only fill the shared caches, then exit (run by the supervisor)."),
) -> None:
    """Serve CodeDesk in Slack: Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP with events,
    commands and interactivity at /slack/events, and /healthz, /readyz, /metrics."""
    from bot.config import BotSettings
    from bot.metrics import Metrics, configure_logging
    from bot.serve import EXIT_CONFIG, prepare_caches, serve, serve_workers
    from codedesk.settings import Settings

    workers = _given(workers, None) or _from_dotenv("CODEDESK_WORKERS", int) or 1
    metrics_dir = _given(metrics_dir, None)
    listen_fd = _given(listen_fd, None)
    log_level = _given(log_level, "INFO")
    prepare = _given(prepare, False)
    reuse_port = _given(reuse_port, False)
    metrics = Metrics()
    configure_logging(log_level, metrics=metrics)  # key=value lines with pid and request id
    try:
        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()  # `codedesk` built it already
        if prepare:
            prepare_caches(settings)
            return
        bot = BotSettings()
        bot.require()
        if workers > 1 and listen_fd is None and not reuse_port:
            code = serve_workers(settings, workers=workers, bot_settings=bot, host=host, port=port,
                                 log_level=log_level, metrics_dir=metrics_dir)
            sys.exit(code)
        serve(settings, bot_settings=bot, host=host, port=port, listen_fd=listen_fd, reuse_port=reuse_port,
              metrics_dir=metrics_dir, metrics=metrics)
    except CodeDeskError as err:  # settings missing, index model mismatch, …: say what to do, no trace
        typer.echo(f"codedesk serve: {err}", err=True)
        sys.exit(EXIT_CONFIG)
    except OSError as err:  # the port is taken, …
        typer.echo(f"codedesk serve: {err}", err=True)
        sys.exit(1)


serve_app.callback(invoke_without_command=True)(serve_command)


if __name__ == "__main__":  # python -m bot.cli (the same as `codedesk serve`)
    serve_app()
