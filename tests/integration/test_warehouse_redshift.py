"""The Redshift adapter's statements, EXECUTED on a real PostgreSQL through a stand-in Data API client.

The stand-in runs each batch as one PostgreSQL transaction and translates only what PostgreSQL cannot
run: `COPY … FROM 's3://…' IAM_ROLE … FORMAT AS PARQUET|CSV` becomes a local bulk load of the mirrored
files, and the Redshift-only DISTSTYLE/DISTKEY/SORTKEY clauses are dropped. Every other statement
(LOCK, temp tables, counts, guard, DELETE USING, INSERT) runs exactly as sent.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from ecom_pipeline import contracts
from ecom_pipeline.warehouse import UpsertResult, WarehouseError
from ecom_pipeline.warehouse.redshift import RedshiftTarget, RedshiftWarehouse

from tests.fixtures.postgres import fact_row

_COPY = re.compile(
    r"^COPY (?P<table>\w+)(?: \((?P<cols>[^)]*)\))? FROM '(?P<uri>s3://[^']+)' IAM_ROLE '[^']+' "
    r"FORMAT AS (?P<format>PARQUET|CSV IGNOREHEADER 1 EMPTYASNULL)$"
)
_REDSHIFT_ONLY = re.compile(r"\s+(DISTSTYLE ALL|DISTKEY\(\w+\)|SORTKEY\(\w+\))")


class PostgresDataApi:
    """Enough of the `redshift-data` client for the adapter, executing on PostgreSQL."""

    def __init__(self, url: str, s3_root: Path, page_size: int = 2) -> None:
        self.url, self.s3_root, self.page_size = url, s3_root, page_size
        self.sent: list[list[str]] = []
        self.targets: list[dict[str, str]] = []
        self._described: dict[str, dict[str, Any]] = {}
        self._results: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}

    # --- client methods the adapter calls -------------------------------------------------------------
    def batch_execute_statement(self, Sqls: list[str], **target: str) -> dict[str, str]:
        return {"Id": self._submit(Sqls, target)}

    def execute_statement(self, Sql: str, **target: str) -> dict[str, str]:
        return {"Id": self._submit([Sql], target)}

    def describe_statement(self, Id: str) -> dict[str, Any]:
        return self._described[Id]

    def get_statement_result(self, Id: str, NextToken: str | None = None) -> dict[str, Any]:
        columns, rows = self._results[Id]
        start = int(NextToken or 0)
        page: dict[str, Any] = {
            "ColumnMetadata": [{"name": c} for c in columns],
            "Records": [[_field(v) for v in row] for row in rows[start:start + self.page_size]],
        }
        if start + self.page_size < len(rows):
            page["NextToken"] = str(start + self.page_size)
        return page

    # --- execution ------------------------------------------------------------------------------------
    def _submit(self, statements: list[str], target: dict[str, str]) -> str:
        self.sent.append(statements)
        self.targets.append(target)
        statement_id = str(uuid.uuid4())
        subs = []
        try:
            with psycopg.connect(self.url) as conn, conn.cursor() as cur:  # one transaction, one session
                for n, statement in enumerate(statements, 1):
                    self._execute(cur, statement)
                    sub_id = f"{statement_id}:{n}"
                    if cur.description:
                        self._results[sub_id] = ([d.name for d in cur.description], cur.fetchall())
                    subs.append({"Id": sub_id, "HasResultSet": bool(cur.description),
                                 "ResultRows": cur.rowcount})
        except psycopg.Error as exc:
            self._described[statement_id] = {"Id": statement_id, "Status": "FAILED", "Error": f"ERROR: {exc}"}
            return statement_id
        single = len(statements) == 1 and subs[0]["HasResultSet"]
        if single:
            self._results[statement_id] = self._results[subs[0]["Id"]]
        self._described[statement_id] = {"Id": statement_id, "Status": "FINISHED", "HasResultSet": single,
                                         "SubStatements": subs}
        return statement_id

    def _execute(self, cur: psycopg.Cursor[Any], statement: str) -> None:
        copy = _COPY.match(statement)
        if not copy:
            cur.execute(_REDSHIFT_ONLY.sub("", statement))  # type: ignore[arg-type]
            return
        local = self.s3_root / copy["uri"].removeprefix("s3://")
        with tempfile.TemporaryDirectory() as tmp:
            if copy["format"] == "PARQUET":  # positional, like Redshift's columnar COPY
                csv_path = Path(tmp) / "batch.csv"
                files = sorted(str(p) for p in local.rglob("*.parquet"))
                duckdb.sql("SELECT * FROM read_parquet(?)", params=[files]).write_csv(str(csv_path))
                target, source = copy["table"], csv_path
            else:
                target, source = f"{copy['table']} ({copy['cols']})", local
            sql = f"COPY {target} FROM STDIN (FORMAT csv, HEADER true)"
            with cur.copy(sql) as load:  # type: ignore[arg-type]
                load.write(source.read_bytes())


def _field(value: Any) -> dict[str, Any]:
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    return {"stringValue": str(value)}


# --- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture
def s3_root(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def api(postgres_url: str, s3_root: Path) -> PostgresDataApi:
    return PostgresDataApi(postgres_url, s3_root)


@pytest.fixture
def redshift(api: PostgresDataApi) -> RedshiftWarehouse:
    target = RedshiftTarget.from_url(
        "redshift://?workgroup=wg&database=dev&secret_arn=arn:aws:secretsmanager:us-east-1:1:secret:rs"
        "&iam_role=arn:aws:iam::1:role/copy"
    )
    wh = RedshiftWarehouse(target, api)
    wh.apply_schema()
    return wh


def s3_uri(s3_root: Path, local: str) -> str:
    """The s3:// URI the stand-in mirrors at `local` (a path under s3_root)."""
    return "s3://" + str(Path(local).relative_to(s3_root))


