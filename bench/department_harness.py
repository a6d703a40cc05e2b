"""The department benchmark's harness: the stack's processes, the PostgreSQL proxy, the fake Slack.

`Stack` starts `deploy/run-stack.sh up` on loopback ports (a Chroma server, ingest, `codedesk serve
--workers N`) with PostgreSQL reached through a `TcpProxy` this process can cut and the Slack Web
API faked by tests/fake_slack.py; it waits until every worker is ready, reads `/metrics` and the
query log, injects the faults (Chroma stopped, the database cut) and stops everything. The helpers
read what the stack reports: Prometheus text, histogram quantiles, the log queue, log rows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.fake_slack import FakeSlack, SlackSigner

REPO = Path(__file__).resolve().parents[1]


RUN_STACK = REPO / "deploy" / "run-stack.sh"
SECRET = "department-bench-secret"


def free_port() -> int:
    from tests.support import free_port as _free

    return _free()


def _http(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, str(err)


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text → {name: [(labels, value)]} (enough for our own /metrics)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out.setdefault(match.group(1), []).append((labels, float(match.group(3))))
    return out


# ------------------------------------------------------------------------------------------ the stack


class Stack:
    """`deploy/run-stack.sh up` on loopback ports with a fake Slack and PostgreSQL behind a TcpProxy.

    `pg_url` is the direct URL of a (throw-away) schema; the workers reach it through the proxy.
    `chroma_seed`: a Chroma directory copied in as the server's data (skips a long ingest; ingest
    then finds nothing changed). `cache_dir`: shared parse/model caches (symlinked as home/cache)."""

    def __init__(
        self,
        root: Path,
        *,
        pg_url: str,
        workers: int = 4,
        tabular_xml: Path | None = None,
        chroma_seed: Path | None = None,
        cache_dir: Path | None = None,
        answer_workers: int = 4,
        retry_delays: str = "1,2,4,8",
        rate_limit: int = 10,
        log_level: str = "INFO",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        from sqlalchemy.engine import make_url

        from tests.support import TcpProxy, with_port

        self.root = Path(root)
        self.home = self.root / "home"
        self.chroma_path = self.root / "chroma"
        self.home.mkdir(parents=True, exist_ok=True)
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            (self.home / "cache").symlink_to(Path(cache_dir).resolve(), target_is_directory=True)
        if chroma_seed is not None and Path(chroma_seed).is_dir():
            shutil.copytree(chroma_seed, self.chroma_path)
        self.workers = workers
        self.chroma_port, self.bot_port, self.proxy_port = free_port(), free_port(), free_port()
        self.pg_url = pg_url
        parsed = make_url(pg_url)
        self.proxy = TcpProxy(self.proxy_port, (parsed.host or "127.0.0.1", parsed.port or 5432))
        self.proxy.start()
        self.db_url = with_port(pg_url, self.proxy_port)
        self.fake = FakeSlack().start()
        self.log_path = self.root / "stack.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.env = dict(os.environ)
        for name in [k for k in self.env if k.startswith(("CODEDESK_", "SLACK_"))]:
            del self.env[name]  # only what this stack sets
        self.env.update(
            {
                "CODEDESK_HOME": str(self.home),
                "CHROMA_PATH": str(self.chroma_path),
                "CODEDESK_CHROMA_HOST": "127.0.0.1",
                "CODEDESK_CHROMA_PORT": str(self.chroma_port),
                "CODEDESK_DATABASE_URL": self.db_url,
                "CODEDESK_WORKERS": str(workers),
                "CODEDESK_PORT": str(self.bot_port),
                "CODEDESK_BIND": "127.0.0.1",
                "CODEDESK_SLACK_API_URL": self.fake.api_url,
                "SLACK_BOT_TOKEN": "xoxb-department",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_APP_TOKEN": "",
                "CODEDESK_ANSWER_WORKERS": str(answer_workers),
                "CODEDESK_INDEX_RETRY_DELAYS": retry_delays,
                "CODEDESK_RATE_LIMIT_PER_MINUTE": str(rate_limit),
                "CODEDESK_ALLOWED_CHANNELS": "",
                "CODEDESK_CMS_DATA_DIR": "",
                "CODEDESK_LOG_LEVEL": log_level,
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "ANONYMIZED_TELEMETRY": "False",
                "STACK_WAIT_S": "60",
                "PYTHONPATH": str(REPO),
            }
        )
        if tabular_xml is not None:
            self.env["CODEDESK_TABULAR_XML"] = str(tabular_xml)
        self.env.update(extra_env or {})
        self.signer = SlackSigner(SECRET, f"http://127.0.0.1:{self.bot_port}/slack/events")

    # --- lifecycle
    def up(self, timeout: float = 600.0) -> float:
        """Start `run-stack.sh up` and wait until every worker's answerer is ready; seconds taken."""
        started = time.monotonic()
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["bash", str(RUN_STACK), "up"],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return time.monotonic() - started

    def script(self, *args: str, timeout: float = 120.0) -> int:
        """Run one piece of run-stack.sh (chroma, ingest, stop) to completion."""
        with self.log_path.open("ab") as out:
            return subprocess.run(
                ["bash", str(RUN_STACK), *args],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            ).returncode

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.bot_port}{path}"

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, str]:
        return _http(self.url(path), timeout)

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        status, text = self.get("/metrics")
        return parse_metrics(text) if status == 200 else {}

    def ready_workers(self) -> set[str]:
        return {
            labels["pid"]
            for labels, value in self.metrics().get("codedesk_answerer_ready", [])
            if value == 1
        }

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"run-stack.sh exited with {self.proc.returncode}; see {self.log_path}\n"
                    + self.tail()
                )
            if len(self.ready_workers()) >= self.workers and self.get("/readyz")[0] == 200:
                return
            time.sleep(0.5)
        raise TimeoutError(
            f"the stack was not ready after {timeout:.0f}s; see {self.log_path}\n" + self.tail()
        )

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def down(self, timeout: float = 90.0) -> int | None:
        """SIGTERM to run-stack.sh: the workers finish their answers, then Chroma stops."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def close(self) -> None:
        try:
            self.down()
        finally:
            try:
                self.script("stop", timeout=60)
            except Exception:
                pass
            self.fake.stop()
            self.proxy.stop()
            if self._log is not None:
                self._log.close()

    # --- faults
    def chroma_pid(self) -> int | None:
        try:
            return int((self.home / "run" / "chroma.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_chroma(self) -> None:
        pid = self.chroma_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def start_chroma(self) -> None:
        if self.script("chroma", timeout=90) != 0:
            raise RuntimeError("run-stack.sh chroma failed:\n" + self.tail())

    def pg_down(self) -> None:
        self.proxy.stop()

    def pg_up(self) -> None:
        self.proxy.start()

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def answers_by_worker(self, since: int = 0) -> dict[str, int]:
        """`event=answered` log lines per worker pid, from byte `since` of the stack's log (the
        Prometheus counters are summed over the workers: the logs say which worker answered)."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        out: dict[str, int] = {}
        for line in text.splitlines():
            if " event=answered " in line and " pid=" in line:
                pid = line.split(" pid=", 1)[1].split(" ", 1)[0]
                out[pid] = out.get(pid, 0) + 1
        return out

    def log_rows(self, surface: str | None = "slack_channel") -> int:
        import sqlalchemy as sa

        engine = sa.create_engine(self.pg_url)
        try:
            with engine.connect() as conn:
                sql = "SELECT count(*) FROM query_log" + (" WHERE surface = :s" if surface else "")
                return int(conn.execute(sa.text(sql), {"s": surface}).scalar_one())
        finally:
            engine.dispose()

    def memory_mb(self) -> dict[str, Any]:
        """RSS of the supervisor (uvicorn's process manager), each worker and the Chroma server (MB)."""
        import psutil

        out: dict[str, Any] = {"workers": []}
        pids = {
            labels["pid"]
            for labels, _ in self.metrics().get("codedesk_worker_start_time_seconds", [])
        }
        for pid in pids:
            try:
                out["workers"].append(psutil.Process(int(pid)).memory_info().rss / 2**20)
            except psutil.Error:
                pass
        try:
            workers = [psutil.Process(int(p)) for p in pids]
            parent = workers[0].parent() if workers else None
            if parent is not None:
                out["supervisor"] = parent.memory_info().rss / 2**20
        except psutil.Error:
            pass
        chroma = self.chroma_pid()
        if chroma:
            try:
                out["chroma"] = psutil.Process(chroma).memory_info().rss / 2**20
            except psutil.Error:
                pass
        return out


def wait_log_rows(stack: Stack, expected: int, timeout: float = 120.0) -> tuple[int, float]:
    started = time.monotonic()
    rows = -1
    while time.monotonic() - started < timeout:
        try:
            rows = stack.log_rows()
        except Exception:
            rows = -1
        if rows >= expected:
            break
        time.sleep(0.5)
    return rows, time.monotonic() - started


def histogram_quantile(
    metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, q: float
) -> float:
    """Prometheus' histogram_quantile over the buckets of every worker (linear inside a bucket)."""
    totals: dict[float, float] = {}
    for labels, value in metrics.get(f"{name}_bucket", []):
        bound = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        totals[bound] = totals.get(bound, 0.0) + value
    bounds = sorted(totals)
    if not bounds or totals[bounds[-1]] == 0:
        return float("nan")
    rank = q * totals[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if totals[bound] >= rank:
            if bound == float("inf"):
                return lower
            inside = totals[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, totals[bound]
    return lower


def queue_pending(stack: Stack) -> float | None:
    values = stack.metrics().get("codedesk_log_queue_pending", [])
    return values[0][1] if values else None
