"""Amazon Redshift through the Data API (no VPC or JDBC for the job): serverless or provisioned.

The staged batch is loaded with `COPY … FORMAT AS PARQUET` from its S3 prefix using an IAM role, then
the common upsert SQL runs in the same Data API batch, so LOCK, load, change and counts are one
transaction. A serialization failure (1023) re-runs the whole batch with bounded backoff.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ecom_pipeline.warehouse import sql
from ecom_pipeline.warehouse.base import QueryResult, UpsertResult
from ecom_pipeline.warehouse.dataapi import DataApi, PollPolicy
from ecom_pipeline.warehouse.retry import with_retry
from ecom_pipeline.warehouse.schema import (
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    FACT_TRANSACTIONS,
    Table,
    create_staging,
    schema_statements,
)
from ecom_pipeline.warehouse.sql import Step

_URL_KEYS = {"workgroup", "cluster", "database", "secret_arn", "db_user", "iam_role", "region"}


@dataclass(frozen=True)
class RedshiftTarget:
    """Where statements go and as whom: a serverless workgroup or a provisioned cluster."""

    database: str
    workgroup: str | None = None
    cluster: str | None = None
    secret_arn: str | None = None
    db_user: str | None = None
    iam_role: str | None = None  # for COPY from S3
    region: str | None = None

    def __post_init__(self) -> None:
        if not self.database:
            raise ValueError("Redshift URL needs database=…")
        if bool(self.workgroup) == bool(self.cluster):
            raise ValueError("Redshift URL needs exactly one of workgroup=… (serverless) or cluster=…")
        # The Data API's three ways in: a secret; a cluster's database user (temporary credentials); or,
        # with neither, the caller's IAM identity (a workgroup, or a cluster as IAM:<name>).
        if self.secret_arn and self.db_user:
            raise ValueError("Redshift URL takes secret_arn=… or db_user=…, not both")
        if self.workgroup and self.db_user:
            raise ValueError("db_user=… is for a provisioned cluster: a workgroup takes secret_arn=… or the "
                             "caller's IAM identity")

    @classmethod
    def from_url(cls, url: str) -> RedshiftTarget:
        """`redshift://?workgroup=W&database=D&secret_arn=ARN&iam_role=ARN` or `…?cluster=C&db_user=U…`
        (`secret_arn`/`db_user` left out: the caller's IAM identity)."""
        # Percent-escapes are decoded, but a '+' stays a '+' (parse_qs would make it a space): secret
        # names and ARNs may contain one, and the template writes them into the URL as they are.
        pairs = [part.partition("=") for part in urlsplit(url).query.split("&") if part]
        params = {unquote(key): unquote(value) for key, _, value in pairs}
        if repeated := sorted(key for key, n in Counter(unquote(k) for k, _, _ in pairs).items() if n > 1):
            raise ValueError(f"Redshift URL parameters given more than once: {repeated}")
        unknown = set(params) - _URL_KEYS
        if unknown:
            raise ValueError(f"unknown Redshift URL parameters {sorted(unknown)} in {url!r}")
        return cls(**{key: params.get(key) for key in _URL_KEYS - {"database"}},
                   database=params.get("database", ""))

    def api_kwargs(self) -> dict[str, str]:
        kwargs = {"Database": self.database}
        if self.workgroup:
            kwargs["WorkgroupName"] = self.workgroup
        if self.cluster:
            kwargs["ClusterIdentifier"] = self.cluster
        if self.secret_arn:
            kwargs["SecretArn"] = self.secret_arn
        elif self.db_user:
            kwargs["DbUser"] = self.db_user
        return kwargs


def _quote(literal: str) -> str:
    return "'" + literal.replace("'", "''") + "'"


class RedshiftWarehouse:
    dialect = "redshift"

    def __init__(self, target: RedshiftTarget, client: Any, *, poll: PollPolicy | None = None,
                 **api_options: Any) -> None:
        self.target = target
        self.api = DataApi(client, target.api_kwargs(), poll=poll, **api_options)

    @classmethod
    def from_url(cls, url: str) -> RedshiftWarehouse:
        import boto3

        target = RedshiftTarget.from_url(url)
        return cls(target, boto3.client("redshift-data", region_name=target.region))

    # --- statements -----------------------------------------------------------------------------------
    def copy_statement(self, table: Table, source: str, file_format: str) -> str:
        if not source.startswith("s3://"):
            raise ValueError(f"Redshift loads from S3 only, got {source!r}")
        if not self.target.iam_role:
            raise ValueError("Redshift URL needs iam_role=… to COPY from S3")
        auth = f"FROM {_quote(source)} IAM_ROLE {_quote(self.target.iam_role)}"
        if file_format == "parquet":
            # Columnar COPY maps by position and takes no column list: the job writes FACT_COLUMNS in order.
            return f"COPY {table.staging} {auth} FORMAT AS PARQUET"
        cols = ", ".join(table.column_names)
        return f"COPY {table.staging} ({cols}) {auth} FORMAT AS CSV IGNOREHEADER 1 EMPTYASNULL"

    def _staged_upsert(self, table: Table, source: str, file_format: str,
                       incoming_wins: str | None, expected_rows: int | None = None) -> list[Step]:
        return [
            *(Step(statement) for statement in create_staging(table, "redshift")),
            Step(self.copy_statement(table, source, file_format)),
            *sql.upsert_steps(table, incoming_wins, expected_rows),
        ]

    def fact_upsert_steps(self, staged: str, expected_rows: int | None = None) -> list[Step]:
        prefix = staged if staged.endswith("/") else f"{staged}/"
        return self._staged_upsert(FACT_TRANSACTIONS, prefix, "parquet", sql.FACT_INCOMING_WINS,
                                   expected_rows)

    def _run_upserts(self, parts: list[tuple[Table, list[Step]]]) -> dict[str, UpsertResult]:
        """Run several staged upserts as ONE batch (one transaction); their counts by table.

        The LOCK is the batch's first statement: Redshift fixes a transaction's snapshot at its first
        statement that touches a table (a CREATE or COPY of the staging table too), so a writer that
        waited for the lock after its load would merge against data from before the other's commit.
        """
        lock = sql.lock_statement([table for table, _ in parts], self.dialect)
        steps = [step for _, table_steps in parts for step in table_steps]
        outcomes = with_retry(lambda: self.api.run_batch([lock, *(step.sql for step in steps)]))
        results, remaining = {}, iter(outcomes[1:])
        for table, table_steps in parts:
            measured: dict[str, Any] = {}
            for step in table_steps:
                outcome = next(remaining)
                sql.record(measured, step, outcome.result.rows if outcome.result else None, outcome.row_count)
            results[table.name] = sql.upsert_result(measured, table.name)
        return results

    # --- the Warehouse protocol -----------------------------------------------------------------------
    def apply_schema(self) -> None:
        with_retry(lambda: self.api.run_batch(schema_statements("redshift")))

    def load_dims(self, products_csv: str, customers_csv: str) -> dict[str, int]:
        results = self._run_upserts([
            (DIM_PRODUCTS, self._staged_upsert(DIM_PRODUCTS, products_csv, "csv", None)),
            (DIM_CUSTOMERS, self._staged_upsert(DIM_CUSTOMERS, customers_csv, "csv", None)),
        ])
        return {name: result.candidates for name, result in results.items()}

    def upsert_facts(self, staged: str, expected_rows: int | None = None) -> UpsertResult:
        results = self._run_upserts([(FACT_TRANSACTIONS, self.fact_upsert_steps(staged, expected_rows))])
        return results[FACT_TRANSACTIONS.name]

    def query(self, sql_text: str) -> QueryResult:
        return self.api.run(sql_text) or QueryResult(columns=[], rows=[])

    def close(self) -> None:
        """Nothing to release: the Data API is stateless between calls."""
