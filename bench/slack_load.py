"""Load benchmark of the Slack bot: N Slack-signed events, C at a time, against one `codedesk serve`.

    .venv/bin/python bench/slack_load.py                      # 200 events, 20 at a time
    .venv/bin/python bench/slack_load.py --events 40 --concurrency 10 --retries 0.1

It starts the fake Slack Web API (tests/fake_slack.py) in this process and `codedesk serve`
(`python -m codedesk serve`, HTTP mode) as a separate process pointed at it, with its own
SQLite query log in a temporary folder. Each event is an `app_mention` from a different user (so the
per-user rate limit does not interfere) with one of a set of real coding questions. With
`--retries F`, a fraction F of the events is sent a second time with `X-Slack-Retry-Num: 1`, as
Slack does after a timeout: those must not be answered twice.

It checks that every event is answered exactly once (one chat.postMessage in its thread), none
lost, and that the log holds one row per event; and reports p50/p95/max time to ack (HTTP response)
and time to answer (event sent → answer posted).

The server uses your CODEDESK_HOME (default .codedesk): with an ingested index the dense search
runs too; without one, answers come from the code book alone (the answer carries a warning).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fake_slack import BOT_USER_ID, FakeSlack, SlackSigner  # noqa: E402

SECRET = "bench-signing-secret"
CHANNEL = "C0LOAD"
QUESTIONS = [
    "code for type 2 diabetes with CKD stage 3?",
    "accidental poisoning by penicillin, initial encounter",
    "what is the code for essential hypertension",
    "closed fracture of the right distal radius, initial encounter",
    "can I code a symptom together with a confirmed diagnosis?",
    "what does Excludes1 mean for E11.22?",
    "COPD with acute exacerbation",
    "major depressive disorder, single episode, moderate",
    "what is S52.501?",
    "pressure ulcer of sacral region stage 3",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def start_server(fake: FakeSlack, port: int, state: Path, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_APP_TOKEN": "",
            "CODEDESK_SLACK_API_URL": fake.api_url,
            "CODEDESK_PORT": str(port),
            "CODEDESK_DATABASE_URL": f"sqlite:///{state / 'bench-log.db'}",
            "CODEDESK_RATE_LIMIT_PER_MINUTE": "10",
            "CODEDESK_ANSWER_WORKERS": str(workers),
            "CODEDESK_ALLOWED_CHANNELS": "",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
        }
    )
    log = (state / "server.log").open("w")
    command = [
        sys.executable,
        "-m",
        "codedesk",
        "serve",
        "--host",
        "127.0.0.1",
        "--log-level",
        "WARNING",
    ]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(port: int, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until the server's answerer is built (/metrics: `codedesk_answerer_ready` 1): the
    HTTP server is up at once, and questions sent before then wait in the retry loop."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
                ready = [
                    line
                    for line in resp.read().decode().splitlines()
                    if line.startswith("codedesk_answerer_ready")
                ]
                if ready and all(float(line.rsplit(" ", 1)[1]) == 1 for line in ready):
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server was not ready after {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--retries", type=float, default=0.1, help="fraction of events re-sent as Slack retries"
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="CODEDESK_ANSWER_WORKERS of the server"
    )
    parser.add_argument(
        "--answer-timeout", type=float, default=300.0, help="seconds to wait for all answers"
    )
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (server log, log DB)"
    )
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="codedesk-slack-load-"))
    port = free_port()
    rng = random.Random(4)
    with FakeSlack() as fake:
        proc = start_server(fake, port, state, args.workers)
        try:
            startup = wait_ready(port, proc, args.start_timeout)
            signer = SlackSigner(SECRET, f"http://127.0.0.1:{port}/slack/events")
            events = []
            for i in range(args.events):
                user = f"U0LOAD{i:04d}"
                text = f"<@{BOT_USER_ID}> {QUESTIONS[i % len(QUESTIONS)]}"
                message = fake.add_message(CHANNEL, text=text, user=user)
                events.append(
                    (
                        f"Ev0LOAD{i:05d}",
                        {
                            "type": "app_mention",
                            "channel": CHANNEL,
                            "user": user,
                            "text": text,
                            "ts": message["ts"],
                            "event_ts": message["ts"],
                        },
                    )
                )
            retried = set(rng.sample(range(args.events), int(args.events * args.retries)))
            sends: list[tuple[int, dict | None]] = [(i, None) for i in range(args.events)]
            sends += [
                (i, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
                for i in retried
            ]
            sent_at: dict[int, float] = {}
            acks: list[float] = []
            statuses: list[int] = []
            lock = threading.Lock()

            def send(item: tuple[int, dict | None]) -> None:
                i, headers = item
                event_id, event = events[i]
                if headers is None:
                    with lock:
                        sent_at[i] = time.monotonic()
                try:
                    status, _, elapsed = signer.event(
                        event, event_id=event_id, extra_headers=headers, timeout=30
                    )
                except OSError:
                    status, elapsed = 0, 30.0
                with lock:
                    acks.append(elapsed)
                    statuses.append(status)

            # originals first, each retry shortly after its original (as Slack would), all C at a time
            order = sorted(sends, key=lambda s: (s[0] + (3 if s[1] else 0), s[1] is not None))
            wall = time.monotonic()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(send, order))
            sent_wall = time.monotonic() - wall

            deadline = time.monotonic() + args.answer_timeout
            thread_of = {event["ts"]: i for i, (_, event) in enumerate(events)}
            while time.monotonic() < deadline:
                answered = {
                    c.params.get("thread_ts")
                    for c in fake.calls_to("chat.postMessage", channel=CHANNEL)
                }
                if len(answered & set(thread_of)) >= args.events:
                    break
                time.sleep(0.2)
            time.sleep(2.0)  # let any duplicate answer arrive before counting

            posts = fake.calls_to("chat.postMessage", channel=CHANNEL)
            per_thread: dict[int, list[float]] = {}
            for call in posts:
                i = thread_of.get(call.params.get("thread_ts"))
                if i is not None:
                    per_thread.setdefault(i, []).append(call.at)
            once = sum(1 for i in range(args.events) if len(per_thread.get(i, [])) == 1)
            lost = sum(1 for i in range(args.events) if not per_thread.get(i))
            dupes = sum(1 for i in range(args.events) if len(per_thread.get(i, [])) > 1)
            answer_times = [min(per_thread[i]) - sent_at[i] for i in per_thread if i in sent_at]
            last_answer = max((min(times) for times in per_thread.values()), default=wall) - wall
            with sqlite3.connect(state / "bench-log.db") as db:
                rows = db.execute(
                    "select count(*) from query_log where surface = 'slack_channel'"
                ).fetchone()[0]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    non_200 = sum(1 for s in statuses if s != 200)
    print()
    print(
        f"Slack load: {args.events} events ({len(retried)} re-sent as retries), {args.concurrency} at a time, "
        f"1 server process, {args.workers} answer workers; startup {startup:.1f}s"
    )
    print()
    print(
        "| events | concurrency | answered once | lost | duplicates | non-200 acks | log rows "
        "| p50 / p95 / max ack | p50 / p95 / max answer | answers/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.events} | {args.concurrency} | {once} | {lost} | {dupes} | {non_200} | {rows} "
        f"| {percentile(acks, 50) * 1000:.0f} / {percentile(acks, 95) * 1000:.0f} / {max(acks) * 1000:.0f} ms "
        f"| {percentile(answer_times, 50):.2f} / {percentile(answer_times, 95):.2f} / "
        f"{max(answer_times or [float('nan')]):.2f} s | {len(answer_times) / max(last_answer, 1e-9):.1f} |"
    )
    print()
    print(
        f"all sent in {sent_wall:.2f}s; last answer after {last_answer:.2f}s; state: {state}"
        + ("" if args.keep else " (removed)")
    )
    ok = once == args.events and lost == 0 and dupes == 0 and non_200 == 0 and rows == args.events
    if not args.keep:
        import shutil

        shutil.rmtree(state, ignore_errors=True)
    print("OK" if ok else "FAILED: see the table")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
