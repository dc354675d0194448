"""Pure parts of the warehouse: URLs, dimension file validation, the rendered DDL and upsert text."""

from __future__ import annotations

from pathlib import Path

import pytest
from ecom_pipeline.warehouse import DimFileError, default_warehouse_url, open_warehouse, redacted
from ecom_pipeline.warehouse.dims import read_dim_csv
from ecom_pipeline.warehouse.errors import RetryableWarehouseError, WarehouseError
from ecom_pipeline.warehouse.redshift import RedshiftTarget
from ecom_pipeline.warehouse.retry import with_retry
from ecom_pipeline.warehouse.schema import DIM_CUSTOMERS, DIM_PRODUCTS, FACT_TRANSACTIONS, create_table
from ecom_pipeline.warehouse.sql import FACT_UPSERT, upsert_result

HEADER = "product_id,product_name,category,price,supplier_id\n"


# --- URLs -----------------------------------------------------------------------------------------------
def test_default_url_is_an_absolute_duckdb_file_under_dot_local(tmp_path: Path) -> None:
    assert default_warehouse_url(tmp_path) == f"duckdb://{tmp_path.resolve()}/.local/warehouse.duckdb"


@pytest.mark.parametrize("url, message", [
    ("duckdb://relative.duckdb", "absolute path"),
    ("mysql://localhost/db", "unsupported warehouse URL"),
    ("redshift://?database=dev", "exactly one of workgroup"),
    ("redshift://?workgroup=w&cluster=c&database=dev", "exactly one of workgroup"),
    ("redshift://?workgroup=w", "needs database"),
    ("redshift://?cluster=c&database=dev&secret_arn=arn:s&db_user=u", "secret_arn=… or db_user=…, not both"),
    ("redshift://?workgroup=w&database=dev&db_user=u", "db_user=… is for a provisioned cluster"),
    ("redshift://?workgroup=w&database=dev&database=prod", r"more than once: \['database'\]"),
    ("redshift://?workgroup=w&database=dev&password=x", "unknown Redshift URL parameters"),
])
def test_bad_urls_are_refused_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_warehouse(url)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://loader:s3cr%40t@db.internal:5432/shop?sslmode=require",
     "postgresql://loader:***@db.internal:5432/shop?sslmode=require"),
    ("postgresql://loader@db.internal/shop", "postgresql://loader@db.internal/shop"),
    ("duckdb:///tmp/a:b@c.duckdb", "duckdb:///tmp/a:b@c.duckdb"),
    ("redshift://?workgroup=w&database=dev&secret_arn=arn:x", "redshift://?workgroup=w&database=dev&secret_arn=arn:x"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_an_unsupported_url_is_refused_without_echoing_its_password() -> None:
    with pytest.raises(ValueError, match="unsupported warehouse URL") as refused:
        open_warehouse("mysql://loader:hunter2@db/shop")
    assert "hunter2" not in str(refused.value)


def test_a_plus_in_a_redshift_url_value_stays_a_plus() -> None:
    target = RedshiftTarget.from_url("redshift://?workgroup=w&database=dev&secret_arn="
                                     "arn:aws:secretsmanager:eu-west-1:123456789012:secret:loader+etl-AbC123"
                                     "&iam_role=arn:aws:iam::123456789012:role/copy%2Bread")

    assert target.secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:loader+etl-AbC123"
    assert target.iam_role == "arn:aws:iam::123456789012:role/copy+read"


def test_a_cluster_without_secret_or_user_is_reached_as_the_callers_iam_identity() -> None:
    target = RedshiftTarget.from_url("redshift://?cluster=c1&database=dev&iam_role=arn:r")

    assert target.api_kwargs() == {"Database": "dev", "ClusterIdentifier": "c1"}


def test_redshift_serverless_url_maps_to_data_api_arguments() -> None:
    target = RedshiftTarget.from_url(
        "redshift://?workgroup=wg1&database=dev&secret_arn=arn:s&iam_role=arn:r&region=eu-west-1")

    assert target.api_kwargs() == {"Database": "dev", "WorkgroupName": "wg1", "SecretArn": "arn:s"}
    assert (target.iam_role, target.region) == ("arn:r", "eu-west-1")


# --- dimension files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, message", [
    ("P1,Widget,Tools,1.00\n", r"products\.csv:2: expected 5 fields, got 4"),
    ("P1,Widget,Tools,1.00,S1\n,Gadget,Tools,2.00,S1\n", r"products\.csv:3: missing product_id"),
    ("P1,Widget,Tools,1.00,S1\nP1,Gadget,Tools,2.00,S1\n",
     r"products\.csv:3: duplicate product_id 'P1' \(first on line 2\)"),
    ("P1,Widget,Tools,-1,S1\n", r"products\.csv:2: price '-1' is not a non-negative"),
    ("P1,Widget,Tools,1.005,S1\n", r"products\.csv:2: price '1.005' has more than 2 decimal places"),
    ("P1,Widget,Tools,,S1\n", r"products\.csv:2: price '' is not a number"),
])
def test_bad_dim_rows_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "products.csv"
    path.write_text(HEADER + body)

    with pytest.raises(DimFileError, match=message):
        read_dim_csv(str(path), DIM_PRODUCTS)


