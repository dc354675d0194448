"""glue_trigger handler against moto: sample batches, duplicates, Glue refusals, retries into the DLQ.

moto starts every run at once and never refuses one, so refusals are injected at the AWS boundary: a
botocore `before-call` hook on StartJobRun raises the ClientError Glue would answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ecom_pipeline.local.handlers import load_handler

JOB = "ecom-pipeline-process-transactions"
K15 = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"
K16 = "transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv"
K17 = "transactions/year=2023/month=03/day=17/transactions_2023-03-17 late café.csv"


@pytest.fixture
def job(glue: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GLUE_JOB_NAME", JOB)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "glue_trigger")
    glue.create_job(Name=JOB, Role="arn:aws:iam::123456789012:role/glue", GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue/process_transactions.py"},
                    ExecutionProperty={"MaxConcurrentRuns": 1})
    return JOB


@pytest.fixture
def glue_answers(mocked_aws: None) -> Iterator[Callable[[str], None]]:
    """Make every later StartJobRun fail with the given error code (until reset with '')."""
    state = {"code": ""}

    def refuse(**_: Any) -> None:
        if state["code"]:
            raise ClientError({"Error": {"Code": state["code"], "Message": "injected"}}, "StartJobRun")

    # Handlers build their clients from boto3's default session: a fresh one carries the hook.
    boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-call.glue.StartJobRun", refuse)
    yield lambda code: state.__setitem__("code", code)
    events.unregister("before-call.glue.StartJobRun", refuse)


def _runs(glue: Any) -> list[dict[str, Any]]:
    return list(glue.get_job_runs(JobName=JOB)["JobRuns"])


def _failed_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def test_sample_batch_starts_one_run_with_every_distinct_decoded_key(
        job: str, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    response = load_handler("glue_trigger")(sample_event("glue_trigger_sqs"), lambda_context)

    assert response == {"batchItemFailures": []}
    (run,) = _runs(glue)
    assert json.loads(run["Arguments"]["--source_keys"]) == [K15, K16, K17]


def test_the_s3_test_event_starts_nothing(
        job: str, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    response = load_handler("glue_trigger")(sample_event("glue_trigger_sqs_test_event"), lambda_context)

    assert response == {"batchItemFailures": []}
    assert _runs(glue) == []


def test_a_duplicate_delivery_does_not_start_a_second_run(
        job: str, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    handler = load_handler("glue_trigger")
    handler(sample_event("glue_trigger_sqs"), lambda_context)

    response = handler(sample_event("glue_trigger_sqs"), lambda_context)

    assert response == {"batchItemFailures": []}
    assert len(_runs(glue)) == 1


def test_a_malformed_message_fails_alone(job: str, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    event = sample_event("glue_trigger_sqs")
    event["Records"][0]["body"] = "{not json"

    response = load_handler("glue_trigger")(event, lambda_context)

    assert _failed_ids(response) == {event["Records"][0]["messageId"]}
    (run,) = _runs(glue)
    assert json.loads(run["Arguments"]["--source_keys"]) == [K16, K17, K15]


@pytest.mark.parametrize("code", ["ConcurrentRunsExceededException", "ThrottlingException",
                                  "ResourceNumberLimitExceededException"])
def test_glue_refusal_returns_every_message_of_the_batch(
        job: str, glue: Any, glue_answers: Callable[[str], None], sample_event: Any, lambda_context: Any,
        code: str) -> None:
    event = sample_event("glue_trigger_sqs")
    glue_answers(code)

    response = load_handler("glue_trigger")(event, lambda_context)

    assert _failed_ids(response) == {r["messageId"] for r in event["Records"]}
    assert _runs(glue) == []


def test_a_refusal_hands_back_only_the_messages_no_run_covers(
        job: str, glue: Any, glue_answers: Callable[[str], None], sample_event: Any,
        lambda_context: Any) -> None:
    event = sample_event("glue_trigger_sqs")
    first = {**event, "Records": event["Records"][:1]}
    load_handler("glue_trigger")(first, lambda_context)  # its run covers the first message
    glue_answers("ConcurrentRunsExceededException")

    response = load_handler("glue_trigger")(event, lambda_context)  # the first one redelivered

    assert _failed_ids(response) == {r["messageId"] for r in event["Records"][1:]}
    assert len(_runs(glue)) == 1


def test_access_denied_raises(job: str, glue_answers: Callable[[str], None], sample_event: Any,
                              lambda_context: Any) -> None:
    glue_answers("AccessDeniedException")

    with pytest.raises(ClientError, match="AccessDenied"):
        load_handler("glue_trigger")(sample_event("glue_trigger_sqs"), lambda_context)


def test_a_missing_job_name_fails_fast(job: str, monkeypatch: pytest.MonkeyPatch, sample_event: Any,
                                       lambda_context: Any) -> None:
    monkeypatch.delenv("GLUE_JOB_NAME")

    with pytest.raises(ValueError, match="glue_job_name"):
        load_handler("glue_trigger")(sample_event("glue_trigger_sqs"), lambda_context)


# --- the queue around it: what Lambda's SQS poller does with the partial-failure response -------------
@pytest.fixture
def queues(sqs: Any, sample_event: Any) -> tuple[str, str]:
    """(queue, dlq) with maxReceiveCount 3; the queue holds the sample batch's three S3 notifications."""
    dlq = sqs.create_queue(QueueName="new-files-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="new-files", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
    })["QueueUrl"]
    for record in sample_event("glue_trigger_sqs")["Records"]:
        sqs.send_message(QueueUrl=queue, MessageBody=record["body"])
    return queue, dlq