def pg_facts(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM fact_transactions ORDER BY transaction_id").fetchall()


# --- tests ----------------------------------------------------------------------------------------------
def test_schema_batch_carries_redshift_keys_and_is_idempotent(redshift: RedshiftWarehouse,
                                                              api: PostgresDataApi) -> None:
    redshift.apply_schema()

    ddl = " ".join(api.sent[-1])
    assert "DISTKEY(transaction_id) SORTKEY(transaction_date)" in ddl
    assert ddl.count("DISTSTYLE ALL") == 2
    columns = redshift.query("SELECT * FROM fact_transactions WHERE 1 = 0").columns
    assert columns == list(contracts.FACT_COLUMNS)
    assert api.targets[-1] == {"Database": "dev", "WorkgroupName": "wg",
                               "SecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:rs"}


def test_dims_load_from_s3_csv_is_idempotent(redshift: RedshiftWarehouse, s3_root: Path) -> None:
    dims = s3_root / "data-bucket" / "dims"
    dims.mkdir(parents=True)
    (dims / "products.csv").write_text(
        "product_id,product_name,category,price,supplier_id\nP1,Widget,Tools,10.50,S1\nP2,Gadget,,3.00,S2\n"
        "P3,Thing,Toys,1.25,S1\n")
    (dims / "customers.csv").write_text(
        "customer_id,first_name,last_name,email,membership_level\nC1,Ann,Lee,ann@example.com,Gold\n")
    products = s3_uri(s3_root, str(dims / "products.csv"))
    customers = s3_uri(s3_root, str(dims / "customers.csv"))

    first = redshift.load_dims(products, customers)
    again = redshift.load_dims(products, customers)

    assert first == again == {"dim_products": 3, "dim_customers": 1}
    rows = redshift.query("SELECT product_id, category, price FROM dim_products ORDER BY product_id").rows
    assert rows == [("P1", "Tools", "10.50"), ("P2", None, "3.00"), ("P3", "Toys", "1.25")]  # paginated


def test_fact_upsert_statements_apply_precedence_and_count_exactly(redshift: RedshiftWarehouse, stage,
                                                                   s3_root: Path, postgres_url: str,
                                                                   api: PostgresDataApi) -> None:
    stored = s3_uri(s3_root, stage([fact_row("T1", status="Completed"), fact_row("T2", status="Completed"),
                                    fact_row("T3", status="Completed")]))
    assert redshift.upsert_facts(stored) == UpsertResult(inserted=3, updated=0, kept_stored=0)

    batch = s3_uri(s3_root, stage([
        fact_row("T1", status="Refunded"),  # greater: replaces
        fact_row("T2", status="Cancelled"),  # equal: keeps
        fact_row("T3", status="Pending"),  # lower: keeps
        fact_row("T4"),  # new
    ]))
    result = redshift.upsert_facts(batch)
    again = redshift.upsert_facts(batch)

    assert result == UpsertResult(inserted=1, updated=1, kept_stored=2)
    assert again == UpsertResult(inserted=0, updated=0, kept_stored=4)
    got = {r[0]: (r[10], r[12]) for r in pg_facts(postgres_url)}
    day = date(2023, 3, 15)
    assert got == {"T1": (day, "Refunded"), "T2": (day, "Completed"), "T3": (day, "Completed"),
                   "T4": (day, "Pending")}
    sent = api.sent[-1]
    # The lock comes before anything touches a table: Redshift fixes the snapshot at the first such statement.
    assert sent[0] == "LOCK TABLE fact_transactions"
    assert sent[3].startswith("COPY stg_fact_transactions FROM 's3://")
    assert sent[3].endswith("FORMAT AS PARQUET")


def test_failing_batch_leaves_the_table_as_it_was(redshift: RedshiftWarehouse, stage, s3_root: Path,
                                                  postgres_url: str) -> None:
    redshift.upsert_facts(s3_uri(s3_root, stage([fact_row("T1")])))
    before = pg_facts(postgres_url)
    rows = [fact_row("T1", status="Refunded"), fact_row("T1", status="Failed"), fact_row("T2")]
    duplicate_keys = s3_uri(s3_root, stage(rows))

    with pytest.raises(WarehouseError, match=r"FAILED: .*staged_keys_unique"):
        redshift.upsert_facts(duplicate_keys)
    assert pg_facts(postgres_url) == before
    with pytest.raises(WarehouseError, match=r"FAILED: .*staged_rows_as_counted"):
        redshift.upsert_facts(s3_uri(s3_root, stage([fact_row("T2")])), expected_rows=2)
    assert pg_facts(postgres_url) == before


def test_provisioned_cluster_target_uses_temporary_credentials(postgres_url: str, s3_root: Path) -> None:
    api = PostgresDataApi(postgres_url, s3_root)
    target = RedshiftTarget.from_url("redshift://?cluster=c1&database=dev&db_user=loader&iam_role=arn:r")
    RedshiftWarehouse(target, api).apply_schema()

    assert api.targets == [{"Database": "dev", "ClusterIdentifier": "c1", "DbUser": "loader"}]
