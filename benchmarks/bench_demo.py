"""Benchmark: `ecom-pipeline demo` (the whole event-driven flow on emulated AWS) against the same work
done directly with the CLI (generate -> setup -> process), to show what the emulation costs.

    .venv/bin/python benchmarks/bench_demo.py                       # 3 days x 20,000 rows, 3 repeats
    .venv/bin/python benchmarks/bench_demo.py --days 3 --rows 20000 --repeats 5

What is timed (wall clock, each a fresh process from the installed environment, JVM start included):
- demo: `ecom-pipeline demo --state-dir <fresh dir>`: moto server, provisioning from template.yaml,
  generator Lambda, warehouse setup, S3 -> SQS -> glue_trigger -> local Glue run -> EventBridge -> SNS
  -> archiver + outbox, state saved, HTML report.
- direct (baseline): `ecom-pipeline generate` to a folder, `ecom-pipeline setup`, `ecom-pipeline
  process` over the same days: the same generator, warehouse and job, no events.
Both run alternately in each repeat, so they see the same machine load. Reported: the median of each,
the ratio demo / direct, and whether the demo's median stays within the 90 s budget.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

BIN = Path(sys.executable).parent / "ecom-pipeline"
START = date(2024, 3, 1)
BUDGET_S = 90.0


def _run(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-2000:]}")
    return elapsed


def demo_once(work: Path, days: int, rows: int) -> float:
    state = work / "demo"
    return _run(["demo", "--days", str(days), "--rows-per-day", str(rows), "--start", START.isoformat(),
                 "--state-dir", str(state)], work)


def direct_once(work: Path, days: int, rows: int) -> float:
    from ecom_pipeline.keys import transaction_key

    data, rejects = work / "data", work / "rejects"
    url = f"duckdb://{work / 'direct.duckdb'}"
    files = [str(data / transaction_key(START + timedelta(days=i))) for i in range(days)]
    return (_run(["generate", "--out", str(data), "--start", START.isoformat(), "--days", str(days),
                  "--rows-per-day", str(rows)], work)
            + _run(["setup", "--dims", str(data / "dims"), "--warehouse", url], work)
            + _run(["process", *files, "--dims", str(data / "dims"), "--rejects", str(rejects),
                    "--warehouse", url], work))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    demo_times: list[float] = []
    direct_times: list[float] = []
    for i in range(args.repeats):
        for name, fn, sink in (("demo", demo_once, demo_times), ("direct", direct_once, direct_times)):
            work = Path(tempfile.mkdtemp(prefix=f"bench-demo-{name}-"))
            try:
                sink.append(fn(work, args.days, args.rows))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            load = os.getloadavg()[0]
            print(f"repeat {i + 1}/{args.repeats}: {name} {sink[-1]:.1f}s (load {load:.1f})", flush=True)

    demo, direct = statistics.median(demo_times), statistics.median(direct_times)
    result = {
        "days": args.days, "rows_per_day": args.rows, "repeats": args.repeats, "cpus": os.cpu_count(),
        "demo_s": [round(t, 1) for t in demo_times], "direct_s": [round(t, 1) for t in direct_times],
        "demo_median_s": round(demo, 1), "direct_median_s": round(direct, 1),
        "ratio_demo_over_direct": round(demo / direct, 2), "within_budget_90s": demo <= BUDGET_S,
        "load_average_1_5_15_at_end": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
