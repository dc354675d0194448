"""`ecom-pipeline demo`: the whole event-driven pipeline against emulated AWS, with scenarios.

The demo only does what a person or the schedule would do in AWS (invoke the generator, drop or fix
a file, run the deploy-time warehouse setup); everything after a file lands in S3 is driven by the
events, through the real handlers and the real Glue job.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY, TRANSACTIONS_PREFIX, transaction_key
from ecom_pipeline.local.dispatcher import DeliveryFailure, Email
from ecom_pipeline.local.glue_runner import SUCCEEDED, GlueRun
from ecom_pipeline.local.handlers import REPO_ROOT
from ecom_pipeline.local.runtime import LocalRuntime, RuntimeOptions
from ecom_pipeline.local.stack import Stack
from ecom_pipeline.local.state import SavedObject, restore_buckets, save_buckets, upload_objects
from ecom_pipeline.warehouse import redacted

SCENARIOS = ("default", "late-updates", "bad-file", "backfill")
DEFAULT_START = date(2024, 3, 1)
# A header a person might well produce by hand: right data, wrong column names.
WRONG_HEADER = "txn_id,customer,product,qty,unit_price,date,payment,state"
# Scenario knobs: more status updates for late-updates; smaller SQS batches for backfill, so the
# 30 files become several Glue runs and the Glue concurrency limit comes into play.
LATE_UPDATE_RATE = 0.2
BACKFILL_PARAMETERS = {"TriggerBatchSize": "10"}


@dataclass
class DemoOptions:
    days: int = 3
    rows_per_day: int = 20_000
    seed: int = 42
    start: date = DEFAULT_START
    fault_rate: float | None = None  # None: the generator function's FAULT_RATE (template parameter)
    scenario: str = "default"
    warehouse_url: str | None = None
    state_dir: Path = Path(".local")
    template: Path = REPO_ROOT / "template.yaml"

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        if self.days < 1:
            raise ValueError("--days must be at least 1")
        from ecom_pipeline.generator import GenerationRequest

        # The generator's own bounds (seed, rows, calendar), checked before anything starts; the
        # bad-file scenario drops one day more.
        dropped = self.days + (self.scenario == "bad-file")
        GenerationRequest.model_validate(self.generation(self.start, dropped))
        self.state_dir = self.state_dir.resolve()

    def generation(self, start: date, days: int) -> dict[str, Any]:
        """The generator's options for `days` days from `start`: its Lambda payload."""
        fields: dict[str, Any] = {"start": start.isoformat(), "days": days, "rows_per_day": self.rows_per_day,
                                  "seed": self.seed}
        if self.fault_rate is not None:
            fields["fault_rate"] = self.fault_rate
        return fields

    @property
    def warehouse(self) -> str:
        return self.warehouse_url or f"duckdb://{self.state_dir / 'warehouse.duckdb'}"

    @property
    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


@dataclass
class DemoResult:
    """What one demo run did, for the summary, the report and the tests."""

    options: DemoOptions
    stack: Stack
    data_bucket: str
    archive_bucket: str
    generated: list[str] = field(default_factory=list)
    already_archived: list[str] = field(default_factory=list)
    waiting_before: list[str] = field(default_factory=list)
    runs: list[GlueRun] = field(default_factory=list)
    expected_failures: list[str] = field(default_factory=list)  # run ids failed on purpose (bad-file)
    archived_now: list[str] = field(default_factory=list)
    archive_keys: list[str] = field(default_factory=list)
    data_keys: list[str] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    failures: list[DeliveryFailure] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    invocations: dict[str, int] = field(default_factory=dict)  # function code dir -> calls
    invocation_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def unexpected_failures(self) -> list[GlueRun]:
        """Runs that did not succeed, but those the bad-file scenario made fail on purpose."""
        return [r for r in self.runs if r.state != SUCCEEDED and r.run_id not in self.expected_failures]

    @property
    def processed(self) -> list[str]:
        return [k for run in self.runs if run.state == SUCCEEDED for k in run.source_keys]

    def total(self, key: str) -> int:
        return sum(int(run.accounting.get(key, 0) or 0) for run in self.runs)

    @property
    def rejects_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for run in self.runs:
            for reason, n in (run.accounting.get("rejects_by_reason") or {}).items():
                out[reason] = out.get(reason, 0) + int(n)
        return {k: v for k, v in sorted(out.items()) if v}