def _poll_once(sqs: Any, queue: str, handler: Any, context: Any) -> int:
    """Receive a batch, invoke the handler, delete what succeeded; failed ones become visible again."""
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                   AttributeNames=["All"]).get("Messages", [])
    if not messages:
        return 0
    event = {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:new-files",
        "awsRegion": "us-east-1"} for m in messages]}
    failed = _failed_ids(handler(event, context))
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return len(messages)


def _depth(sqs: Any, queue: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_refused_files_are_retried_and_started_once_glue_accepts(
        job: str, glue: Any, sqs: Any, queues: tuple[str, str], glue_answers: Callable[[str], None],
        lambda_context: Any) -> None:
    (queue, dlq), handler = queues, load_handler("glue_trigger")
    glue_answers("ConcurrentRunsExceededException")
    assert _poll_once(sqs, queue, handler, lambda_context) == 3

    glue_answers("")
    assert _poll_once(sqs, queue, handler, lambda_context) == 3

    (run,) = _runs(glue)
    assert sorted(json.loads(run["Arguments"]["--source_keys"])) == sorted([K15, K16, K17])
    assert _depth(sqs, queue) == 0
    assert _depth(sqs, dlq) == 0


def test_files_land_in_the_dlq_after_max_receive_count_refusals(
        job: str, glue: Any, sqs: Any, queues: tuple[str, str], glue_answers: Callable[[str], None],
        lambda_context: Any) -> None:
    (queue, dlq), handler = queues, load_handler("glue_trigger")
    glue_answers("ConcurrentRunsExceededException")

    polls = 0
    while _poll_once(sqs, queue, handler, lambda_context):
        polls += 1
        assert polls <= 10, "messages never left the queue"

    assert polls == 3
    assert _depth(sqs, dlq) == 3
    assert _runs(glue) == []


def test_a_refused_message_comes_back_later_each_time(
        job: str, glue: Any, sqs: Any, queues: tuple[str, str], glue_answers: Callable[[str], None],
        lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecom_pipeline.trigger.batch import redelivery_delay

    (queue, _), handler = queues, load_handler("glue_trigger")
    monkeypatch.setenv("TRIGGER_QUEUE_URL", queue)
    glue_answers("ConcurrentRunsExceededException")

    assert _poll_once(sqs, queue, handler, lambda_context) == 3

    assert _poll_once(sqs, queue, handler, lambda_context) == 0  # not visible again at once
    hidden = "ApproximateNumberOfMessagesNotVisible"
    assert int(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[hidden])["Attributes"][hidden]) == 3
    # Capped below SQS's 12 hours from the receive (43,200 s), which an earlier receive already ate into.
    assert [redelivery_delay(n, jitter=0) for n in (1, 2, 3, 5, 9)] == [420, 840, 1680, 6720, 42_300]
    assert [redelivery_delay(n, jitter=0.5) for n in (1, 2, 8)] == [630, 1260, 42_300]
    # At random between the doubled wait and twice it: batches refused together do not come back together.
    waits = [redelivery_delay(2) for _ in range(200)]
    assert min(waits) >= 840 and max(waits) < 1680 and len(set(waits)) > 100
