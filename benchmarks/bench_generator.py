"""Generator throughput: the vectorised day writer against a straightforward per-row generator.

Both write the same kind of file (contract header, ids from the same dims, unit prices, skewed
quantities, payment types and statuses) to local disk, in the same run, median over repeats. The
vectorised side also injects the default 2% faults and 3% status updates; the baseline does neither.
The baseline is a loop of random.choice / random.choices calls writing with csv.writer; it runs on
fewer rows (--baseline-rows) and is compared as rows per second. Dims are written once before
timing; only the daily transaction file is timed (`generate` reusing the dims: it reads them,
builds its tables and writes the day). Wall time is the figure; CPU time of the process is shown
beside it because the machine may be shared.

    .venv/bin/python benchmarks/bench_generator.py --rows 1000000 --baseline-rows 100000 --repeats 5
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from ecom_pipeline.contracts import PAYMENT_TYPES, TRANSACTION_COLUMNS
from ecom_pipeline.generator import GenerationRequest, LocalSink, generate
from ecom_pipeline.generator.dims import Catalog
from ecom_pipeline.generator.service import ensure_dims
from ecom_pipeline.generator.transactions import (
    PAYMENT_WEIGHTS,
    QUANTITY_WEIGHTS,
    STATUS_WEIGHTS,
    STATUSES,
    transaction_id,
)
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY, transaction_key

DAY = date(2023, 3, 15)


def naive_day(catalog: Catalog, rows: int, path: Path, seed: int) -> None:
    """The straightforward way: one random draw per field per row, csv.writer per row."""
    rnd = random.Random(seed)
    products = list(zip(catalog.product_ids, catalog.product_prices, strict=True))
    quantities = list(range(1, len(QUANTITY_WEIGHTS) + 1))
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TRANSACTION_COLUMNS)
        for seq in range(rows):
            product, price = rnd.choice(products)
            writer.writerow([
                transaction_id(DAY, seq, 7),
                rnd.choice(catalog.customer_ids),
                product,
                rnd.choices(quantities, weights=QUANTITY_WEIGHTS)[0],
                price,
                DAY.isoformat(),
                rnd.choices(PAYMENT_TYPES, weights=PAYMENT_WEIGHTS)[0],
                rnd.choices(STATUSES, weights=STATUS_WEIGHTS)[0],
            ])


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the day the generator writes")
    parser.add_argument("--baseline-rows", type=int, default=100_000, help="rows the per-row baseline writes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dir", default=None, help="where to write (default: the system temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-gen-", dir=args.dir) as tmp:
        root = Path(tmp)
        sink = LocalSink(root)
        # Dims once, untimed; the timed runs reuse them and rewrite the same day.
        ensure_dims(GenerationRequest(start=DAY, seed=args.seed), sink)
        requests = [GenerationRequest(start=DAY + timedelta(days=i), rows_per_day=args.rows, seed=args.seed)
                    for i in range(args.repeats)]
        catalog = Catalog.from_csv(sink.read_text(PRODUCTS_KEY), sink.read_text(CUSTOMERS_KEY))
        naive_path = root / "naive.csv"
        fast, naive = [], []
        # Interleaved, so both see the same machine load.
        for request in requests:  # a new day each repeat, as a daily run or a backfill writes it
            fast.append(timed(lambda: generate(request, sink)))  # noqa: B023 (called right here)
            naive.append(timed(lambda: naive_day(catalog, args.baseline_rows, naive_path, args.seed)))
        size = (root / transaction_key(DAY)).stat().st_size
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{'generator':<28}{'rows':>11}{'wall s':>9}{'rows/s (wall)':>15}{'cpu s':>8}{'rows/s (cpu)':>14}")
    rates = {}
    for name, rows, runs in (("vectorised (this package)", args.rows, fast),
                             ("per-row baseline", args.baseline_rows, naive)):
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        rates[name] = (rows / wall, rows / cpu)
        print(f"{name:<28}{rows:>11,}{wall:>9.3f}{rows / wall:>15,.0f}{cpu:>8.3f}{rows / cpu:>14,.0f}")
    (fw, fc), (nw, nc) = rates.values()
    print(f"ratio (wall): {fw / nw:.1f}x   ratio (cpu): {fc / nc:.1f}x   "
          f"median of {args.repeats} interleaved repeats; day file {size / 1e6:.1f} MB; "
          f"process peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
