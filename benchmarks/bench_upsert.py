"""Fact upsert speed: 1,000,000 staged rows into a 5,000,000-row fact_transactions.

Measured in one run, medians over repeats:
  * the staged upsert (`Warehouse.upsert_facts`) on DuckDB, and on PostgreSQL unless --no-postgres;
  * a row-by-row upsert on DuckDB (per row: SELECT the stored key, then UPDATE or INSERT, all in one
    transaction so it is not handicapped by commits), run on a sample of the same batch and normalised
    to rows/s: once on the product's table, once with a unique key index added (its best case).
Reported: rows/s of each and the ratios staged / row-by-row (target: >= 400,000 rows/s and >= 100x).

The batch is 40% new keys, 30% keys stored with a smaller (date, rank) (updated) and 30% keys stored
with an equal one (kept_stored). Every repeat starts from an identical copy of the 5M-row table.

    .venv/bin/python benchmarks/bench_upsert.py            # full size, DuckDB and PostgreSQL
    .venv/bin/python benchmarks/bench_upsert.py --stored 500000 --staged 100000 --repeats 2   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for the throwaway PostgreSQL server of the test fixtures

from ecom_pipeline.contracts import FACT_COLUMNS  # noqa: E402
from ecom_pipeline.warehouse import UpsertResult, open_warehouse  # noqa: E402
from ecom_pipeline.warehouse.duck import DuckDBWarehouse  # noqa: E402
from ecom_pipeline.warehouse.schema import FACT_TRANSACTIONS  # noqa: E402
from ecom_pipeline.warehouse.staged import cast_select  # noqa: E402

ROWS_PER_DAY = 20_000  # the generator's default: ids and dates look like a run of daily files
_STATUS = "['Pending', 'Completed', 'Failed', 'Cancelled', 'Refunded'][1 + (i % 5)]"
_RANK = "[1, 2, 2, 2, 3][1 + (i % 5)]"


def _rows_sql(first: int, count: int, day_shift: str) -> str:
    """Fact rows number first..first+count-1 (ids in the generator's `TXN<yyyymmdd><seq>` form), typed as
    the job stages them; `day_shift` moves the date."""
    return f"""
        SELECT 'TXN' || strftime(DATE '2023-01-01' + (i // {ROWS_PER_DAY})::INTEGER, '%Y%m%d')
                   || lpad((i % {ROWS_PER_DAY})::VARCHAR, 7, '0') AS transaction_id,
               'C' || (i % 50000)::VARCHAR AS customer_id,
               'c' || (i % 50000)::VARCHAR || '@example.com' AS customer_email,
               'P' || (i % 2000)::VARCHAR AS product_id,
               'Product ' || (i % 2000)::VARCHAR AS product_name,
               ['Books', 'Toys', 'Tools', 'Garden'][1 + (i % 4)] AS category,
               (1 + i % 5)::INTEGER AS quantity,
               (1 + (i % 9000) / 100)::DECIMAL(12,2) AS price,
               ((1 + i % 5) * (1 + (i % 9000) / 100))::DECIMAL(14,2) AS total_amount,
               CASE WHEN (1 + i % 5) * (1 + (i % 9000) / 100) < 100 THEN 'Small'
                    WHEN (1 + i % 5) * (1 + (i % 9000) / 100) < 500 THEN 'Medium' ELSE 'Large' END
                   AS transaction_class,
               (DATE '2023-01-01' + (i // {ROWS_PER_DAY})::INTEGER + ({day_shift}))::DATE AS transaction_date,
               'PayPal' AS payment_type,
               {_STATUS} AS status,
               {_RANK}::INTEGER AS status_rank,
               'transactions/x.csv' AS source_file,
               'jr_bench' AS job_run_id,
               TIMESTAMP '2024-01-01 00:00:00' AS updated_at
        FROM range({first}, {first + count}) t(i)"""


def write_batches(root: Path, stored: int, staged: int) -> tuple[Path, Path]:
    """The stored table's rows and the staged batch, as Parquet in the staged layout."""
    base, batch = root / "base", root / "batch"
    base.mkdir()
    batch.mkdir()
    existing = int(staged * 0.6)
    first = stored - existing  # the batch's first 60% hit stored keys, the rest are new
    with duckdb.connect() as conn:
        conn.execute(f"COPY ({_rows_sql(0, stored, '0')}) TO '{base / 'part-0.parquet'}' (FORMAT parquet)")
        # Stored keys: every other one moves a day later (updated), the others are identical (kept_stored).
        shift = f"CASE WHEN i < {stored} AND i % 2 = 0 THEN 1 ELSE 0 END"
        conn.execute(f"COPY ({_rows_sql(first, staged, shift)}) TO '{batch / 'part-0.parquet'}' "
                     "(FORMAT parquet)")
    return base, batch


def expected_counts(stored: int, staged: int) -> UpsertResult:
    """What the batch from write_batches must do to the stored table (checked on every repeat)."""
    existing = int(staged * 0.6)
    updated = len(range(stored - existing + (stored - existing) % 2, stored, 2))  # the even stored ids
    return UpsertResult(inserted=staged - existing, updated=updated, kept_stored=existing - updated)


def timed_upsert(url: str, batch: Path, rows: int) -> tuple[float, float, UpsertResult]:
    """(wall seconds, this process's CPU seconds, result) of one upsert_facts call, as the job makes it
    (with the row count it wrote)."""
    wh = open_warehouse(url)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        result = wh.upsert_facts(str(batch), expected_rows=rows)
        return time.perf_counter() - start, time.process_time() - cpu, result
    finally:
        wh.close()


def bench_duckdb(root: Path, base: Path, batch: Path, repeats: int,
                 expected: UpsertResult) -> tuple[list[float], list[float]]:
    template = root / "template.duckdb"
    wh = open_warehouse(f"duckdb://{template}")
    wh.apply_schema()
    wh.upsert_facts(str(base))
    wh.close()
    times, cpu_times = [], []
    for _ in range(repeats):
        work = root / "work.duckdb"
        shutil.copyfile(template, work)
        seconds, cpu, result = timed_upsert(f"duckdb://{work}", batch, expected.candidates)
        print(f"  duckdb staged upsert: {seconds:.2f}s (cpu {cpu:.2f}s) {result}", file=sys.stderr)
        assert result == expected, f"wrong counts {result}, expected {expected}"
        times.append(seconds)
        cpu_times.append(cpu)
    return times, cpu_times


def bench_row_by_row(root: Path, batch: Path, sample: int, repeats: int, indexed: bool) -> list[float]:
    """Seconds per row of the naive upsert, over `sample` rows of the batch.

    `indexed` gives the naive way its best case, a unique index on the key for its point lookups
    (the product's DuckDB table has none; built before the clock starts).
    """
    cols = ", ".join(FACT_COLUMNS)
    marks = ", ".join("?" for _ in FACT_COLUMNS)
    setters = ", ".join(f"{c} = ?" for c in FACT_COLUMNS if c != "transaction_id")
    per_row = []
    for _ in range(repeats):
        work = root / "work.duckdb"
        shutil.copyfile(root / "template.duckdb", work)
        wh = DuckDBWarehouse(work)
        if indexed:
            wh.conn.execute("CREATE UNIQUE INDEX fact_key ON fact_transactions (transaction_id)")
        rows = wh.conn.execute(f"{cast_select(FACT_TRANSACTIONS)} LIMIT {sample}",
                               [[str(batch / "part-0.parquet")]]).fetchall()
        conn = wh.conn
        start = time.perf_counter()
        conn.execute("BEGIN TRANSACTION")
        for row in rows:
            stored = conn.execute("SELECT transaction_date, status_rank FROM fact_transactions "
                                  "WHERE transaction_id = ?", [row[0]]).fetchone()
            if stored is None:
                conn.execute(f"INSERT INTO fact_transactions ({cols}) VALUES ({marks})", list(row))
            elif (row[10], row[13]) > stored:
                conn.execute(f"UPDATE fact_transactions SET {setters} WHERE transaction_id = ?",
                             [*row[1:], row[0]])
        conn.execute("COMMIT")
        seconds = time.perf_counter() - start
        wh.close()
        print(f"  duckdb row-by-row (key index: {indexed}): {sample} rows in {seconds:.2f}s", file=sys.stderr)
        per_row.append(seconds / sample)
    return per_row


def bench_postgres(base: Path, batch: Path, repeats: int, expected: UpsertResult) -> list[float]:
    from tests.fixtures.postgres import throwaway_postgres

    with throwaway_postgres("-c shared_buffers=1GB -c work_mem=256MB -c maintenance_work_mem=1GB") as url:
        wh = open_warehouse(url)
        wh.apply_schema()
        wh.upsert_facts(str(base))
        wh.query("CREATE TABLE fact_template AS SELECT * FROM fact_transactions")
        times = []
        for _ in range(repeats):
            wh.query("TRUNCATE fact_transactions")
            wh.query("INSERT INTO fact_transactions SELECT * FROM fact_template")
            wh.query("VACUUM ANALYZE fact_transactions")
            # The work happens in the server process: its CPU is not this process's.
            seconds, _, result = timed_upsert(url, batch, expected.candidates)
            print(f"  postgres staged upsert: {seconds:.2f}s {result}", file=sys.stderr)
            assert result == expected, f"wrong counts {result}, expected {expected}"
            times.append(seconds)
        wh.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stored", type=int, default=5_000_000)
    parser.add_argument("--staged", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=2_000, help="rows of the row-by-row baseline")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-upsert-") as tmp:
        root = Path(tmp)
        base, batch = write_batches(root, args.stored, args.staged)
        expected = expected_counts(args.stored, args.staged)
        duck_times, duck_cpu = bench_duckdb(root, base, batch, args.repeats, expected)
        duck = statistics.median(duck_times)
        naive = statistics.median(bench_row_by_row(root, batch, args.sample, args.repeats, indexed=False))
        naive_indexed = statistics.median(bench_row_by_row(root, batch, args.sample, args.repeats,
                                                           indexed=True))
        pg = None
        if not args.no_postgres:
            pg = statistics.median(bench_postgres(base, batch, args.repeats, expected))

    figures = {
        "stored_rows": args.stored, "staged_rows": args.staged, "repeats": args.repeats,
        "duckdb_staged_s": round(duck, 3), "duckdb_staged_rows_per_s": round(args.staged / duck),
        "duckdb_staged_cpu_s": round(statistics.median(duck_cpu), 3),
        "duckdb_row_by_row_rows_per_s": round(1 / naive),
        "duckdb_row_by_row_indexed_rows_per_s": round(1 / naive_indexed),
        "ratio_staged_vs_row_by_row": round((args.staged / duck) * naive, 1),
        "ratio_staged_vs_row_by_row_indexed": round((args.staged / duck) * naive_indexed, 1),
        # 2 cores are shared with whatever else runs: the load average says how quiet the machine was.
        "load_average_before_after": [load_before, [round(x, 2) for x in os.getloadavg()]],
    }
    if pg is not None:
        figures |= {"postgres_staged_s": round(pg, 3), "postgres_staged_rows_per_s": round(args.staged / pg)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
