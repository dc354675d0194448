"""`ecom-pipeline demo` refuses options the generator would refuse, before anything starts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from ecom_pipeline.cli import app
from ecom_pipeline.local.demo import DemoOptions
from typer.testing import CliRunner


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--seed", "-1", "--seed: Input should be greater than or equal to 0"),
    ("--days", "4000", "--days: Input should be less than or equal to 3660"),
    ("--rows-per-day", "60000000", "--rows-per-day: Input should be less than or equal to 50000000"),
    ("--start", "9999-12-31", "do not fit in years 1-9999"),
])
def test_options_out_of_the_generators_bounds_are_bad_parameters(tmp_path: Path, option: str,
                                                                   value: str, said: str) -> None:
    state = tmp_path / "state"

    result = CliRunner().invoke(app, ["demo", "--state-dir", str(state), "--days", "2", option, value],
                                env={"COLUMNS": "300"})

    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "input_value" not in result.output  # told by option, not as pydantic's dump
    assert not state.exists()  # refused before the emulator, the state or the warehouse were touched


def test_an_unexpected_error_is_one_line_naming_the_logs(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def emulator_fails(*_: object, **__: object) -> None:
        raise ConnectionRefusedError("the emulator did not answer")

    monkeypatch.setattr("ecom_pipeline.cli.demo.run_demo", emulator_fails)
    state = tmp_path / "state"

    result = CliRunner().invoke(app, ["demo", "--state-dir", str(state), "--warehouse",
                                      f"duckdb://{tmp_path / 'wh.duckdb'}"], env={"COLUMNS": "300"})

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # typer's Exit, not a crash
    assert f"error: ConnectionRefusedError: the emulator did not answer  (logs: {state / 'logs'})" in (
        result.output)
    assert "Traceback" not in result.output


def test_the_bad_file_scenarios_extra_day_is_checked_too() -> None:
    assert DemoOptions(start=date(9999, 12, 30), days=2).days == 2
    with pytest.raises(ValueError, match="do not fit in years 1-9999"):
        DemoOptions(start=date(9999, 12, 30), days=2, scenario="bad-file")
