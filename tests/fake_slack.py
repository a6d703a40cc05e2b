"""A local fake of the Slack Web API over HTTP that records every call.

The pattern of bolt-python's own tests/mock_web_api_server: a real HTTP server on a free loopback
port, a `WebClient(base_url=fake.api_url)` pointing at it, and assertions on the recorded calls.
It also serves `response_url`s (`fake.response_url(...)`) and keeps the messages posted, so
`conversations.replies` returns a thread the way Slack would (people's messages are added by the
test with `add_message`, as Slack would have stored them before sending the event).

Also here: `SlackSigner`, which builds Slack-signed HTTP requests for the app under test.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

BOT_USER_ID = "UCODEDESK"
BOT_ID = "BCODEDESK"
TEAM_ID = "T0TEAM"


@dataclass
class Call:
    method: str  # "chat.postMessage", or "response_url" for posts to a response_url
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    path: str = ""


class FakeSlack:
    """Start with `with FakeSlack() as fake:` or `fake.start()` / `fake.stop()`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.errors: dict[str, str] = {}  # method -> Slack error code to answer with
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                ctype = self.headers.get("Content-Type") or ""
                if "json" in ctype:
                    params = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw, keep_blank_values=True))
                    for key in ("blocks", "view", "prompts", "metadata"):
                        if isinstance(params.get(key), str):
                            try:
                                params[key] = json.loads(params[key])
                            except ValueError:
                                pass
                path = urlsplit(self.path).path
                headers = {k.lower(): v for k, v in self.headers.items()}
                if path.startswith("/response/"):
                    fake._record(Call("response_url", params, headers, path=path))
                    self._reply(200, b"ok", "text/plain")
                    return
                method = path.rsplit("/", 1)[-1]
                body = fake._handle(method, params, headers, path)
                self._reply(200, json.dumps(body).encode(), "application/json; charset=utf-8")

            do_GET = do_POST

            def _reply(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 256
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """For `WebClient(base_url=…)` / CODEDESK_SLACK_API_URL."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base_url}/response/{name}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.errors.clear()
            self.messages.clear()

    # ------------------------------------------------------------------ recording

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def _matching(self, method: str, path: str | None, where: dict[str, Any]) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (path is None or c.path == path)
            and all(c.params.get(k) == v for k, v in where.items())
        ]

    def calls_to(self, method: str, *, path: str | None = None, **where: Any) -> list[Call]:
        """Recorded calls of `method` (at `path`, for response_url) whose params include every `where` key=value."""
        with self._lock:
            return self._matching(method, path, where)

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 30.0,
        *,
        path: str | None = None,
        **where: Any,
    ) -> list[Call]:
        """Wait until at least `count` calls of `method` (matching `path` and `where`) were recorded."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = self._matching(method, path, where)
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self.calls})
                    raise AssertionError(
                        f"expected {count} call(s) to {method} {where or ''}, got {len(found)}; "
                        f"methods seen: {seen}"
                    )
                self._lock.wait(left)

    # ------------------------------------------------------------------ state

    def next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def add_message(
        self,
        channel: str,
        *,
        text: str,
        user: str | None = "U0ASKER",
        ts: str | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a message as Slack would (for conversations.replies); returns it."""
        message = {"type": "message", "text": text, "ts": ts or self.next_ts()}
        if user:
            message["user"] = user
        if thread_ts:
            message["thread_ts"] = thread_ts
        if bot_id:
            message["bot_id"] = bot_id
        with self._lock:
            self.messages.setdefault(channel, []).append(message)
        return message

    def _handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str], path: str
    ) -> dict[str, Any]:
        self._record(Call(method, params, headers, path=path))
        error = self.errors.get(method)
        if error:
            return {"ok": False, "error": error}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://codedesk-test.slack.com/",
                "team": "Test",
                "user": "codedesk",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = self.next_ts()
            channel = params.get("channel")
            if method == "chat.postMessage":
                self.add_message(
                    channel,
                    text=params.get("text") or "",
                    user=BOT_USER_ID,
                    ts=ts,
                    thread_ts=params.get("thread_ts"),
                    bot_id=BOT_ID,
                )
                return {
                    "ok": True,
                    "channel": channel,
                    "ts": ts,
                    "message": {"text": params.get("text"), "ts": ts, "bot_id": BOT_ID},
                }
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.getPermalink":
            channel, ts = params.get("channel"), str(params.get("message_ts", "")).replace(".", "")
            link = f"https://codedesk-test.slack.com/archives/{channel}/p{ts}"
            return {"ok": True, "channel": channel, "permalink": link}
        if method == "conversations.replies":
            channel, root = params.get("channel"), params.get("ts")
            with self._lock:
                thread = [
                    m
                    for m in self.messages.get(channel, [])
                    if m["ts"] == root or m.get("thread_ts") == root
                ]
            thread.sort(key=lambda m: float(m["ts"]))
            return {"ok": True, "messages": thread, "has_more": False}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            return {"ok": True, "view": {**view, "id": f"V{next(self._ts)}"}}
        return {"ok": True}


class SlackSigner:
    """Builds Slack-signed requests (v0 HMAC-SHA256 of 'v0:{timestamp}:{body}') and posts them."""

    def __init__(self, signing_secret: str, url: str) -> None:
        self.secret = signing_secret
        self.url = url

    def headers(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        content_type: str,
        secret: str | None = None,
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        base = f"v0:{ts}:{body}".encode()
        sig = "v0=" + hmac.new((secret or self.secret).encode(), base, hashlib.sha256).hexdigest()
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        }

    def post(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        secret: str | None = None,
        extra_headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, str, float]:
        """(HTTP status, body, seconds until the response) for a signed POST."""
        headers = self.headers(body, timestamp=timestamp, content_type=content_type, secret=secret)
        headers.update(extra_headers or {})
        request = urllib.request.Request(
            self.url, data=body.encode(), headers=headers, method="POST"
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, resp.read().decode(), time.monotonic() - started
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), time.monotonic() - started

    def event(
        self, event: dict[str, Any], *, event_id: str, **kwargs: Any
    ) -> tuple[int, str, float]:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0CODEDESK",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": event,
                "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
            }
        )
        return self.post(body, content_type="application/json", **kwargs)

    def command(
        self,
        text: str,
        *,
        response_url: str,
        user: str = "U0ASKER",
        channel: str = "C0CODING",
        command: str = "/code",
        **kwargs: Any,
    ) -> tuple[int, str, float]:
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "channel_id": channel,
                "channel_name": "coding",
                "user_id": user,
                "user_name": "asker",
                "command": command,
                "text": text,
                "response_url": response_url,
                "trigger_id": "1.2.3",
                "api_app_id": "A0CODEDESK",
            }
        )
        return self.post(body, content_type="application/x-www-form-urlencoded", **kwargs)

    def interaction(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str, float]:
        payload = {
            "team": {"id": TEAM_ID},
            "api_app_id": "A0CODEDESK",
            "token": "legacy",
            **payload,
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, content_type="application/x-www-form-urlencoded", **kwargs)


# ---------------------------------------------------------------------------------------------
# The bot under test, served over real HTTP on a free loopback port.


class RunningBot:
    """`build_app` + the ASGI app of `codedesk.bot.asgi`, served by uvicorn on 127.0.0.1:<free port>
    in a thread of this process; signed requests via `.slack`."""

    def __init__(
        self, fake: FakeSlack, settings: Any, *, answerer: Any, query_logger: Any, bot_settings: Any
    ) -> None:
        from slack_sdk import WebClient

        from codedesk.bot.app import build_app
        from codedesk.bot.asgi import create_app
        from codedesk.bot.readiness import Readiness
        from codedesk.bot.runtime import Runtime
        from codedesk.bot.serve import BackgroundServer
        from codedesk.review.port import ReviewService

        self.fake = fake
        self.settings = settings
        self.app = build_app(
            settings,
            answerer=answerer,
            review=ReviewService(settings, query_logger),
            bot_settings=bot_settings,
            client=WebClient(base_url=fake.api_url),
        )
        self.deps = self.app.codedesk
        self.http = BackgroundServer(
            create_app(Runtime(app=self.app, readiness=Readiness(self.deps))),
            host="127.0.0.1",
            port=0,
        ).start()
        self.url = f"http://127.0.0.1:{self.http.port}/slack/events"
        self.slack = SlackSigner(bot_settings.slack_signing_secret, self.url)

    def idle(self, timeout: float = 60.0) -> None:
        """Wait until every answer job has finished."""
        assert self.deps.pool.wait_idle(timeout), "answer jobs still running"

    def close(self) -> None:
        self.http.stop()  # the app's lifespan finishes the answer jobs and closes the query log
