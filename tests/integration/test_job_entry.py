"""The job's entry points over real files, local Spark and a real DuckDB warehouse."""

from __future__ import annotations

import csv
import json
import runpy
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.contracts import TRANSACTIONS_HEADER
from ecom_pipeline.job import entry, io
from ecom_pipeline.job.accounting import AccountingError
from ecom_pipeline.job.entry import JobArgs, JobFailed, RunReport, run_job
from ecom_pipeline.warehouse import open_warehouse
from pyspark.sql import SparkSession

from tests.fixtures.data import GeneratedDataset, classify_row, data_lines, read_csv

REPO = Path(__file__).resolve().parents[2]
FACTS = "SELECT * EXCLUDE (updated_at, job_run_id) FROM fact_transactions ORDER BY transaction_id"


def fresh_warehouse(path: Path, data: GeneratedDataset) -> str:
    url = f"duckdb://{path}"
    warehouse = open_warehouse(url)
    warehouse.apply_schema()
    warehouse.load_dims(str(data.products_csv), str(data.customers_csv))
    warehouse.close()
    return url


def job_args(url: str, data: GeneratedDataset, out: Path, keys: list[str], **extra: Any) -> JobArgs:
    return JobArgs.model_validate({"source_keys": keys, "data_bucket": "local", "warehouse_url": url,
                                   "input_root": f"file://{data.root}/", "output_root": f"file://{out}/",
                                   **extra})


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    warehouse = open_warehouse(url)
    try:
        return warehouse.query(sql).rows
    finally:
        warehouse.close()


def oracle(data: GeneratedDataset, index: int) -> Counter[str]:
    products = {r["product_id"] for r in read_csv(data.products_csv)}
    customers = {r["customer_id"] for r in read_csv(data.customers_csv)}
    lines = [line for line in data_lines(data.transaction_files[index]) if line.strip()]
    return Counter(str(classify_row(line, products, customers)) for line in lines)


class Unavailable:
    """A warehouse that refuses every upsert (as one that is down does)."""

    def upsert_facts(self, staged: str, expected_rows: int | None = None) -> Any:
        raise ConnectionError("the warehouse is unavailable")


@pytest.fixture(scope="module")
def first_run(spark: SparkSession, generated_dataset: GeneratedDataset,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, RunReport]:
    """Both generated days in one run into a fresh DuckDB warehouse."""
    tmp = tmp_path_factory.mktemp("job")
    url = fresh_warehouse(tmp / "wh.duckdb", generated_dataset)
    report = run_job(spark, job_args(url, generated_dataset, tmp / "out", generated_dataset.transaction_keys,
                                     JOB_RUN_ID="run-1"))
    return url, tmp / "out", report


def test_accounting_matches_an_independent_reading_of_the_files(
        first_run: tuple[str, Path, RunReport], generated_dataset: GeneratedDataset) -> None:
    url, _, report = first_run
    accounting = report.accounting
    for index, key in enumerate(generated_dataset.transaction_keys):
        expected = oracle(generated_dataset, index)
        mine = accounting["per_file"][key]
        assert mine["rows_read"] == sum(expected.values())
        assert mine["rows_valid"] == expected["None"]
        assert {k: v for k, v in mine["rejects_by_reason"].items() if v} == \
            {k: v for k, v in expected.items() if k != "None"}
    assert accounting["rows_read"] == accounting["rows_valid"] + accounting["rows_rejected"]
    assert accounting["rows_valid"] == accounting["candidates"] + accounting["duplicates_collapsed"]
    assert accounting["duplicates_collapsed"] > 0  # the dataset has status updates
    [(stored,)] = query(url, "SELECT count(*) FROM fact_transactions")
    assert stored == accounting["inserted"] == accounting["candidates"]
    assert (accounting["updated"], accounting["kept_stored"]) == (0, 0)
    assert report.ok


