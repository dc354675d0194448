"""`ecom-pipeline generate`: dims and daily transaction CSVs into a folder or an S3 bucket."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ecom_pipeline.cli import app
from ecom_pipeline.cli.errors import options_told, reported
from ecom_pipeline.generator import FaultKind, GenerationRequest, generate, sink_for
from ecom_pipeline.generator.config import DEFAULT_FAULT_RATE, DEFAULT_SEED, DEFAULT_UPDATE_RATE

_RATE = "Overrides --fault-rate for this kind; 0 = off."
_FAULTS = "Fault kinds (each a share of all rows, 0-1)"


def _day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as err:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from err


@app.command("generate")
def generate_command(
    out: Annotated[
        str,
        typer.Option(
            help="Folder, or s3://bucket or s3://bucket/prefix, to write dims/ and transactions/ into."
        ),
    ],
    archive: Annotated[
        str | None,
        typer.Option(
            help="Where processed days were moved (the archive bucket, s3://bucket): a day there counts "
            "as existing, so it is not written, and loaded, again. Give it when --out is the pipeline's "
            "data bucket."
        ),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: today, UTC).")] = None,
    days: Annotated[
        int, typer.Option(min=1, help="Number of consecutive days (a backfill in one call).")
    ] = 1,
    rows_per_day: Annotated[int, typer.Option(min=0, help="Data rows in each day's file.")] = 20_000,
    seed: Annotated[
        int, typer.Option(min=0, help="Same seed, same bytes; each day depends only on seed + day.")
    ] = DEFAULT_SEED,
    fault_rate: Annotated[
        float, typer.Option(help="Share of rows with one fault, spread evenly over the fault kinds.")
    ] = DEFAULT_FAULT_RATE,
    update_rate: Annotated[
        float, typer.Option(help="Share of rows that move an earlier transaction to a later status.")
    ] = DEFAULT_UPDATE_RATE,
    malformed_rate: Annotated[
        float | None,
        typer.Option(
            help=f"Malformed rows (field missing/extra, open quote). {_RATE}", rich_help_panel=_FAULTS
        ),
    ] = None,
    missing_id_rate: Annotated[
        float | None, typer.Option(help=f"Empty transaction_id. {_RATE}", rich_help_panel=_FAULTS)
    ] = None,
    bad_quantity_rate: Annotated[
        float | None,
        typer.Option(
            help=f"Quantity 0, negative, fractional, empty or text. {_RATE}", rich_help_panel=_FAULTS
        ),
    ] = None,
    bad_price_rate: Annotated[
        float | None, typer.Option(help=f"Price negative, text or empty. {_RATE}", rich_help_panel=_FAULTS)
    ] = None,
    bad_date_rate: Annotated[
        float | None,
        typer.Option(help=f"Impossible or wrongly formatted date. {_RATE}", rich_help_panel=_FAULTS),
    ] = None,
    bad_status_rate: Annotated[
        float | None, typer.Option(help=f"Status outside the known set. {_RATE}", rich_help_panel=_FAULTS)
    ] = None,
    unknown_product_rate: Annotated[
        float | None, typer.Option(help=f"product_id not in the dims. {_RATE}", rich_help_panel=_FAULTS)
    ] = None,
    unknown_customer_rate: Annotated[
        float | None, typer.Option(help=f"customer_id not in the dims. {_RATE}", rich_help_panel=_FAULTS)
    ] = None,
    products: Annotated[int, typer.Option(help="Products in a newly written dims/products.csv.")] = 1_000,
    customers: Annotated[int, typer.Option(help="Customers in a newly written dims/customers.csv.")] = 10_000,
    regenerate_dims: Annotated[
        bool, typer.Option(help="Rewrite the dims even if they exist (default: reuse them).")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Rewrite days that already exist (default: skip them).")
    ] = False,
) -> None:
    """Write dims and daily transaction CSVs (with faults and status updates) to a folder or S3.

    dims/products.csv and dims/customers.csv are written once and reused; each day goes to
    transactions/year=YYYY/month=MM/day=DD/transactions_YYYY-MM-DD.csv and is skipped if it exists
    (unless --overwrite). Same seed, same bytes.
    """
    overrides = {
        FaultKind.MALFORMED_ROW: malformed_rate,
        FaultKind.MISSING_ID: missing_id_rate,
        FaultKind.BAD_QUANTITY: bad_quantity_rate,
        FaultKind.BAD_PRICE: bad_price_rate,
        FaultKind.BAD_DATE: bad_date_rate,
        FaultKind.BAD_STATUS: bad_status_rate,
        FaultKind.UNKNOWN_PRODUCT: unknown_product_rate,
        FaultKind.UNKNOWN_CUSTOMER: unknown_customer_rate,
    }
    try:
        request = GenerationRequest(
            start=_day(start),
            days=days,
            rows_per_day=rows_per_day,
            seed=seed,
            fault_rate=fault_rate,
            fault_rates={k: v for k, v in overrides.items() if v is not None},
            update_rate=update_rate,
            products=products,
            customers=customers,
            regenerate_dims=regenerate_dims,
            overwrite=overwrite,
        )
    except ValidationError as err:
        raise typer.BadParameter(options_told(err)) from err
    console = Console(stderr=True, soft_wrap=True)
    with reported(), Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("rows", total=days * rows_per_day)
        summary = generate(
            request,
            sink_for(out),
            progress=lambda day, rows: bar.update(task, advance=rows, description=str(day)),
            archive=None if archive is None else sink_for(archive),
        )
    for key in summary.dims_written:
        console.print(f"wrote   {key}")
    for key in summary.dims_reused:
        console.print(f"reused  {key}")
    for day in summary.written:
        console.print(f"wrote   {day.location}  ({day.rows:,} rows)")
    for key in summary.skipped:
        console.print(f"[yellow]skipped[/] {key} (exists; --overwrite to replace)")
    console.print(f"{summary.rows:,} transaction rows in {len(summary.written)} file(s)")
