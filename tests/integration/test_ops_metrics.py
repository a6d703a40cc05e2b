"""The operating pieces on their own: Prometheus metrics across worker processes (prometheus_client's
multiprocess mode, as `codedesk serve --workers N` runs it), key=value logs with request ids, request
kinds from fixed sets, the answerer that waits for its index, and the dense index following a new
generation after an ingest (real embedded Chroma in tmp_path)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from prometheus_client import REGISTRY

from codedesk.bot.observability import (
    ContextExecutor,
    configure_logging,
    request_id,
    request_kind,
    status_label,
)
from codedesk.bot.readiness import AnswererHolder
from codedesk.errors import ConfigError, IndexUnavailable
from codedesk.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _series(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def _worker(shared: Path, code: str) -> str:
    """Run `code` in a fresh process that shares metrics through `shared`, as a worker does."""
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(shared), PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from codedesk.bot.observability import *\n" + textwrap.dedent(code),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_one_scrape_sums_the_workers_and_drops_a_dead_one(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    first = int(
        _worker(
            shared,
            """
        worker_started()
        count_request("event:app_mention", 200, False, 0.01)
        count_request("event:app_mention", 200, False, 0.02)
        for seconds in (0.03, 0.2, 40.0):
            ANSWER_SECONDS.observe(seconds)
        ANSWERS.labels(outcome="ok").inc(3)
        GaugeSampler(queue_depth=lambda: 2, answerer_ready=lambda: True, log_queue_pending=lambda: 3).sample()
        print(os.getpid())
    """,
        )
    )
    second = int(
        _worker(
            shared,
            """
        worker_started()
        count_request(request_kind('{"type": "event_callback", "event": {"type": "x\\"}{"}}', "json"), 299, True, 0.5)
        count_request("command:/code", 200, False, 0.01)
        GaugeSampler(queue_depth=lambda: 0, answerer_ready=lambda: False, log_queue_pending=lambda: 3).sample()
        print(os.getpid())
    """,
        )
    )
    scrape = "body, ctype = metrics_text(); print(body.decode())"
    text = _worker(shared, scrape)
    s = _series(text)
    assert s['codedesk_requests_total{kind="event:app_mention",retry="0",status="200"}'] == 2
    assert s['codedesk_requests_total{kind="command:/code",retry="0",status="200"}'] == 1
    assert s['codedesk_requests_total{kind="other",retry="1",status="other"}'] == 1, (
        "labels from fixed sets"
    )
    assert s['codedesk_answer_seconds_bucket{le="0.05"}'] == 1
    assert s['codedesk_answer_seconds_bucket{le="0.25"}'] == 2  # cumulative
    assert s['codedesk_answer_seconds_bucket{le="30.0"}'] == 2
    assert s['codedesk_answer_seconds_bucket{le="+Inf"}'] == 3
    assert s["codedesk_answer_seconds_count"] == 3
    assert s['codedesk_answers_total{outcome="ok"}'] == 3
    assert s["codedesk_log_queue_pending"] == 3 and text.count("codedesk_log_queue_pending 3") == 1
    assert s[f'codedesk_answer_queue_depth{{pid="{first}"}}'] == 2
    assert s[f'codedesk_answer_queue_depth{{pid="{second}"}}'] == 0
    assert (
        s[f'codedesk_answerer_ready{{pid="{first}"}}'] == 1
        and s[f'codedesk_answerer_ready{{pid="{second}"}}'] == 0
    )
    assert {k for k in s if k.startswith("codedesk_worker_start_time_seconds")} == {
        f'codedesk_worker_start_time_seconds{{pid="{pid}"}}' for pid in (first, second)
    }
    assert s["codedesk_workers"] == 2, "the scraping process is no worker"
    assert (
        "# TYPE codedesk_answer_seconds histogram" in text
        and "# TYPE codedesk_requests_total counter" in text
    )

    _worker(shared, f"worker_gone({second})")  # what the process manager does when a worker exits
    s = _series(_worker(shared, scrape))
    assert not any(f'pid="{second}"' in k for k in s), "a dead worker's gauges are dropped"
    assert s["codedesk_workers"] == 1
    assert s['codedesk_requests_total{kind="command:/code",retry="0",status="200"}'] == 1, (
        "its counts stay"
    )


def test_logfmt_lines_carry_the_request_id_across_threads() -> None:
    stream = io.StringIO()

    def errors(level: str) -> float:
        return (
            REGISTRY.get_sample_value(
                "codedesk_log_messages_total", {"level": level, "logger": "bot"}
            )
            or 0.0
        )

    before = errors("error"), errors("warning")
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("codedesk.bot.answering")
    try:
        token = request_id.set("abc123")
        pool = ContextExecutor(ThreadPoolExecutor(1))
        pool.submit(log.info, "answered surface=%s codes=%s", "slack_channel", "E11.22").result()
        request_id.reset(token)
        log.warning('plain words, with a "quote"')
        try:
            raise KeyError("boom")
        except KeyError:
            log.exception("answer_failed surface=%s", "slack_dm")
        pool.shutdown()
    finally:
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert (
        lines[0].startswith("ts=")
        and f" pid={os.getpid()} rid=abc123 logger=bot.answering " in lines[0]
    )
    assert lines[0].endswith("event=answered surface=slack_channel codes=E11.22")
    assert 'rid=- logger=bot.answering msg="plain words, with a \\"quote\\""' in lines[1]
    assert (
        len(lines) == 3
        and 'event=answer_failed surface=slack_dm exc_type=KeyError exc="Traceback' in lines[2]
    )
    assert (errors("error") - before[0], errors("warning") - before[1]) == (1, 1)


def test_request_kinds_and_statuses_come_from_fixed_sets() -> None:
    event = json.dumps({"type": "event_callback", "event": {"type": "app_mention"}})
    assert request_kind(event, "application/json") == "event:app_mention"
    assert request_kind(event.encode(), "application/json") == "event:app_mention"
    assert (
        request_kind(json.dumps({"type": "url_verification"}), "application/json")
        == "url_verification"
    )
    assert (
        request_kind(
            urlencode({"command": "/code", "text": "x"}), "application/x-www-form-urlencoded"
        )
        == "command:/code"
    )
    assert (
        request_kind(urlencode({"command": "/anything-else"}), "application/x-www-form-urlencoded")
        == "other"
    )
    payload = urlencode({"payload": json.dumps({"type": "block_actions"})})
    assert request_kind(payload, "application/x-www-form-urlencoded") == "interaction:block_actions"
    assert request_kind("{not json", "application/json") == "other"
    assert request_kind(b"\xff\xfe", "application/json") == "other"
    weird = json.dumps({"type": "event_callback", "event": {"type": 'x"}{' * 30}})
    assert request_kind(weird, "application/json") == "other", (
        "an unknown event type is never a new series"
    )
    assert (
        request_kind(json.dumps({"type": "event_callback", "event": []}), "application/json")
        == "other"
    )
    assert [status_label(s) for s in (200, 401, 413, 299, 999)] == [
        "200",
        "401",
        "413",
        "other",
        "other",
    ]


def test_answerer_holder_waits_for_the_index_then_answers(tmp_path: Path) -> None:
    from tests.support import free_port

    settings = Settings(
        _env_file=None, home=tmp_path, chroma_host="127.0.0.1", chroma_port=free_port()
    )
    built = threading.Event()

    class Answerer:
        dense = None
        index_version = "g1"

        def answer(self, question: str, **kwargs: Any) -> str:
            return f"answer to {question}"

    holder = AnswererHolder(settings, build=lambda: (built.set(), Answerer())[1], retry_s=0.05)
    holder.start()
    deadline = time.monotonic() + 20  # the first chromadb import takes a few seconds
    while holder.state == "starting" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert holder.state == "waiting_for_index" and not built.is_set()  # nobody listens on that port
    with pytest.raises(IndexUnavailable):
        holder.answer("E11.22?")
    holder.stop()

    embedded = Settings(_env_file=None, home=tmp_path, chroma_host=None)
    holder = AnswererHolder(embedded, build=Answerer, retry_s=0.05)
    holder.start()
    assert holder.wait(10) and holder.answer("E11.22?") == "answer to E11.22?"
    assert holder.index_version == "g1"

    def broken() -> Any:
        raise ConfigError("the index was built with 'x' but 'y' is configured")

    fatal: list[BaseException] = []
    holder = AnswererHolder(embedded, build=broken, retry_s=0.05)
    holder.start(fatal.append)
    holder.wait(10)
    assert holder.state == "failed" and isinstance(fatal[0], ConfigError)
    with pytest.raises(ConfigError, match="built with"):
        holder.answer("E11.22?")


class _Embedder:
    """Two-dimensional vectors: enough for Chroma; the model itself is not under test here."""

    model_name = "test-2d"

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array([[1.0, 0.0] if "kidney" in t else [0.0, 1.0] for t in texts], np.float32)


def _generation(store: Any, codes: list[str]) -> Any:
    from codedesk.ingest.store import Generation

    gen, vecs, _txt = store.create(["icd10cm-2026"])
    vecs["icd10cm-2026"].add(
        ids=codes,
        embeddings=[[1.0, 0.0]] * len(codes),
        documents=codes,
        metadatas=[{"code": c, "leaf": True} for c in codes],
    )
    generation = Generation(
        gen, _Embedder.model_name, gen, len(codes), 0, time.time(), "", "icd10cm-2026"
    )
    store.activate(generation)
    return generation


def test_dense_index_follows_a_new_generation_after_ingest(tmp_path: Path) -> None:
    from codedesk.ingest.store import IndexStore
    from codedesk.retrieval.dense import DenseIndex

    settings = Settings(_env_file=None, home=tmp_path, chroma_host=None)
    store = IndexStore(settings)
    first = _generation(store, ["N18.31", "N18.32"])
    dense = DenseIndex(store, _Embedder())
    search = dense.code_search("2026")
    assert {c for c, _ in search("kidney stage 3", 2)} == {"N18.31", "N18.32"}
    time.sleep(1.1)  # generation names carry the second
    second = _generation(
        IndexStore(settings), ["N18.4"]
    )  # an ingest elsewhere: the old collections are dropped
    assert second.gen != first.gen
    assert [c for c, _ in search("kidney stage 4", 1)] == ["N18.4"], (
        "answered from the new generation at once"
    )
    assert dense.generation.gen == second.gen
