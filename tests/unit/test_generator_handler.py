"""The generator Lambda with the sample events from events/, S3 emulated in-process by moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from ecom_pipeline.contracts import TRANSACTIONS_HEADER
from ecom_pipeline.generator.events import InvalidPayload
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY
from ecom_pipeline.local.handlers import REPO_ROOT, load_handler
from moto import mock_aws
from pydantic import ValidationError

EVENTS = REPO_ROOT / "events"
BUCKET = "ecom-data-test"


@dataclass
class Context:
    function_name: str = "generator"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:generator"
    aws_request_id: str = "req-1"


def _event(name: str) -> dict[str, Any]:
    return json.loads(Path(EVENTS / name).read_text())  # type: ignore[no-any-return]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("ROWS_PER_DAY", "300")
    monkeypatch.setenv("FAULT_RATE", "0.02")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "generator")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _body(client: Any, key: str) -> str:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()  # type: ignore[no-any-return]


def test_scheduled_event_writes_dims_and_the_day_of_the_event(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = load_handler("generator")(_event("generator_schedule.json"), Context())

    key = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"
    assert result["written"] == [key]
    assert result["rows"] == 300
    assert result["dims_written"] == [PRODUCTS_KEY, CUSTOMERS_KEY]
    lines = _body(s3, key).splitlines()
    assert lines[0] == TRANSACTIONS_HEADER and len(lines) == 301
    assert '"RowsGenerated"' in capsys.readouterr().out  # the EMF metric line


def test_manual_event_backfills_and_a_second_run_skips(s3: Any) -> None:
    event = _event("generator_manual.json")
    handler = load_handler("generator")

    first = handler(event, Context())
    second = handler(event, Context())

    assert [k.rsplit("/", 1)[1] for k in first["written"]] == [
        "transactions_2023-03-10.csv", "transactions_2023-03-11.csv", "transactions_2023-03-12.csv",
    ]
    assert first["rows"] == 3 * event["rows_per_day"]
    assert second["written"] == [] and second["skipped"] == first["written"]
    assert second["dims_reused"] == [PRODUCTS_KEY, CUSTOMERS_KEY]
    for key in first["written"]:
        assert len(_body(s3, key).splitlines()) == event["rows_per_day"] + 1


def test_bad_payload_raises_a_value_error_naming_the_field(s3: Any) -> None:
    with pytest.raises(InvalidPayload, match="rows_per_day"):
        load_handler("generator")({"start": "2023-03-10", "rows_per_day": -5}, Context())
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_missing_data_bucket_fails_fast(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_BUCKET")

    with pytest.raises(ValidationError, match="data_bucket"):
        load_handler("generator")(_event("generator_schedule.json"), Context())
