"""Which transaction file uploads one SQS message body (an S3 event notification) announces."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from ecom_pipeline.trigger.events import Upload, uploads_from_body
from pydantic import ValidationError


def keys_from_body(body: str) -> list[str]:
    return [upload.key for upload in uploads_from_body(body)]


def _bodies(sample_event: Callable[[str], dict[str, Any]], name: str) -> list[str]:
    return [record["body"] for record in sample_event(name)["Records"]]


def _notification(*records: tuple[str, str]) -> str:
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2023-03-16T00:05:12.345Z", "eventName": name,
        "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": "data", "ownerIdentity": {"principalId": "P"}, "arn": "arn:aws:s3:::data"},
               "object": {"key": key, "size": 10, "eTag": "e", "sequencer": "1"}},
    } for name, key in records]})


def test_every_record_of_a_message_counts_and_keys_are_decoded(sample_event: Any) -> None:
    bodies = _bodies(sample_event, "glue_trigger_sqs")

    keys = [keys_from_body(body) for body in bodies]

    assert keys == [
        ["transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"],
        ["transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv"],  # multipart; dims ignored
        ["transactions/year=2023/month=03/day=17/transactions_2023-03-17 late café.csv",
         "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"],
    ]


def test_s3_test_event_announces_nothing(sample_event: Any) -> None:
    (body,) = _bodies(sample_event, "glue_trigger_sqs_test_event")

    assert keys_from_body(body) == []


@pytest.mark.parametrize("event_name", ["ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy",
                                        "ObjectCreated:CompleteMultipartUpload"])
def test_every_object_created_kind_is_taken(event_name: str) -> None:
    key = "transactions/year=2024/month=02/day=29/transactions_2024-02-29.csv"

    assert keys_from_body(_notification((event_name, key))) == [key]


def test_removals_and_foreign_keys_are_ignored() -> None:
    body = _notification(
        ("ObjectRemoved:Delete", "transactions/year=2024/month=01/day=01/transactions_2024-01-01.csv"),
        ("ObjectCreated:Put", "rejects/year=2024/month=01/day=01/part-0.csv"),
        ("ObjectCreated:Put", "transactions/year=2024/month=01/day=01/notes.txt"),
    )

    assert keys_from_body(body) == []


def test_plus_and_percent_escapes_decode_to_the_real_key() -> None:
    body = _notification(("ObjectCreated:Put",
                          "transactions/year%3D2024/month%3D01/day%3D02/transactions_2024-01-02+%E2%82%AC.csv"))

    assert keys_from_body(body) == ["transactions/year=2024/month=01/day=02/transactions_2024-01-02 €.csv"]


def test_a_body_that_is_not_an_s3_notification_raises() -> None:
    with pytest.raises(json.JSONDecodeError):
        keys_from_body("not json")
    with pytest.raises(ValidationError):
        keys_from_body(json.dumps({"hello": "world"}))


def test_each_upload_carries_its_sequencer_and_etag(sample_event: Any) -> None:
    first, second, _ = _bodies(sample_event, "glue_trigger_sqs")

    assert uploads_from_body(first) == [
        Upload("transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv", "0064130F1A2B3C4D5E",
               "9b2cf535f27731c974343645a3985328")]
    assert [(u.sequencer, u.etag) for u in uploads_from_body(second)] == [
        ("0064130F1A2B3C4D6F", "d41d8cd98f00b204e9800998ecf8427e-4")]
