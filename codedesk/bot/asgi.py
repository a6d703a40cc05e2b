"""The HTTP face of the bot: a Starlette app that uvicorn serves (`codedesk serve`).

- `POST /slack/events`: Slack events, slash commands and interactivity (Bolt's default path). The
  body is read within limits (`BoundedBody`: a Content-Length that is not a number or is above
  `MAX_BODY_BYTES` is refused before anything is read, a body above the limit while it is read, and
  a body that does not arrive within `BODY_TIMEOUT_S` ends the connection), then Slack's signature
  is checked on the raw bytes (a forged, unsigned or replayed request gets 401 before any JSON or
  form parsing), then the sync Bolt `App` dispatches it on a worker thread (the event loop never
  waits for an ack).
- `GET /healthz`: `ok` while the process runs (liveness; what a load balancer should route on).
- `GET /readyz`: 200 with JSON (index generation and document count, database reachable, answerer
  built) when this worker can answer with the full index and log to the database, else 503 with
  the same JSON and `"down": [...]` naming what is not (deploy gating and alerting; answers still
  go on while the database is down, so do not take workers out of rotation on it).
- `GET /metrics`: Prometheus text of every worker (`codedesk.bot.observability`).

Every response carries `X-Request-Id`; every request is counted in `codedesk_requests_total`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codedesk.bot.observability import (
    carry_request_ids,
    clean_request_id,
    count_request,
    metrics_text,
    new_request_id,
    request_id,
    request_kind,
    worker_gone,
)
from codedesk.bot.runtime import EXIT_CONFIG, ReviewFor, Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; refuse anything absurd
BODY_TIMEOUT_S = 5.0  # the whole body must arrive within this (a Slack payload takes milliseconds)
CLOSE = {"Connection": "close"}  # a refused body's rest must not be read as the next request
ROUTE_KINDS = {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics"}


# ------------------------------------------------------------------------------------ middleware


@dataclass(slots=True)
class Exchange:
    """What a handler learnt about its request, for the request log and metrics."""

    kind: str = "other"
    retry: bool = False


def exchange_of(request: Request) -> Exchange:
    exchange: Exchange = request.scope["codedesk.exchange"]
    return exchange


class RequestContext:
    """Request id (from `X-Request-Id` or new; set for the logs, returned in the response), request
    count and latency, and one log line per Slack request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = clean_request_id(Headers(scope=scope).get("x-request-id")) or new_request_id()
        token = request_id.set(rid)
        exchange = Exchange(kind=ROUTE_KINDS.get(scope["path"], "other"))
        scope["codedesk.exchange"] = exchange
        status, started = 500, time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            count_request(exchange.kind, status, exchange.retry, seconds)
            if scope["method"] == "POST":
                log.info(
                    "request kind=%s status=%s retry=%s ms=%.1f",
                    exchange.kind,
                    status,
                    int(exchange.retry),
                    seconds * 1000,
                )
            request_id.reset(token)


