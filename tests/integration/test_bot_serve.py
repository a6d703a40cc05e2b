"""`codedesk serve` (codedesk.bot.serve / asgi / cli): fail fast on missing settings; HTTP mode end to
end; hostile requests (bodies too big, never finished, unsigned or malformed) refused without being
read or parsed, never a 500."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codedesk.bot.asgi import BODY_TIMEOUT_S, MAX_BODY_BYTES
from codedesk.bot.config import BotSettings
from codedesk.bot.serve import BackgroundServer, serve
from codedesk.settings import Settings
from tests.fake_slack import BOT_USER_ID, FakeSlack, SlackSigner

REPO = Path(__file__).resolve().parents[2]


def test_missing_settings_fail_fast_naming_every_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CODEDESK_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [sys.executable, "-m", "codedesk", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "SLACK_BOT_TOKEN" in proc.stderr and "SLACK_SIGNING_SECRET" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_http_mode_answers_a_signed_mention(tmp_path: Path) -> None:
    from codedesk.retrieval.service import build_answerer
    from codedesk.review.log import QueryLogger
    from codedesk.review.port import ReviewService

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with FakeSlack() as fake:
        settings = Settings(
            _env_file=None,
            home=tmp_path / "home",
            database_url=None,
            cms_data_dir=None,
            port=port,
            slack_api_url=fake.api_url,
        )
        bot = BotSettings(
            _env_file=None,
            slack_bot_token="xoxb-serve",
            slack_signing_secret="serve-secret",
            slack_app_token=None,
        )
        answerer = build_answerer(
            Settings(
                _env_file=None,
                home=Path(tempfile.gettempdir()) / "codedesk-test-answerer",
                cms_data_dir=None,
            ),
            dense=False,
        )
        ready, stop = threading.Event(), threading.Event()
        thread = threading.Thread(
            target=serve,
            args=(settings,),
            daemon=True,
            kwargs=dict(
                bot_settings=bot,
                host="127.0.0.1",
                answerer=answerer,
                review=ReviewService(settings, QueryLogger(settings)),
                ready=ready,
                stop=stop,
            ),
        )
        thread.start()
        try:
            assert ready.wait(60)
            signer = SlackSigner("serve-secret", f"http://127.0.0.1:{port}/slack/events")
            message = fake.add_message(
                "C0SERVE", text=f"<@{BOT_USER_ID}> code for essential hypertension"
            )
            event = {
                "type": "app_mention",
                "channel": "C0SERVE",
                "user": "U0ASKER",
                "text": message["text"],
                "ts": message["ts"],
            }
            assert signer.event(event, event_id="Ev0SERVE")[0] == 200
            [post] = fake.wait_for("chat.postMessage", channel="C0SERVE", thread_ts=message["ts"])
            assert "I10" in str(post.params["blocks"])
            assert post.headers["authorization"] == "Bearer xoxb-serve"
        finally:
            stop.set()
            thread.join(30)
        assert not thread.is_alive()


# ------------------------------------------------------------------------------------ hostile requests

SECRET = "hostile-secret"


class _NeverAsked:
    """No request below may reach an answer."""

    def answer(self, question: str, **kwargs: Any) -> Any:
        raise AssertionError("a hostile request reached the answerer")


@pytest.fixture(params=["httptools", "h11"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackgroundServer]:
    """The real ASGI app on uvicorn with each of its HTTP parsers."""
    from slack_sdk import WebClient

    from codedesk.bot.app import build_app
    from codedesk.bot.asgi import create_app
    from codedesk.bot.readiness import Readiness
    from codedesk.bot.runtime import Runtime
    from codedesk.review.port import ReviewService

    with FakeSlack() as fake:
        settings = Settings(
            _env_file=None, home=tmp_path / "home", database_url=None, cms_data_dir=None
        )
        bot = BotSettings(
            _env_file=None,
            slack_bot_token="xoxb-hostile",
            slack_signing_secret=SECRET,
            slack_app_token=None,
        )
        app = build_app(
            settings,
            answerer=_NeverAsked(),
            review=ReviewService(settings),
            bot_settings=bot,
            client=WebClient(base_url=fake.api_url),
        )
        http = BackgroundServer(
            create_app(Runtime(app=app, readiness=Readiness(app.codedesk))), http=request.param
        ).start()
        try:
            yield http
        finally:
            http.stop()


def _exchange(
    port: int, head: str, body: bytes = b"", *, timeout: float = 20.0
) -> tuple[bytes, float]:
    """Send a raw request (headers `head`, then `body`), read until the server closes the
    connection; (what it answered, seconds from sending until it closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        started = time.monotonic()
        with contextlib.suppress(OSError):  # the server refused and closed while we still sent
            sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        try:
            while data := sock.recv(65536):
                chunks.append(data)
        except ConnectionResetError:  # closed with our unread bytes still in its buffer
            pass
        return b"".join(chunks), time.monotonic() - started


def _head(port: int, *lines: str) -> str:
    return "\n".join(["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}", *lines, ""])


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def test_a_body_too_big_or_of_no_length_is_refused_before_it_is_read(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = server.port
    response, seconds = _exchange(
        port, _head(port, "Content-Type: application/json", "Content-Length: -1"), b"{}"
    )
    assert _status(response) == 400 and seconds < 2, (response[:80], seconds)

    response, seconds = _exchange(
        port, _head(port, "Content-Type: application/json", "Content-Length: 99999999999999")
    )
    assert _status(response) == 413 and seconds < 2, (response[:80], seconds)

    response, _ = _exchange(
        port,
        _head(port, "Content-Type: application/json", "Content-Length: 2", "Content-Length: 3"),
        b"{}",
    )
    assert _status(response) == 400

    # no Content-Length (chunked): counted while it is read, refused past the limit
    chunk = b"x" * 65536
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (
        MAX_BODY_BYTES // len(chunk) + 2
    ) + b"0\r\n\r\n"
    response, seconds = _exchange(
        port, _head(port, "Content-Type: application/json", "Transfer-Encoding: chunked"), body
    )
    assert _status(response) in (413, 0) and seconds < 5, (
        response[:80],
        seconds,
    )  # 0: reset before we read it
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_body_that_never_finishes_is_dropped_within_seconds(server: BackgroundServer) -> None:
    port = server.port
    head = _head(port, "Content-Type: application/json", "Content-Length: 1000")
    response, seconds = _exchange(port, head, b'{"type": "event_callback", ' + b"x" * 100)
    assert _status(response) == 408, response[:80]
    assert BODY_TIMEOUT_S - 0.5 < seconds < BODY_TIMEOUT_S + 3, f"closed after {seconds:.1f}s"
    assert b"connection: close" in response.lower()

    # and while one connection dribbles, others are answered at once
    holder = threading.Thread(target=_exchange, args=(port, head, b"{"), daemon=True)
    holder.start()
    time.sleep(0.2)
    started = time.monotonic()
    response, _ = _exchange(port, "GET /healthz HTTP/1.1\nHost: x\nConnection: close\n")
    assert _status(response) == 200 and time.monotonic() - started < 1
    holder.join(BODY_TIMEOUT_S + 5)


def test_unsigned_forged_and_malformed_bodies_get_4xx_never_a_500(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = f"http://127.0.0.1:{server.port}/slack/events"
    signer = SlackSigner(SECRET, url)
    json_type, form_type = "application/json", "application/x-www-form-urlencoded"
    unsigned = [
        ("{not json", json_type),
        ("payload=%7Bbroken", form_type),
        ("", json_type),
        ("[1, 2]", json_type),
    ]
    for body, ctype in unsigned:
        assert signer.post(body, content_type=ctype, secret="forged")[0] == 401, body
    ts = str(int(time.time()))
    stale = signer.post(
        '{"type": "url_verification", "challenge": "x"}',
        content_type=json_type,
        timestamp=int(time.time()) - 3600,
    )
    assert stale[0] == 401
    signed_malformed = [
        ("{not json", json_type),
        ("[1, 2]", json_type),
        ('"text"', json_type),
        ("payload=%7Bbroken", form_type),
        ("payload=%5B%5D", form_type),
        ("%ZZ&&=", form_type),
        ('{"type": "event_callback", "event": "not an object"}', json_type),
        ('{"type": "event_callback", "event": {"type": "app_mention", "user": 5}}', json_type),
        ('{"type": "event_callback", "authorizations": [1], "event": {}}', json_type),
        ("payload=" + '{"type": "block_actions", "team": [], "actions": "x"}', form_type),
        ("payload=" + '{"type": "view_submission", "view": {"state": 7}}', form_type),
    ]
    for body, ctype in signed_malformed:
        status = signer.post(body, content_type=ctype)[0]
        assert 400 <= status < 500, (body, status)  # 404: Bolt read it and nothing handles it
    not_utf8 = b'{"type": "\xff\xfe"}'
    sig = (
        "v0="
        + hmac.new(
            SECRET.encode(), b"v0:" + ts.encode() + b":" + not_utf8, hashlib.sha256
        ).hexdigest()
    )
    head = _head(
        server.port,
        "Content-Type: application/json",
        f"Content-Length: {len(not_utf8)}",
        f"X-Slack-Request-Timestamp: {ts}",
        f"X-Slack-Signature: {sig}",
        "Connection: close",
    )
    assert _status(_exchange(server.port, head, not_utf8)[0]) in (400, 401)
    assert (
        signer.post("ssl_check=1&token=legacy", content_type=form_type, secret="unsigned")[0] == 200
    )
    problems = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage() for r in problems]
    assert not any(SECRET in r.getMessage() or "not json" in r.getMessage() for r in caplog.records)
