"""Department benchmark: a Chroma server, PostgreSQL and `codedesk serve --workers N`, under load and faults.

    .venv/bin/python bench/department_load.py                       # every scenario below (bounded)
    .venv/bin/python bench/department_load.py --scenario load       # 500 events, 50 at a time, 4 workers
    .venv/bin/python bench/department_load.py --scenario chroma-outage --events 200
    .venv/bin/python bench/department_load.py --scenario pg-outage --events 200
    .venv/bin/python bench/department_load.py --scenario index-size --index-from .codedesk/chroma

The stack is started with `deploy/run-stack.sh up` (the compose file's mirror): a Chroma server on a
loopback port (data: a copy of `--index-from`, or a fresh ingest), PostgreSQL (a throw-away schema
of the local server, reached through a TCP proxy this process can cut), ingest, and the bot workers
pointed at the fake Slack Web API of tests/fake_slack.py. Events are Slack-signed `app_mention`s, one
user each (the rate limit does not interfere), with real coding questions; with `--retries F` a
fraction F is re-sent as Slack retries (`X-Slack-Retry-Num: 1`), which must not be answered twice.

Scenarios (each prints a Markdown table for the README):
- load: every event answered exactly once, none lost, one log row each; ack and answer latency.
- chroma-outage: the Chroma server is stopped after a third of the events and started again
  `--outage` seconds later: users see "the code index is unavailable — retrying…", which is replaced
  by the answer once it is back; no worker dies; none lost.
- pg-outage: the proxy to PostgreSQL is cut after a third of the events and restored `--outage`
  seconds later: answers go on, log records queue in CODEDESK_HOME and are written once it is back.
- index-size: the vector collection duplicated with new ids to 1x, 5x and 10x the default corpus in a
  scratch Chroma dir, served by `chroma run`: query latency, answer latency, server memory.

Everything is bounded (timeouts on every wait) and stays on loopback.

This file is the command line and the report (Markdown tables); the parts live beside it:
bench/department_harness.py (the stack: processes, proxies, fake Slack), bench/department_traffic.py
(the events and their outcome) and bench/department_scenarios.py (the scenarios and index size).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.department_harness import (  # noqa: E402
    RUN_STACK,
    SECRET,
    Stack,
    free_port,
    histogram_quantile,
    parse_metrics,
    queue_pending,
    wait_log_rows,
)
from bench.department_scenarios import (  # noqa: E402
    index_size,
    scenario_chroma_outage,
    scenario_load,
    scenario_pg_outage,
)
from bench.department_traffic import (  # noqa: E402
    QUESTIONS,
    RETRYING_MARK,
    Outcome,
    Traffic,
    percentile,
)

__all__ = [
    "QUESTIONS",
    "REPO",
    "RETRYING_MARK",
    "RUN_STACK",
    "SECRET",
    "Outcome",
    "Stack",
    "Traffic",
    "free_port",
    "histogram_quantile",
    "index_size",
    "main",
    "parse_metrics",
    "percentile",
    "queue_pending",
    "scenario_chroma_outage",
    "scenario_load",
    "scenario_pg_outage",
    "wait_log_rows",
]


# ------------------------------------------------------------------------------------------ main


def _table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        default="all",
        help="all, or a comma-separated list of: load, chroma-outage, pg-outage, index-size",
    )
    parser.add_argument("--events", type=int, default=500, help="events of the load scenario")
    parser.add_argument(
        "--fault-events", type=int, default=150, help="events of each outage scenario"
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="send at most this many requests per second (default: as fast as the concurrency allows)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--answer-workers", type=int, default=4, help="answer threads per worker")
    parser.add_argument(
        "--retries",
        type=float,
        default=0.1,
        help="fraction of load events re-sent as Slack retries",
    )
    parser.add_argument("--outage", type=float, default=8.0, help="seconds each outage lasts")
    parser.add_argument(
        "--index-from",
        type=Path,
        default=None,
        help="a Chroma dir holding an ingested index (default: CODEDESK_HOME/chroma if built, "
        "else a cut-down Tabular List is ingested)",
    )
    parser.add_argument("--multiples", default="1,5,10")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "codedesk-bench-cache",
        help="parse and model caches shared by the bench runs (symlinked as the stack's home/cache)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    known = ["load", "chroma-outage", "pg-outage", "index-size"]
    chosen = set(known if args.scenario == "all" else args.scenario.split(","))
    if chosen - set(known):
        parser.error(f"unknown scenario(s): {', '.join(sorted(chosen - set(known)))}")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from tests.support import pg_reachable, temporary_pg_schema

    root = Path(tempfile.mkdtemp(prefix="codedesk-department-"))
    results: dict[str, Any] = {}
    source = args.index_from
    if source is None:
        default = Path(os.environ.get("CODEDESK_HOME", REPO / ".codedesk")) / "chroma"
        source = default if (default / "chroma.sqlite3").is_file() else None
    tabular = None
    if source is None:
        from tests.conftest import small_tabular

        tabular = small_tabular(root / "tabular-small.xml")
        print(
            "no ingested index found: ingesting a cut-down Tabular List (chapters 4 and 14)",
            flush=True,
        )
    cache = args.cache_dir
    ok = True
    try:
        if chosen & {"load", "chroma-outage", "pg-outage"}:
            if not pg_reachable():
                raise SystemExit("PostgreSQL is not reachable (CODEDESK_TEST_PG_URL)")
            with temporary_pg_schema(prefix="codedesk_bench") as pg_url:
                stack = Stack(
                    root / "stack",
                    pg_url=pg_url,
                    workers=args.workers,
                    tabular_xml=tabular,
                    chroma_seed=source,
                    cache_dir=cache,
                    answer_workers=args.answer_workers,
                    retry_delays="2,5,10",
                )
                try:
                    startup = stack.up()
                    print(
                        f"stack up in {startup:.1f}s: {args.workers} workers, port {stack.bot_port}",
                        flush=True,
                    )
                    results["startup_s"] = round(startup, 1)
                    results["readyz"] = json.loads(stack.get("/readyz")[1])
                    if "load" in chosen:
                        results["load"] = scenario_load(
                            stack,
                            events=args.events,
                            concurrency=args.concurrency,
                            retries=args.retries,
                            rate=args.rate,
                        )
                        print(json.dumps(results["load"]), flush=True)
                        load = results["load"]
                        ok &= (
                            load["answered_once"] == args.events
                            and load["lost"] == 0
                            and load["duplicates"] == 0
                            and load["log_rows"] == args.events
                        )
                    if "chroma-outage" in chosen:
                        results["chroma_outage"] = scenario_chroma_outage(
                            stack,
                            events=args.fault_events,
                            concurrency=args.concurrency,
                            outage_s=args.outage,
                        )
                        print(json.dumps(results["chroma_outage"]), flush=True)
                        co = results["chroma_outage"]
                        ok &= (
                            co["lost"] == 0
                            and co["duplicates"] == 0
                            and co["workers_alive"] == args.workers
                        )
                    if "pg-outage" in chosen:
                        results["pg_outage"] = scenario_pg_outage(
                            stack,
                            events=args.fault_events,
                            concurrency=args.concurrency,
                            outage_s=args.outage,
                        )
                        print(json.dumps(results["pg_outage"]), flush=True)
                        po = results["pg_outage"]
                        ok &= (
                            po["answered_once"] == args.fault_events
                            and po["log_rows"] == args.fault_events
                        )
                    results["exit_code"] = stack.down()
                finally:
                    stack.close()
        if "index-size" in chosen:
            if source is None:
                print(
                    "index-size needs an ingested default corpus: run `codedesk ingest` or pass --index-from",
                    file=sys.stderr,
                )
                ok = False
            else:
                multiples = tuple(int(m) for m in args.multiples.split(","))
                results["index_size"] = index_size(
                    source, root / "index-size", multiples=multiples, cache_dir=args.cache_dir
                )
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"scratch kept: {root}")

    print()
    if "load" in results:
        r = results["load"]
        print(
            f"Load: {r['events']} events ({r['retries_sent']} re-sent as Slack retries), {args.concurrency} at a "
            f"time, {args.workers} workers x {args.answer_workers} answer threads; stack up in {results['startup_s']}s"
        )
        print(
            _table(
                [r],
                [
                    "events",
                    "answered_once",
                    "lost",
                    "duplicates",
                    "non_200",
                    "log_rows",
                    "p50_ack_ms",
                    "p95_ack_ms",
                    "max_ack_ms",
                    "p50_answer_s",
                    "p95_answer_s",
                    "max_answer_s",
                    "compute_p50_s",
                    "compute_p95_s",
                    "throughput_per_s",
                ],
            )
        )
        print(
            f"answers per worker: {r['answers_per_worker']}; memory MB: {json.dumps(r['memory_mb'])}"
        )
    for key, title in (
        ("chroma_outage", "Chroma server stopped mid-run"),
        ("pg_outage", "PostgreSQL cut mid-run"),
    ):
        if key in results:
            r = results[key]
            print(f"\n{title}:")
            print(_table([r], [k for k in r if k not in ("per_event",)]))
    if "index_size" in results:
        print("\nIndex size:")
        print(_table(results["index_size"], list(results["index_size"][0].keys())))
    print("\nOK" if ok else "\nFAILED: see the tables")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
