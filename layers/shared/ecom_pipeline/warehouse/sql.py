"""The one SQL text of the staged upsert, run unchanged by DuckDB, PostgreSQL and Redshift.

Only the staging load (read_parquet / COPY FROM STDIN / COPY … FORMAT AS PARQUET) and whether the
engine needs `LOCK` differ per adapter. The statements below avoid everything the three do not share:
no MERGE (Redshift's has no `WHEN MATCHED AND …`), no ON CONFLICT, no aliases on DELETE targets,
no CTEs in DML.

Inside one transaction, after the batch sits in the staging table:
  1. count, per staged row, whether its key is new (inserted), stored with a smaller (date, rank)
     (updated) or stored with a greater or equal one (kept_stored), into a temp counts table, so the
     counts are exact and atomic with the change;
  2. guard: the batch must hold one row per key (a NOT NULL violation aborts the transaction otherwise);
  3. DELETE from staging every row the stored table wins against;
  4. DELETE the stored rows the rest replace, then INSERT the rest;
  5. return the counts.
"""

from __future__ import annotations

from typing import Final

from ecom_pipeline.warehouse.schema import FACT_TRANSACTIONS, Table

COUNTS: Final = "stg_upsert_counts"
GUARD: Final = "stg_upsert_guard"
# Named so the NOT NULL violation the guard raises says what went wrong.
GUARD_COLUMN: Final = "staged_keys_unique"

# Fact precedence: the incoming row wins only with a strictly greater (transaction_date, status_rank).
FACT_INCOMING_WINS: Final = (
    "({s}.transaction_date > {t}.transaction_date OR "
    "({s}.transaction_date = {t}.transaction_date AND {s}.status_rank > {t}.status_rank))"
)


def upsert_statements(table: Table, incoming_wins: str | None) -> list[str]:
    """Statements 1-5 for `table` from its staging table.

    `incoming_wins` is a predicate over `{s}` (staged) and `{t}` (stored) aliases; None means the
    incoming row always replaces the stored one (dimensions: a changed row is updated).
    """
    target, staging, key = table.name, table.staging, table.key
    cols = ", ".join(table.column_names)
    wins = incoming_wins.format(s="s", t="t") if incoming_wins else "1 = 1"
    statements = [
        f"DROP TABLE IF EXISTS {COUNTS}",
        f"CREATE TEMP TABLE {COUNTS} AS SELECT "
        f"COUNT(*) AS candidates, "
        f"COUNT(DISTINCT s.{key}) AS distinct_keys, "
        f"COALESCE(SUM(CASE WHEN t.{key} IS NULL THEN 1 ELSE 0 END), 0) AS inserted, "
        f"COALESCE(SUM(CASE WHEN t.{key} IS NOT NULL AND {wins} THEN 1 ELSE 0 END), 0) AS updated, "
        f"COALESCE(SUM(CASE WHEN t.{key} IS NOT NULL AND NOT {wins} THEN 1 ELSE 0 END), 0) AS kept_stored "
        f"FROM {staging} s LEFT JOIN {target} t ON t.{key} = s.{key}",
        f"DROP TABLE IF EXISTS {GUARD}",
        f"CREATE TEMP TABLE {GUARD} ({GUARD_COLUMN} INTEGER NOT NULL)",
        f"INSERT INTO {GUARD} SELECT CASE WHEN candidates = distinct_keys THEN 1 END FROM {COUNTS}",
    ]
    if incoming_wins:
        stored_wins = f"NOT {incoming_wins.format(s=staging, t=target)}"
        statements.append(
            f"DELETE FROM {staging} USING {target} "
            f"WHERE {staging}.{key} = {target}.{key} AND {stored_wins}"
        )
    statements += [
        f"DELETE FROM {target} USING {staging} WHERE {target}.{key} = {staging}.{key}",
        f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging}",
        f"SELECT inserted, updated, kept_stored FROM {COUNTS}",
    ]
    return statements


def lock_statement(table: Table) -> str:
    """Serializes writers on PostgreSQL and Redshift (same syntax on both)."""
    return f"LOCK TABLE {table.name}"


FACT_UPSERT: Final = upsert_statements(FACT_TRANSACTIONS, FACT_INCOMING_WINS)
