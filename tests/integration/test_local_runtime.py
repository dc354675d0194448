"""The local runtime against a real moto server, with a small template and a stand-in function.

S3 notifications -> SQS -> Lambda batches with partial failures and DLQ redrive; EventBridge rule ->
SNS (input transformer) -> Lambda (filter policy on the body) and e-mail outbox. No Spark here.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, S3Model, SnsModel
from ecom_pipeline.aws.sqs import MessageQueue
from ecom_pipeline.local.dispatcher import TIME_SCALE
from ecom_pipeline.local.moto_server import LocalAws
from ecom_pipeline.local.runtime import LOCAL_NOTIFICATION_EMAIL, LocalRuntime, RuntimeOptions

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Prefix: {Type: String, Default: t}
  NotificationEmail: {Type: String, Default: ""}
Conditions:
  HasEmail: !Not [!Equals [!Ref NotificationEmail, ""]]
Resources:
  Landing:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${Prefix}-landing"
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectCreated:*
            Queue: !GetAtt Inbox.Arn
            Filter: {S3Key: {Rules: [{Name: Prefix, Value: in/}]}}
  Inbox:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Prefix}-inbox"
      RedrivePolicy: {deadLetterTargetArn: !GetAtt InboxDLQ.Arn, maxReceiveCount: 2}
  InboxDLQ:
    Type: AWS::SQS::Queue
  Failures:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
  Mail:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties: {TopicArn: !Ref Topic, Protocol: email, Endpoint: !Ref NotificationEmail}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [test.app], detail: {state: [DONE]}}
      Targets:
        - Id: topic
          Arn: !Ref Topic
          InputTransformer:
            InputPathsMap: {state: $.detail.state}
            InputTemplate: '{"type": "done", "state": <state>}'
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/local_test_consumer/
      Handler: app.handler
      Environment: {Variables: {LANDING: !Ref Landing, INBOX: !Ref Inbox}}
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}}
      Events:
        Daily:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
        Files:
          Type: SQS
          Properties:
            Queue: !GetAtt Inbox.Arn
            BatchSize: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
        Done:
          Type: SNS
          Properties:
            Topic: !Ref Topic
            FilterPolicyScope: MessageBody
            FilterPolicy: {type: [done]}
"""


class Consumer:
    """Stands in for functions/local_test_consumer/app.py: records what it gets, fails on 'poison'."""

    def __init__(self) -> None:
        self.sqs_batches: list[list[str]] = []
        self.sns_messages: list[str] = []
        self.environment: list[str | None] = []
        self.scheduled: list[EventBridgeModel] = []
        self.received_at: dict[str, list[float]] = {}

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.environment.append(os.environ.get("LANDING"))
        if "Records" not in event:
            self.scheduled.append(parse(event, model=EventBridgeModel))
            return {}
        records = event["Records"]
        if records[0].get("EventSource") == "aws:sns":
            self.sns_messages.extend(r.Sns.Message for r in parse(event, model=SnsModel).Records)
            return {}
        keys, failures = [], []
        for record in records:
            body = json.loads(record["body"])
            if "Records" not in body:  # S3's test event when the notification is configured
                continue
            key = parse(body, model=S3Model).Records[0].s3.object.key
            keys.append(key)
            self.received_at.setdefault(key, []).append(time.monotonic())
            if "poison" in key:
                failures.append({"itemIdentifier": record["messageId"]})
            elif "later" in key and len(self.received_at[key]) == 1:  # as glue_trigger does when refused
                MessageQueue(os.environ["INBOX"]).delay(record["receiptHandle"], 420)
                failures.append({"itemIdentifier": record["messageId"]})
        self.sqs_batches.append(keys)
        return {"batchItemFailures": failures}


@pytest.fixture
def consumer() -> Iterator[Consumer]:
    fake = Consumer()
    module = types.ModuleType("fn_local_test_consumer")
    module.handler = fake.handler  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield fake
    del sys.modules[module.__name__]


@pytest.fixture
def runtime(tmp_path: Path, consumer: Consumer) -> Iterator[LocalRuntime]:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    options = RuntimeOptions(template=template, warehouse_url="duckdb:///unused",
                             state_dir=tmp_path / "state")
    with LocalRuntime.start(options) as rt:
        yield rt