class BoundedBody:
    """Refuses a request body that is too big or too slow, reading no more of it than the limit."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES, timeout_s: float = BODY_TIMEOUT_S
    ) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [value for name, value in scope["headers"] if name == b"content-length"]
        if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            refusal = PlainTextResponse("Invalid Content-Length", 400, headers=CLOSE)
            await refusal(scope, receive, send)
            return
        if lengths and int(lengths[0]) > self.max_bytes:
            refusal = PlainTextResponse("Request body too large", 413, headers=CLOSE)
            await refusal(scope, receive, send)
            return
        deadline: float | None = None
        received, complete = 0, False

        async def bounded_receive() -> Message:
            nonlocal deadline, received, complete
            if complete:  # the body is in: later receives wait for a disconnect, unbounded
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.timeout_s
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                log.warning("request_rejected reason=body_timeout received_bytes=%s", received)
                raise HTTPException(
                    408, "Request body not received in time", headers=CLOSE
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise HTTPException(413, "Request body too large", headers=CLOSE)
            return message

        await self.app(scope, bounded_receive, send)


# ------------------------------------------------------------------------------------ handlers


def signed_by_slack(verifier: SignatureVerifier | None, body: bytes, headers: Headers) -> bool:
    """Slack's signature (and a timestamp within 5 minutes) of the raw body. Checked here,
    before Bolt: Bolt checks it too, but after parsing the body, and logs the body when it fails."""
    if verifier is None:  # HTTP mode without a signing secret: nothing can be trusted
        return False
    try:
        return verifier.is_valid(
            body, headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        )
    except Exception:  # a malformed timestamp header, a body that is not UTF-8
        return False


def is_ssl_check(body: bytes) -> bool:
    """Slack's certificate check of a slash command URL (`ssl_check=1&token=…`, unsigned): answered
    200 without reading more, as Bolt would, and without handing it to Bolt."""
    return b"ssl_check=1" in body.split(b"&")


# Fields of a Slack payload that Bolt reads before any listener runs, and the types Slack sends: a
# signed body of another shape would break inside Bolt (a 500 and a traceback), so it is refused.
_OBJECT_OR_ID = ("enterprise", "team", "user", "channel")
_OBJECT = (
    "event",
    "view",
    "message",
    "previous_message",
    "item",
    "assistant_thread",
    "container",
    "function_data",
    "state",
)
_LIST_OF_OBJECTS = ("authorizations", "actions")


def slack_shaped(payload: object, depth: int = 0) -> bool:
    if not isinstance(payload, dict):
        return False
    for key in _OBJECT_OR_ID:
        if payload.get(key) is not None and not isinstance(payload[key], (str, dict)):
            return False
    for key in _OBJECT:
        value = payload.get(key)
        if value is not None and not isinstance(value, dict):
            return False
        if value is not None and depth < 3 and not slack_shaped(value, depth + 1):
            return False
    for key in _LIST_OF_OBJECTS:
        value = payload.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            return False
    return True


async def slack_events(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    exchange = exchange_of(request)
    exchange.retry = "x-slack-retry-num" in request.headers
    try:
        body = await request.body()  # bounded by BoundedBody
    except ClientDisconnect:
        return Response(status_code=400)
    if is_ssl_check(body):
        exchange.kind = "ssl_check"
        return Response(status_code=200)
    if not signed_by_slack(request.app.state.verifier, body, request.headers):
        log.warning("request_rejected reason=bad_signature_or_stale_timestamp bytes=%s", len(body))
        return JSONResponse({"error": "invalid request"}, 401)
    exchange.kind = request_kind(body, request.headers.get("content-type", ""))
    try:
        bolt_request = to_bolt_request(request, body)
        if not slack_shaped(bolt_request.body):
            raise ValueError("not a Slack payload")
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):  # and UnicodeDecodeError
        log.warning("request_rejected reason=malformed_body kind=%s", exchange.kind)
        return JSONResponse({"error": "malformed request"}, 400)
    try:
        bolt_response = await run_in_threadpool(runtime.app.dispatch, bolt_request)
    except Exception:  # Bolt handles listener errors itself; this is the last net
        log.exception("dispatch_failed kind=%s", exchange.kind)
        return Response(status_code=500)
    return to_starlette_response(bolt_response)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ok, report = await run_in_threadpool(runtime.readiness.report)
    return JSONResponse(report, 200 if ok else 503)


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime

    def scrape() -> tuple[bytes, str]:
        runtime.sampler().sample()  # this worker's gauges now; the others' as of their last second
        return metrics_text()

    body, content_type = await run_in_threadpool(scrape)
    return Response(body, media_type=content_type)


# ------------------------------------------------------------------------------------ the app


def create_app(
    runtime: Runtime,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> Starlette:
    """The ASGI app of one worker; its lifespan starts and stops `runtime`."""
    carry_request_ids(runtime.app)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(runtime.start)
        try:
            yield
        finally:
            await run_in_threadpool(runtime.stop)
            worker_gone(os.getpid())

    app = Starlette(
        routes=[
            Route(EVENTS_PATH, slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        middleware=[
            Middleware(RequestContext),
            Middleware(BoundedBody, max_bytes=max_body_bytes, timeout_s=body_timeout_s),
        ],
        lifespan=lifespan,
    )
    secret = runtime.deps.bot.slack_signing_secret
    app.state.runtime = runtime
    app.state.verifier = SignatureVerifier(signing_secret=secret) if secret else None
    return app


def _stop_on_config_error(err: BaseException) -> None:
    """The answerer cannot be built with these settings (a model mismatch, …): restarting will not
    help. Exit with the configuration code; the process manager stops the server on it."""
    from codedesk.settings import redact_text

    log.error("worker_config_error error=%s", json.dumps(redact_text(str(err))))
    os._exit(EXIT_CONFIG)


def worker_app(review_for: ReviewFor) -> Starlette:
    """uvicorn's app factory, run in each worker process (bound to the composition root's
    `review_for`): the settings from the environment, the review port from `review_for`."""
    from codedesk.bot.config import BotSettings
    from codedesk.bot.observability import configure_logging
    from codedesk.bot.runtime import build_runtime
    from codedesk.errors import CodeDeskError
    from codedesk.settings import Settings, redact_text

    configure_logging(os.environ.get("CODEDESK_LOG_LEVEL", "INFO"))
    try:
        settings = Settings()
        runtime = build_runtime(
            settings,
            review=review_for(settings),
            bot_settings=BotSettings(),
            on_fatal=_stop_on_config_error,
        )
    except CodeDeskError as err:
        log.error("worker_config_error error=%s", json.dumps(redact_text(str(err))))
        raise SystemExit(EXIT_CONFIG) from None
    return create_app(runtime)
