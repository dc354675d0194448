"""Finding and checking the staged Parquet batch the job leaves for the local engines."""

from __future__ import annotations

import duckdb

from ecom_pipeline.warehouse.dims import local_path
from ecom_pipeline.warehouse.errors import WarehouseError
from ecom_pipeline.warehouse.schema import Table


def parquet_files(staged: str) -> list[str]:
    """The Parquet files of a staged batch: one file, or every `*.parquet` in a directory tree.

    Spark writes at least one (possibly empty) part file even for an empty batch, so finding none
    means the job did not stage anything here: an error, never an empty upsert.
    """
    path = local_path(staged)
    if path.is_file():
        return [str(path)]
    if not path.is_dir():
        raise WarehouseError(f"staged batch not found: {path}")
    files = sorted(str(p) for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        raise WarehouseError(f"no Parquet files in staged batch {path}")
    return files


def cast_select(table: Table, files_param: str = "?") -> str:
    """SELECT of the table's columns from the Parquet files, cast to the warehouse types."""
    casts = ", ".join(
        f"CAST({name} AS {sql_type.replace(' NOT NULL', '')}) AS {name}" for name, sql_type in table.columns
    )
    return f"SELECT {casts} FROM read_parquet({files_param})"


def check_columns(conn: duckdb.DuckDBPyConnection, files: list[str], table: Table) -> None:
    """The batch must have exactly the table's columns in order (Redshift's Parquet COPY is positional)."""
    described = conn.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()
    found = [row[0] for row in described]
    if tuple(found) != table.column_names:
        raise WarehouseError(
            f"staged Parquet columns {found} differ from {table.name} columns {list(table.column_names)}"
        )
