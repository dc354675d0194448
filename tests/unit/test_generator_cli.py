"""`ecom-pipeline generate`: options reach the generator, progress and results are reported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from ecom_pipeline.cli import app
from ecom_pipeline.keys import PRODUCTS_KEY, transaction_key
from typer.testing import CliRunner

from tests.fixtures.data import data_lines

runner = CliRunner()


def test_generate_writes_the_range_and_reports_skipped_days(tmp_path: Path) -> None:
    args = ["generate", "--out", str(tmp_path), "--start", "2023-03-30", "--days", "3",
            "--rows-per-day", "400", "--seed", "5", "--products", "60", "--customers", "90"]

    first = runner.invoke(app, args)
    second = runner.invoke(app, [*args, "--days", "4"])

    assert first.exit_code == 0, first.output
    assert (tmp_path / PRODUCTS_KEY).is_file()
    assert (tmp_path / "transactions/year=2023/month=04/day=01/transactions_2023-04-01.csv").is_file()
    assert "1,200 transaction rows in 3 file(s)" in first.output
    assert second.exit_code == 0, second.output
    assert second.output.count("skipped") == 3
    assert "transactions_2023-04-02.csv" in second.output


def test_fault_options_switch_kinds_on_and_off(tmp_path: Path) -> None:
    result = runner.invoke(app, [
        "generate", "--out", str(tmp_path), "--start", "2023-03-30", "--rows-per-day", "2000",
        "--fault-rate", "0", "--update-rate", "0", "--missing-id-rate", "0.1",
        "--products", "60", "--customers", "90",
    ])

    assert result.exit_code == 0, result.output
    lines = data_lines(tmp_path / transaction_key(date(2023, 3, 30)))
    missing = sum(line.startswith(",") for line in lines)
    assert 150 < missing < 250
    assert all(line.startswith(",") or line.count(",") == 7 for line in lines)


def test_bad_options_fail_with_a_message(tmp_path: Path) -> None:
    bad_date = runner.invoke(app, ["generate", "--out", str(tmp_path), "--start", "2023-02-30"])
    bad_rate = runner.invoke(app, ["generate", "--out", str(tmp_path), "--start", "2023-02-01",
                                   "--fault-rate", "0.9", "--update-rate", "0.5"])

    assert bad_date.exit_code != 0 and "YYYY-MM-DD" in bad_date.output
    assert bad_rate.exit_code != 0 and "add up to" in bad_rate.output
    assert not any(tmp_path.iterdir())


def test_bad_options_are_told_by_their_option_names_not_as_a_pydantic_dump(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--start", "2023-02-01",
                                 "--days", "5000", "--products", "0"], env={"COLUMNS": "300"})

    assert result.exit_code == 2  # a usage error
    assert "--days: Input should be less than or equal to 3660" in result.output
    assert "--products: Input should be greater than or equal to 1" in result.output
    assert "input_value" not in result.output and "errors.pydantic.dev" not in result.output


def test_a_day_in_the_archive_is_not_generated_again(tmp_path: Path) -> None:
    day = transaction_key(date(2023, 3, 8))
    (tmp_path / "archive" / day).parent.mkdir(parents=True)
    (tmp_path / "archive" / day).write_text("already processed\n")
    args = ["generate", "--out", str(tmp_path / "data"), "--start", "2023-03-07", "--days", "2",
            "--rows-per-day", "10", "--products", "60", "--customers", "90"]

    result = runner.invoke(app, [*args, "--archive", str(tmp_path / "archive")])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / transaction_key(date(2023, 3, 7))).is_file()
    assert not (tmp_path / "data" / day).exists()
    assert f"skipped {day}" in result.output


@pytest.mark.parametrize(("out", "said"), [
    ("s3://", "error: no bucket in 's3://'"),
    ("S3://", "error: no bucket in 'S3://'"),  # the scheme in capitals is still S3, not a folder "S3:"
    ("", "error: no output location"),  # not the current folder
    ("{file}", "error: NotADirectoryError"),
    ("{empty_dims}", "error: products dim: the file is empty"),
])
def test_a_bad_destination_is_one_error_line_not_a_traceback(tmp_path: Path, out: str, said: str) -> None:
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "empty_dims" / "dims").mkdir(parents=True)
    (tmp_path / "empty_dims" / "dims" / "products.csv").write_text("")
    target = out.format(file=tmp_path / "file", empty_dims=tmp_path / "empty_dims")

    result = runner.invoke(app, ["generate", "--out", target, "--start", "2023-02-01",
                                 "--rows-per-day", "10"])

    assert result.exit_code == 1
    assert said in result.output
    assert isinstance(result.exception, SystemExit)  # typer's Exit, not a crash

