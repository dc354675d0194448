"""Local Glue: execute the real job for every run started through glue:StartJobRun.

moto records job runs (with their merged arguments) but never executes them. This runner finds
runs still STARTING, stages their S3 objects to a directory (local Spark has no s3:// filesystem),
runs `ecom_pipeline.job.entry.run_job` on one warm SparkSession, uploads the rejects back to the
data bucket under the same keys, records the final state on moto's run record (so glue:GetJobRun
answers like AWS) and emits the "Glue Job State Change" event.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecom_pipeline.contracts import SOURCE_KEYS_ARG
from ecom_pipeline.errors import described
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY
from ecom_pipeline.local.eventbridge import glue_state_change_event
from ecom_pipeline.local.moto_server import LocalAws
from ecom_pipeline.local.stack import GlueJobSpec, Stack

log = logging.getLogger(__name__)

SUCCEEDED, FAILED, RUNNING, STARTING = "SUCCEEDED", "FAILED", "RUNNING", "STARTING"
# AWS Glue's own wording for a run that ended well.
SUCCESS_MESSAGE = "Job run succeeded"


@dataclass
class GlueRun:
    """One executed run, as the demo summary and the tests need it."""

    job_name: str
    run_id: str
    source_keys: list[str]
    state: str
    seconds: float
    message: str
    accounting: dict[str, Any] = field(default_factory=dict)
    staged_dir: str | None = None
    rejects: list[str] = field(default_factory=list)


def _job_runs_backend(stack: Stack) -> Any:
    """moto's in-process Glue backend (the server thread shares this process)."""
    from moto.glue.models import glue_backends

    return glue_backends[stack.account_id][stack.region]


def hold_job_runs_in_starting() -> None:
    """Stop moto from advancing job runs on its own (it would report SUCCEEDED without running)."""
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual",
                                                                          "times": 10**12})


def release_job_runs() -> None:
    """Give moto's default behaviour back (other users of moto in this process expect it)."""
    from moto.moto_api import state_manager

    state_manager.unset_transition(model_name="glue::job_run")


def _set_state(job_run: Any, state: str, message: str | None, started: float) -> None:
    job_run.status = state
    job_run.modified_on = datetime.now(UTC)
    if state in (SUCCEEDED, FAILED):
        job_run.completed_on = job_run.modified_on
        seconds = int(time.monotonic() - started)
        error = message if state == FAILED else None
        plain = job_run.as_dict

        def as_dict() -> dict[str, Any]:
            # moto's record has no ErrorMessage and a fixed ExecutionTime; add what AWS returns.
            data: dict[str, Any] = plain()
            data["ExecutionTime"] = seconds
            if error:
                data["ErrorMessage"] = error
            return data

        job_run.as_dict = as_dict


