"""`ecom-pipeline demo` refuses options the generator would refuse, before anything starts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from ecom_pipeline.cli import app
from ecom_pipeline.local.demo import DemoOptions
from typer.testing import CliRunner


@pytest.mark.parametrize(("option", "value"), [
    ("--seed", "-1"), ("--days", "4000"), ("--rows-per-day", "60000000"), ("--start", "9999-12-31"),
])
def test_options_out_of_the_generators_bounds_are_bad_parameters(tmp_path: Path, option: str,
                                                                   value: str) -> None:
    state = tmp_path / "state"

    result = CliRunner().invoke(app, ["demo", "--state-dir", str(state), "--days", "2", option, value])

    assert result.exit_code == 2, result.output
    assert "GenerationRequest" in result.output
    assert not state.exists()  # refused before the emulator, the state or the warehouse were touched


def test_the_bad_file_scenarios_extra_day_is_checked_too() -> None:
    assert DemoOptions(start=date(9999, 12, 30), days=2).days == 2
    with pytest.raises(ValueError, match="do not fit in years 1-9999"):
        DemoOptions(start=date(9999, 12, 30), days=2, scenario="bad-file")
