"""`ecom-pipeline process`: run the Glue job over local files (local Spark, any warehouse URL)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from ecom_pipeline.cli import app
from ecom_pipeline.cli.errors import reported
from ecom_pipeline.cli.warehouse import LocalWarehouseOption, prepare_warehouse

_KEY_START = "/transactions/year="


def source_layout(files: list[Path]) -> tuple[str, list[str]]:
    """(input_root, source_keys) for local files.

    Files in the bucket's key layout under one folder keep their S3-style keys (so `source_file` reads the
    same as in the cloud); anything else is named by its absolute file:// URI.
    """
    paths = [str(f.resolve()) for f in files]
    cuts = [p.find(_KEY_START) for p in paths]
    roots = {p[:cut] for p, cut in zip(paths, cuts, strict=True) if cut >= 0}
    if all(cut >= 0 for cut in cuts) and len(roots) == 1:
        return f"file://{roots.pop()}/", [p[cut + 1:] for p, cut in zip(paths, cuts, strict=True)]
    return "file:///", [f"file://{p}" for p in paths]


@app.command("process")
def process_command(
    files: Annotated[list[Path], typer.Argument(help="Transaction CSV files, processed in this order.",
                                                exists=True, dir_okay=False, readable=True)],
    dims: Annotated[Path, typer.Option(help="Folder with products.csv and customers.csv.",
                                       exists=True, file_okay=False)],
    rejects: Annotated[Path, typer.Option(
        help="Folder that receives the rejects tree (year=…/month=…/day=…/).", file_okay=False)],
    warehouse: LocalWarehouseOption = None,
    small_max: Annotated[str, typer.Option(help="Small < this <= Medium.")] = "100",
    medium_max: Annotated[str, typer.Option(help="Medium < this <= Large.")] = "500",
) -> None:
    """Run the job over local FILES; print the accounting as one JSON object on the last line."""
    from ecom_pipeline.job.entry import logger

    # stdout carries only the result; the job's structured log goes to stderr while the command runs.
    # Swapped, not setStream(): that flushes the old stream, which may be closed by now (the logger was
    # made during an earlier command in the same process, e.g. under a test runner).
    handler: Any = logger.registered_handler
    previous, handler.stream = handler.stream, sys.stderr
    try:
        _process(files, dims, rejects, warehouse, small_max, medium_max)
    finally:
        handler.stream = previous


def _process(files: list[Path], dims: Path, rejects: Path, warehouse: str | None, small_max: str,
             medium_max: str) -> None:
    from ecom_pipeline.job.accounting import public
    from ecom_pipeline.job.entry import JobArgs, JobFailed, run_job
    from ecom_pipeline.job.spark import get_spark
    from ecom_pipeline.warehouse import default_warehouse_url

    url = warehouse or default_warehouse_url()
    input_root, keys = source_layout(files)
    staging = Path(tempfile.mkdtemp(prefix="ecom-staging-"))
    try:
        with reported():
            # Arguments first: a bad threshold must not leave a half-prepared warehouse behind.
            args = JobArgs.model_validate({
                "source_keys": keys, "data_bucket": "local", "warehouse_url": url, "input_root": input_root,
                "output_root": f"file://{staging}/", "dims_root": f"file://{dims.resolve()}/",
                "rejects_root": f"file://{rejects.resolve()}/", "small_max": small_max,
                "medium_max": medium_max})
            prepare_warehouse(url, dims)  # a fresh warehouse works, a set-up one is unchanged
            rejects.mkdir(parents=True, exist_ok=True)
            try:
                report = run_job(get_spark(), args)
            except JobFailed as failed:
                typer.echo(json.dumps(public(failed.report.accounting)))
                typer.echo(f"error: run failed: {failed}", err=True)
                raise typer.Exit(1) from failed
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    typer.echo(json.dumps(public(report.accounting)))
