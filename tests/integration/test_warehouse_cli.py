"""`ecom-pipeline setup` and `ecom-pipeline query`, driven as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest
from ecom_pipeline.cli import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def dims(tmp_path: Path) -> Path:
    folder = tmp_path / "dims"
    folder.mkdir()
    (folder / "products.csv").write_text(
        "product_id,product_name,category,price,supplier_id\nP1,Widget,Tools,10.50,S1\nP2,Gadget,Toys,3,S2\n")
    (folder / "customers.csv").write_text(
        "customer_id,first_name,last_name,email,membership_level\nC1,Ann,Lee,ann@example.com,Gold\n")
    return folder


def test_setup_twice_then_query_on_the_default_warehouse(dims: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    first = runner.invoke(app, ["setup", "--dims", str(dims)])
    again = runner.invoke(app, ["setup", "--dims", str(dims)])
    shown = runner.invoke(app, ["query", "SELECT product_id, price FROM dim_products ORDER BY product_id"])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0 and again.output == first.output
    assert "dim_products: 2 rows loaded" in first.output and "dim_customers: 1 rows loaded" in first.output
    assert (tmp_path / ".local" / "warehouse.duckdb").is_file()
    assert shown.exit_code == 0, shown.output
    assert "P1" in shown.output and "10.50" in shown.output and "(2 rows)" in shown.output


def test_setup_on_postgres_and_a_bad_query_exits_non_zero(dims: Path, postgres_url: str) -> None:
    # The test server trusts local connections, so the password is accepted and ignored.
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@", 1)
    setup = runner.invoke(app, ["setup", "--warehouse", with_password, "--dims", str(dims)])
    bad = runner.invoke(app, ["query", "--warehouse", postgres_url, "SELECT * FROM no_such_table"])

    assert setup.exit_code == 0, setup.output
    assert "hunter2" not in setup.output and "postgres:***@" in setup.output
    assert bad.exit_code == 1
    assert "no_such_table" in bad.output


def test_bad_dim_file_fails_setup_with_file_and_line(dims: Path, tmp_path: Path) -> None:
    (dims / "customers.csv").write_text("customer_id,first_name,last_name,email,membership_level\n,A,B,c,G\n")
    url = f"duckdb://{tmp_path / 'w.duckdb'}"

    result = runner.invoke(app, ["setup", "--warehouse", url, "--dims", str(dims)])

    assert result.exit_code == 1
    assert "customers.csv:2: missing customer_id" in result.output
