"""Validation of a generation request and of the manual Lambda payload."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from ecom_pipeline.generator import FaultKind, GenerationRequest, LocalSink, generate
from ecom_pipeline.generator.events import GeneratorSettings, InvalidPayload, request_from_event
from ecom_pipeline.keys import transaction_key
from pydantic import ValidationError

SETTINGS = GeneratorSettings(data_bucket="data-bucket", rows_per_day=123, fault_rate=0.04)


def test_fault_rate_is_spread_evenly_and_overrides_replace_single_kinds() -> None:
    request = GenerationRequest(start=date(2023, 1, 1), fault_rate=0.08,
                                fault_rates={FaultKind.BAD_DATE: 0.0, FaultKind.BAD_PRICE: 0.05})

    rates = request.kind_rates()

    assert rates[FaultKind.BAD_DATE] == 0.0
    assert rates[FaultKind.BAD_PRICE] == 0.05
    assert rates[FaultKind.MALFORMED_ROW] == pytest.approx(0.01)


@pytest.mark.parametrize(
    "bad",
    [
        {"fault_rate": 1.5},
        {"update_rate": -0.1},
        {"fault_rate": 0.8, "update_rate": 0.5},
        {"fault_rates": {"bad_price": 2.0}},
        {"fault_rates": {"no_such_kind": 0.1}},
        {"days": 0},
        {"rows_per_day": -1},
        {"start": "9999-12-31", "days": 2},  # past the calendar
        {"start": "0001-01-03"},  # its status updates would look back before it
    ],
)
def test_request_rejects_impossible_options(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        GenerationRequest.model_validate({"start": "2023-01-01", **bad})


@pytest.mark.parametrize(("fault_rate", "update_rate"),
                         [(0.9, 0.1), (0.78, 0.22), (0.81, 0.19), (0.98, 0.02)])
def test_rates_adding_up_to_exactly_one_are_allowed(fault_rate: float, update_rate: float) -> None:
    request = GenerationRequest(start=date(2023, 1, 1), fault_rate=fault_rate, update_rate=update_rate)
    assert request.fault_rate == fault_rate  # not refused for a float's last bit


@pytest.mark.parametrize("day", [date(1, 1, 7), date(9999, 12, 31)])
def test_the_calendars_first_and_last_usable_days_generate(tmp_path: Path, day: date) -> None:
    generate(GenerationRequest(start=day, rows_per_day=200, update_rate=0.5), LocalSink(tmp_path))
    assert (tmp_path / transaction_key(day)).read_text().count("\n") == 201


@pytest.mark.parametrize(("start", "days"), [(date(1, 1, 6), 1), (date(9999, 12, 31), 2)])
def test_days_past_them_are_refused(start: date, days: int) -> None:
    with pytest.raises(ValidationError, match="do not fit in years 1-9999"):
        GenerationRequest(start=start, days=days)


def test_manual_payload_fills_missing_options_from_settings() -> None:
    request = request_from_event({"start": "2023-03-10", "days": 2, "seed": 9}, SETTINGS)

    assert (request.start, request.days, request.seed) == (date(2023, 3, 10), 2, 9)
    assert request.rows_per_day == 123
    assert request.fault_rate == 0.04


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"start": "2023-02-30"}, "start"),
        ({"days": 3}, "start"),
        ({"start": "2023-03-10", "rows_per_day": "many"}, "rows_per_day"),
        ({"start": "2023-03-10", "sede": 1}, "sede"),
    ],
)
def test_bad_manual_payload_raises_a_clear_value_error(payload: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidPayload, match=field) as info:
        request_from_event(payload, SETTINGS)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("payload", ["2023-03-15", [], None, 5])
def test_a_payload_that_is_not_an_object_is_an_invalid_payload(payload: object) -> None:
    with pytest.raises(InvalidPayload, match="payload must be a JSON object"):
        request_from_event(payload, SETTINGS)


def test_the_schedules_fault_rate_leaves_room_for_its_status_updates() -> None:
    assert GeneratorSettings(data_bucket="data-bucket", fault_rate=0.97).fault_rate == 0.97
    with pytest.raises(ValidationError, match="fault_rate"):  # every scheduled day would be refused
        GeneratorSettings(data_bucket="data-bucket", fault_rate=0.98)


def test_scheduled_event_generates_its_utc_day() -> None:
    event = {
        "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2023-03-15T23:30:00-02:00", "region": "us-east-1",
        "resources": [], "detail": {},
    }

    request = request_from_event(event, SETTINGS)

    assert (request.start, request.days, request.rows_per_day) == (date(2023, 3, 16), 1, 123)
