"""`ecom-pipeline demo`: the whole event-driven pipeline on this machine (emulated AWS, local Spark)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table

from ecom_pipeline.cli import app
from ecom_pipeline.cli.errors import options_told
from ecom_pipeline.errors import described
from ecom_pipeline.local.demo import (
    DEFAULT_START,
    SCENARIOS,
    DemoOptions,
    DemoResult,
    Narrator,
    run_demo,
    summary_json,
)
from ecom_pipeline.local.handlers import REPO_ROOT
from ecom_pipeline.local.runtime import FlowStuck, LocalRuntime
from ecom_pipeline.warehouse import redacted


class RichNarrator(Narrator):
    """Stages as spinners, one line per event worth telling, a live count of runs and archived files."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Any = None
        self._stage = ""
        self._last = 0.0

    @contextlib.contextmanager
    def stage(self, title: str) -> Iterator[None]:
        started = time.perf_counter()
        self._stage = title
        # Live without stdout redirection: handler output must keep going to the log file.
        spinner = Spinner("dots", text=f"[bold cyan]{title}[/]…")
        with Live(spinner, console=self.console, transient=True, redirect_stdout=False,
                  redirect_stderr=False, refresh_per_second=8):
            self._status = spinner
            yield
        self._status = None
        self.console.print(f"[green]✓[/] {title} [dim]({time.perf_counter() - started:.1f}s)[/]")

    def say(self, text: str) -> None:
        self.console.print(f"  {text}", highlight=False)

    def progress(self, runtime: LocalRuntime, result: DemoResult) -> None:
        if self._status is None or time.perf_counter() - self._last < 0.5:
            return
        self._last = time.perf_counter()
        runs = runtime.glue.runs
        ok = sum(r.state == "SUCCEEDED" for r in runs)
        self._status.update(text=
            f"[bold cyan]{self._stage}[/]: {len(runs)} Glue run(s) ({ok} succeeded), "
            f"{len(runtime.outbox.emails)} e-mail(s), "
            f"{sum(i.function == 'ArchiverFunction' for i in runtime.invoker.invocations)} archiver call(s)…")


@contextlib.contextmanager
def _quiet_runtime_output(log_dir: Path) -> Iterator[None]:
    """Handler and job logs (Powertools JSON, metrics) go to .local/logs/, like CloudWatch Logs would
    hold them; the terminal keeps the narration."""
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EcomPipeline")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with (log_dir / "pipeline.log").open("a", encoding="utf-8") as log_file, \
            contextlib.redirect_stdout(log_file):
        handler = logging.StreamHandler(log_file)
        logging.getLogger().addHandler(handler)
        try:
            yield
        finally:
            logging.getLogger().removeHandler(handler)


@app.command("demo")
def demo_command(
    scenario: Annotated[str, typer.Option(help=f"One of: {', '.join(SCENARIOS)}.")] = "default",
    days: Annotated[int | None, typer.Option(
        help="Days of transactions to generate (default 3; 30 for --scenario backfill).", min=1)] = None,
    rows_per_day: Annotated[int, typer.Option(help="Transactions per day file.", min=1)] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 42,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = DEFAULT_START.isoformat(),
    warehouse: Annotated[str | None, typer.Option(
        help="Warehouse URL; default: DuckDB file .local/warehouse.duckdb. e.g. postgresql://user@host:5432/db"
    )] = None,
    state_dir: Annotated[Path, typer.Option(help="Where the local state lives.")] = Path(".local"),
    report: Annotated[bool, typer.Option(help="Write .local/report.html with charts.")] = True,
    template: Annotated[Path, typer.Option(help="The SAM template the local stack is provisioned from.",
                                           exists=True, dir_okay=False)] = REPO_ROOT / "template.yaml",
) -> None:
    """Run the whole event-driven pipeline locally: generator -> S3 -> SQS -> glue_trigger -> Glue job ->
    warehouse -> state change -> SNS -> archiver + e-mail outbox. Safe to rerun: it continues."""
    console = Console(file=sys.stdout)
    if days is None:
        days = 30 if scenario == "backfill" else 3
    try:
        options = DemoOptions(days=days, rows_per_day=rows_per_day, seed=seed,
                              start=date.fromisoformat(start), scenario=scenario, warehouse_url=warehouse,
                              state_dir=state_dir, template=template)
    except ValidationError as exc:
        raise typer.BadParameter(options_told(exc)) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.rule(f"[bold]ecom-pipeline demo[/] · scenario [cyan]{scenario}[/] · {days} day(s) × "
                 f"{rows_per_day:,} rows")
    console.print("[dim]Emulated AWS (moto) provisioned from template.yaml, the real handlers and the real "
                  "Glue job on local Spark. A fresh machine's first `make demo` also spends a few minutes "
                  "installing; this run starts after that.[/]")
    narrator = RichNarrator(console)
    started = time.perf_counter()
    from ecom_pipeline.warehouse import WarehouseError, open_warehouse

    try:  # fail fast, before anything starts, when the warehouse cannot be reached
        open_warehouse(options.warehouse).close()
    except Exception as exc:
        console.print(f"[bold red]error:[/] cannot open the warehouse {redacted(options.warehouse)}: {exc}")
        raise typer.Exit(code=2) from exc
    with _quiet_runtime_output(options.state_dir / "logs"):
        try:
            result = run_demo(options, narrator)
        except (WarehouseError, FlowStuck) as exc:
            console.print(f"[bold red]error:[/] {exc}  (logs: {options.state_dir / 'logs'})")
            raise typer.Exit(code=1) from exc
        except Exception as exc:  # anything else (emulator, template, Spark): one line, not a traceback
            console.print(f"[bold red]error:[/] {described(exc)}  (logs: {options.state_dir / 'logs'})")
            raise typer.Exit(code=1) from exc
        report_path = None
        if report:
            with narrator.stage("report"):
                from ecom_pipeline.local.report import write_report

                report_path = write_report(result, options.state_dir)
    (options.state_dir / "summary.json").write_text(summary_json(result), encoding="utf-8")
    _print_summary(console, result, time.perf_counter() - started, report_path)
    # Any failed run but the one the bad-file scenario provokes, any message left in a dead-letter
    # queue and any delivery that failed for good is a failure of the demo.
    if result.unexpected_failures or result.failures or any(result.dead_letters.values()):
        logs = options.state_dir / "logs"
        console.print(f"[bold red]The flow did not complete cleanly; see above and {logs}.[/]")
        raise typer.Exit(code=1)


