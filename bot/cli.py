"""`codedesk serve`. Mount in codedesk/cli.py with either

    from bot.cli import serve_app
    app.add_typer(serve_app, name="serve")

or, as a plain command,

    from bot.cli import serve_command
    app.command("serve")(serve_command)
"""

from __future__ import annotations

import logging
import sys

import typer

from codedesk.errors import CodeDeskError

serve_app = typer.Typer(help="Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP).",
                        add_completion=False, no_args_is_help=False)


def serve_command(
    ctx: typer.Context,
    port: int = typer.Option(None, "--port", "-p", help="HTTP port (default CODEDESK_PORT, 3000)."),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP bind address."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING…"),
) -> None:
    """Serve CodeDesk in Slack: Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP with events,
    commands and interactivity at /slack/events."""
    from bot.config import BotSettings
    from bot.serve import serve
    from codedesk.settings import Settings

    level = getattr(logging, log_level.upper(), logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger().setLevel(level)  # a server shows what it does, whatever the CLI's default
    try:
        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()  # `codedesk` built it already
        bot = BotSettings()
        bot.require()
        serve(settings, bot_settings=bot, host=host, port=port)
    except CodeDeskError as err:  # settings missing, index not built, …: say what to do, no trace
        typer.echo(f"codedesk serve: {err}", err=True)
        sys.exit(2)


serve_app.callback(invoke_without_command=True)(serve_command)


if __name__ == "__main__":  # python -m bot.cli (the same as `codedesk serve`)
    serve_app()
