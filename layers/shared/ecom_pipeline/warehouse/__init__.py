"""The warehouse: one schema, one upsert SQL text, three engines behind `open_warehouse(url)`.

URLs: `duckdb:///abs/path.duckdb` (embedded default), `postgresql://user@host:port/db`,
`redshift://?workgroup=W&database=D&secret_arn=ARN&iam_role=ARN` or
`redshift://?cluster=C&database=D&db_user=U&iam_role=ARN` (Redshift Data API).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ecom_pipeline.warehouse.base import QueryResult, UpsertResult, Warehouse
from ecom_pipeline.warehouse.errors import DimFileError, RetryableWarehouseError, WarehouseError

__all__ = [
    "DimFileError",
    "QueryResult",
    "RetryableWarehouseError",
    "UpsertResult",
    "Warehouse",
    "WarehouseError",
    "default_warehouse_url",
    "open_warehouse",
    "redacted",
]

DEFAULT_WAREHOUSE_FILE = Path(".local") / "warehouse.duckdb"


def default_warehouse_url(cwd: Path | None = None) -> str:
    """The local default: a DuckDB file `.local/warehouse.duckdb` under the current directory."""
    return f"duckdb://{((cwd or Path.cwd()) / DEFAULT_WAREHOUSE_FILE).resolve()}"


def redacted(url: str) -> str:
    """`url` fit for output and logs: a password in it (`postgresql://user:pw@host/db`) shown as ***."""
    netloc = urlsplit(url).netloc
    userinfo, at, host = netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return url.replace(netloc, f"{user}:***@{host}", 1) if at and colon else url


def open_warehouse(url: str) -> Warehouse:
    """The adapter for `url`; engines are imported lazily so a Lambda never loads DuckDB or psycopg."""
    if url.startswith("duckdb://"):
        from ecom_pipeline.warehouse.duck import DuckDBWarehouse

        path = url.removeprefix("duckdb://")
        if not path.startswith("/"):
            raise ValueError(f"DuckDB URL needs an absolute path (duckdb:///abs/file.duckdb), got {url!r}")
        return DuckDBWarehouse(Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        from ecom_pipeline.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(url)
    if url.startswith("redshift://"):
        from ecom_pipeline.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse.from_url(url)
    raise ValueError(
        f"unsupported warehouse URL {redacted(url)!r}: use duckdb:///abs/path.duckdb, postgresql://… or redshift://?…"
    )
