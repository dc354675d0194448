"""The generator Lambda with the sample events from events/, S3 emulated in-process by moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ecom_pipeline.contracts import TRANSACTIONS_HEADER
from ecom_pipeline.generator.events import InvalidPayload
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY
from ecom_pipeline.local.handlers import load_handler
from pydantic import ValidationError

BUCKET = "ecom-data-test"
Event = Callable[[str], dict[str, Any]]


@pytest.fixture
def bucket(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The data bucket (moto, in-process) and the generator's environment."""
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("ROWS_PER_DAY", "300")
    monkeypatch.setenv("FAULT_RATE", "0.02")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "generator")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def _body(client: Any, key: str) -> str:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()  # type: ignore[no-any-return]


def test_scheduled_event_writes_dims_and_the_day_of_the_event(
    bucket: Any, sample_event: Event, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = load_handler("generator")(sample_event("generator_schedule"), lambda_context)

    key = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"
    assert result["written"] == [key]
    assert result["rows"] == 300
    assert result["dims_written"] == [PRODUCTS_KEY, CUSTOMERS_KEY]
    lines = _body(bucket, key).splitlines()
    assert lines[0] == TRANSACTIONS_HEADER and len(lines) == 301
    assert '"RowsGenerated"' in capsys.readouterr().out  # the EMF metric line


def test_manual_event_backfills_and_a_second_run_skips(
    bucket: Any, sample_event: Event, lambda_context: Any
) -> None:
    event = sample_event("generator_manual")
    handler = load_handler("generator")

    first = handler(event, lambda_context)
    second = handler(event, lambda_context)

    assert [k.rsplit("/", 1)[1] for k in first["written"]] == [
        "transactions_2023-03-10.csv", "transactions_2023-03-11.csv", "transactions_2023-03-12.csv",
    ]
    assert first["rows"] == 3 * event["rows_per_day"]
    assert second["written"] == [] and second["skipped"] == first["written"]
    assert second["dims_reused"] == [PRODUCTS_KEY, CUSTOMERS_KEY]
    for key in first["written"]:
        assert len(_body(bucket, key).splitlines()) == event["rows_per_day"] + 1


def test_a_day_already_archived_is_not_written_again(
    bucket: Any, sample_event: Event, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pipeline loaded 2023-03-11 and moved it to the archive bucket: a new backfill skips it.
    monkeypatch.setenv("ARCHIVE_BUCKET", "ecom-archive-test")
    bucket.create_bucket(Bucket="ecom-archive-test")
    archived = "transactions/year=2023/month=03/day=11/transactions_2023-03-11.csv"
    bucket.put_object(Bucket="ecom-archive-test", Key=archived, Body=TRANSACTIONS_HEADER.encode())

    result = load_handler("generator")(sample_event("generator_manual"), lambda_context)

    assert result["skipped"] == [archived]
    assert archived not in result["written"] and len(result["written"]) == 2
    assert "Contents" not in bucket.list_objects_v2(Bucket=BUCKET, Prefix=archived)


def test_bad_payload_raises_a_value_error_naming_the_field(bucket: Any, lambda_context: Any) -> None:
    with pytest.raises(InvalidPayload, match="rows_per_day"):
        load_handler("generator")({"start": "2023-03-10", "rows_per_day": -5}, lambda_context)
    assert "Contents" not in bucket.list_objects_v2(Bucket=BUCKET)


def test_missing_data_bucket_fails_fast(
    bucket: Any, sample_event: Event, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATA_BUCKET")

    with pytest.raises(ValidationError, match="data_bucket"):
        load_handler("generator")(sample_event("generator_schedule"), lambda_context)
