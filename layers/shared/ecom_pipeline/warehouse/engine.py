"""What DuckDB and PostgreSQL share: a live connection that runs the common SQL in one transaction.

Subclasses supply the transaction (with their retryable errors mapped to RetryableWarehouseError) and
the two bulk loaders; everything else, including the upsert text, is common.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ecom_pipeline.warehouse import sql
from ecom_pipeline.warehouse.base import QueryResult, UpsertResult
from ecom_pipeline.warehouse.dims import read_dim_csv, write_normalised_csv
from ecom_pipeline.warehouse.retry import with_retry
from ecom_pipeline.warehouse.schema import (
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    FACT_TRANSACTIONS,
    Dialect,
    Table,
    create_staging,
    schema_statements,
)
from ecom_pipeline.warehouse.staged import parquet_files


class Cursor(ABC):
    """The minimal statement runner a transaction hands out."""

    @abstractmethod
    def run(self, statement: str) -> list[tuple[Any, ...]] | None:
        """Execute; the rows of a query, None for other statements."""

    @abstractmethod
    def affected(self, statement: str) -> int:
        """Execute a DML statement; the number of rows it deleted or inserted."""


class SqlWarehouse(ABC):
    dialect: Dialect
    needs_lock: bool

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Cursor]:
        """One transaction: committed on success, rolled back on any exception (then re-raised)."""

    @abstractmethod
    def load_parquet(self, cur: Cursor, table: Table, files: list[str]) -> None: ...

    @abstractmethod
    def load_csv(self, cur: Cursor, table: Table, csv_path: Path) -> None: ...

    @abstractmethod
    def query(self, sql: str) -> QueryResult: ...

    @abstractmethod
    def close(self) -> None: ...

    # --- the Warehouse protocol -----------------------------------------------------------------------
    def apply_schema(self) -> None:
        def work() -> None:
            with self.transaction() as cur:
                if self.needs_lock:
                    cur.run(sql.schema_lock_statement())
                for statement in schema_statements(self.dialect):
                    cur.run(statement)

        with_retry(work)

    def load_dims(self, products_csv: str, customers_csv: str) -> dict[str, int]:
        # Validate both files before the warehouse sees either: a bad file changes nothing.
        batches = [(DIM_PRODUCTS, read_dim_csv(products_csv, DIM_PRODUCTS)),
                   (DIM_CUSTOMERS, read_dim_csv(customers_csv, DIM_CUSTOMERS))]
        with tempfile.TemporaryDirectory(prefix="ecom-dims-") as tmp:
            files = [(table, write_normalised_csv(rows, table, Path(tmp) / f"{table.name}.csv"))
                     for table, rows in batches]

            def work() -> dict[str, int]:
                with self.transaction() as cur:
                    return {table.name: self._stage_and_upsert(
                        cur, table, None, lambda t, p=path: self.load_csv(cur, t, p)).candidates
                        for table, path in files}

            return with_retry(work)

    def upsert_facts(self, staged: str, expected_rows: int | None = None) -> UpsertResult:
        files = parquet_files(staged)

        def work() -> UpsertResult:
            with self.transaction() as cur:
                return self._stage_and_upsert(cur, FACT_TRANSACTIONS, sql.FACT_INCOMING_WINS,
                                              lambda t: self.load_parquet(cur, t, files), expected_rows)

        return with_retry(work)

    # --- shared steps ---------------------------------------------------------------------------------
    def _stage_and_upsert(self, cur: Cursor, table: Table, incoming_wins: str | None,
                          load: Any, expected_rows: int | None = None) -> UpsertResult:
        for statement in create_staging(table, self.dialect):
            cur.run(statement)
        load(table)
        # Lock after the bulk load: writers queue only for the short merge, not for each other's loads.
        if self.needs_lock:
            cur.run(sql.lock_statement([table], self.dialect))
        measured: dict[str, Any] = {}
        for step in sql.upsert_steps(table, incoming_wins, expected_rows):
            if step.measure in (None, "candidates", "per_file"):
                sql.record(measured, step, cur.run(step.sql), -1)
            else:
                sql.record(measured, step, None, cur.affected(step.sql))
        # Raising here, inside the transaction, rolls the change back.
        return sql.upsert_result(measured, table.name)