def test_rejects_are_written_under_day_partitions_with_reason_file_and_run(
        first_run: tuple[str, Path, RunReport], generated_dataset: GeneratedDataset) -> None:
    _, out, report = first_run
    files = sorted((out / "rejects").rglob("*.csv"))
    # Only the reject files: no checksum sidecars or commit markers beside them.
    assert sorted(p for p in (out / "rejects").rglob("*") if p.is_file()) == files
    assert [str(f) for f in files] == sorted(r.removeprefix("file:") for r in report.reject_files)
    rows = [row for f in files for row in read_csv(f)]
    assert len(rows) == report.accounting["rows_rejected"]
    assert Counter(r["reject_reason"] for r in rows) == \
        Counter({k: v for k, v in report.accounting["rejects_by_reason"].items() if v})
    assert {r["job_run_id"] for r in rows} == {"run-1"}
    assert {r["source_file"] for r in rows} <= set(generated_dataset.transaction_keys)
    days = {f.parent.relative_to(out / "rejects").as_posix() for f in files}
    assert days <= {"year=2023/month=03/day=14", "year=2023/month=03/day=15"}
    malformed = [r for r in rows if r["reject_reason"] == "malformed_row"]
    assert malformed and all(r["raw_record"] for r in malformed)
    assert not (out / "staging").exists() or not any((out / "staging").iterdir())