class Narrator:
    """Where the demo tells what happens; the CLI renders it with rich, tests stay quiet."""

    def stage(self, title: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def say(self, text: str) -> None:
        """One line of narration."""

    def progress(self, runtime: LocalRuntime, result: DemoResult) -> None:
        """Called after every step of the event flow."""


@contextlib.contextmanager
def _timed(result: DemoResult, name: str, narrator: Narrator) -> Iterator[None]:
    started = time.perf_counter()
    with narrator.stage(name):
        yield
    result.timings[name] = result.timings.get(name, 0.0) + time.perf_counter() - started


def run_demo(options: DemoOptions, narrator: Narrator | None = None,
             spark_factory: Callable[[], Any] | None = None) -> DemoResult:
    """Run the scenario end to end; returns what happened (the caller renders and reports it)."""
    narrator = narrator or Narrator()
    options.state_dir.mkdir(parents=True, exist_ok=True)
    mirror = options.state_dir / "s3"
    parameters = BACKFILL_PARAMETERS if options.scenario == "backfill" else {}
    runtime_options = RuntimeOptions(template=options.template, warehouse_url=options.warehouse,
                                     state_dir=options.state_dir, parameters=dict(parameters),
                                     spark_factory=spark_factory)

    held: list[SavedObject] = []

    def restore(aws: Any, stack: Stack) -> None:
        data_bucket = str(stack.outputs["DataBucketName"])
        held.extend(restore_buckets(aws.client("s3"), mirror, _kept_buckets(stack),
                                    hold=lambda b, k: b == data_bucket and k.startswith(TRANSACTIONS_PREFIX)))

    started = time.perf_counter()
    with LocalRuntime.start(runtime_options, before_notifications=restore) as rt:
        result = DemoResult(options, rt.stack, rt.stack.outputs["DataBucketName"],
                            rt.stack.outputs["ArchiveBucketName"])
        result.timings["emulated AWS up"] = time.perf_counter() - started
        _flow(rt, result, narrator, held)
        with _timed(result, "save local state", narrator):
            save_buckets(rt.aws.client("s3"), mirror, _kept_buckets(rt.stack))
            # What the template became locally: names, functions, event sources, rules.
            (options.state_dir / "stack.json").write_text(rt.stack.to_json(), encoding="utf-8")
        _collect(rt, result)
    return result


def _kept_buckets(stack: Stack) -> list[str]:
    return [str(stack.outputs["DataBucketName"]), str(stack.outputs["ArchiveBucketName"])]


def _flow(rt: LocalRuntime, result: DemoResult, narrator: Narrator, held: list[SavedObject]) -> None:
    options = result.options
    archived = set(rt.list_keys(result.archive_bucket, TRANSACTIONS_PREFIX))
    waiting = {key for _, key, _ in held}
    result.already_archived = [transaction_key(d) for d in options.day_list if transaction_key(d) in archived]
    result.waiting_before = sorted(waiting)
    todo = [d for d in options.day_list if transaction_key(d) not in archived | waiting]
    if result.already_archived:
        narrator.say(f"{len(result.already_archived)} of {options.days} day(s) were processed and archived "
                     "by an earlier run: they are not generated or loaded again.")
    if held:
        # Files an earlier run left in landing: dropped again now that notifications are on.
        _warm_spark(rt, result)
        upload_objects(rt.aws.client("s3"), held)
        narrator.say(f"{len(held)} file(s) an earlier run left unprocessed in landing are dropped again.")
        _setup_once(rt, result, narrator)
        _events(rt, result, narrator)
    if options.scenario == "late-updates":
        # Day by day, like the daily schedule: each day's file carries updates to earlier days.
        for day in todo:
            _generate(rt, result, narrator, [day], update_rate=LATE_UPDATE_RATE)
            _setup_once(rt, result, narrator)
            _events(rt, result, narrator)
    else:
        _generate(rt, result, narrator, todo)
        _setup_once(rt, result, narrator)
        _events(rt, result, narrator)
    if options.scenario == "bad-file":
        _bad_file(rt, result, narrator)
    if options.scenario == "late-updates":
        _tell_late_updates(rt, result, narrator)
    if options.scenario == "backfill":
        _tell_backfill(rt, result, narrator)


def _generate(rt: LocalRuntime, result: DemoResult, narrator: Narrator, days: list[date],
              update_rate: float | None = None) -> None:
    if not days:
        return
    _warm_spark(rt, result)
    with _timed(result, "generator", narrator):
        for first, count in _contiguous(days):
            payload = result.options.generation(first, count)
            if update_rate is not None:
                payload["update_rate"] = update_rate
            report = rt.invoke("generator", payload)
            result.generated.extend(report.get("written", []))
    narrator.say(f"generator wrote {len(days)} day file(s) to s3://{result.data_bucket}/transactions/")


def _warm_spark(rt: LocalRuntime, result: DemoResult) -> None:
    """Files are about to land: start the JVM now, so it is up when the first Glue run needs it."""
    rt.glue.warm_up(result.options.state_dir / "logs" / "spark.log")


def _contiguous(days: list[date]) -> list[tuple[date, int]]:
    runs: list[tuple[date, int]] = []
    for day in sorted(days):
        if runs and runs[-1][0] + timedelta(days=runs[-1][1]) == day:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((day, 1))
    return runs


def _setup_once(rt: LocalRuntime, result: DemoResult, narrator: Narrator) -> None:
    """The deploy-time setup (a custom resource in AWS): warehouse schema and the dims from S3."""
    if "warehouse setup" in result.timings:
        return
    from ecom_pipeline.warehouse import open_warehouse

    with _timed(result, "warehouse setup", narrator), tempfile.TemporaryDirectory() as tmp:
        s3 = rt.aws.client("s3")
        paths = []
        for key in (PRODUCTS_KEY, CUSTOMERS_KEY):
            path = Path(tmp) / Path(key).name
            s3.download_file(result.data_bucket, key, str(path))
            paths.append(str(path))
        warehouse = open_warehouse(result.options.warehouse)
        try:
            warehouse.apply_schema()
            counts = warehouse.load_dims(paths[0], paths[1])
        finally:
            warehouse.close()
    narrator.say("warehouse ready: schema applied, dims loaded "
                 + ", ".join(f"{table} {n:,}" for table, n in counts.items()))


def _events(rt: LocalRuntime, result: DemoResult, narrator: Narrator) -> None:
    with _timed(result, "event flow", narrator):
        rt.run_until_idle(on_step=lambda _work: narrator.progress(rt, result))
    result.runs = list(rt.glue.runs)


def _bad_file(rt: LocalRuntime, result: DemoResult, narrator: Narrator) -> None:
    """Drop a day file with a wrong header, watch the run fail and notify, then fix and re-drop it."""
    day = result.options.start + timedelta(days=result.options.days)
    key = transaction_key(day)
    if key in rt.list_keys(result.archive_bucket, key):
        narrator.say(f"bad-file: {key} was fixed and archived by an earlier run; nothing to show again.")
        return
    _warm_spark(rt, result)
    good = _generated_day(result.options, day)
    lines = good.split("\n", 1)
    s3 = rt.aws.client("s3")
    narrator.say(f"bad-file: dropping {key} with the header {WRONG_HEADER!r}")
    s3.put_object(Bucket=result.data_bucket, Key=key, Body=(WRONG_HEADER + "\n" + lines[1]).encode())
    result.generated.append(key)
    emails_before = len(rt.outbox.emails)
    _events(rt, result, narrator)
    failed = [r for r in rt.glue.runs if key in r.source_keys and r.state != SUCCEEDED]
    result.expected_failures.extend(r.run_id for r in failed)
    result.notes.append(f"bad file {key}: run {'FAILED' if failed else 'did not fail'}; "
                        f"still in the data bucket: {key in rt.list_keys(result.data_bucket, key)}; "
                        f"archived: {key in rt.list_keys(result.archive_bucket, key)}")
    for email in rt.outbox.emails[emails_before:]:
        if '"FAILED"' in email.body or "FAILED" in email.subject:
            narrator.say(f"failure e-mail to {email.to}: {email.body[:300]}")
    narrator.say(f"bad-file: fixing the header and dropping {key} again")
    s3.put_object(Bucket=result.data_bucket, Key=key, Body=good.encode())
    _events(rt, result, narrator)
    fixed = [r for r in rt.glue.runs if key in r.source_keys and r.state == SUCCEEDED]
    result.notes.append(f"fixed file {key}: run {'SUCCEEDED' if fixed else 'did not succeed'}; "
                        f"archived: {key in rt.list_keys(result.archive_bucket, key)}")


def _tell_late_updates(rt: LocalRuntime, result: DemoResult, narrator: Narrator) -> None:
    """Show transactions whose status changed in a later day's file, and what the warehouse kept."""
    history: dict[str, list[tuple[str, str]]] = {}
    s3 = rt.aws.client("s3")
    for key in rt.list_keys(result.archive_bucket, TRANSACTIONS_PREFIX):
        body = s3.get_object(Bucket=result.archive_bucket, Key=key)["Body"].read().decode()
        day = key.rsplit("_", 1)[-1].removesuffix(".csv")
        for line in body.splitlines()[1:]:
            fields = line.split(",")
            if len(fields) == 8 and fields[0]:
                history.setdefault(fields[0], []).append((day, fields[7]))
    changed = {t: h for t, h in history.items()
               if len({day for day, _ in h}) > 1 and len({status for _, status in h}) > 1}
    note = f"late updates: {len(changed):,} transactions got a newer status from a later day's file"
    result.notes.append(note)
    narrator.say(note)
    sample = sorted(changed)[:5]
    if not sample:
        return
    from ecom_pipeline.warehouse import open_warehouse

    ids = ", ".join(f"'{t}'" for t in sample)  # generated ids (TXN + digits): no quoting issue
    warehouse = open_warehouse(result.options.warehouse)
    try:
        stored = dict(warehouse.query(
            f"SELECT transaction_id, status FROM fact_transactions WHERE transaction_id IN ({ids})").rows)
    finally:
        warehouse.close()
    for txn in sample:
        path = " → ".join(f"{status} ({day[5:]})" for day, status in changed[txn])
        line = f"{txn}: {path}; warehouse holds {stored.get(txn, 'nothing')}"
        result.notes.append(line)
        narrator.say("  " + line)


def _tell_backfill(rt: LocalRuntime, result: DemoResult, narrator: Narrator) -> None:
    processed = [k for r in rt.glue.runs if r.state == SUCCEEDED for k in r.source_keys]
    once = len(processed) == len(set(processed)) and set(processed) >= set(result.generated)
    note = (f"backfill: {len(result.generated)} files in {len(rt.glue.runs)} Glue run(s); "
            f"{rt.dispatcher.returned_to_queue} message(s) went back to the queue (Glue refused a run "
            f"beyond MaxConcurrentRuns) and were retried; every file processed exactly once: {once}")
    result.notes.append(note)
    narrator.say(note)


def _generated_day(options: DemoOptions, day: date) -> str:
    """The day file the generator would write (same seed), produced with the generator library."""
    from ecom_pipeline.generator import GenerationRequest, LocalSink, generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(GenerationRequest.model_validate(options.generation(day, 1)), LocalSink(tmp))
        return (Path(tmp) / transaction_key(day)).read_text(encoding="utf-8")


def _collect(rt: LocalRuntime, result: DemoResult) -> None:
    result.runs = list(rt.glue.runs)
    result.archive_keys = sorted(rt.list_keys(result.archive_bucket, TRANSACTIONS_PREFIX))
    result.data_keys = sorted(rt.list_keys(result.data_bucket, TRANSACTIONS_PREFIX))
    before = set(result.already_archived)
    result.archived_now = [k for k in result.archive_keys if k not in before]
    result.emails = list(rt.outbox.emails)
    result.failures = list(rt.dispatcher.failures)
    for name in ("TriggerDLQUrl", "ArchiverDLQUrl"):
        url = rt.stack.outputs.get(name)
        if url:
            attrs = rt.aws.client("sqs").get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            result.dead_letters[name.removesuffix("Url")] = int(attrs["ApproximateNumberOfMessages"])
    for inv in rt.invoker.invocations:
        code = rt.stack.functions[inv.function].code_dir
        result.invocations[code] = result.invocations.get(code, 0) + 1
        result.invocation_seconds[code] = result.invocation_seconds.get(code, 0.0) + inv.seconds


def summary_json(result: DemoResult) -> str:
    """A machine-readable summary (written to .local/summary.json)."""
    return json.dumps({
        "scenario": result.options.scenario,
        "warehouse": redacted(result.options.warehouse),
        "generated": result.generated,
        "already_archived": result.already_archived,
        "processed": result.processed,
        "archived_now": result.archived_now,
        "runs": [{"run_id": r.run_id, "state": r.state, "files": r.source_keys,
                  "seconds": round(r.seconds, 2), "message": r.message,
                  "accounting": {k: v for k, v in r.accounting.items() if k != "per_file"}}
                 for r in result.runs],
        "rejects_by_reason": result.rejects_by_reason,
        "emails": len(result.emails),
        "dead_letters": result.dead_letters,
        "delivery_failures": [f.__dict__ for f in result.failures],
        "timings_s": {k: round(v, 2) for k, v in result.timings.items()},
        "notes": result.notes,
    }, indent=2, default=str)
