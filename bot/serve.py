"""Running the bot: Socket Mode when `SLACK_APP_TOKEN` is set, else HTTP on `CODEDESK_PORT`.

HTTP mode serves events, slash commands and interactivity all at `/slack/events` (Bolt's default
path; every request's Slack signature is verified by the app), plus `GET /healthz`. The server is
the standard library's threading HTTP server: each request gets a thread, so one command waiting
for its ack never holds up another request.
"""

from __future__ import annotations

import logging
import signal
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

from bot.config import BotSettings
from codedesk.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; refuse anything absurd


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of Slack retries / load tests must not be refused at accept
    allow_reuse_address = True


def _handler_for(app: App) -> type[BaseHTTPRequestHandler]:
    class SlackHandler(BaseHTTPRequestHandler):
        server_version = "CodeDesk"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            log.debug("http %s", format % args)

        def _send(self, status: int, body: bytes | str, headers: dict[str, Any] | None = None) -> None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            for name, values in (headers or {}).items():
                if name.lower() == "content-length":
                    continue
                for value in values if isinstance(values, (list, tuple)) else [values]:
                    self.send_header(name, str(value))
            if not headers or not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == "/healthz":
                self._send(HTTPStatus.OK, "ok")
            else:
                self._send(HTTPStatus.NOT_FOUND, "Not Found")

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path != EVENTS_PATH:
                self._send(HTTPStatus.NOT_FOUND, "Not Found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Too Large")
                return
            body = self.rfile.read(length).decode("utf-8") if length else ""
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            try:
                resp = app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
            except Exception:  # Bolt handles listener errors itself; this is the last net
                log.exception("dispatch_failed")
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "")
                return
            self._send(resp.status, resp.body or "", resp.headers)

    return SlackHandler


def make_server(app: App, *, host: str = "0.0.0.0", port: int = 3000) -> ThreadingHTTPServer:
    """The HTTP server for `app`, bound but not yet serving (port 0 picks a free port:
    read it back from `server.server_address`)."""
    return _Server((host, port), _handler_for(app))


def build_runtime(settings: Settings, *, bot_settings: BotSettings | None = None, answerer: Any = None,
                  query_logger: Any = None) -> App:
    """The app with its real dependencies: the answerer over the index and review's query log."""
    from bot.app import build_app

    bot = (bot_settings or BotSettings()).require()
    if answerer is None:
        from retrieval.service import build_answerer

        answerer = build_answerer(settings)
    if query_logger is None:
        from review.log import QueryLogger

        query_logger = QueryLogger(settings)
    if hasattr(query_logger, "start_flusher"):
        query_logger.start_flusher()  # an idle worker writes records queued while the database was down
    return build_app(settings, answerer=answerer, logger=query_logger, bot_settings=bot)


def serve(settings: Settings, *, bot_settings: BotSettings | None = None, host: str = "0.0.0.0",
          port: int | None = None, answerer: Any = None, query_logger: Any = None,
          ready: threading.Event | None = None, stop: threading.Event | None = None) -> None:
    """Run until interrupted (Ctrl-C / SIGTERM, or `stop` set): Socket Mode with an app token, else
    HTTP. `ready` is set once requests are accepted."""
    bot = (bot_settings or BotSettings()).require()
    app = build_runtime(settings, bot_settings=bot, answerer=answerer, query_logger=query_logger)
    deps = app.codedesk  # type: ignore[attr-defined]
    try:
        if bot.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, app_token=bot.slack_app_token)
            log.info("serving mode=socket")
            handler.connect()
            if ready is not None:
                ready.set()
            _wait_for_stop(stop)
            handler.close()
        else:
            server = make_server(app, host=host, port=port if port is not None else settings.port)
            bound = server.server_address
            log.info("serving mode=http address=%s:%s path=%s", bound[0], bound[1], EVENTS_PATH)
            thread = threading.Thread(target=server.serve_forever, name="codedesk-http", daemon=True)
            thread.start()
            if ready is not None:
                ready.set()
            _wait_for_stop(stop)
            server.shutdown()
            server.server_close()
    finally:
        log.info("stopping: finishing answers in progress")
        deps.pool.wait_idle(timeout=30)
        deps.pool.shutdown(wait=False)
        query_log = deps.review.query_logger
        if query_log is not None and hasattr(query_log, "close"):
            query_log.close()


def _wait_for_stop(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal=%s", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
