"""The whole local flow through the real moto server, the real handlers and the real Glue job.

One demo run (scenario bad-file: two good days, then a day file with a wrong header that is fixed and
dropped again) is checked against an independent reading of the generated CSVs (csv + Decimal and
the contract rules via the shared `classify_row` oracle, none of the job's code), then a second run
must change nothing.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.cli import app
from ecom_pipeline.contracts import STATUS_RANK, TRANSACTION_COLUMNS, TRANSACTIONS_HEADER, classify
from ecom_pipeline.local.demo import WRONG_HEADER, DemoOptions, DemoResult, run_demo
from ecom_pipeline.warehouse import open_warehouse
from typer.testing import CliRunner

from tests.fixtures.data import classify_row

DAYS = 2
ROWS = 300
START = date(2024, 5, 10)
BAD_KEY = "transactions/year=2024/month=05/day=12/transactions_2024-05-12.csv"
FACT_QUERY = ("SELECT transaction_id, customer_id, customer_email, product_id, product_name, category, "
              "quantity, price, total_amount, transaction_class, CAST(transaction_date AS VARCHAR(10)), "
              "payment_type, status, source_file FROM fact_transactions")


# --- the independent expectation ----------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    key: tuple[Any, ...]  # what the warehouse must hold for this transaction
    rank: tuple[str, int]  # (date, status rank)


def expected_from_files(archive: Path, dims: Path,
                        batches: list[list[str]]) -> tuple[dict[str, Row], Counter[str], int]:
    """Warehouse rows by transaction_id, rejects by reason and rows read, from the CSVs alone.

    `batches` are the keys of each successful run, in run order: inside a batch an exact tie keeps
    the later row; across batches only a strictly greater (date, rank) replaces the stored row."""
    with (dims / "products.csv").open(newline="") as fh:
        products = {r["product_id"]: (r["product_name"], r["category"]) for r in csv.DictReader(fh)}
    with (dims / "customers.csv").open(newline="") as fh:
        customers = {r["customer_id"]: r["email"] for r in csv.DictReader(fh)}
    best: dict[str, Row] = {}
    rejects: Counter[str] = Counter()
    read = 0
    for batch in batches:
        batch_best: dict[str, Row] = {}
        read += _read_batch(archive, batch, products, customers, batch_best, rejects)
        for txn, row in batch_best.items():
            if txn not in best or row.rank > best[txn].rank:
                best[txn] = row
    return best, rejects, read


def _read_batch(archive: Path, keys: list[str], products: dict[str, tuple[str, str]],
                customers: dict[str, str], best: dict[str, Row], rejects: Counter[str]) -> int:
    product_ids, customer_ids = set(products), set(customers)
    read = 0
    for key in keys:
        lines = (archive / key).read_text(encoding="utf-8").splitlines()
        assert lines[0] == TRANSACTIONS_HEADER, f"{key} has the wrong header"
        for line in lines[1:]:
            if not line:
                continue
            read += 1
            reason = classify_row(line, product_ids, customer_ids)
            if reason is not None:
                rejects[reason] += 1
                continue
            txn, customer, product, quantity, price, day, payment, status = next(csv.reader([line]))
            total = (int(quantity) * Decimal(price)).quantize(Decimal("0.01"))
            row = Row(
                key=(txn, customer, customers[customer], product, *products[product], int(quantity),
                     Decimal(price).quantize(Decimal("0.01")), total, str(classify(total)), day, payment,
                     status, key),
                rank=(day, STATUS_RANK[status]),
            )
            if txn not in best or row.rank >= best[txn].rank:
                best[txn] = row
    return read


def _warehouse_rows(url: str) -> dict[str, tuple[Any, ...]]:
    warehouse = open_warehouse(url)
    try:
        rows = warehouse.query(FACT_QUERY).rows
    finally:
        warehouse.close()
    out = {}
    for r in rows:
        values = list(r)
        values[6] = int(values[6])
        values[7] = Decimal(values[7]).quantize(Decimal("0.01"))
        values[8] = Decimal(values[8]).quantize(Decimal("0.01"))
        out[values[0]] = tuple(values)
    return out


# --- the run --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-state")


@pytest.fixture(scope="module")
def first_run(state_dir: Path, spark: Any) -> DemoResult:
    options = DemoOptions(days=DAYS, rows_per_day=ROWS, seed=11, start=START, scenario="bad-file",
                          fault_rate=0.1, state_dir=state_dir)
    return run_demo(options, spark_factory=lambda: spark)


def _mirror(result: DemoResult, bucket: str) -> Path:
    return result.options.state_dir / "s3" / bucket


def _expected(result: DemoResult) -> tuple[dict[str, Row], Counter[str], int]:
    batches = [r.source_keys for r in result.runs if r.state == "SUCCEEDED"]
    return expected_from_files(_mirror(result, result.archive_bucket),
                               _mirror(result, result.data_bucket) / "dims", batches)


def test_every_generated_file_is_processed_once_and_archived_under_its_key(first_run: DemoResult) -> None:
    generated = set(first_run.generated)
    assert len(generated) == DAYS + 1 and BAD_KEY in generated
    succeeded = Counter(k for r in first_run.runs if r.state == "SUCCEEDED" for k in r.source_keys)
    assert succeeded == Counter(dict.fromkeys(generated, 1)), [(r.state, r.message) for r in first_run.runs]
    assert set(first_run.archive_keys) == generated
    assert first_run.data_keys == []
    assert first_run.dead_letters == {"TriggerDLQ": 0, "ArchiverDLQ": 0}
    assert first_run.failures == []


def test_archive_holds_exactly_one_version_per_file(first_run: DemoResult, state_dir: Path) -> None:
    # The archive bucket is versioned: a second copy of any key would show as a second version.
    archived = _mirror(first_run, first_run.archive_bucket)
    assert sorted(p.relative_to(archived).as_posix() for p in archived.rglob("*.csv")) == sorted(
        first_run.archive_keys)


def test_warehouse_equals_an_independent_computation(first_run: DemoResult) -> None:
    expected, _, _ = _expected(first_run)
    actual = _warehouse_rows(first_run.options.warehouse)
    assert len(actual) == len(expected)
    mismatched = [t for t, row in expected.items() if actual.get(t) != row.key]
    assert mismatched == [], f"{len(mismatched)} rows differ, e.g. {mismatched[:1]}: " + (
        f"{actual.get(mismatched[0])} != {expected[mismatched[0]].key}" if mismatched else "")


def test_rejects_are_accounted_for(first_run: DemoResult) -> None:
    _, rejects, read = _expected(first_run)
    ok_runs = [r for r in first_run.runs if r.state == "SUCCEEDED"]
    assert sum(r.accounting["rows_read"] for r in ok_runs) == read
    assert sum(r.accounting["rows_rejected"] for r in ok_runs) == sum(rejects.values()) > 0
    # The reject files in the data bucket carry one row per rejected row, with its reason.
    written: Counter[str] = Counter()
    for path in (_mirror(first_run, first_run.data_bucket) / "rejects").rglob("*.csv"):
        with path.open(newline="") as fh:
            written.update(row["reject_reason"] for row in csv.DictReader(fh))
    assert written == rejects
    for run in ok_runs:
        a = run.accounting
        assert a["rows_read"] == a["rows_valid"] + a["rows_rejected"]
        assert a["rows_valid"] == a["inserted"] + a["updated"] + a["kept_stored"] + a["duplicates_collapsed"]


def test_each_loaded_run_mails_a_summary_whose_counts_match_the_files(first_run: DemoResult) -> None:
    _, rejects, read = _expected(first_run)
    loaded = {r.run_id for r in first_run.runs if r.state == "SUCCEEDED"}
    summaries = [json.loads(e.body) for e in first_run.emails if '"run_summary"' in e.body]
    mine = [s for s in summaries if s["run_id"] in loaded]

    assert sorted(s["run_id"] for s in mine) == sorted(loaded)
    assert sum(s["accounting"]["rows_read"] for s in mine) == read
    assert sum(s["accounting"]["rows_rejected"] for s in mine) == sum(rejects.values())


def test_wrong_header_fails_the_run_notifies_and_is_not_archived_until_fixed(first_run: DemoResult) -> None:
    runs_with_bad = [r for r in first_run.runs if BAD_KEY in r.source_keys]
    assert [r.state for r in runs_with_bad] == ["FAILED", "SUCCEEDED"]
    failed = runs_with_bad[0]
    assert BAD_KEY in failed.message
    failure_mails = [json.loads(e.body) for e in first_run.emails if '"glue_state_change"' in e.body]
    states = {m["run_id"]: m["state"] for m in failure_mails}
    assert states[failed.run_id] == "FAILED"
    assert BAD_KEY in next(m["message"] for m in failure_mails if m["run_id"] == failed.run_id)
    # The archiver ran only for the successful runs, so the bad file stayed until it was fixed.
    assert first_run.invocations["archiver"] == sum(r.state == "SUCCEEDED" for r in first_run.runs)
    assert any("bad file" in n and "archived: False" in n and "still in the data bucket: True" in n
               for n in first_run.notes)


def test_second_run_changes_nothing(first_run: DemoResult, state_dir: Path, spark: Any) -> None:
    before = _warehouse_rows(first_run.options.warehouse)
    again = run_demo(DemoOptions(days=DAYS, rows_per_day=ROWS, seed=11, start=START, scenario="bad-file",
                                 fault_rate=0.1, state_dir=state_dir), spark_factory=lambda: spark)
    assert again.generated == []
    assert again.runs == []
    assert sorted(again.already_archived) == sorted(k for k in first_run.generated if k != BAD_KEY)
    assert again.archive_keys == first_run.archive_keys
    assert _warehouse_rows(first_run.options.warehouse) == before


def test_a_file_left_in_landing_is_picked_up_by_the_next_run(first_run: DemoResult, state_dir: Path,
                                                              spark: Any) -> None:
    # Given a day file back in the landing bucket's saved state, not archived (an interrupted run)
    key = sorted(k for k in first_run.generated if k != BAD_KEY)[0]
    archived = _mirror(first_run, first_run.archive_bucket) / key
    landing = _mirror(first_run, first_run.data_bucket) / key
    landing.parent.mkdir(parents=True, exist_ok=True)
    archived.rename(landing)
    before = _warehouse_rows(first_run.options.warehouse)
    # When the demo runs again
    again = run_demo(DemoOptions(days=DAYS, rows_per_day=ROWS, seed=11, start=START, scenario="bad-file",
                                 fault_rate=0.1, state_dir=state_dir), spark_factory=lambda: spark)
    # Then that file alone is processed and archived; the warehouse already had its rows
    assert again.generated == []
    assert [(r.state, r.source_keys) for r in again.runs] == [("SUCCEEDED", [key])]
    assert again.archive_keys == first_run.archive_keys and again.data_keys == []
    assert again.runs[0].accounting["inserted"] == again.runs[0].accounting["updated"] == 0
    assert _warehouse_rows(first_run.options.warehouse) == before


def test_the_command_reports_a_rerun_with_nothing_to_do(first_run: DemoResult, state_dir: Path) -> None:
    args = ["demo", "--scenario", "bad-file", "--days", str(DAYS), "--rows-per-day", str(ROWS),
            "--seed", "11", "--start", START.isoformat(), "--state-dir", str(state_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{DAYS} of {DAYS} day(s) were processed and archived by an earlier run" in result.output
    summary = json.loads((state_dir / "summary.json").read_text())
    assert summary["runs"] == [] and summary["generated"] == []
    page = (state_dir / "report.html").read_text()
    charts = sorted(p.name for p in (state_dir / "report").glob("*.png"))
    assert charts == ["orders_by_status.png", "rejects_by_reason.png", "revenue_by_category.png",
                      "revenue_by_class.png", "revenue_by_day.png"]
    assert all(f"report/{name}" in page for name in charts)


def test_in_the_bad_file_scenario_another_failed_run_still_fails_the_command(
        first_run: DemoResult, state_dir: Path) -> None:
    # Last of the tests on the shared state: its rerun leaves a failed run in the saved summary.
    # Given another file with a wrong header in the landing bucket's saved state
    key = "transactions/year=2024/month=05/day=20/transactions_2024-05-20.csv"
    landing = _mirror(first_run, first_run.data_bucket) / key
    landing.parent.mkdir(parents=True, exist_ok=True)
    landing.write_text(WRONG_HEADER + "\n")
    args = ["demo", "--scenario", "bad-file", "--days", str(DAYS), "--rows-per-day", str(ROWS),
            "--seed", "11", "--start", START.isoformat(), "--state-dir", str(state_dir), "--no-report"]
    try:
        # When the demo runs again: only the scenario's own bad file may fail
        result = CliRunner().invoke(app, args)
    finally:
        landing.unlink(missing_ok=True)
    # Then its run fails, and so does the command
    summary = json.loads((state_dir / "summary.json").read_text())
    assert [(r["state"], r["files"]) for r in summary["runs"]] == [("FAILED", [key])]
    assert result.exit_code == 1, result.output
    assert "did not complete cleanly" in result.output


def test_the_dropped_bad_file_really_had_the_wrong_header() -> None:
    # Guards the scenario itself: a header that matched the contract would test nothing.
    assert WRONG_HEADER != TRANSACTIONS_HEADER
    assert len(WRONG_HEADER.split(",")) == len(TRANSACTION_COLUMNS)


def test_the_same_flow_loads_postgresql(tmp_path: Path, spark: Any, postgres_url: str) -> None:
    options = DemoOptions(days=1, rows_per_day=200, seed=5, start=date(2024, 6, 1), fault_rate=0.1,
                          state_dir=tmp_path, warehouse_url=postgres_url)
    result = run_demo(options, spark_factory=lambda: spark)
    assert [r.state for r in result.runs] == ["SUCCEEDED"]
    expected, _, _ = _expected(result)
    assert _warehouse_rows(postgres_url) == {t: row.key for t, row in expected.items()}


def test_a_backfill_longer_than_the_queues_receives_waits_for_glue_and_loads_every_file_once(
        tmp_path: Path, spark: Any) -> None:
    """150 days in batches of 10 with 2 Glue runs at a time: more batches than MaxConcurrentRuns times the
    queue's 5 receives. The trigger delays each refused batch longer at every receive, as on AWS; a fixed
    short retry locally made the last batches use up their receives and reach the DLQ."""
    days = 150
    options = DemoOptions(days=days, rows_per_day=10, seed=3, start=date(2023, 1, 1), scenario="backfill",
                          state_dir=tmp_path)
    result = run_demo(options, spark_factory=lambda: spark)

    assert result.dead_letters == {"TriggerDLQ": 0, "ArchiverDLQ": 0}
    assert len(result.generated) == days
    assert {r.state for r in result.runs} == {"SUCCEEDED"}
    assert sorted(result.processed) == sorted(result.generated)  # each file in exactly one run
    assert set(result.generated) <= set(result.archive_keys)
    assert not [key for key in result.data_keys if key.startswith("transactions/")]


def test_a_state_folder_with_spaces_and_accents_runs(tmp_path: Path, spark: Any) -> None:
    """The local Glue runner hands Hadoop plain file:// roots: Path.as_uri()'s %20 named no file."""
    options = DemoOptions(days=1, rows_per_day=50, seed=7, start=date(2024, 7, 1),
                          state_dir=tmp_path / "état du démo")
    result = run_demo(options, spark_factory=lambda: spark)

    assert [r.state for r in result.runs] == ["SUCCEEDED"]
    assert sorted(result.processed) == sorted(result.generated) and len(result.generated) == 1
