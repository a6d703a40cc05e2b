"""Speed benchmarks of the foundation (issue 2): code book load, ingest from scratch and rerun, warm
`ask` latency and resident memory. Prints a table; `--json` writes bench/results/foundation.json.

    .venv/bin/python bench/run.py                 # all, in a fresh temporary CODEDESK_HOME
    .venv/bin/python bench/run.py --skip-ingest --home .codedesk   # reuse an existing index
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

QUESTIONS = [
    "type 2 diabetes with CKD stage 3b",
    "COPD with acute exacerbation",
    "E11.22",
    "is E11.2 billable?",
    "fracture of neck of right femur, initial encounter",
    "sepsis due to MRSA",
    "Hypertension, with, heart failure",
    "pressure ulcer of sacral region, stage 3",
    "acute on chronic diastolic heart failure",
    "T39.1X1",
    "major depressive disorder, recurrent, moderate",
    "Pneumonia, aspiration",
    "N18.1-N18.6",
    "laceration without foreign body of left hand, initial encounter",
    "iron deficiency anemia",
    "Diabetes, type 1, with, ketoacidosis, without coma",
    "obesity with BMI 42 in an adult",
    "atrial fibrillation, unspecified",
    "UTI",
    "benign essential hypertension",
]


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def codebook_load(tmp: Path) -> dict[str, float]:
    """Parse of the embedded FY2026 XML in a fresh process, then a load from the pickle cache."""

    def timed(cache: str) -> float:
        code = (
            "import time; from pathlib import Path; from codedesk.cms.codebook import CodeBook; "
            f"t = time.perf_counter(); CodeBook.load(cache_dir={cache}); print(time.perf_counter() - t)"
        )
        return float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )

    parse = timed("None")
    timed(f"Path({str(tmp)!r})")  # fills the cache
    return {
        "codebook_parse_s": round(parse, 2),
        "codebook_cached_s": round(timed(f"Path({str(tmp)!r})"), 2),
    }


def ask_latency(home: Path, cms: str | None, rounds: int) -> dict[str, float]:
    import psutil

    from codedesk.retrieval.service import build_answerer
    from codedesk.settings import Settings

    start = time.perf_counter()
    answerer = build_answerer(Settings(home=home, cms_data_dir=cms or None))
    startup = time.perf_counter() - start
    for q in QUESTIONS:  # warm-up
        answerer.answer(q)
    lat = []
    for _ in range(rounds):
        for q in QUESTIONS:
            t = time.perf_counter()
            answerer.answer(q)
            lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return {
        "startup_s": round(startup, 2),
        "ask_p50_ms": round(statistics.median(lat), 1),
        "ask_p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 1),
        "ask_max_ms": round(lat[-1], 1),
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20),
        "questions": len(lat),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--home", type=Path, help="CODEDESK_HOME to use (default: a fresh temporary folder)"
    )
    ap.add_argument(
        "--cms", default="", help="CODEDESK_CMS_DATA_DIR for ingest/ask (default: none)"
    )
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="codedesk-bench-"))
    env = {**os.environ, "CODEDESK_HOME": str(home), "CODEDESK_CMS_DATA_DIR": args.cms}
    out: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "cms_data_dir": args.cms or None,
    }
    out.update(codebook_load(Path(tempfile.mkdtemp(prefix="codedesk-cb-"))))
    if not args.skip_ingest:
        cli = [sys.executable, "-m", "codedesk", "ingest", "-q"]
        out["ingest_scratch_s"] = round(_run(cli, env), 1)
        out["ingest_rerun_s"] = round(_run(cli, env), 1)
    out.update(ask_latency(home, args.cms, args.rounds))
    width = max(len(k) for k in out)
    for k, v in out.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        dest = (
            ROOT / "bench" / "results" / ("foundation-cms.json" if args.cms else "foundation.json")
        )
        dest.parent.mkdir(exist_ok=True)
        dest.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
