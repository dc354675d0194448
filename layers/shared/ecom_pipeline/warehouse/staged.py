"""Finding and checking the staged Parquet batch the job leaves for the local engines."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

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


def cast_select(table: Table, source: str = "read_parquet(?)") -> str:
    """SELECT of the table's columns from `source` (default: the Parquet files parameter), cast to the
    warehouse types."""
    casts = ", ".join(f"CAST({name} AS {_bare(sql_type)}) AS {name}" for name, sql_type in table.columns)
    return f"SELECT {casts} FROM {source}"


def _bare(sql_type: str) -> str:
    """A column's type without its constraint: `DECIMAL(12,2) NOT NULL` -> `DECIMAL(12,2)`."""
    return sql_type.removesuffix(" NOT NULL")


def _parquet_type(table: Table, name: str, sql_type: str) -> str:
    """How DuckDB names the Parquet type column `name` is staged as (a VARCHAR(64) is a VARCHAR)."""
    return "VARCHAR" if table.text_limit(name) is not None else _bare(sql_type)


def check_columns(conn: duckdb.DuckDBPyConnection, files: list[str], table: Table) -> None:
    """The batch must have exactly the table's columns in order (Redshift's Parquet COPY is positional),
    each of the type Redshift's COPY takes into it: a local engine would cast a DOUBLE price to DECIMAL
    quietly, where Redshift refuses the load."""
    described = conn.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()
    found = [row[0] for row in described]
    if tuple(found) != table.column_names:
        raise WarehouseError(
            f"staged Parquet columns {found} differ from {table.name} columns {list(table.column_names)}"
        )
    expected = [(name, _parquet_type(table, name, sql_type)) for name, sql_type in table.columns]
    wrong = [f"{name} is {found_type}, not {wanted}"
             for (name, wanted), (_, found_type, *_) in zip(expected, described, strict=True)
             if found_type != wanted]
    if wrong:
        raise WarehouseError(f"staged Parquet for {table.name} has the wrong types: {'; '.join(wrong)}")


def write_staged_parquet(rows: Iterable[Sequence[object]], directory: Path, table: Table) -> Path:
    """Write `rows` (values in the table's column order; None is NULL) as a staged batch in `directory`.

    The same layout and types the job stages, for hand-made batches in tests and benchmarks.
    """
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "_rows.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.column_names)
        writer.writerows(["" if value is None else str(value) for value in row] for row in rows)
    target = directory / "part-00000.parquet"
    columns = {name: "VARCHAR" for name in table.column_names}
    with duckdb.connect() as conn:
        source = conn.sql(
            "SELECT * FROM read_csv(?, header = true, auto_detect = false, columns = ?, quote = '\"', "
            "escape = '\"')",
            params=[str(csv_path), columns],
        )
        conn.register("raw_rows", source)
        conn.execute(f"COPY ({cast_select(table, 'raw_rows')}) "
                     f"TO '{target}' (FORMAT parquet)")
    csv_path.unlink()
    return target