def test_s3_files_reach_the_function_in_batches_and_a_poison_file_ends_in_the_dlq(
        runtime: LocalRuntime, consumer: Consumer) -> None:
    s3 = runtime.aws.client("s3")
    for key in ("in/a.csv", "in/b.csv", "in/poison.csv", "elsewhere/x.csv"):
        s3.put_object(Bucket="t-landing", Key=key, Body=b"x")

    runtime.run_until_idle(timeout_s=60, poll_s=0.1)

    seen = [k for batch in consumer.sqs_batches for k in batch]
    assert all(len(batch) <= 2 for batch in consumer.sqs_batches)
    assert sorted(set(seen)) == ["in/a.csv", "in/b.csv", "in/poison.csv"]
    assert seen.count("in/a.csv") == seen.count("in/b.csv") == 1
    assert seen.count("in/poison.csv") == 2  # maxReceiveCount receives, then moto's redrive
    assert runtime.queue_depth("InboxDLQ") == 1
    assert runtime.queue_depth("Inbox") == 0
    assert set(consumer.environment) == {"t-landing"}


def test_a_wait_a_function_asks_for_runs_on_the_local_clock(runtime: LocalRuntime,
                                                            consumer: Consumer) -> None:
    """A handler delaying a message by 420 s (7 AWS minutes) gets it back after 7 s here: its own back-off,
    scaled like every other SQS wait, not replaced by a fixed retry delay and not waited out in full."""
    runtime.aws.client("s3").put_object(Bucket="t-landing", Key="in/later.csv", Body=b"x")

    runtime.run_until_idle(timeout_s=60, poll_s=0.1)

    first, second = consumer.received_at["in/later.csv"]
    assert 420 / TIME_SCALE - 1 <= second - first <= 420 / TIME_SCALE + 5
    assert runtime.queue_depth("InboxDLQ") == 0


def test_rule_transforms_the_event_and_sns_filters_what_the_function_gets(
        runtime: LocalRuntime, consumer: Consumer) -> None:
    for state in ("DONE", "RUNNING"):
        runtime.dispatcher.put_event({"version": "0", "id": state, "detail-type": "Job", "source": "test.app",
                                      "account": "123456789012", "time": "2024-01-01T00:00:00Z",
                                      "region": "us-east-1", "resources": [], "detail": {"state": state}})
    runtime.aws.client("sns").publish(TopicArn=runtime.stack.topics["Topic"], Subject="hello",
                                      Message=json.dumps({"type": "other"}))

    runtime.run_until_idle(timeout_s=30, poll_s=0.1)

    assert [json.loads(m) for m in consumer.sns_messages] == [{"type": "done", "state": "DONE"}]
    assert [e.to for e in runtime.outbox.emails] == [LOCAL_NOTIFICATION_EMAIL] * 2
    assert sorted(e.subject for e in runtime.outbox.emails) == ["AWS Notification Message", "hello"]
    written = sorted(p.name for p in (runtime.options.state_dir / "outbox").iterdir())
    assert written == ["0001.txt", "0002.txt", "outbox.jsonl"]


def test_a_function_that_raises_on_sns_is_retried_then_recorded(runtime: LocalRuntime, consumer: Consumer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def broken(event: dict[str, Any], context: Any) -> None:
        if event["Records"][0].get("EventSource") == "aws:sns":
            calls.append(1)
            raise RuntimeError("archive bucket unreachable")

    monkeypatch.setattr(sys.modules["fn_local_test_consumer"], "handler", broken)
    runtime.aws.client("sns").publish(TopicArn=runtime.stack.topics["Topic"], Message='{"type": "done"}')

    runtime.run_until_idle(timeout_s=30, poll_s=0.1)

    assert len(calls) == 2  # the first attempt and MaximumRetryAttempts: 1
    (failure,) = runtime.dispatcher.failures
    assert failure.source == "sns" and "archive bucket unreachable" in failure.error
    assert failure.function == "Consumer"
    sqs = runtime.aws.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=runtime.stack.queues["Failures"])["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorMessage"] == "archive bucket unreachable"
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == '{"type": "done"}'


def test_a_schedule_invokes_its_function_with_a_scheduled_event(runtime: LocalRuntime,
                                                               consumer: Consumer) -> None:
    at = datetime(2024, 3, 15, 0, 5, tzinfo=UTC)
    assert runtime.fire_schedules(at) == 1
    (event,) = consumer.scheduled
    assert event.source == "aws.events" and event.detail_type == "Scheduled Event"
    assert event.time == at


def test_the_emulator_is_reached_directly_when_a_proxy_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Machines that reach package registries through a proxy set HTTP_PROXY: the loopback server must
    not be asked for through it (here a port where nothing listens)."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)

    with LocalAws() as aws, aws.environment():  # starting resets the server through HTTP
        boto3.client("s3").create_bucket(Bucket="through-no-proxy")
        assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == ["through-no-proxy"]