def test_rerun_changes_nothing(spark: SparkSession, first_run: tuple[str, Path, RunReport],
                               generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    url, _, report = first_run
    before = query(url, "SELECT * FROM fact_transactions ORDER BY transaction_id")
    again = run_job(spark, job_args(url, generated_dataset, tmp_path, generated_dataset.transaction_keys,
                                    JOB_RUN_ID="run-2"))
    assert (again.accounting["inserted"], again.accounting["updated"]) == (0, 0)
    assert again.accounting["kept_stored"] == report.accounting["candidates"]
    assert query(url, "SELECT * FROM fact_transactions ORDER BY transaction_id") == before


def test_days_one_at_a_time_in_either_order_give_the_same_table(
        spark: SparkSession, first_run: tuple[str, Path, RunReport], generated_dataset: GeneratedDataset,
        tmp_path: Path) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    later, earlier = reversed(generated_dataset.transaction_keys)
    one = run_job(spark, job_args(url, generated_dataset, tmp_path / "a", [later]))
    two = run_job(spark, job_args(url, generated_dataset, tmp_path / "b", [earlier]))
    assert one.accounting["inserted"] > 0
    assert two.accounting["kept_stored"] > 0  # day 1 rows older than day 2's status updates stay out
    assert query(url, FACTS) == query(first_run[0], FACTS)


def compiled_classes(spark: SparkSession) -> int:
    """How many classes Spark's code generator has compiled in this JVM so far."""
    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics
    return int(metrics.METRIC_COMPILATION_TIME().getCount())


def test_the_next_run_reuses_the_compiled_code(spark: SparkSession, generated_dataset: GeneratedDataset,
                                               tmp_path: Path) -> None:
    """Another day, run id and run time compile nothing new: a session that runs job after job (the local
    Glue runner) skips code generation and keeps the JIT's work. A date or timestamp literal would be
    written into the generated source and make every run's code new."""
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    first, second = generated_dataset.transaction_keys
    run_job(spark, job_args(url, generated_dataset, tmp_path / "a", [first], JOB_RUN_ID="run-a"))
    before = compiled_classes(spark)
    report = run_job(spark, job_args(url, generated_dataset, tmp_path / "b", [second], JOB_RUN_ID="run-b"))
    assert report.accounting["rows_read"] > 0 and report.accounting["rows_rejected"] > 0
    assert compiled_classes(spark) - before == 0


def _rejects(out: Path) -> list[dict[str, str]]:
    return sorted((row for f in (out / "rejects").rglob("*.csv") for row in read_csv(f)),
                  key=lambda r: (r["source_file"], json.dumps(r, sort_keys=True)))


def _shuffle_files(spark: SparkSession) -> list[Path]:
    """The block manager's shuffle files (local mode: the driver is the one executor)."""
    env = spark.sparkContext._jvm.org.apache.spark.SparkEnv.get()
    dirs = env.blockManager().diskBlockManager().localDirs()
    return [file for d in dirs for file in Path(d.getAbsolutePath()).rglob("shuffle_*")]


def test_rejects_survive_losing_the_shuffle_files(
        spark: SparkSession, first_run: tuple[str, Path, RunReport], generated_dataset: GeneratedDataset,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both writes read one shuffle. An executor lost after the staging write is done takes the shuffle
    files along before the rejects write reads them: Spark recomputes them from the input, and the run
    ends exactly as an undisturbed one."""
    write_staged, write_rejects = io.write_staged, io.write_rejects
    lost: list[Path] = []
    staging_done = threading.Event()

    def write_then_lose_the_shuffle_files(facts: Any, uri: str) -> None:
        try:
            write_staged(facts, uri)
            for file in _shuffle_files(spark):
                file.unlink()  # what a lost executor leaves behind
                lost.append(file)
        finally:
            staging_done.set()

    def write_after_the_loss(*args: Any) -> list[str]:
        assert staging_done.wait(timeout=300), "the staging write never ended"
        return write_rejects(*args)

    monkeypatch.setattr(io, "write_staged", write_then_lose_the_shuffle_files)
    monkeypatch.setattr(io, "write_rejects", write_after_the_loss)
    _, out, report = first_run
    again = run_job(spark, job_args(fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset),
                                    generated_dataset, tmp_path / "out", generated_dataset.transaction_keys,
                                    JOB_RUN_ID="run-1"))
    assert any(file.name.endswith(".data") for file in lost)
    assert again.accounting == report.accounting
    assert _rejects(tmp_path / "out") == _rejects(out)
    assert len(_rejects(out)) == report.accounting["rows_rejected"]


def test_a_reject_lost_before_the_rejects_write_fails_the_run(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ecom_pipeline.job import transforms

    real = transforms.rejects

    def only_prices(*args: Any) -> Any:  # the other rejects vanish on the way to the writer
        return real(*args).where("reject_reason = 'invalid_price'")

    monkeypatch.setattr(transforms, "rejects", only_prices)
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)

    with pytest.raises(AccountingError, match=r"rows_read \d+ != rows_valid \d+ \+ rows_rejected \d+"):
        run_job(spark, job_args(url, generated_dataset, tmp_path / "out", generated_dataset.transaction_keys))
    assert query(url, "SELECT count(*) FROM fact_transactions") == [(0,)]


def test_a_valid_row_lost_before_the_collapse_fails_the_run_before_the_upsert(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ecom_pipeline.job import transforms

    real = transforms.ranked
    monkeypatch.setattr(transforms, "ranked", lambda rows: real(rows.where("transaction_id NOT LIKE '%7'")))
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)

    with pytest.raises(AccountingError, match=r"rows_valid \d+ != candidates \d+ \+ duplicates_collapsed"):
        run_job(spark, job_args(url, generated_dataset, tmp_path / "out", generated_dataset.transaction_keys))
    assert query(url, "SELECT count(*) FROM fact_transactions") == [(0,)]


def test_the_accounting_is_given_per_file_with_the_warehouse_counts(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    first, second = generated_dataset.transaction_keys[:2]
    run_job(spark, job_args(url, generated_dataset, tmp_path / "out1", [first]))

    report = run_job(spark, job_args(url, generated_dataset, tmp_path / "out2", [first, second]))

    per_file = report.accounting["per_file"]
    again = per_file[first]  # its rows are stored already, as they are
    assert again["inserted"] == again["updated"] == 0 and again["kept_stored"] == again["candidates"] > 0
    stored = query(url, f"SELECT count(*) FROM fact_transactions WHERE source_file = '{second}'")[0][0]
    assert per_file[second]["inserted"] + per_file[second]["updated"] == stored > 0


def test_a_failing_rejects_write_fails_the_run(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*_: Any) -> list[str]:
        raise OSError("No space left on device")

    monkeypatch.setattr(io, "write_rejects", disk_full)
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    with pytest.raises(OSError, match="No space left"):
        run_job(spark, job_args(url, generated_dataset, tmp_path / "out", generated_dataset.transaction_keys))
    assert query(url, "SELECT count(*) FROM fact_transactions") == [(0,)]


def test_a_run_whose_upsert_fails_publishes_no_rejects_for_its_retry_to_double(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    out = tmp_path / "out"

    with pytest.raises(ConnectionError, match="unavailable"):
        run_job(spark, job_args(url, generated_dataset, out, generated_dataset.transaction_keys,
                                JOB_RUN_ID="attempt-1"), warehouse=Unavailable())  # type: ignore[arg-type]
    assert _rejects(out) == []

    retry = run_job(spark, job_args(url, generated_dataset, out, generated_dataset.transaction_keys,
                                    JOB_RUN_ID="attempt-2"))
    rejects = _rejects(out)
    assert len(rejects) == retry.accounting["rows_rejected"] > 0
    assert {row["job_run_id"] for row in rejects} == {"attempt-2"}
    assert not list((out / "staging").glob("attempt-2*"))  # the retry leaves nothing staged behind


def test_a_key_with_glob_characters_is_read_as_that_one_file(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    """Spark's reader takes a path as a glob pattern; S3 keys may hold `[`, `{`, `*` and `?`."""
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    day = generated_dataset.transaction_files[0]
    odd = tmp_path / "in" / "transactions/year=2023/month=03/day=15/transactions_2023-03-15 [copy {1}] *?.csv"
    odd.parent.mkdir(parents=True)
    shutil.copy(day, odd)
    # What the name matches as a pattern: read instead, it would give one row.
    odd.with_name("transactions_2023-03-15 1 1 x.csv").write_text(
        TRANSACTIONS_HEADER + "\nT1,C1,P1,1,1.00,2023-03-15,PayPal,Pending\n")
    key = str(odd.relative_to(tmp_path / "in"))

    report = run_job(spark, job_args(url, generated_dataset, tmp_path / "out", [key],
                                     input_root=f"file://{tmp_path}/in/",
                                     dims_root=f"file://{generated_dataset.root}/dims/"))

    assert report.accounting["rows_read"] == sum(oracle(generated_dataset, 0).values())
    assert query(url, "SELECT DISTINCT source_file FROM fact_transactions") == [(key,)]


def test_when_both_writes_fail_the_run_fails_with_both_errors(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The writes run side by side: a failed staging write still waits for the rejects write, and the
    error that ends the run tells both."""
    def staging_fails(*_: Any) -> None:
        raise OSError("staging: access denied")

    def rejects_fail(*_: Any) -> list[str]:
        raise OSError("rejects: no space left on device")

    monkeypatch.setattr(io, "write_staged", staging_fails)
    monkeypatch.setattr(io, "write_rejects", rejects_fail)
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    with pytest.raises(OSError, match="staging: access denied") as failed:
        run_job(spark, job_args(url, generated_dataset, tmp_path / "out", generated_dataset.transaction_keys))
    assert failed.value.__notes__ == [
        "the rejects write failed too: OSError: rejects: no space left on device"]
    assert query(url, "SELECT count(*) FROM fact_transactions") == [(0,)]


def test_a_failing_staging_write_fails_the_run_after_the_rejects_write_ends(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    write_rejects = io.write_rejects
    rejects_ended = threading.Event()

    def staging_fails(*_: Any) -> None:
        raise OSError("staging: access denied")

    def rejects_take_their_time(*args: Any) -> list[str]:
        try:
            return write_rejects(*args)
        finally:
            rejects_ended.set()

    monkeypatch.setattr(io, "write_staged", staging_fails)
    monkeypatch.setattr(io, "write_rejects", rejects_take_their_time)
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="staging: access denied") as failed:
        run_job(spark, job_args(url, generated_dataset, out, generated_dataset.transaction_keys,
                                JOB_RUN_ID="staging-fails"))
    assert rejects_ended.is_set()  # no Spark job of the run is left running behind the failure
    assert not hasattr(failed.value, "__notes__")  # the rejects write ended cleanly or was cancelled
    assert _rejects(out) == []  # nothing published for a run that failed
    assert query(url, "SELECT count(*) FROM fact_transactions") == [(0,)]


def test_a_failing_staging_write_cancels_the_rejects_write_beside_it(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed run publishes no rejects, so a rejects write still running is cancelled, not waited out,
    and its cancellation is not told as a second failure."""
    rejects_running = threading.Event()

    def staging_fails(*_: Any) -> None:
        assert rejects_running.wait(60)
        time.sleep(1)  # the rejects' Spark job is under way
        raise OSError("staging: access denied")

    def rejects_take_hours(frame: Any, _uri: str) -> None:
        rejects_running.set()
        frame.sparkSession.range(0, 10**13, 1, 2).selectExpr("sum(id)").collect()

    monkeypatch.setattr(io, "write_staged", staging_fails)
    monkeypatch.setattr(io, "write_rejects", rejects_take_hours)
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            run_job(spark, job_args(url, generated_dataset, tmp_path / "out",
                                    generated_dataset.transaction_keys))
        except BaseException as error:  # handed to the test's thread
            outcome.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(120)
    if runner.is_alive():
        spark.sparkContext.cancelAllJobs()  # leave no job behind for the next test
        runner.join()
        pytest.fail("the run waited for its rejects write after the staging write failed")
    assert [type(error) for error in outcome] == [OSError]
    assert str(outcome[0]) == "staging: access denied"
    assert not hasattr(outcome[0], "__notes__")  # a cancellation the run asked for is no second failure
    assert spark.sparkContext.statusTracker().getActiveJobsIds() == []


def _wrong_header_file(path: Path) -> Path:
    """A day file whose header names `state` for `status`, with one row: rejected whole by the job."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TRANSACTIONS_HEADER.replace("status", "state")
                    + "\nT1,C1,P1,1,1,2023-03-16,PayPal,Pending\n")
    return path


def test_wrong_header_file_is_named_and_the_others_still_load(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    bad = _wrong_header_file(
        tmp_path / "in" / "transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv")
    good = generated_dataset.transaction_files[0]
    args = JobArgs.model_validate({
        "source_keys": [f"file://{bad}", f"file://{good}"], "data_bucket": "local", "warehouse_url": url,
        "dims_root": f"file://{generated_dataset.root}/dims/", "output_root": f"file://{tmp_path}/out/"})
    with pytest.raises(JobFailed, match=r"transactions_2023-03-16\.csv") as failed:
        run_job(spark, args)
    report = failed.value.report
    assert not report.ok and [key for key, _ in report.failed_files] == [f"file://{bad}"]
    assert list(report.accounting["per_file"]) == [f"file://{good}"]
    [(stored,)] = query(url, "SELECT count(*) FROM fact_transactions")
    assert stored == report.accounting["inserted"] > 0


def test_a_summary_is_sent_only_for_a_run_that_loaded_and_names_the_files_it_rejected_whole(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(entry, "publish_summary",  # SNS itself: test_job_summary.py
                        lambda topic, subject, body: sent.append((subject, json.loads(body))))
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    bad = _wrong_header_file(tmp_path / "in" / "transactions_bad.csv")
    good = generated_dataset.transaction_files[0]

    def run(*keys: str) -> None:
        with pytest.raises(JobFailed):
            run_job(spark, JobArgs.model_validate({
                "source_keys": list(keys), "data_bucket": "local", "warehouse_url": url,
                "summary_topic_arn": "arn:aws:sns:us-east-1:123456789012:runs",
                "dims_root": f"file://{generated_dataset.root}/dims/", "output_root": f"file://{tmp_path}/out/"}))

    run(f"file://{bad}")  # nothing loaded: the state change alone tells it
    assert sent == []
    run(f"file://{bad}", f"file://{good}")
    [(subject, body)] = sent
    assert subject.endswith("rows loaded, 1 file(s) rejected whole")
    assert [f["source_file"] for f in body["failed_files"]] == [f"file://{bad}"]
    assert list(body["accounting"]["per_file"]) == [f"file://{good}"]


def test_dates_before_the_gregorian_calendar_load_as_they_are(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    # Spark's default refuses to write such a date to Parquet, and that failed the whole run.
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    product = read_csv(generated_dataset.products_csv)[0]["product_id"]
    customer = read_csv(generated_dataset.customers_csv)[0]["customer_id"]
    source = tmp_path / "in" / "old.csv"
    source.parent.mkdir(parents=True)
    source.write_text(TRANSACTIONS_HEADER + "\n" + "".join(
        f"{txn},{customer},{product},1,5.00,{day},PayPal,Completed\n"
        for txn, day in (("OLD1", "1500-06-01"), ("OLD2", "0001-01-01"), ("OLD3", "1582-10-04"))))

    report = run_job(spark, job_args(url, generated_dataset, tmp_path / "out", [f"file://{source}"]))

    assert report.accounting["inserted"] == 3
    assert [(txn, str(day)) for txn, day in query(
        url, "SELECT transaction_id, transaction_date FROM fact_transactions ORDER BY 1")] == [
        ("OLD1", "1500-06-01"), ("OLD2", "0001-01-01"), ("OLD3", "1582-10-04")]


def test_a_load_failure_still_names_the_files_rejected_whole(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    bad = tmp_path / "in" / "transactions_2023-03-16.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(TRANSACTIONS_HEADER.replace("status", "state") + "\n")

    args = job_args(url, generated_dataset, tmp_path / "out",
                    [f"file://{bad}", generated_dataset.transaction_keys[0]])
    with pytest.raises(ConnectionError) as failed:
        run_job(spark, args, warehouse=Unavailable())  # type: ignore[arg-type]
    assert failed.value.__notes__ == [f"also rejected whole: file://{bad}"]


def test_dims_with_their_columns_in_another_order_fail_the_run_before_anything_loads(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    dims = tmp_path / "dims"
    dims.mkdir()
    swapped = [line.split(",") for line in generated_dataset.products_csv.read_text().splitlines()]
    (dims / "products.csv").write_text("".join(",".join([r[0], r[2], r[1], *r[3:]]) + "\n" for r in swapped))
    (dims / "customers.csv").write_text(generated_dataset.customers_csv.read_text())
    args = job_args(url, generated_dataset, tmp_path / "out", generated_dataset.transaction_keys[:1],
                    dims_root=f"file://{dims}/")

    with pytest.raises(io.WrongDimsHeader, match=r"products\.csv: header 'product_id,category,product_name"):
        run_job(spark, args)
    assert query(url, "SELECT count(*) FROM fact_transactions") == [(0,)]


def test_cli_prints_accounting_last_and_fails_on_a_bad_file(
        generated_dataset: GeneratedDataset, tmp_path: Path, restored_conf: SparkSession) -> None:
    from ecom_pipeline.cli import app
    from typer.testing import CliRunner

    url = f"duckdb://{tmp_path}/cli.duckdb"
    common = ["process", "--warehouse", url, "--dims", str(generated_dataset.root / "dims"),
              "--rejects", str(tmp_path / "rejects")]
    result = CliRunner().invoke(app, [*common, *map(str, generated_dataset.transaction_files)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(printed) == ["rows_read", "rows_valid", "rows_rejected", "rejects_by_reason",
                             "duplicates_collapsed", "inserted", "updated", "kept_stored"]
    assert printed["inserted"] > 0
    assert printed["rows_read"] == printed["rows_valid"] + printed["rows_rejected"]
    written = list((tmp_path / "rejects").rglob("*.csv"))
    assert {f.relative_to(tmp_path / "rejects").parts[0] for f in written} == {"year=2023"}
    rows = [r for f in written for r in csv.DictReader(f.open())]
    assert len(rows) == printed["rows_rejected"]
    assert {r["source_file"] for r in rows} <= set(generated_dataset.transaction_keys)

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    failed = CliRunner().invoke(app, [*common, str(bad)])
    assert failed.exit_code == 1
    assert "bad.csv" in failed.output
    assert [line for line in failed.output.splitlines() if line.startswith("error:")] == [
        next(line for line in failed.output.splitlines() if line.startswith("error: run failed:"))]


def test_a_line_of_more_fields_than_the_csv_reader_holds_is_a_malformed_row(
        generated_dataset: GeneratedDataset, tmp_path: Path, restored_conf: SparkSession) -> None:
    # Past 20,480 fields Spark's CSV reader threw and the run failed; the job's own reader sets it aside.
    from ecom_pipeline.cli import app
    from typer.testing import CliRunner

    wide = tmp_path / "wide.csv"
    wide.write_text(f"{TRANSACTIONS_HEADER}\nT1,C1,P1,1,1.00,2023-03-15,PayPal,Completed\nW2{',' * 20_500}\n")
    done = CliRunner().invoke(app, ["process", "--warehouse", f"duckdb://{tmp_path}/wh.duckdb",
                                    "--dims", str(generated_dataset.root / "dims"),
                                    "--rejects", str(tmp_path / "rejects"), str(wide)])
    assert done.exit_code == 0, done.output[-2000:]
    printed = json.loads(done.output.strip().splitlines()[-1])
    assert (printed["rows_read"], printed["rejects_by_reason"].get("malformed_row")) == (2, 1)
    written = [row for f in (tmp_path / "rejects").rglob("*.csv") for row in csv.DictReader(f.open())]
    assert [len(r["raw_record"]) for r in written if r["reject_reason"] == "malformed_row"] == [20_502]


def test_a_dims_line_the_csv_reader_cannot_parse_fails_the_run_in_one_line_naming_the_dims(
        generated_dataset: GeneratedDataset, tmp_path: Path, restored_conf: SparkSession) -> None:
    # Past 20,480 fields Spark's CSV reader, which reads the dims, throws instead of flagging the line:
    # the run fails, saying what and where in one line instead of ~500 lines of Java. (The CLI refuses
    # such a dims file before the job starts; on Glue the job reads the dims as they are.)
    from ecom_pipeline.errors import described

    dims = tmp_path / "dims"
    shutil.copytree(generated_dataset.root / "dims", dims)
    with (dims / "products.csv").open("a") as products:
        products.write(f"P9{',' * 20_500}\n")
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    args = job_args(url, generated_dataset, tmp_path / "out", generated_dataset.transaction_keys[:1],
                    dims_root=f"file://{dims}/")
    with pytest.raises(Exception) as failed:
        run_job(restored_conf, args)
    told = described(failed.value)
    assert "\n" not in told and len(told) < 1200, told[:2000]
    assert "TextParsingException" in told
    assert "a line of the dims files (dims/products.csv, dims/customers.csv) is one Spark's CSV" in told


def test_glue_script_runs_the_job_and_raises_on_failure(
        restored_conf: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh_warehouse(tmp_path / "wh.duckdb", generated_dataset)
    argv = ["process_transactions.py", "--JOB_NAME", "ecom-process", "--JOB_RUN_ID", "jr_1",
            "--data_bucket", "local", "--warehouse_url", url,
            "--input_root", f"file://{generated_dataset.root}/",
            "--output_root", f"file://{tmp_path}/out/"]
    script = str(REPO / "glue" / "process_transactions.py")
    monkeypatch.setattr(sys, "argv", [*argv, "--source_keys", json.dumps(generated_dataset.transaction_keys)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(script, run_name="__main__")
    assert done.value.code == 0
    assert query(url, "SELECT DISTINCT job_run_id FROM fact_transactions") == [("jr_1",)]

    monkeypatch.setattr(sys, "argv", [*argv, "--source_keys", json.dumps(["transactions/missing.csv"])])
    with pytest.raises(JobFailed, match=r"missing\.csv"):
        runpy.run_path(script, run_name="__main__")