def _print_summary(console: Console, result: DemoResult, wall: float, report_path: Path | None) -> None:
    opts = result.options
    console.rule("[bold]Summary")
    files = Table(show_header=False, box=None, padding=(0, 2))
    files.add_row("files generated", str(len(result.generated)))
    if result.already_archived:
        files.add_row("already done earlier", f"{len(result.already_archived)} (not loaded again)")
    files.add_row("files processed", f"{len(set(result.processed))} in {len(result.runs)} Glue run(s)")
    files.add_row("files archived", f"{len(result.archived_now)} now, {len(result.archive_keys)} in total")
    files.add_row("still in landing", str(len(result.data_keys)))
    files.add_row("rows read", f"{result.total('rows_read'):,}")
    files.add_row("rows loaded", f"{result.total('inserted'):,} inserted, {result.total('updated'):,} "
                                 f"updated, {result.total('kept_stored'):,} kept (stored row newer)")
    rejects = result.rejects_by_reason
    files.add_row("rows rejected", f"{sum(rejects.values()):,}" + (
        " — " + ", ".join(f"{k} {v:,}" for k, v in rejects.items()) if rejects else ""))
    files.add_row("e-mails (outbox)", str(len(result.emails)))
    files.add_row("dead-letter queues", ", ".join(f"{k} {v}" for k, v in result.dead_letters.items()) or "-")
    if result.failures:
        files.add_row("[red]delivery failures[/]",
                      "; ".join(f"{f.function}: {f.error}" for f in result.failures))
    console.print(files)

    if result.runs:
        runs = Table(title="Glue runs", title_justify="left")
        for column in ("run", "files", "state", "seconds", "read", "inserted", "updated", "kept", "rejected"):
            runs.add_column(column, justify="left" if column in ("run", "state") else "right")
        for run in result.runs:
            a = run.accounting
            colour = "green" if run.state == "SUCCEEDED" else "red"
            runs.add_row(run.run_id[:14] + "…", str(len(run.source_keys)), f"[{colour}]{run.state}[/]",
                         f"{run.seconds:.1f}", *(f"{int(a.get(k, 0) or 0):,}" for k in (
                             "rows_read", "inserted", "updated", "kept_stored", "rows_rejected")))
        console.print(runs)
        for run in result.runs:
            if run.state != "SUCCEEDED":
                console.print(f"[red]{run.run_id[:14]}… failed:[/] {run.message[:400]}", highlight=False)

    if result.emails:
        console.print("[bold]Outbox[/] (" + str(opts.state_dir / "outbox") + ")")
        for email in result.emails[-6:]:
            console.print(f"  ✉ {email.to}: {email.subject} — {email.body[:110]}…", highlight=False)
    for note in result.notes:
        console.print(f"  • {note}", highlight=False)

    timing = Table(title="Time per stage", title_justify="left", show_header=False, box=None, padding=(0, 2))
    for name, seconds in result.timings.items():
        timing.add_row(name, f"{seconds:.1f}s")
        if name == "event flow":
            # Where the event flow's time went: the Glue runs and each function's invocations.
            glue_s = sum(r.seconds for r in result.runs)
            timing.add_row("  Glue runs", f"{glue_s:.1f}s  ({len(result.runs)} runs)")
            for code, secs in result.invocation_seconds.items():
                if code != "generator":
                    timing.add_row(f"  {code}", f"{secs:.1f}s  ({result.invocations[code]} calls)")
    timing.add_row("[bold]total wall time[/]", f"[bold]{wall:.1f}s[/]")
    console.print(timing)

    console.print("[bold]Where things are[/]")
    console.print(f"  warehouse      {redacted(opts.warehouse)}")
    if report_path:
        console.print(f"  report         {report_path}")
    console.print(f"  outbox         {opts.state_dir / 'outbox'}")
    console.print(f"  S3 (mirrored)  {opts.state_dir / 's3'}  (data and archive buckets)")
    console.print(f"  logs           {opts.state_dir / 'logs'}")
    console.print(f"  stack          {opts.state_dir / 'stack.json'}  (template.yaml as provisioned locally)")
    # Commands as they run from the repository without an activated venv, on this run's state.
    cli = ".venv/bin/ecom-pipeline"
    state = "" if opts.state_dir == Path(".local") else f" --state-dir {opts.state_dir}"
    console.print("[bold]Try next[/]")
    console.print(f'  {cli} query --warehouse {redacted(opts.warehouse)} '
                  '"SELECT status, count(*), sum(total_amount) FROM fact_transactions GROUP BY 1 ORDER BY 1"')
    console.print(f"  {cli} demo{state}            # again: continues, loads nothing twice")
    console.print(f"  {cli} demo{state} --scenario late-updates | bad-file | backfill")
    console.print("  make demo-clean               # forget the local state" if not state
                  else f"  rm -r {opts.state_dir}               # forget the local state")