class GlueRunner:
    """Runs started job runs of the stack's Glue jobs, one at a time, on a warm SparkSession."""

    def __init__(self, aws: LocalAws, stack: Stack, emit: Callable[[dict[str, Any]], Any],
                 warehouse_url: str, work_dir: Path,
                 spark_factory: Callable[[], Any] | None = None) -> None:
        self.aws = aws
        self.stack = stack
        self.emit = emit
        self.warehouse_url = warehouse_url
        self.work_dir = work_dir
        self._spark_factory = spark_factory
        self._spark: Any = None
        self._warming: threading.Thread | None = None
        self._warm_error: BaseException | None = None
        self.runs: list[GlueRun] = []
        hold_job_runs_in_starting()

    def warm_up(self, jvm_log: Path | None = None) -> None:
        """Start the JVM in the background (it takes seconds); the first run waits for it.
        With `jvm_log`, the JVM's console output goes to that file instead of the terminal."""
        if self._spark is not None or self._warming is not None:
            return

        def create() -> None:
            try:
                with _stderr_to(jvm_log):
                    self._spark = self._new_spark()
            except BaseException as exc:  # re-raised by the first run that needs Spark
                self._warm_error = exc

        self._warming = threading.Thread(target=create, name="spark-warm-up", daemon=True)
        self._warming.start()

    def close(self) -> None:
        """Wait for a warm-up still in progress and hand moto its job-run behaviour back. The Spark
        session stays up: it belongs to whoever created it (tests reuse one for the whole session)."""
        if self._warming is not None:
            self._warming.join()
        release_job_runs()

    def _new_spark(self) -> Any:
        if self._spark_factory is not None:
            return self._spark_factory()
        from ecom_pipeline.job.spark import get_spark

        return get_spark()

    @property
    def spark(self) -> Any:
        if self._warming is not None:
            self._warming.join()
            self._warming = None
            if self._warm_error is not None:
                raise self._warm_error
        if self._spark is None:
            self._spark = self._new_spark()
        return self._spark

    def pending(self) -> list[tuple[GlueJobSpec, Any]]:
        backend = _job_runs_backend(self.stack)
        found = []
        for spec in self.stack.glue_jobs.values():
            job = backend.jobs.get(spec.name)
            for job_run in job.job_runs if job else []:
                if job_run._status == STARTING:
                    found.append((spec, job_run))
        return found

    def step(self) -> int:
        """Execute every run that is waiting; returns how many ran."""
        pending = self.pending()
        for spec, job_run in pending:
            self._execute(spec, job_run)
        return len(pending)

    # --- one run -------------------------------------------------------------------------------------
    def _execute(self, spec: GlueJobSpec, job_run: Any) -> GlueRun:
        from ecom_pipeline.job.entry import JobFailed, parse_args, run_job

        started = time.monotonic()
        run_id = job_run.job_run_id
        _set_state(job_run, RUNNING, None, started)
        arguments = dict(job_run.arguments or {})
        keys = _source_keys(arguments)
        stage = self.work_dir / run_id
        input_dir, output_dir = stage / "input", stage / "output"
        run = GlueRun(spec.name, run_id, keys, RUNNING, 0.0, "")
        report = None
        try:
            self._stage_inputs(arguments.get("--data_bucket", ""), keys, input_dir)
            argv = self._argv(spec, run_id, arguments, input_dir, output_dir)
            try:
                args = parse_args(argv)
            except SystemExit as exc:  # the job's parser reports bad arguments this way
                raise ValueError(str(exc)) from exc
            report = run_job(self.spark, args)
            run.state, run.message = SUCCEEDED, SUCCESS_MESSAGE
        except JobFailed as exc:
            report = exc.report
            run.state, run.message = FAILED, f"JobFailed: {exc}"
        except Exception as exc:
            log.exception("Glue run %s failed", run_id)
            run.state, run.message = FAILED, described(exc)
        if report is not None:
            run.accounting = report.accounting
            run.staged_dir = report.staged_uri
            try:  # a failure here still ends the run, with its state change, never leaves it RUNNING
                run.rejects = self._upload_rejects(arguments.get("--data_bucket", ""), report.reject_files,
                                                   output_dir)
            except Exception as exc:
                log.exception("Glue run %s: rejects not uploaded", run_id)
                run.state, run.message = FAILED, f"the rejects could not be uploaded: {described(exc)}"
        run.seconds = time.monotonic() - started
        _set_state(job_run, run.state, run.message, started)
        self.runs.append(run)
        self.emit(glue_state_change_event(spec.name, run_id, run.state, run.message, self.stack.account_id,
                                          self.stack.region))
        # A failed run keeps its staged inputs and outputs for a look; a good one leaves nothing behind.
        shutil.rmtree(stage if run.state == SUCCEEDED else input_dir, ignore_errors=True)
        return run

    def _argv(self, spec: GlueJobSpec, run_id: str, arguments: dict[str, str], input_dir: Path,
              output_dir: Path) -> list[str]:
        """Glue's argv: the run's arguments (defaults merged by StartJobRun), with local roots and the
        local warehouse in place of S3 and Redshift."""
        local = {
            "--warehouse_url": self.warehouse_url,
            # Not Path.as_uri(): Hadoop's paths do not decode it, so a space (%20) would name no file.
            "--input_root": f"file://{input_dir.resolve()}/",
            "--output_root": f"file://{output_dir.resolve()}/",
            "--JOB_NAME": spec.name,
            "--JOB_RUN_ID": run_id,
        }
        argv = ["process_transactions.py"]
        for name, value in {**arguments, **local}.items():
            argv += [name, str(value)]
        return argv

    def _stage_inputs(self, bucket: str, keys: list[str], input_dir: Path) -> None:
        s3 = self.aws.client("s3")
        for key in [*keys, PRODUCTS_KEY, CUSTOMERS_KEY]:
            target = input_dir / key
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                s3.download_file(bucket, key, str(target))
            except s3.exceptions.ClientError as exc:
                # A missing object is the job's to report (it names the file in its failure).
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                    raise
                log.warning("s3://%s/%s is not there; the job will report it", bucket, key)

    def _upload_rejects(self, bucket: str, reject_uris: list[str], output_dir: Path) -> list[str]:
        """Rejects go back to the data bucket under the same keys the job would write on AWS."""
        s3 = self.aws.client("s3")
        root = output_dir.resolve()
        keys = []
        for uri in reject_uris:
            path = Path(uri.removeprefix("file:"))
            key = path.resolve().relative_to(root).as_posix()
            s3.upload_file(str(path), bucket, key)
            keys.append(key)
        return keys


@contextmanager
def _stderr_to(path: Path | None) -> Iterator[None]:
    """Point file descriptor 2 at `path` while a child process (the JVM) starts and inherits it."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with path.open("ab") as target:
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _source_keys(arguments: dict[str, str]) -> list[str]:
    try:
        keys = json.loads(arguments.get(SOURCE_KEYS_ARG, "[]"))
    except ValueError:
        return []
    return [str(k) for k in keys] if isinstance(keys, list) else []
