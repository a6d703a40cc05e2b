"""A local OpenAI-compatible chat server over HTTP with scripted replies, for the model-backed composer.

A real HTTP server on a free loopback port implementing `POST /v1/chat/completions`; the real
`langchain-openai` client talks to it through `base_url`. Each request is recorded. The reply is
chosen by a script: a marker found in the request (e.g. "zqgood" in the question) names a function
that receives the request body and returns a `Reply` (content, HTTP status, delay, headers).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # the error body of a non-200 reply
    chunk_chars: int = 16  # a streamed reply (`"stream": true`) comes in pieces of this size
    chunk_delay_s: float = 0.0  # and this long apart


Script = Callable[[dict[str, Any]], Reply]


def user_text(body: dict[str, Any]) -> str:
    """The text of the last user message of a chat request."""
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                return "".join(part.get("text", "") for part in content if isinstance(part, dict))
            return content or ""
    return ""


def system_text(body: dict[str, Any]) -> str:
    return "".join(
        m.get("content") or "" for m in body.get("messages") or [] if m.get("role") == "system"
    )


def source_numbers(body: dict[str, Any]) -> dict[str, int]:
    """{code or source kind: number} from the numbered SOURCES of the prompt ("[2] ICD-10-CM E11.22 — …")."""
    out: dict[str, int] = {}
    for m in re.finditer(
        r"^\[(\d+)\] (?:ICD-10-CM|ICD-10-PCS|HCPCS) (\S+) —", user_text(body), re.M
    ):
        out.setdefault(m.group(2), int(m.group(1)))
    for m in re.finditer(
        r"^\[(\d+)\] .*\[(team_guideline|guideline|Team guideline[^\]]*)\]$", user_text(body), re.M
    ):
        out.setdefault("team_guideline" if "eam" in m.group(2) else "guideline", int(m.group(1)))
    return out


class FakeOpenAI:
    """`with FakeOpenAI(scripts) as fake:`; `fake.base_url` is the `/v1` URL for the client."""

    def __init__(self, scripts: dict[str, Script], default: Script | None = None) -> None:
        self.scripts = scripts
        self.default = default or (
            lambda body: Reply(status=400, error={"message": "no script marker"})
        )
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests_for(self, marker: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if marker in user_text(r)]

    def _script_for(self, body: dict[str, Any]) -> Script:
        text = user_text(body)
        for marker, script in self.scripts.items():
            if marker in text:
                return script
        return self.default

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out)
                    pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                    return
                body["_headers"] = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append(body)
                reply = fake._script_for(body)(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._send(
                        reply.status,
                        {"error": reply.error or {"message": "scripted error", "type": "scripted"}},
                        reply.headers,
                    )
                    return
                prompt = (
                    sum(len(str(m.get("content") or "")) for m in body.get("messages") or []) // 4
                )
                completion = max(1, len(reply.content) // 4)
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
                if body.get("stream"):
                    self._stream(body, reply, usage)
                    return
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{next(fake._ids)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                                "logprobs": None,
                            }
                        ],
                        "usage": usage,
                    },
                    reply.headers,
                )

            def _stream(self, body: dict[str, Any], reply: Reply, usage: dict[str, int]) -> None:
                """Server-sent events as OpenAI streams them: deltas, a finish chunk, usage, [DONE]."""
                base = {
                    "id": f"chatcmpl-{next(fake._ids)}",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                }
                pieces = [
                    reply.content[i : i + reply.chunk_chars]
                    for i in range(0, len(reply.content), reply.chunk_chars)
                ]
                events = [
                    {
                        **base,
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"role": "assistant", "content": ""},
                                "finish_reason": None,
                            }
                        ],
                    }
                ]
                events += [
                    {
                        **base,
                        "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
                    }
                    for p in pieces
                ]
                events.append(
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                )
                if (body.get("stream_options") or {}).get("include_usage"):
                    events.append({**base, "choices": [], "usage": usage})
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    for i, event in enumerate(events):
                        if i > 1 and reply.chunk_delay_s:
                            time.sleep(reply.chunk_delay_s)
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
