"""From a Lambda event to a GenerationRequest: the schedule ("today") or a manual backfill payload."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecom_pipeline.generator.config import (
    DEFAULT_FAULT_RATE,
    DEFAULT_ROWS_PER_DAY,
    DEFAULT_UPDATE_RATE,
    GenerationRequest,
)

SCHEDULED_DETAIL_TYPE = "Scheduled Event"


class InvalidPayload(ValueError):
    """The manual payload does not describe a generation run; the message says what is wrong."""


class GeneratorSettings(BaseSettings):
    """The generator Lambda's environment (set by template.yaml)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    data_bucket: str = Field(min_length=3)
    # Where processed days end up: a day archived there counts as written (it left the data bucket).
    archive_bucket: str | None = Field(default=None, min_length=3)
    rows_per_day: int = Field(default=DEFAULT_ROWS_PER_DAY, ge=0)
    # The schedule's days add the default update rate to it: more than the rest would fail every run.
    fault_rate: float = Field(default=DEFAULT_FAULT_RATE, ge=0.0, le=1.0 - DEFAULT_UPDATE_RATE)


def is_scheduled(event: object) -> bool:
    return (isinstance(event, dict) and event.get("source") == "aws.events"
            and event.get("detail-type") == SCHEDULED_DETAIL_TYPE)


def request_from_event(event: object, settings: GeneratorSettings) -> GenerationRequest:
    """Scheduled event -> the UTC day of its `time`; anything else must be a manual payload
    (`start`, `days`, `rows_per_day`, `seed`, fault options, `regenerate_dims`, `overwrite`).
    Options the payload leaves out come from the settings."""
    defaults: dict[str, Any] = {"rows_per_day": settings.rows_per_day, "fault_rate": settings.fault_rate}
    if is_scheduled(event):
        scheduled = EventBridgeModel.model_validate(event)
        return GenerationRequest(start=scheduled.time.astimezone(UTC).date(), days=1, **defaults)
    if not isinstance(event, dict):
        raise InvalidPayload(f"payload must be a JSON object, got {type(event).__name__}")
    try:
        return GenerationRequest.model_validate({**defaults, **event})
    except ValidationError as err:
        raise InvalidPayload(f"invalid generator payload: {err}") from err
