"""The department benchmark's scenarios: load, a Chroma outage, a PostgreSQL outage, index size.

Each scenario drives a running `Stack` with `Traffic` and returns one row of numbers for the
report: events answered once, lost or duplicated, latencies, log rows, what /readyz said during
an outage. `index_size` grows a copy of the vector collection to 1x, 5x, 10x and measures it
served by `chroma run`: query and answer latency, server memory, disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.department_harness import (
    REPO,
    Stack,
    _http,
    free_port,
    histogram_quantile,
    queue_pending,
    wait_log_rows,
)
from bench.department_traffic import QUESTIONS, Traffic, percentile

# ------------------------------------------------------------------------------------------ scenarios


def scenario_load(
    stack: Stack, *, events: int, concurrency: int, retries: float, rate: float | None = None
) -> dict[str, Any]:
    traffic = Traffic(stack, channel="C0LOAD")
    evs = traffic.new_events(events, "LOAD")
    log_from = stack.log_size()
    wall = time.monotonic()
    traffic.send(evs, concurrency=concurrency, retry_fraction=retries, rate=rate)
    out = traffic.outcome(evs, timeout=max(300.0, events * 1.5))
    elapsed = time.monotonic() - wall
    rows, _ = wait_log_rows(stack, events, timeout=60)
    metrics = stack.metrics()
    per_worker = stack.answers_by_worker(since=log_from)
    compute = {
        "compute_p50_s": round(histogram_quantile(metrics, "codedesk_answer_seconds", 0.5), 3),
        "compute_p95_s": round(histogram_quantile(metrics, "codedesk_answer_seconds", 0.95), 3),
    }
    return {
        **out.row(),
        **traffic.ack_row(),
        **compute,
        "retries_sent": int(events * retries),
        "log_rows": rows,
        "answers_per_worker": sorted(int(v) for v in per_worker.values()),
        "throughput_per_s": round(len(out.answer_s) / max(elapsed, 1e-9), 1),
        "memory_mb": stack.memory_mb(),
    }


def scenario_chroma_outage(
    stack: Stack, *, events: int, concurrency: int, outage_s: float
) -> dict[str, Any]:
    traffic = Traffic(stack, channel="C0CHROMA")
    evs = traffic.new_events(events, "CHR")
    third = max(1, events // 3)
    traffic.send(evs[:third], concurrency=concurrency)
    stack.stop_chroma()
    down_at = time.monotonic()
    ready_during = stack.get("/readyz")
    traffic.send(evs[third : 2 * third], concurrency=concurrency)
    time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
    stack.start_chroma()
    back_after = time.monotonic() - down_at
    traffic.send(evs[2 * third :], concurrency=concurrency)
    out = traffic.outcome(evs, timeout=max(240.0, events * 1.5))
    rows, _ = wait_log_rows(stack, events - out.gave_up, timeout=60)
    status_after = stack.get("/readyz")[0]
    workers = len(stack.ready_workers())
    return {
        **out.row(),
        **traffic.ack_row(),
        "outage_s": round(back_after, 1),
        "readyz_during": ready_during[0],
        "index_down_reported": '"index"' in ready_during[1],
        "readyz_after": status_after,
        "workers_alive": workers,
        "log_rows": rows,
    }


def scenario_pg_outage(
    stack: Stack, *, events: int, concurrency: int, outage_s: float
) -> dict[str, Any]:
    traffic = Traffic(stack, channel="C0PG")
    evs = traffic.new_events(events, "PG")
    before = stack.log_rows()
    third = max(1, events // 3)
    traffic.send(evs[:third], concurrency=concurrency)
    stack.pg_down()
    down_at = time.monotonic()
    traffic.send(evs[third:], concurrency=concurrency)
    out = traffic.outcome(evs, timeout=max(240.0, events * 1.5), settle=0.5)
    ready_during = stack.get("/readyz")
    queued = queue_pending(stack)
    time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
    stack.pg_up()
    back_at = time.monotonic()
    rows, flush_s = wait_log_rows(stack, before + events, timeout=120)
    return {
        **out.row(),
        **traffic.ack_row(),
        "outage_s": round(back_at - down_at, 1),
        "readyz_during": ready_during[0],
        "database_down_reported": '"database"' in ready_during[1],
        "queued_during": queued,
        "log_rows": rows - before,
        "flushed_within_s": round(flush_s, 1),
        "queue_after": queue_pending(stack),
    }


# ------------------------------------------------------------------------------------------ index size


def _rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def index_size(
    source: Path,
    root: Path,
    *,
    multiples: tuple[int, ...] = (1, 5, 10),
    queries: int = 120,
    noise: float = 0.01,
    answer_queries: int = 36,
    cache_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Copy the Chroma dir `source` (a `codedesk ingest` of the default corpus) to `root`, then grow the
    serving generation's FY vector collection to each multiple by adding copies with new ids (and a
    little noise, so they are distinct points as new documents would be), and measure each size
    through `chroma run`: dense query latency, full answer latency, server memory, disk."""
    import chromadb
    import numpy as np

    from codedesk.embeddings import get_embedder
    from codedesk.ingest.store import IndexStore, iter_all
    from codedesk.settings import Settings

    scratch = Path(root) / "chroma"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(source, scratch)
    settings = Settings(
        _env_file=None, home=Path(root) / "home", cms_data_dir=None, chroma_host=None
    )
    if cache_dir is not None:  # the code books and the model from the shared bench cache
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        settings.home.mkdir(parents=True, exist_ok=True)
        (settings.home / "cache").symlink_to(Path(cache_dir).resolve(), target_is_directory=True)
    embedder = get_embedder(settings.cache_dir, settings.embedding_backend)
    client = chromadb.PersistentClient(
        path=str(scratch), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    store = IndexStore(settings, client=client)
    gen = store.active()
    if gen is None:
        raise SystemExit(f"no active index generation in {source}: run `codedesk ingest` first")
    name = gen.vec_name(f"icd10cm-{settings.fiscal_year}")
    col = client.get_collection(name, embedding_function=None)
    base: list[dict[str, Any]] = list(iter_all(col, ["embeddings", "metadatas", "documents"]))
    base_count = sum(len(p["ids"]) for p in base)
    rng = np.random.default_rng(11)
    question_vecs = embedder.encode([q for q in QUESTIONS] * max(1, queries // len(QUESTIONS)))
    results = []
    have = 1
    for multiple in multiples:
        build_started = time.monotonic()
        while have < multiple:
            for page in base:
                embs = np.asarray(page["embeddings"], np.float32)
                embs = embs + rng.normal(0, noise, embs.shape).astype(np.float32)
                embs /= np.linalg.norm(embs, axis=1, keepdims=True)
                for i in range(0, len(page["ids"]), 5000):
                    col.add(
                        ids=[f"dup{have}:{x}" for x in page["ids"][i : i + 5000]],
                        embeddings=embs[i : i + 5000],
                        metadatas=page["metadatas"][i : i + 5000],
                        documents=page["documents"][i : i + 5000],
                    )
            have += 1
        build_s = time.monotonic() - build_started
        count = col.count()
        # serve the scratch dir as deployed: a Chroma server, queried over HTTP
        del col, store, client
        chromadb.api.client.SharedSystemClient.clear_system_cache()
        port = free_port()
        chroma_bin = Path(sys.executable).parent / "chroma"
        log = (Path(root) / f"chroma-{multiple}x.log").open("w")
        server = subprocess.Popen(
            [
                str(chroma_bin),
                "run",
                "--path",
                str(scratch),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while _http(f"http://127.0.0.1:{port}/api/v2/heartbeat", 2)[0] != 200:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"chroma run did not start for {multiple}x")
                time.sleep(0.2)
            idle_mb = _rss_mb(server.pid)
            http = chromadb.HttpClient(
                host="127.0.0.1", port=port, settings=chromadb.Settings(anonymized_telemetry=False)
            )
            hcol = http.get_collection(name, embedding_function=None)
            first = time.monotonic()
            hcol.query(
                query_embeddings=[question_vecs[0]],
                n_results=13,
                include=["metadatas", "documents", "distances"],
            )
            first_s = time.monotonic() - first
            lat = []
            for vec in question_vecs[:queries]:
                t = time.perf_counter()
                hcol.query(
                    query_embeddings=[vec],
                    n_results=13,
                    include=["metadatas", "documents", "distances"],
                )
                lat.append(time.perf_counter() - t)
            served_mb = _rss_mb(server.pid)
            answer_lat = _answer_latency(settings, port, answer_queries)
            results.append(
                {
                    "multiple": f"{multiple}x",
                    "vectors": count,
                    "base_vectors": base_count,
                    "add_s": round(build_s, 1),
                    "first_query_s": round(first_s, 2),
                    "p50_query_ms": round(percentile(lat, 50) * 1000, 1),
                    "p95_query_ms": round(percentile(lat, 95) * 1000, 1),
                    "p50_answer_ms": round(percentile(answer_lat, 50) * 1000),
                    "p95_answer_ms": round(percentile(answer_lat, 95) * 1000),
                    "chroma_rss_idle_mb": round(idle_mb),
                    "chroma_rss_mb": round(served_mb),
                    "disk_mb": round(_dir_mb(scratch)),
                }
            )
            print(json.dumps(results[-1]), flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        if multiple != multiples[-1]:
            client = chromadb.PersistentClient(
                path=str(scratch), settings=chromadb.Settings(anonymized_telemetry=False)
            )
            IndexStore(settings, client=client)  # opens the copied generation, as a worker would
            client.get_collection(name, embedding_function=None)
    return results


def _answer_latency(settings: Any, port: int, n: int) -> list[float]:
    """The full answer (retrieval over the code book and the Chroma server, composition), in a
    subprocess so each size starts with a fresh client."""
    code = (
        "import json,sys,time; from codedesk.settings import Settings;"
        " from codedesk.retrieval.service import build_answerer\n"
        f"s=Settings(_env_file=None, home={str(settings.home)!r}, cms_data_dir=None, "
        f"chroma_host='127.0.0.1', chroma_port={port})\n"
        "a=build_answerer(s, require_index=True); qs=json.loads(sys.argv[1]); out=[]\n"
        "a.answer(qs[0])\n"
        "for q in qs:\n t=time.perf_counter(); a.answer(q); out.append(time.perf_counter()-t)\n"
        "print(json.dumps(out))\n"
    )
    qs = (QUESTIONS * (n // len(QUESTIONS) + 1))[:n]
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(qs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return []
    return json.loads(proc.stdout.strip().splitlines()[-1])
