"""The one small interface every warehouse (DuckDB, PostgreSQL, Redshift) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class UpsertResult:
    """What one fact upsert did to `fact_transactions`; candidates = inserted + updated + kept_stored.

    `per_file`: the same three counts for the staged rows of each `source_file` (the fact upsert only).
    """

    inserted: int
    updated: int
    kept_stored: int
    per_file: dict[str, UpsertResult] = field(default_factory=dict, compare=False)

    @property
    def candidates(self) -> int:
        return self.inserted + self.updated + self.kept_stored


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class Warehouse(Protocol):
    """A warehouse the job loads into.

    `staged` is where the job left the batch as Parquet files with exactly `contracts.FACT_COLUMNS`,
    one row per transaction_id (duplicates already collapsed): a local directory for DuckDB and
    PostgreSQL, an `s3://bucket/staging/<run_id>/` prefix for Redshift. `expected_rows`, when given,
    is the number of rows the job wrote there; any other number staged fails the upsert, unchanged.
    """

    def apply_schema(self) -> None: ...

    def load_dims(self, products_csv: str, customers_csv: str) -> dict[str, int]: ...

    def upsert_facts(self, staged: str, expected_rows: int | None = None) -> UpsertResult: ...

    def query(self, sql: str) -> QueryResult: ...

    def close(self) -> None: ...
