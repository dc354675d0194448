"""Which topic messages the archiver acts on, and which run keys it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ecom_pipeline.archive import ArchiveError
from ecom_pipeline.archive.service import source_keys
from ecom_pipeline.job.summary import summary_message
from ecom_pipeline.notify import parse_notification
from pydantic import ValidationError

K15 = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"


def test_transformed_state_change_parses(sample_event: Any) -> None:
    message = sample_event("archiver_sns_succeeded")["Records"][0]["Sns"]["Message"]

    change = parse_notification(message)

    assert change is not None
    assert (change.job_name, change.state) == ("ecom-pipeline-process-transactions", "SUCCEEDED")
    assert change.run_id.startswith("jr_")


def test_a_raw_eventbridge_event_parses_too() -> None:
    raw = {"detail-type": "Glue Job State Change", "source": "aws.glue", "time": "t", "region": "r",
           "detail": {"jobName": "j", "state": "TIMEOUT", "jobRunId": "jr_9", "message": "too slow"}}

    change = parse_notification(json.dumps(raw))

    assert change is not None
    assert (change.job_name, change.state, change.run_id) == ("j", "TIMEOUT", "jr_9")
    assert change.message == "too slow"


def test_run_summaries_alarms_and_plain_text_are_not_state_changes() -> None:
    _, summary = summary_message("j", "jr_1", [K15], {"inserted": 1, "updated": 0})
    alarm = json.dumps({"AlarmName": "dlq", "NewStateValue": "ALARM", "Trigger": {}})

    assert [parse_notification(m) for m in (summary, alarm, "plain text", "[1, 2]")] == [None] * 4


def test_a_broken_state_change_raises() -> None:
    with pytest.raises(ValidationError):
        parse_notification(json.dumps({"type": "glue_state_change", "state": "SUCCEEDED"}))


def test_source_keys_are_deduplicated_in_order() -> None:
    other = K15.replace("15", "16")

    assert source_keys({"--source_keys": json.dumps([K15, other, K15])}, "jr") == [K15, other]


@pytest.mark.parametrize(("arguments", "message"), [
    ({}, "no --source_keys"),
    ({"--source_keys": "not json"}, "not JSON"),
    ({"--source_keys": json.dumps({"k": K15})}, "not a JSON array"),
    ({"--source_keys": json.dumps([K15, "dims/products.csv"])}, "not transaction files"),
])
def test_bad_source_keys_are_clear_errors(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        source_keys(arguments, "jr_1")
