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


def _refused(result: object) -> str:
    """The output of a command that stopped with one `error:` line and exit code 1, not a traceback."""
    assert isinstance(result.exception, SystemExit), result.exception  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    return str(result.output)  # type: ignore[attr-defined]


def test_an_unreachable_warehouse_is_one_error_line(dims: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/nowhere"

    assert "error: OperationalError" in _refused(runner.invoke(app, ["setup", "--warehouse", url,
                                                                     "--dims", str(dims)]))
    queried = runner.invoke(app, ["query", "--warehouse", url, "SELECT 1"])
    assert "error: OperationalError" in _refused(queried)


def test_process_refuses_bad_arguments_before_touching_the_warehouse(dims: Path, tmp_path: Path) -> None:
    day = tmp_path / "day.csv"
    day.write_text("transaction_id,customer_id,product_id,quantity,price,transaction_date,payment_type,status\n")
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    common = ["process", "--dims", str(dims), "--rejects", str(tmp_path / "rejects")]

    thresholds = _refused(runner.invoke(app, [*common, "--warehouse", url, "--small-max", "600",
                                              "--medium-max", "500", str(day)]))
    relative = _refused(runner.invoke(app, [*common, "--warehouse", "duckdb://wh.duckdb", str(day)]))

    assert "error: need 0 < small_max < medium_max, got 600, 500" in thresholds
    assert "input_value" not in thresholds  # told plainly, not as pydantic's dump of the arguments
    assert not (tmp_path / "wh.duckdb").exists()
    assert "error: DuckDB URL needs an absolute path" in relative


def test_query_never_creates_a_warehouse_and_needs_sql(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "wh.duckdb"

    no_warehouse = _refused(runner.invoke(app, ["query", "--warehouse", f"duckdb://{missing}", "SELECT 1"]))
    no_sql = _refused(runner.invoke(app, ["query", "--warehouse", f"duckdb://{missing}", "  "]))

    assert f"error: no warehouse at duckdb://{missing}" in no_warehouse
    assert not missing.parent.exists()
    assert "error: no SQL given" in no_sql


def test_query_prints_every_value_whole_however_wide_the_row(dims: Path, tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    assert runner.invoke(app, ["setup", "--warehouse", url, "--dims", str(dims)]).exit_code == 0
    values = [f"value-{n:02d}-" + "x" * 20 for n in range(12)]
    sql = "SELECT " + ", ".join(f"'{v}' AS column_{n:02d}" for n, v in enumerate(values))

    shown = runner.invoke(app, ["query", "--warehouse", url, sql])

    assert shown.exit_code == 0, shown.output
    assert all(value in shown.output for value in values)


def test_setup_and_process_say_redshift_is_loaded_on_aws(dims: Path, tmp_path: Path) -> None:
    url = "redshift://?workgroup=wg&database=dev&secret_arn=arn:aws:secretsmanager:eu-west-1:1:secret:s"
    day = tmp_path / "transactions_2023-03-15.csv"
    day.write_text("transaction_id,customer_id,product_id,quantity,price,transaction_date,payment_type,status\n")

    setup = _refused(runner.invoke(app, ["setup", "--warehouse", url, "--dims", str(dims)]))
    process = _refused(runner.invoke(app, ["process", "--warehouse", url, "--dims", str(dims),
                                           "--rejects", str(tmp_path / "rejects"), str(day)]))

    for said in (setup, process):
        assert "error: Redshift loads from S3" in said and "locally use duckdb:// or postgresql://" in said
    assert not (tmp_path / "rejects").exists()  # refused before the job ran


def test_query_prints_values_as_they_are_not_as_markup(dims: Path, tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    assert runner.invoke(app, ["setup", "--warehouse", url, "--dims", str(dims)]).exit_code == 0

    shown = runner.invoke(app, ["query", "--warehouse", url,
                                "SELECT 'user[at]x.com' AS e, 'note:cake:x' AS s, 'a[/]b' AS \"[b]c\""])

    assert shown.exit_code == 0, shown.output
    assert all(text in shown.output for text in ("user[at]x.com", "note:cake:x", "a[/]b", "[b]c"))


def test_an_engine_error_over_several_lines_is_one_error_line(dims: Path, tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    assert runner.invoke(app, ["setup", "--warehouse", url, "--dims", str(dims)]).exit_code == 0

    said = _refused(runner.invoke(app, ["query", "--warehouse", url, "SELECT * FROM no_such_table"]))

    assert said.count("\n") == 1 and said.startswith("error: CatalogException: ")
    assert "no_such_table does not exist" in said and "LINE 1: SELECT * FROM no_such_table" in said
    assert "^" not in said  # the caret line under the SQL means nothing on one line


def test_setup_without_dims_files_creates_no_warehouse(tmp_path: Path) -> None:
    (tmp_path / "dims").mkdir()
    warehouse = tmp_path / "wh.duckdb"

    said = _refused(runner.invoke(app, ["setup", "--warehouse", f"duckdb://{warehouse}",
                                        "--dims", str(tmp_path / "dims")]))

    assert f"error: no dims file {tmp_path / 'dims' / 'products.csv'} or " in said
    assert not warehouse.exists()
