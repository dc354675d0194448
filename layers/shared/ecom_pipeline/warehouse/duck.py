"""DuckDB file: the embedded default warehouse for local runs.

Writers are serialized like LOCK TABLE does elsewhere: DuckDB lets only one process open the file for
writing (others wait in `_connect`), and inside that process every write transaction on the file takes
the same lock. Without it, two threads inserting the same new key would both succeed: the fact table
has no key index here (see schema.create_table). A TransactionException is still retried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ecom_pipeline.warehouse.base import QueryResult
from ecom_pipeline.warehouse.engine import Cursor, SqlWarehouse
from ecom_pipeline.warehouse.errors import RetryableWarehouseError, WarehouseError
from ecom_pipeline.warehouse.schema import Table
from ecom_pipeline.warehouse.staged import cast_select, check_columns

# Another process holding the file's write lock (e.g. a demo still running) gets this long to let go.
OPEN_TIMEOUT_S = 30.0

_writer_locks: dict[Path, threading.Lock] = {}
_registry_lock = threading.Lock()


def _writer_lock(path: Path) -> threading.Lock:
    """The one lock of this process for writes to the database file at `path`."""
    with _registry_lock:
        return _writer_locks.setdefault(path.resolve(), threading.Lock())


class _DuckCursor(Cursor):
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def run(self, statement: str) -> list[tuple[Any, ...]] | None:
        result = self.conn.execute(statement)
        return result.fetchall() if result.description else None

    def affected(self, statement: str) -> int:
        row = self.conn.execute(statement).fetchone()  # DuckDB answers DML with its row count
        assert row is not None
        return int(row[0])


def _connect(path: Path, timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class DuckDBWarehouse(SqlWarehouse):
    dialect = "duckdb"
    needs_lock = False  # one writer per file; conflicting transactions fail and are retried

    def __init__(self, path: Path, *, open_timeout_s: float = OPEN_TIMEOUT_S) -> None:
        if not path.is_absolute():
            raise ValueError(f"DuckDB warehouse path must be absolute, got {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = _connect(path, open_timeout_s)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the database. Settings are per connection, so each one gets the
        zone: timestamps without zone are stored as given, any zone conversion is made in UTC."""
        conn = self.conn.cursor()
        conn.execute("SET TimeZone = 'UTC'")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        # A cursor is DuckDB's own connection to the same database: transactions per thread stay apart.
        with _writer_lock(self.path), self._transaction() as cur:
            yield cur

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        conn = self._cursor()
        try:
            conn.execute("BEGIN TRANSACTION")
            try:
                yield _DuckCursor(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except duckdb.TransactionException as exc:
            raise RetryableWarehouseError(f"DuckDB transaction conflict: {exc}") from exc
        finally:
            conn.close()

    def load_parquet(self, cur: Cursor, table: Table, files: list[str]) -> None:
        conn = _conn_of(cur)
        check_columns(conn, files, table)
        cols = ", ".join(table.column_names)
        conn.execute(f"INSERT INTO {table.staging} ({cols}) {cast_select(table)}", [files])

    def load_csv(self, cur: Cursor, table: Table, csv_path: Path) -> None:
        columns = {name: "VARCHAR" for name in table.column_names}
        cols = ", ".join(table.column_names)
        _conn_of(cur).execute(
            f"INSERT INTO {table.staging} ({cols}) SELECT {cols} FROM read_csv(?, header = true, "
            "auto_detect = false, columns = ?, quote = '\"', escape = '\"', delim = ',')",
            [str(csv_path), columns],
        )

    def query(self, sql: str) -> QueryResult:
        conn = self._cursor()
        try:
            result = conn.execute(sql)
            columns = [d[0] for d in result.description or []]
            return QueryResult(columns=columns, rows=result.fetchall() if columns else [])
        finally:
            conn.close()

    def close(self) -> None:
        self.conn.close()


def _conn_of(cur: Cursor) -> duckdb.DuckDBPyConnection:
    assert isinstance(cur, _DuckCursor)
    return cur.conn
