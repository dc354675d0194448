"""`ecom-pipeline setup` and `ecom-pipeline query`: create and load the warehouse, then ask it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecom_pipeline.cli import app
from ecom_pipeline.cli.errors import fail, reported
from ecom_pipeline.keys import CUSTOMERS_KEY, DIMS_PREFIX, PRODUCTS_KEY

_URL_HELP = "duckdb:///abs/file.duckdb, postgresql://… or redshift://?… (default: .local/warehouse.duckdb)"
LOCAL_URL_HELP = "duckdb:///abs/file.duckdb or postgresql://… (default: .local/warehouse.duckdb)"
WarehouseOption = Annotated[str | None, typer.Option("--warehouse", help=_URL_HELP)]
LocalWarehouseOption = Annotated[str | None, typer.Option("--warehouse", help=LOCAL_URL_HELP)]


def prepare_warehouse(url: str, dims: Path) -> dict[str, int]:
    """Schema and dims from `dims/` (products.csv, customers.csv): both idempotent. Rows loaded by table."""
    from ecom_pipeline.warehouse import open_warehouse

    if url.startswith("redshift://"):
        # Redshift COPYs from S3 only: a laptop's folders never reach it (nor the job's staged files).
        raise fail("Redshift loads from S3: on AWS the stack's setup loads the dims and the Glue job the "
                   "facts; locally use duckdb:// or postgresql:// (`query` reads Redshift too)")
    products, customers = (dims / key.removeprefix(DIMS_PREFIX) for key in (PRODUCTS_KEY, CUSTOMERS_KEY))
    if missing := [str(path) for path in (products, customers) if not path.is_file()]:
        # Before opening: a DuckDB file would otherwise be created, with its schema, for nothing.
        raise fail(f"no dims file {' or '.join(missing)}")
    target = open_warehouse(url)
    try:
        target.apply_schema()
        return target.load_dims(str(products), str(customers))
    finally:
        target.close()


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


@app.command("setup")
def setup_command(
    dims: Annotated[Path, typer.Option(help="Folder with products.csv and customers.csv.",
                                       exists=True, file_okay=False)],
    warehouse: LocalWarehouseOption = None,
) -> None:
    """Create the schema and load the dimensions: safe to repeat, a changed row is updated."""
    from ecom_pipeline.warehouse import default_warehouse_url, redacted

    url = warehouse or default_warehouse_url()
    with reported():
        counts = prepare_warehouse(url, dims)
    typer.echo(f"warehouse: {redacted(url)}")
    for table, rows in counts.items():
        typer.echo(f"{table}: {rows} rows loaded")


@app.command("query")
def query_command(
    sql: Annotated[str, typer.Argument(help="The SQL, e.g. 'SELECT COUNT(*) FROM fact_transactions'.")],
    warehouse: WarehouseOption = None,
) -> None:
    """Run SQL against the warehouse and print the result as a table."""
    from ecom_pipeline.warehouse import default_warehouse_url, open_warehouse, redacted

    url = warehouse or default_warehouse_url()
    if not sql.strip():
        raise fail("no SQL given")
    if url.startswith("duckdb://") and not Path(url.removeprefix("duckdb://")).is_file():
        # Opening would create an empty database there: a mistyped path would answer "no such table".
        raise fail(f"no warehouse at {redacted(url)}: run `ecom-pipeline setup` or `make demo` first")
    with reported():
        target = open_warehouse(url)
        try:
            result = target.query(sql)
        finally:
            target.close()
    # Values and names as Text: as strings Rich would read `[at]` as markup and `:cake:` as an emoji.
    table = Table(show_lines=False)
    for column in result.columns:
        table.add_column(Text(column))
    for row in result.rows:
        table.add_row(*(Text(_cell(v)) for v in row))
    # As wide as the values need, whatever the terminal: a cut or wrapped value would be a wrong answer.
    Console(width=Console(width=1_000_000).measure(table).maximum).print(table)
    typer.echo(f"({len(result.rows)} rows)")
