"""The one SQL text of the staged upsert, run unchanged by DuckDB, PostgreSQL and Redshift.

Only the staging load (read_parquet / COPY FROM STDIN / COPY … FORMAT AS PARQUET) and whether the
engine needs `LOCK` differ per adapter. The statements avoid everything the three do not share:
no MERGE (Redshift's has no `WHEN MATCHED AND …`), no ON CONFLICT, no aliases on DELETE targets,
no CTEs in DML, no RETURNING.

Inside one transaction, after the batch sits in the staging table:
  1. count the batch and its distinct keys; the guard (a NOT NULL violation) aborts the transaction
     unless the batch holds exactly one row per key;
  2. DELETE from staging every row whose key is stored with a greater or equal (date, rank):
     its row count is `kept_stored`;
  3. DELETE the stored rows the rest replace (row count: `updated`), then INSERT the rest
     (row count: `written`; `inserted` = written - updated, the keys that were not stored).
The counts are the row counts the engine reports for those very statements, so they are exact and
atomic with the change; kept_stored + written must equal the batch count.

A table counted by a column (the fact, by source_file: the run accounts for every file) also counts
the batch per file before step 2, and per file the rows written and the stored rows they replace
before step 3 (one join of the batch with the table); the per-file counts must add up to the
statements' own counts, or the upsert fails (like the check of the totals: inside its transaction on
DuckDB and PostgreSQL, after the batch on Redshift, whose Data API returns the counts once it commits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from ecom_pipeline.warehouse.base import UpsertResult
from ecom_pipeline.warehouse.errors import WarehouseError
from ecom_pipeline.warehouse.schema import FACT_TRANSACTIONS, Table

COUNTS: Final = "stg_upsert_counts"
GUARD: Final = "stg_upsert_guard"
FILES: Final = "stg_upsert_files"
WRITTEN: Final = "stg_upsert_written"
# Named so the NOT NULL violation the guard raises says what went wrong.
GUARD_COLUMN: Final = "staged_keys_unique"
COUNT_GUARD_COLUMN: Final = "staged_rows_as_counted"

# Fact precedence: the incoming row wins only with a strictly greater (transaction_date, status_rank).
FACT_INCOMING_WINS: Final = (
    "({s}.transaction_date > {t}.transaction_date OR "
    "({s}.transaction_date = {t}.transaction_date AND {s}.status_rank > {t}.status_rank))"
)

Measure = Literal["candidates", "kept_stored", "updated", "written", "per_file"]


@dataclass(frozen=True)
class Step:
    """One statement; `measure` names the count its affected-row count (or, for `candidates`, its single
    selected value; for `per_file`, its rows) stands for."""

    sql: str
    measure: Measure | None = None


def upsert_steps(table: Table, incoming_wins: str | None, expected_rows: int | None = None) -> list[Step]:
    """The upsert of `table` from its staging table.

    `incoming_wins` is a predicate over `{s}` (staged) and `{t}` (stored); None means the incoming row
    always replaces the stored one (dimensions: a changed row is updated, nothing is kept).
    `expected_rows`, when given, is how many rows the writer of the batch counted: a staging table
    with any other number (a part file lost or left over) aborts the transaction like a repeated key.
    """
    target, staging, key = table.name, table.staging, table.key
    cols = ", ".join(table.column_names)
    guards = {GUARD_COLUMN: "candidates = distinct_keys"}
    if expected_rows is not None:
        guards[COUNT_GUARD_COLUMN] = f"candidates = {int(expected_rows)}"
    steps = [
        Step(f"DROP TABLE IF EXISTS {COUNTS}"),
        Step(f"CREATE TEMP TABLE {COUNTS} AS SELECT COUNT(*) AS candidates, "
             f"COUNT(DISTINCT {key}) AS distinct_keys FROM {staging}"),
        Step(f"DROP TABLE IF EXISTS {GUARD}"),
        Step(f"CREATE TEMP TABLE {GUARD} ({', '.join(f'{name} INTEGER NOT NULL' for name in guards)})"),
        Step(f"INSERT INTO {GUARD} SELECT "
             f"{', '.join(f'CASE WHEN {check} THEN 1 END' for check in guards.values())} FROM {COUNTS}"),
    ]
    by = table.counted_by
    # A NULL file counts as '' (a NULL would match nothing when the two counts are joined).
    file_of = f"COALESCE({staging}.{by}, '')" if by else ""
    if by:
        steps += [
            Step(f"DROP TABLE IF EXISTS {FILES}"),
            Step(f"CREATE TEMP TABLE {FILES} AS SELECT {file_of} AS {by}, COUNT(*) AS candidates "
                 f"FROM {staging} GROUP BY 1"),
        ]
    if incoming_wins:
        stored_wins = f"NOT {incoming_wins.format(s=staging, t=target)}"
        steps.append(Step(f"DELETE FROM {staging} USING {target} "
                          f"WHERE {staging}.{key} = {target}.{key} AND {stored_wins}", "kept_stored"))
    if by:
        steps += [
            Step(f"DROP TABLE IF EXISTS {WRITTEN}"),
            Step(f"CREATE TEMP TABLE {WRITTEN} AS SELECT {file_of} AS {by}, COUNT(*) AS written, "
                 f"COUNT({target}.{key}) AS replaced FROM {staging} LEFT JOIN {target} "
                 f"ON {staging}.{key} = {target}.{key} GROUP BY 1"),
        ]
    steps += [
        Step(f"DELETE FROM {target} USING {staging} WHERE {target}.{key} = {staging}.{key}", "updated"),
        Step(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging}", "written"),
        Step(f"SELECT candidates FROM {COUNTS}", "candidates"),
    ]
    if by:
        steps.append(Step(
            f"SELECT {FILES}.{by}, {FILES}.candidates, COALESCE({WRITTEN}.written, 0), "
            f"COALESCE({WRITTEN}.replaced, 0) FROM {FILES} "
            f"LEFT JOIN {WRITTEN} ON {FILES}.{by} = {WRITTEN}.{by}",
            "per_file"))
    return steps


def record(measured: dict[str, Any], step: Step, rows: list[tuple[Any, ...]] | None, row_count: int) -> None:
    """Note what `step` measured: its selected value (candidates), rows (per_file) or affected-row count."""
    if step.measure == "per_file":
        measured["per_file"] = list(rows or [])
    elif step.measure == "candidates":
        if not rows or len(rows) != 1 or len(rows[0]) != 1:
            raise WarehouseError(f"expected one count from {step.sql!r}, got {rows!r}")
        measured["candidates"] = int(rows[0][0])
    elif step.measure:
        measured[step.measure] = row_count


def upsert_result(measured: Mapping[str, Any], where: str) -> UpsertResult:
    """The counts of one upsert, after checking they add up to the batch (fails loudly if not)."""
    written, updated, kept = measured["written"], measured["updated"], measured.get("kept_stored", 0)
    if kept + written != measured["candidates"] or not 0 <= updated <= written:
        raise WarehouseError(
            f"upsert into {where} does not add up: batch {measured['candidates']}, kept_stored {kept}, "
            f"stored rows replaced {updated}, rows written {written}"
        )
    total = UpsertResult(inserted=written - updated, updated=updated, kept_stored=kept)
    if "per_file" not in measured:
        return total
    per_file = {str(name): UpsertResult(inserted=int(wrote) - int(replaced), updated=int(replaced),
                                        kept_stored=int(batch) - int(wrote))
                for name, batch, wrote, replaced in measured["per_file"]}
    summed = UpsertResult(*(sum(getattr(one, part) for one in per_file.values())
                            for part in ("inserted", "updated", "kept_stored")))
    negative = any(min(one.inserted, one.updated, one.kept_stored) < 0 for one in per_file.values())
    if summed != total or negative:
        raise WarehouseError(f"upsert into {where}: the counts per file {per_file} do not add up to {total}")
    return UpsertResult(total.inserted, total.updated, total.kept_stored, per_file=per_file)


def lock_statement(tables: list[Table], dialect: str) -> str:
    """Serializes writers of `tables`. Redshift has one lock mode; on PostgreSQL the mode that conflicts
    with itself but not with readers (a bare LOCK TABLE would also block every SELECT)."""
    names = ", ".join(table.name for table in tables)
    mode = " IN SHARE ROW EXCLUSIVE MODE" if dialect == "postgres" else ""
    return f"LOCK TABLE {names}{mode}"


def schema_lock_statement() -> str:
    """Serializes PostgreSQL sessions creating the schema: two `CREATE TABLE IF NOT EXISTS` at once
    both find no table and the second fails on the catalog's unique key. A lock held to the end of the
    transaction, on a key of this schema's own; the tables it would lock may not exist yet."""
    return "SELECT pg_advisory_xact_lock(hashtext('ecom_pipeline.schema'))"


FACT_UPSERT: Final = upsert_steps(FACT_TRANSACTIONS, FACT_INCOMING_WINS)
