"""PostgreSQL (psycopg 3): the optional local engine and, in tests, the Redshift-dialect check.

The staged Parquet is read by an in-memory DuckDB and streamed into the staging table with
COPY FROM STDIN (psycopg has no Parquet reader; this keeps it a bulk load, never row inserts).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import errors as pg_errors

from ecom_pipeline.warehouse.base import QueryResult
from ecom_pipeline.warehouse.engine import Cursor, SqlWarehouse
from ecom_pipeline.warehouse.errors import RetryableWarehouseError
from ecom_pipeline.warehouse.schema import Table
from ecom_pipeline.warehouse.staged import cast_select, check_columns

# 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available: retry the transaction.
_RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable)
_COPY_CHUNK = 1 << 20


class _PgCursor(Cursor):
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self.cur = cur

    def run(self, statement: str) -> list[tuple[Any, ...]] | None:
        self.cur.execute(statement)
        return self.cur.fetchall() if self.cur.description else None

    def affected(self, statement: str) -> int:
        self.cur.execute(statement)
        return self.cur.rowcount


class PostgresWarehouse(SqlWarehouse):
    dialect = "postgres"
    needs_lock = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                yield _PgCursor(cur)
        except _RETRYABLE as exc:
            raise RetryableWarehouseError(f"PostgreSQL {exc.sqlstate}: {exc}") from exc

    def load_parquet(self, cur: Cursor, table: Table, files: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="ecom-stage-") as tmp:
            csv_path = Path(tmp) / "batch.csv"
            with duckdb.connect() as duck:
                duck.execute("SET TimeZone = 'UTC'")
                check_columns(duck, files, table)
                duck.sql(cast_select(table), params=[files]).write_csv(str(csv_path), header=True)
            self.load_csv(cur, table, csv_path)

    def load_csv(self, cur: Cursor, table: Table, csv_path: Path) -> None:
        assert isinstance(cur, _PgCursor)
        cols = ", ".join(table.column_names)
        statement = f"COPY {table.staging} ({cols}) FROM STDIN (FORMAT csv, HEADER true)"
        with cur.cur.copy(statement) as copy, csv_path.open("rb") as handle:
            while chunk := handle.read(_COPY_CHUNK):
                copy.write(chunk)

    def query(self, sql: str) -> QueryResult:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            columns = [d.name for d in cur.description or []]
            return QueryResult(columns=columns, rows=cur.fetchall() if columns else [])

    def close(self) -> None:
        self.conn.close()
