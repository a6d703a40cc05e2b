"""Startup benchmark (issue 13 item 7): how long one `codedesk ask` takes in a fresh process, how long the
first start after an ingest takes, and how much memory a warm process holds.

    .venv/bin/python bench/startup.py --home /path/to/home                 # the embedded default sources
    .venv/bin/python bench/startup.py --home /path/to/home --cms /path/to/cms-data --json

The home must hold a built index (`codedesk ingest`). It is not changed: the runs use a temporary home
whose `chroma` links to it and whose `cache` is a copy. Measured, each in its own process:

- `ask_s`: `codedesk ask QUESTION` end to end with every cache entry in place (median of `--rounds`),
  with its CPU time and peak RSS;
- `first_ask_cold_s`: the same with only what `codedesk ingest` itself writes (the code books and the
  embedding model), as the first start after an ingest was before ingest built the answer caches;
- `warm_caches_s`: building those entries (`codedesk.retrieval.service.warm_caches`, the last step of
  `codedesk ingest`), then `first_ask_after_ingest_s`: the first `ask` after it;
- `warm_rss_mb`: RSS of one process that has answered the probe questions (every code system and year
  they reach), and its median latency per question.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "type 2 diabetes with CKD stage 3a"
# Probes for the warm process: diagnoses, a code lookup, a rule, tables, procedures, HCPCS, another year.
PROBES = [
    "type 2 diabetes with CKD stage 3a",
    "E11.22",
    "COPD with acute exacerbation",
    "can I code a symptom with a confirmed diagnosis?",
    "accidental overdose of acetaminophen",
    "adenocarcinoma of the upper lobe of the right lung",
    "laparoscopic appendectomy",
    "HCPCS code for a standard wheelchair",
    "is E11.A valid for a date of service of 2024-06-01?",
    "what changed in N18 in FY2027?",
    "sepsis due to MRSA in FY2025",
]
ANSWER_CACHES = ("searcher-", "tables-", "alpha-index-", "guidelines-", "procedures-")


def _env(home: Path, cms: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "CODEDESK_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CODEDESK_CMS_DATA_DIR", None)
    if cms:
        env["CODEDESK_CMS_DATA_DIR"] = cms
    return env


def _timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall time, CPU time and peak RSS of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "rss_mb": round(usage.ru_maxrss / 1024),
    }


def _ask(env: dict[str, str]) -> dict[str, float]:
    return _timed([sys.executable, "-m", "codedesk", "ask", QUESTION], env)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}


def _scratch_home(home: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="codedesk-startup-"))
    (tmp / "chroma").symlink_to((home / "chroma").resolve(), target_is_directory=True)
    shutil.copytree(home / "cache", tmp / "cache", symlinks=True)
    return tmp


def _drop_answer_caches(home: Path) -> None:
    for p in (home / "cache").iterdir():
        if p.name.startswith(ANSWER_CACHES):
            p.unlink()


# What `codedesk ingest` ends with; before it did, building the answer service filled every cache.
WARM_CACHES = """
from codedesk.settings import Settings
try:
    from codedesk.retrieval.service import warm_caches
except ImportError:
    from codedesk.retrieval.service import build_answerer as warm_caches
warm_caches(Settings())
"""
WARM_PROCESS = """
import json, statistics, sys, time, psutil
from codedesk.settings import Settings
from codedesk.retrieval.service import build_answerer
start = time.perf_counter()
a = build_answerer(Settings())
init = time.perf_counter() - start
lat = []
for q in json.loads(sys.argv[1]):
    t = time.perf_counter()
    a.answer(q)
    lat.append(time.perf_counter() - t)
again = []
for q in json.loads(sys.argv[1]):
    t = time.perf_counter()
    a.answer(q)
    again.append(time.perf_counter() - t)
print(json.dumps({"answerer_init_s": round(init, 2), "first_answers_s": round(sum(lat), 2),
                  "warm_ask_p50_ms": round(statistics.median(again) * 1000, 1),
                  "warm_rss_mb": round(psutil.Process().memory_info().rss / 2**20),
                  "loaded_years": a.books.loaded() if hasattr(a.books, "loaded") else list(a.books)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--home",
        type=Path,
        required=True,
        help="a CODEDESK_HOME with a built index (left unchanged)",
    )
    ap.add_argument(
        "--cms", default="", help="CODEDESK_CMS_DATA_DIR (default: none, the embedded sources)"
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--json", action="store_true", help="also write bench/results/startup[-cms].json"
    )
    args = ap.parse_args()
    home = _scratch_home(args.home)
    env = _env(home, args.cms or None)
    out: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}",
        "cms_data_dir": args.cms or None,
        "question": QUESTION,
        "load_avg_start": round(os.getloadavg()[0], 2),
    }
    try:
        _drop_answer_caches(home)
        cold = _ask(env)
        out["first_ask_cold_s"], out["first_ask_cold_cpu_s"] = cold["wall_s"], cold["cpu_s"]
        _drop_answer_caches(home)
        warm = _timed([sys.executable, "-c", WARM_CACHES], env)
        out["warm_caches_s"] = warm["wall_s"]
        first = _ask(env)
        out["first_ask_after_ingest_s"] = first["wall_s"]
        runs = [_ask(env) for _ in range(args.rounds)]
        m = _median(runs)
        out.update({"ask_s": m["wall_s"], "ask_cpu_s": m["cpu_s"], "ask_rss_mb": m["rss_mb"]})
        got = subprocess.run(
            [sys.executable, "-c", WARM_PROCESS, json.dumps(PROBES)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        out.update(json.loads(got.stdout.strip().splitlines()[-1]))
        out["load_avg_end"] = round(os.getloadavg()[0], 2)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    width = max(len(k) for k in out)
    for k, v in out.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        dest = ROOT / "bench" / "results" / ("startup-cms.json" if args.cms else "startup.json")
        dest.parent.mkdir(exist_ok=True)
        dest.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