def test_wrong_dim_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name,email\nC1,Ann,a@x\n")

    with pytest.raises(DimFileError, match=r"customers\.csv:1: header 'customer_id,name,email' is not"):
        read_dim_csv(f"file://{path}", DIM_CUSTOMERS)


def test_dim_files_follow_the_jobs_header_rule_and_must_be_utf8(
        tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes(("\ufeff" + HEADER + "P1,Widget,Tools,10.50,S1\r\n").encode("utf-8"))
    assert read_dim_csv(str(with_bom), DIM_PRODUCTS) == [["P1", "Widget", "Tools", "10.50", "S1"]]

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((HEADER + "P1,Caf\xe9,Tools,10.50,S1\n").encode("latin-1"))
    with pytest.raises(DimFileError, match=r"latin1\.csv: not UTF-8 text"):
        read_dim_csv(str(latin1), DIM_PRODUCTS)

    spaced = tmp_path / "spaced.csv"
    spaced.write_text(HEADER.replace(",", " , ", 1) + "P1,Widget,Tools,10.50,S1\n")
    with pytest.raises(DimFileError, match=r"spaced\.csv:1: header 'product_id , product_name"):
        read_dim_csv(str(spaced), DIM_PRODUCTS)


def test_quoted_fields_and_blank_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(HEADER + '"P1","Widget, large","Tools",10.50,S1\n\nP2,Gadget,,3,S2\n')

    # Prices come back written plainly (3 -> 3.00), as every engine loads them.
    assert read_dim_csv(str(path), DIM_PRODUCTS) == [
        ["P1", "Widget, large", "Tools", "10.50", "S1"], ["P2", "Gadget", "", "3.00", "S2"]]


# --- rendered SQL ---------------------------------------------------------------------------------------
def test_redshift_only_clauses_appear_only_in_the_redshift_dialect() -> None:
    redshift = create_table(FACT_TRANSACTIONS, "redshift")
    portable = create_table(FACT_TRANSACTIONS, "postgres")

    assert redshift.endswith(") DISTKEY(transaction_id) SORTKEY(transaction_date)")
    assert create_table(DIM_PRODUCTS, "redshift").endswith("DISTSTYLE ALL SORTKEY(product_id)")
    assert portable == redshift.rsplit(") DIST", 1)[0] + ")"
    no_key = portable.replace(",\n    PRIMARY KEY (transaction_id)", "")
    assert create_table(FACT_TRANSACTIONS, "duckdb") == no_key
    assert "total_amount DECIMAL(14,2) NOT NULL" in portable and "transaction_date DATE NOT NULL" in portable


def test_upsert_text_uses_only_what_all_three_engines_share() -> None:
    text = "\n".join(step.sql for step in FACT_UPSERT).upper()

    for construct in ("MERGE", "ON CONFLICT", "WITH ", "RETURNING"):
        assert construct not in text
    assert [step.measure for step in FACT_UPSERT if step.measure] == [
        "kept_stored", "updated", "written", "candidates", "per_file"]


# --- retry ----------------------------------------------------------------------------------------------
def test_retry_gives_up_after_the_bound_and_reraises() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def always_conflicts() -> None:
        calls.append(1)
        raise RetryableWarehouseError("conflict")

    with pytest.raises(RetryableWarehouseError):
        with_retry(always_conflicts, attempts=4, base_delay=1.0, max_delay=3.0, sleep=slept.append)
    assert len(calls) == 4 and len(slept) == 3
    assert all(0.5 <= s <= 3.0 for s in slept)


def test_redshift_adapter_needs_neither_duckdb_nor_psycopg() -> None:
    # The Glue job and the deploy-time custom resource have boto3 but not the local engines.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('duckdb', 'psycopg'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from ecom_pipeline.warehouse import open_warehouse\n"
        "open_warehouse('redshift://?workgroup=wg1&database=dev&iam_role=arn:r&region=us-east-1')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr


def test_per_file_counts_that_do_not_add_up_to_the_statements_fail() -> None:
    measured = {"candidates": 10, "kept_stored": 1, "updated": 2, "written": 9,
                "per_file": [("a.csv", 6, 5, 1), ("b.csv", 4, 4, 1)]}
    assert upsert_result(measured, "t").per_file["b.csv"].inserted == 3

    for per_file in ([("a.csv", 6, 5, 1)], [("a.csv", 6, 5, 1), ("b.csv", 4, 3, 1)],
                     [("a.csv", 6, 5, 6), ("b.csv", 4, 4, -4)]):
        with pytest.raises(WarehouseError, match="per file"):
            upsert_result({**measured, "per_file": per_file}, "t")
