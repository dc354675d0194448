"""The job's entry point: arguments in, one run through read -> validate -> stage -> upsert, report out.

`main(argv)` is what the Glue script calls; `run_job(spark, args)` is the same run for callers that
already hold a SparkSession (the local Glue runner, the CLI, tests).
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyspark.sql import Column, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.util import inheritable_thread_target

from ecom_pipeline.contracts import DEFAULT_MEDIUM_MAX, DEFAULT_SMALL_MAX, REJECT_REASONS
from ecom_pipeline.errors import described, java_message
from ecom_pipeline.job import io, transforms
from ecom_pipeline.job.accounting import (
    AccountingError,
    FileCounts,
    check_staged,
    file_counts,
    run_accounting,
)
from ecom_pipeline.job.schema import FILE_INDEX, REJECT_REASON
from ecom_pipeline.job.spark import get_spark, shuffled_apart
from ecom_pipeline.job.summary import publish_metrics, publish_summary, run_metrics, summary_message
from ecom_pipeline.keys import CUSTOMERS_KEY, DIMS_PREFIX, PRODUCTS_KEY, REJECTS_PREFIX
from ecom_pipeline.warehouse.base import UpsertResult, Warehouse

logger = Logger(service="process_transactions")

DEFAULT_JOB_NAME = "process_transactions"
REQUIRED_ARGS = ("source_keys", "data_bucket", "warehouse_url")
OPTIONAL_ARGS = ("input_root", "output_root", "dims_root", "rejects_root", "small_max", "medium_max",
                 "summary_topic_arn", "metrics_namespace", "JOB_NAME", "JOB_RUN_ID")
# Glue's own run arguments: getResolvedOptions always returns them and refuses to be asked for them
# ("Using reserved arguments --JOB_RUN_ID"), so every run would fail at its first line.
GLUE_RESERVED_ARGS = frozenset({"JOB_ID", "JOB_RUN_ID", "SECURITY_CONFIGURATION"})


class JobFailed(RuntimeError):
    """The run finished what it could and then failed (e.g. a file with a wrong header); names the files."""

    def __init__(self, message: str, report: RunReport) -> None:
        super().__init__(message)
        self.report = report


class JobArgs(BaseModel):
    """The job's arguments (Glue `--name value` pairs, same names locally)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    source_keys: list[str]
    data_bucket: str
    warehouse_url: str
    input_root: str | None = None
    output_root: str | None = None
    dims_root: str | None = None
    rejects_root: str | None = None
    small_max: Decimal = DEFAULT_SMALL_MAX
    medium_max: Decimal = DEFAULT_MEDIUM_MAX
    summary_topic_arn: str | None = None
    metrics_namespace: str | None = None
    job_name: str = Field(DEFAULT_JOB_NAME, alias="JOB_NAME")
    job_run_id: str = Field(default_factory=lambda: f"local-{uuid.uuid4().hex[:12]}", alias="JOB_RUN_ID")

    @field_validator("source_keys", mode="before")
    @classmethod
    def _keys_from_json(cls, value: Any) -> Any:
        """Glue hands every argument over as a string: the keys arrive as a JSON array."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"--source_keys must be a JSON array of keys: {error}") from error
        if isinstance(value, list):
            value = list(dict.fromkeys(value))  # a key delivered twice is still one file
        return value

    @model_validator(mode="after")
    def _check(self) -> JobArgs:
        if not self.source_keys:
            raise ValueError("--source_keys is empty: nothing to process")
        if not Decimal(0) < self.small_max < self.medium_max:
            raise ValueError(f"need 0 < small_max < medium_max, got {self.small_max}, {self.medium_max}")
        return self

    @property
    def inputs(self) -> str:
        return self.input_root or f"s3://{self.data_bucket}/"

    @property
    def outputs(self) -> str:
        return self.output_root or f"s3://{self.data_bucket}/"

    @property
    def dims(self) -> str:
        return self.dims_root or io.resolve(self.inputs, DIMS_PREFIX)

    @property
    def rejects(self) -> str:
        return self.rejects_root or io.resolve(self.outputs, REJECTS_PREFIX)


@dataclass
class RunReport:
    """What a run did: the accounting (ACCOUNTING_KEYS + candidates + per_file) and any failed files."""

    run_id: str
    accounting: dict[str, Any]
    failed_files: list[tuple[str, str]] = field(default_factory=list)
    staged_uri: str | None = None
    reject_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_files


def parse_args(argv: list[str]) -> JobArgs:
    """Arguments as Glue passes them (`script --name value …`); unknown Glue arguments are ignored."""
    values = _resolved_options(argv)
    try:
        return JobArgs.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise SystemExit(f"invalid job arguments: {error}") from error


def _resolved_options(argv: list[str]) -> dict[str, Any]:
    try:
        from awsglue.utils import getResolvedOptions  # only on Glue
    except ImportError:
        parser = argparse.ArgumentParser(prog="process_transactions", allow_abbrev=False)
        for name in REQUIRED_ARGS:
            parser.add_argument(f"--{name}", required=True)
        for name in OPTIONAL_ARGS:
            parser.add_argument(f"--{name}")
        known, _ = parser.parse_known_args(argv[1:])
        return vars(known)
    # getResolvedOptions fails on a name that is absent, so ask only for the optional ones given.
    present = [name for name in OPTIONAL_ARGS if f"--{name}" in argv and name not in GLUE_RESERVED_ARGS]
    return dict(getResolvedOptions(argv, [*REQUIRED_ARGS, *present]))


def run_job(spark: SparkSession, args: JobArgs, warehouse: Warehouse | None = None) -> RunReport:
    """One run. Raises JobFailed after loading the good files when some file had to be rejected whole."""
    run_at = datetime.now(UTC)
    run_id = args.job_run_id
    logger.append_keys(run_id=run_id, job_name=args.job_name)
    logger.info("run started", files=len(args.source_keys))
    sources = io.source_files(args.source_keys, args.inputs, run_at.date())

    failed: list[tuple[str, str]] = []
    good: list[io.SourceFile] = []
    for source in sources:
        try:
            io.check_header(spark, source)
            good.append(source)
        except io.WrongHeader as error:
            failed.append((source.key, str(error)))
        except Exception as error:  # unreadable: named in the failure, the other files still load
            failed.append((source.key, f"{source.key}: cannot read: {error}"))
    for key, reason in failed:
        logger.error("file rejected whole", source_file=key, reason=reason)

    report = RunReport(run_id=run_id, accounting={}, failed_files=failed)
    per_file: dict[str, FileCounts] = {}
    upsert = UpsertResult(0, 0, 0)
    if good:
        try:
            per_file, upsert = _load(spark, args, good, run_id, run_at, report, warehouse)
        except Exception as error:
            if failed:  # the error that ends the run names them too, not only the log lines above
                error.add_note(f"also rejected whole: {', '.join(key for key, _ in failed)}")
            raise
    report.accounting = run_accounting(per_file, upsert)
    logger.info("run accounted", **{k: v for k, v in report.accounting.items() if k != "per_file"})
    # A run that loaded nothing (every file rejected whole) sends only its state change, as documented.
    if good and args.summary_topic_arn:
        subject, body = summary_message(args.job_name, run_id, list(args.source_keys), report.accounting,
                                        failed)
        publish_summary(args.summary_topic_arn, subject, body)
    if good and args.metrics_namespace:
        publish_metrics(args.metrics_namespace, args.job_name, run_metrics(report.accounting))
    if failed:
        names = ", ".join(key for key, _ in failed)
        raise JobFailed(f"{len(failed)} file(s) rejected whole: {names}. "
                        + " | ".join(reason for _, reason in failed), report)
    return report


@dataclass
class Staged:
    """What staging left behind: per-file counts, the staged batch, the rejects not yet published."""

    per_file: dict[str, FileCounts]
    staged_uri: str
    rejects_uri: str

    @property
    def candidates(self) -> int:
        return sum(counts.candidates for counts in self.per_file.values())


def stage_batch(spark: SparkSession, args: JobArgs, good: list[io.SourceFile], run_id: str,
                run_at: datetime) -> Staged:
    """Read, validate, enrich and collapse `good` files; write staged Parquet and rejects; count per file.

    One parse and one shuffle: every row is validated once; the valid rows are hash-partitioned by
    transaction_id and the rejects set apart in a partition of their own (`shuffled_apart`). The two
    writes run at the same time over that one shuffle: the staging write collapses the valid rows inside
    their partitions, the rejects write reads only the rejects' partition. The counts are observed
    metrics of the writes, each identity's sides taken at different points (accounting): rows read as
    they leave the shuffle on either side, valid rows as they enter the collapse, candidates and
    duplicates as the collapse ranks them, rejects by reason as they reach the rejects writer. No extra
    Spark job.
    """
    products, customers = io.read_dims(spark, io.resolve(args.dims, PRODUCTS_KEY.removeprefix(DIMS_PREFIX)),
                                       io.resolve(args.dims, CUSTOMERS_KEY.removeprefix(DIMS_PREFIX)))
    keys = [source.key for source in good]
    prepared = transforms.prepare(
        transforms.validate(io.read_transactions(spark, good), products, customers))
    valid, rejected = shuffled_apart(prepared, "transaction_id", transforms.rejected())
    entering, ranking, set_apart, rejecting = (
        Observation(f"{name}-{run_id}") for name in ("read", "ranked", "set-apart", "rejects"))
    staged_uri = io.staging_uri(args.outputs, run_id)
    rejects_uri = io.rejects_temporary_uri(args.outputs, run_id)
    rejects = transforms.rejects(rejected.observe(set_apart, *_set_apart_exprs(len(keys))), keys,
                                 [source.day for source in good], run_id)
    # The two writes run side by side: Spark computes their shared shuffle once for both, and the
    # rejects' planning, task and commit take time the staging write leaves a core free in.
    beside_group = f"rejects-write-{run_id}"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rejects-write") as beside:
        rejects_written = beside.submit(inheritable_thread_target(_in_job_group), spark, beside_group,
                                        io.write_rejects,
                                        rejects.observe(rejecting, *_rejects_exprs(len(keys))), rejects_uri)
        try:
            ranked = transforms.ranked(valid.observe(entering, *_entering_exprs(len(keys))))
            winners = transforms.winners(ranked.observe(ranking, *_ranking_exprs(len(keys))))
            io.write_staged(transforms.to_facts(winners, keys=keys, run_id=run_id, run_at=run_at,
                                                small_max=args.small_max, medium_max=args.medium_max),
                            staged_uri)
        except BaseException as error:  # the rejects write is stopped and waited for, its own error told
            if (also := _stopped(spark, beside_group, rejects_written)) is not None:
                error.add_note(f"the rejects write failed too: {described(also)}")
            raise
        rejects_written.result()  # raises the rejects write's error, if any
    per_file = file_counts(keys, _observed_per_file(keys, entering.get, ranking.get, set_apart.get,
                                                    rejecting.get))
    check_staged(per_file)
    return Staged(per_file=per_file, staged_uri=staged_uri, rejects_uri=rejects_uri)


@contextmanager
def _dims_line_told() -> Iterator[None]:
    """A dims line Spark's CSV reader cannot parse at all told as such: its exception says only `Index
    20480 out of bounds`. It surfaces wherever the broadcast of the dims is awaited, planning included."""
    try:
        yield
    except BaseException as error:
        if _CSV_READER_GAVE_UP in (java_message(error) or ""):
            error.add_note(f"a line of the dims files ({PRODUCTS_KEY}, {CUSTOMERS_KEY}) is one Spark's CSV "
                           "reader cannot parse at all (more than its 20,480 fields?): fix or remove that "
                           "line and run the files again")
        raise


def _in_job_group(spark: SparkSession, group: str, write: Callable[..., object], *args: Any) -> None:
    """`write(*args)` with its Spark jobs in `group` (this thread's only), so they can be cancelled."""
    spark.sparkContext.setJobGroup(group, "the run's rejects write")
    write(*args)


def _stopped(spark: SparkSession, group: str, written: Future[None]) -> BaseException | None:
    """Once the staging write has failed, the rejects write beside it is of no use (a failed run publishes
    no rejects): cancel its jobs and wait for it to end. Its error, unless it is that cancellation.

    Spark 3.5 cancels only a group's running jobs, and the write may be between jobs (planning, commit):
    the cancel is repeated until it ends.
    """
    while not written.done():
        spark.sparkContext.cancelJobGroup(group)
        wait([written], timeout=_CANCEL_AGAIN_S)
    error = written.exception()
    cancelled = error is not None and f"cancelled job group {group}" in (java_message(error) or "")
    return None if cancelled else error


_CANCEL_AGAIN_S = 0.5

# What Spark's CSV reader (univocity) throws for a line it cannot read at all, such as one with more
# fields than it holds: not a malformed row it can set aside, but the end of the task. The dims are read
# by it; the transactions are not (`lines`: such a line is a malformed row there).
_CSV_READER_GAVE_UP = "com.univocity.parsers.common.TextParsingException"


def _load(spark: SparkSession, args: JobArgs, good: list[io.SourceFile], run_id: str, run_at: datetime,
          report: RunReport, warehouse: Warehouse | None) -> tuple[dict[str, FileCounts], UpsertResult]:
    with _dims_line_told():
        staged = stage_batch(spark, args, good, run_id, run_at)
    report.staged_uri = staged.staged_uri
    upsert = _upsert(args, staged.staged_uri, staged.candidates, warehouse)
    # Published once the facts are in: a run failing before then leaves its rejects in the staging
    # prefix (expired there with the staged batch), not beside the rejects of the run that retries it.
    report.reject_files = io.publish_rejects(spark, staged.rejects_uri, args.rejects, run_id)
    io.delete_tree(spark, staged.staged_uri)  # loaded: the staged copy has served its purpose
    return staged.per_file, upsert


def _per_file(files: int, conditions: dict[str, Column]) -> list[Column]:
    """One count per source file and condition, named `<file index>.<name>`."""
    return [F.count(F.when((F.col(FILE_INDEX) == index) & condition, 1)).alias(f"{index}.{name}")
            for index in range(files) for name, condition in conditions.items()]


def _entering_exprs(files: int) -> list[Column]:
    """Over the rows of the collapse's side of the shuffle as they enter it: rows read and valid."""
    return _per_file(files, {"rows_read": F.lit(True), "rows_valid": ~transforms.rejected()})


def _set_apart_exprs(files: int) -> list[Column]:
    """Over the rows of the rejects' side of the shuffle: the rest of the rows read."""
    return _per_file(files, {"rows_read": F.lit(True)})


def _ranking_exprs(files: int) -> list[Column]:
    """Over the valid rows as the collapse ranks them: the one kept per key and the duplicates dropped."""
    rank = F.col(transforms.RANK)
    return _per_file(files, {"candidates": rank == 1, "duplicates_collapsed": rank > 1})


def _rejects_exprs(files: int) -> list[Column]:
    """Over the rows reaching the rejects writer: one count per reject code."""
    reason = F.col(REJECT_REASON)
    return _per_file(files, {code.value: reason == code.value for code in REJECT_REASONS})


def _observed_per_file(keys: list[str], *observed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The observations' counts regrouped by source file (accounting.file_counts input); counts of one
    name in several observations add up (rows read are counted on each side of the shuffle)."""
    if not all(observed):
        raise AccountingError("a write of the run reported no counts")
    per_file: dict[str, dict[str, Any]] = {key: {} for key in keys}
    for counts in observed:
        for name, value in counts.items():
            index, count = name.split(".", 1)
            mine = per_file[keys[int(index)]]
            mine[count] = mine.get(count, 0) + value
    return per_file


def _upsert(args: JobArgs, staged_uri: str, candidates: int, warehouse: Warehouse | None) -> UpsertResult:
    if candidates == 0:
        return UpsertResult(0, 0, 0)
    # The rows Spark counted into the batch: the warehouse aborts the upsert if it stages another number.
    if warehouse is not None:
        return warehouse.upsert_facts(staged_uri, expected_rows=candidates)
    from ecom_pipeline.warehouse import open_warehouse

    opened = open_warehouse(args.warehouse_url)
    try:
        return opened.upsert_facts(staged_uri, expected_rows=candidates)
    finally:
        opened.close()


def main(argv: list[str] | None = None, *, raise_on_failure: bool = False) -> int:
    """Parse arguments, run, log the outcome; 0 on success, 1 on a failed run.

    The Glue script passes raise_on_failure=True: Glue marks a run FAILED (with the message) only when
    the script raises.
    """
    import sys

    args = parse_args(list(sys.argv if argv is None else argv))
    spark = get_spark()
    try:
        report = run_job(spark, args)
    except JobFailed as error:
        logger.error("run failed", error=str(error))
        if raise_on_failure:
            raise
        return 1
    logger.info("run succeeded", run_id=report.run_id)
    return 0
