"""The warehouse tables, declared once; each dialect renders the same DDL, Redshift adds its physical clauses.

Types are the Redshift ones and are accepted unchanged by PostgreSQL and DuckDB. Redshift-only clauses
(DISTSTYLE/DISTKEY/SORTKEY) are appended by the `redshift` dialect only, so the local engines run the
very same column definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from ecom_pipeline import contracts

Dialect = Literal["duckdb", "postgres", "redshift"]

ID: Final = "VARCHAR(64)"
TEXT: Final = "VARCHAR(256)"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type), in contract order
    key: str
    # Appended on Redshift only: dims are small and joined everywhere (ALL); the fact is distributed
    # on its upsert key so the staging join is co-located, and sorted on the date range scans use.
    redshift_clauses: str
    staging_redshift_clauses: str = ""
    # A column the upsert also counts by (the fact's source_file: the run's accounting is per file).
    counted_by: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def staging(self) -> str:
        return f"stg_{self.name}"

    def text_limit(self, column: str) -> int | None:
        """The most bytes `column` holds (Redshift counts a VARCHAR's length in UTF-8 bytes), None if
        it is not a VARCHAR. A longer value makes the engines refuse the whole load."""
        match = _VARCHAR.match(dict(self.columns)[column])
        return int(match[1]) if match else None


_VARCHAR = re.compile(r"VARCHAR\((\d+)\)")


# Column names come from the contracts, in contract order; only their types are declared here.
_PRODUCT_TYPES: Final[dict[str, str]] = {
    "product_id": f"{ID} NOT NULL",
    "product_name": TEXT,
    "category": TEXT,
    "price": "DECIMAL(12,2) NOT NULL",
    "supplier_id": ID,
}

_CUSTOMER_TYPES: Final[dict[str, str]] = {
    "customer_id": f"{ID} NOT NULL",
    "first_name": TEXT,
    "last_name": TEXT,
    "email": TEXT,
    "membership_level": "VARCHAR(32)",
}


def _typed(names: tuple[str, ...], types: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(name, SQL type) in contract order; a contract column without a type fails at import."""
    return tuple((name, types[name]) for name in names)


DIM_PRODUCTS: Final = Table(
    name=contracts.DIM_PRODUCTS,
    columns=_typed(contracts.PRODUCT_COLUMNS, _PRODUCT_TYPES),
    key="product_id",
    redshift_clauses="DISTSTYLE ALL SORTKEY(product_id)",
)

DIM_CUSTOMERS: Final = Table(
    name=contracts.DIM_CUSTOMERS,
    columns=_typed(contracts.CUSTOMER_COLUMNS, _CUSTOMER_TYPES),
    key="customer_id",
    redshift_clauses="DISTSTYLE ALL SORTKEY(customer_id)",
)

_FACT_TYPES: Final[dict[str, str]] = {
    "transaction_id": f"{ID} NOT NULL",
    "customer_id": f"{ID} NOT NULL",
    "customer_email": TEXT,
    "product_id": f"{ID} NOT NULL",
    "product_name": TEXT,
    "category": TEXT,
    "quantity": "INTEGER NOT NULL",
    "price": "DECIMAL(12,2) NOT NULL",
    "total_amount": "DECIMAL(14,2) NOT NULL",
    "transaction_class": "VARCHAR(16) NOT NULL",
    "transaction_date": "DATE NOT NULL",
    "payment_type": "VARCHAR(32)",
    "status": "VARCHAR(16) NOT NULL",
    "status_rank": "INTEGER NOT NULL",
    "source_file": "VARCHAR(1024)",
    "job_run_id": "VARCHAR(256)",
    "updated_at": "TIMESTAMP NOT NULL",
}

FACT_TRANSACTIONS: Final = Table(
    name=contracts.FACT_TRANSACTIONS,
    columns=_typed(contracts.FACT_COLUMNS, _FACT_TYPES),
    key="transaction_id",
    redshift_clauses="DISTKEY(transaction_id) SORTKEY(transaction_date)",
    staging_redshift_clauses="DISTKEY(transaction_id)",
    counted_by="source_file",
)

TABLES: Final = (DIM_PRODUCTS, DIM_CUSTOMERS, FACT_TRANSACTIONS)


def _columns_sql(table: Table) -> str:
    return ",\n    ".join(f"{name} {sql_type}" for name, sql_type in table.columns)


def create_table(table: Table, dialect: Dialect) -> str:
    """`CREATE TABLE IF NOT EXISTS`: applying the schema twice is a no-op.

    The key is declared on PostgreSQL (enforced) and Redshift (informational, used by the planner).
    DuckDB gets none: maintaining its ART index doubled the upsert time in benchmarks/bench_upsert.py,
    and one row per key is already guaranteed by the upsert (guard on the batch, DELETE before INSERT).
    """
    key = "" if dialect == "duckdb" else f",\n    PRIMARY KEY ({table.key})"
    ddl = f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {_columns_sql(table)}{key}\n)"
    return f"{ddl} {table.redshift_clauses}" if dialect == "redshift" else ddl


def create_staging(table: Table, dialect: Dialect) -> list[str]:
    """A fresh session-local staging table with the target's columns (no key: duplicates are detected)."""
    ddl = f"CREATE TEMP TABLE {table.staging} (\n    {_columns_sql(table)}\n)"
    if dialect == "redshift" and table.staging_redshift_clauses:
        ddl = f"{ddl} {table.staging_redshift_clauses}"
    return [f"DROP TABLE IF EXISTS {table.staging}", ddl]


def schema_statements(dialect: Dialect) -> list[str]:
    return [create_table(table, dialect) for table in TABLES]
