"""chromadb's HTTP client with a time limit.

`chromadb.HttpClient` talks through an `httpx.Client(timeout=None)`, and chromadb offers no setting
for it: a Chroma server that accepts connections and then goes quiet (overloaded, paused, a
half-open proxy) would hold an answer, and the Slack worker thread running it, forever. Here the
first request (a heartbeat) is made with the limit before chromadb makes its own, and the client's
session is given the same limit, so a quiet server becomes `IndexUnavailable` and the usual
"the code index is unavailable, retrying" path.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


def http_client(host: str, port: int, timeout_s: float) -> Any:
    """Like `chromadb.HttpClient(host, port)`, with every request bounded by `timeout_s`."""
    import chromadb

    base = host if "://" in host else f"http://{host}:{port}"
    httpx.get(f"{base}/api/v2/heartbeat", timeout=timeout_s).raise_for_status()
    client = chromadb.HttpClient(
        host=host, port=port, settings=chromadb.Settings(anonymized_telemetry=False)
    )
    session = getattr(
        getattr(client, "_server", None), "_session", None
    )  # chromadb.api.fastapi.FastAPI
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
    else:  # another chromadb release: answers still work, without the limit
        log.warning("chroma_timeout_unset reason=no httpx session on the client")
    return client
