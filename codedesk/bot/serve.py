"""Running the bot: Socket Mode when `SLACK_APP_TOKEN` is set, else HTTP served by uvicorn.

`serve_http` is `codedesk serve` in HTTP mode: uvicorn runs the ASGI app of `codedesk.bot.asgi`,
built in each worker by the factory `worker_app` with the composition root's review port. With
`--workers N`, uvicorn's own process manager binds the port once and starts N worker processes
(spawned: fresh interpreters, so nothing holding ONNX sessions, Chroma clients or database
connections is ever shared) that accept on that one socket; a worker that dies is replaced, and
SIGTERM/SIGINT stop them all (each finishes its answers in progress). `Workers` adds what uvicorn
has no hook for: a dead worker's gauges leave /metrics (prometheus_client's `mark_process_dead`),
and a worker exiting with a configuration error (2), or workers that keep crashing, stop the server.

`serve` runs one bot in this process with the parts it is given (tests, and Socket Mode, where
Slack's websocket replaces HTTP and there are no endpoints).
"""

from __future__ import annotations

import functools
import logging
import signal
import socket
import threading
import time
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from codedesk.bot.config import BotSettings
from codedesk.bot.observability import worker_gone
from codedesk.bot.review_port import ReviewPort
from codedesk.bot.runtime import EXIT_CONFIG, ReviewFor, build_runtime
from codedesk.settings import Settings

log = logging.getLogger(__name__)

KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this
GRACEFUL_S = 10  # on stop: requests in flight (acks take milliseconds); answers get 30 s more
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker whose app could not be loaded


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "INFO",
    http: str = "auto",
    factory: bool = False,
) -> uvicorn.Config:
    """`app`: an ASGI app, or with `factory` a picklable function that builds one (in each
    worker); `http`: uvicorn's HTTP parser, httptools when installed (else h11)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=factory,
        lifespan="on",
        http=http,
        log_config=None,  # uvicorn's lines go to our logfmt handler on the root logger
        log_level=log_level.lower(),
        access_log=False,  # RequestContext logs one line per Slack request
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_S,
        server_header=False,
        backlog=2048,
    )  # bursts of Slack retries / load tests must not be refused at accept


class Workers(Multiprocess):
    """uvicorn's process manager; a dead worker's gauges dropped and its death logged, and a stop
    (with `exit_code`) on a configuration error or a crash loop."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        *,
        max_restarts: int = 5,
        restart_window_s: float = 60.0,
    ) -> None:
        super().__init__(config, sockets)
        self.max_restarts, self.restart_window_s = max_restarts, restart_window_s
        self.exit_code = 0
        self._deaths: list[float] = []

    def keep_subprocess_alive(self) -> None:
        for process in self.processes:
            if process.exitcode == EXIT_CONFIG:  # restarting would fail the same way
                log.error(
                    "worker_config_error worker_pid=%s: stopping (fix the settings and start "
                    "again)",
                    process.pid,
                )
                self.exit_code = EXIT_CONFIG
                self.should_exit.set()
                return
        before = {process.pid: process for process in self.processes}
        super().keep_subprocess_alive()
        after = {process.pid for process in self.processes}
        for pid, process in before.items():
            if pid is None or pid in after:
                continue
            worker_gone(pid)
            log.error("worker_died worker_pid=%s exit=%s: restarting", pid, process.exitcode)
            now = time.monotonic()
            self._deaths = [t for t in self._deaths if now - t < self.restart_window_s] + [now]
            if len(self._deaths) > self.max_restarts:
                log.error(
                    "workers_crash_looping restarts=%s window_s=%.0f: stopping",
                    len(self._deaths),
                    self.restart_window_s,
                )
                self.exit_code = 1
                self.should_exit.set()
        failed = any(p.exitcode == STARTUP_FAILURE for p in self.processes)
        if self.should_exit.is_set() and not self.exit_code and failed:
            self.exit_code = EXIT_CONFIG  # uvicorn stopped: the app cannot be loaded

    def join_all(self) -> None:
        super().join_all()
        for process in self.processes:
            if process.pid is not None:
                worker_gone(process.pid)


def serve_http(
    review_for: ReviewFor, *, workers: int, host: str, port: int, log_level: str = "INFO"
) -> int:
    """`codedesk serve` in HTTP mode, until SIGTERM/SIGINT. Returns the exit code: 0 after a clean
    stop, 2 on a configuration error, 1 when the port cannot be had or workers kept crashing.
    `review_for` (module-level, so it reaches the spawned workers by reference) builds each
    worker's review port."""
    from codedesk.bot.asgi import worker_app

    config = uvicorn_config(
        functools.partial(worker_app, review_for),
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        factory=True,
    )
    if workers == 1:  # uvicorn serves in this process
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else 1
    try:
        sock = config.bind_socket()
    except SystemExit:  # uvicorn logged why (the port is taken, …)
        return 1
    manager = Workers(config, sockets=[sock])
    log.info("supervisor_started workers=%s address=%s:%s", workers, host, sock.getsockname()[1])
    try:
        manager.run()
    finally:
        sock.close()
        log.info("supervisor_stopped code=%s", manager.exit_code)
    return manager.exit_code


class BackgroundServer:
    """An ASGI app served by uvicorn on a thread of this process (port 0: a free one, `.port`)."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, http: str = "auto"
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.create_server((host, port), family=family, backlog=2048)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(app, host=host, port=self.port, http=http))
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name="codedesk-http",
            daemon=True,
        )

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


def serve(
    settings: Settings,
    *,
    review: ReviewPort,
    bot_settings: BotSettings | None = None,
    host: str = "0.0.0.0",
    port: int | None = None,
    answerer: Any = None,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> None:
    """One bot in this process until interrupted (Ctrl-C / SIGTERM, or `stop` set): Socket Mode
    with an app token, else HTTP. `ready` is set once requests are accepted (the answerer may
    still be loading when it is not given: /readyz says when it is ready)."""
    from codedesk.bot.asgi import create_app

    bot = (bot_settings or BotSettings()).require()
    stop = stop or threading.Event()
    fatal: list[BaseException] = []

    def on_fatal(err: BaseException) -> None:
        fatal.append(err)
        stop.set()

    runtime = build_runtime(
        settings, review=review, bot_settings=bot, answerer=answerer, on_fatal=on_fatal
    )
    if bot.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from codedesk.bot.observability import carry_request_ids

        carry_request_ids(runtime.app)
        runtime.start()
        try:
            handler = SocketModeHandler(runtime.app, app_token=bot.slack_app_token)
            log.info("serving mode=socket")
            handler.connect()
            if ready is not None:
                ready.set()
            _wait_for_stop(stop)
            handler.close()
        finally:
            runtime.stop()
    else:
        bind = port if port is not None else settings.port
        http = BackgroundServer(create_app(runtime), host=host, port=bind)
        log.info("serving mode=http address=%s:%s", http.host, http.port)
        http.start()  # the app's lifespan starts and stops `runtime`
        if ready is not None:
            ready.set()
        try:
            _wait_for_stop(stop)
        finally:
            http.stop()
    if fatal:
        raise fatal[0]


def _wait_for_stop(stop: threading.Event) -> None:
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
