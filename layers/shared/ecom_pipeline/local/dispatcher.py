"""The pieces of the Lambda and EventBridge services moto does not run, in the real event shapes.

- SQS event source mappings: poll the queue, hand batches (up to BatchSize) to the function,
  honour ReportBatchItemFailures; failed messages stay in the queue and moto's redrive moves them to
  the DLQ after maxReceiveCount.
- SNS -> Lambda / e-mail: each such subscription is an internal queue subscribed in moto with the
  same filter policy; its messages are wrapped as SNS event records, or written to the outbox.
- EventBridge -> targets: events are matched against the template's rules and delivered to SNS,
  SQS or Lambda targets, with the target's Input / InputPath / InputTransformer applied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote_plus, unquote_plus

import boto3

from ecom_pipeline.errors import described
from ecom_pipeline.local.eventbridge import matches, target_input
from ecom_pipeline.local.lambdas import LambdaInvoker
from ecom_pipeline.local.moto_server import LocalAws
from ecom_pipeline.local.stack import SnsSubscription, SqsSource, Stack

log = logging.getLogger(__name__)

# One local second per AWS minute: a message Glue refused comes back after 7–14 s, 14–28 s… where AWS
# waits 7–14 min, 14–28 min…, and a local Glue run takes seconds where AWS's takes minutes.
TIME_SCALE = 60.0
_CHANGE_VISIBILITY = "before-parameter-build.sqs.ChangeMessageVisibility"
_SCALE_HOOK = "ecom-pipeline-local-time-scale"


@dataclass
class Email:
    to: str
    subject: str
    body: str
    topic_arn: str
    sent_at: str


@dataclass
class DeliveryFailure:
    function: str
    source: str
    error: str


@dataclass
class Outbox:
    """E-mail subscriptions end here: one .txt per message plus an index `outbox.jsonl`."""

    directory: Path
    emails: list[Email] = field(default_factory=list)

    def send(self, email: Email) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.emails.append(email)
        index = sum(1 for _ in self.directory.glob("*.txt")) + 1
        path = self.directory / f"{index:04d}.txt"
        path.write_text(f"To: {email.to}\nSubject: {email.subject}\nDate: {email.sent_at}\n\n{email.body}\n",
                        encoding="utf-8")
        with (self.directory / "outbox.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({**email.__dict__, "file": path.name}) + "\n")
        return path


class Dispatcher:
    """Moves events between emulated services and the in-process handlers, one step at a time."""

    def __init__(self, aws: LocalAws, stack: Stack, invoker: LambdaInvoker, outbox: Outbox,
                 time_scale: float | None = TIME_SCALE) -> None:
        self.aws = aws
        self.stack = stack
        self.invoker = invoker
        self.outbox = outbox
        # Local runs wait `time_scale` times less than AWS before a failed SQS message is visible again,
        # whether the wait is the queue's VisibilityTimeout or one a handler asked for
        # (`handler_waits_scaled`); None keeps AWS's own waits.
        self.time_scale = time_scale
        self._waits_set_by_handlers: set[str] = set()  # receipt handles
        self._visibility_timeouts: dict[str, int] = {}  # queue url -> seconds
        self.failures: list[DeliveryFailure] = []
        self.events: list[dict[str, Any]] = []
        self.returned_to_queue = 0  # SQS messages a function failed or reported, left for a retry
        self._sqs = aws.client("sqs")
        self._sns = aws.client("sns")

    # --- SQS event source mappings ------------------------------------------------------------
    def poll_sqs_sources(self) -> int:
        """Deliver one batch per enabled SQS source; returns how many messages were handed over."""
        return sum(self._poll_source(s) for s in self.stack.sqs_sources if s.enabled)

    def _receive(self, queue_url: str, limit: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < limit:
            got = self._sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - len(messages)),
                MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0,
            ).get("Messages", [])
            if not got:
                break
            messages.extend(got)
        return messages

    def _poll_source(self, source: SqsSource) -> int:
        messages = self._receive(source.queue_url, source.batch_size)
        if not messages:
            return 0
        event = {"Records": [self._sqs_record(m, source) for m in messages]}
        failed: set[str]
        try:
            result = self.invoker.invoke(source.function, event, source="sqs")
        except Exception as exc:
            log.warning("%s failed on a batch of %d: %s", source.function, len(messages), exc)
            self.failures.append(DeliveryFailure(source.function, "sqs", described(exc)))
            failed = {m["MessageId"] for m in messages}
        else:
            failed = _batch_item_failures(result) if source.report_batch_item_failures else set()
        for message in messages:
            if message["MessageId"] in failed:
                self.returned_to_queue += 1
                handle = message["ReceiptHandle"]
                if handle in self._waits_set_by_handlers:  # already waiting as the handler asked
                    self._waits_set_by_handlers.discard(handle)
                elif self.time_scale is not None:
                    self._sqs.change_message_visibility(
                        QueueUrl=source.queue_url, ReceiptHandle=handle,
                        VisibilityTimeout=self._scaled(self._visibility_timeout(source.queue_url)))
            else:
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    @contextmanager
    def handler_waits_scaled(self) -> Iterator[None]:
        """While open, a handler's ChangeMessageVisibility (the trigger delaying a message Glue refused,
        longer at every receive) waits `time_scale` times less, as every other wait here does: the
        handler's own back-off, on the local clock. Without it the wait would be AWS's (minutes), or,
        overridden by a fixed short one, a backlog of refused batches would use up its receives
        long before the local Glue runs freed a slot, and reach the DLQ where AWS's would not."""
        if self.time_scale is None:
            yield
            return
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        # The session of the handlers' clients: boto3.client() uses it.
        events = cast(boto3.session.Session, boto3.DEFAULT_SESSION).events
        events.register(_CHANGE_VISIBILITY, self._scale_handler_wait, unique_id=_SCALE_HOOK)
        try:
            yield
        finally:
            events.unregister(_CHANGE_VISIBILITY, unique_id=_SCALE_HOOK)

    def _scale_handler_wait(self, params: dict[str, Any], **_: Any) -> None:
        params["VisibilityTimeout"] = self._scaled(params["VisibilityTimeout"])
        self._waits_set_by_handlers.add(params["ReceiptHandle"])

    def _scaled(self, seconds: int) -> int:
        return max(1, round(seconds / (self.time_scale or 1)))

    def _visibility_timeout(self, queue_url: str) -> int:
        """The queue's own wait (read once: the template fixes it)."""
        if queue_url not in self._visibility_timeouts:
            attributes = self._sqs.get_queue_attributes(QueueUrl=queue_url,
                                                        AttributeNames=["VisibilityTimeout"])
            self._visibility_timeouts[queue_url] = int(attributes["Attributes"]["VisibilityTimeout"])
        return self._visibility_timeouts[queue_url]

    def _sqs_record(self, message: dict[str, Any], source: SqsSource) -> dict[str, Any]:
        body = _complete_s3_notification(message["Body"], self.stack.account_id)
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": {k: v for k, v in (message.get("Attributes") or {}).items()},
            "messageAttributes": {
                name: {"stringValue": a.get("StringValue"), "binaryValue": a.get("BinaryValue"),
                       "stringListValues": [], "binaryListValues": [], "dataType": a["DataType"]}
                for name, a in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.queue_arn,
            "awsRegion": self.stack.region,
        }

    # --- SNS subscriptions the runtime delivers ------------------------------------------------
    def poll_sns_subscriptions(self) -> int:
        delivered = 0
        for sub in self.stack.sns_subscriptions:
            for message in self._receive(sub.internal_queue_url, 10):
                notification = json.loads(message["Body"])
                if sub.protocol == "lambda":
                    self._invoke_async(sub.endpoint, {"Records": [_sns_record(notification, sub)]}, "sns")
                else:
                    self.outbox.send(_email(notification, sub))
                self._sqs.delete_message(QueueUrl=sub.internal_queue_url,
                                         ReceiptHandle=message["ReceiptHandle"])
                delivered += 1
        return delivered

    def _invoke_async(self, function: str, event: dict[str, Any], source: str) -> None:
        """An asynchronous invocation: the first attempt plus the function's retries (no back-off
        locally); then the failure is recorded and, when configured, sent to the on-failure destination."""
        spec = self.stack.functions[function]
        attempts = spec.max_retry_attempts + 1
        for attempt in range(1, attempts + 1):
            try:
                self.invoker.invoke(function, event, source=source)
                return
            except Exception as exc:
                log.warning("%s failed on a %s event (attempt %d): %s", function, source, attempt, exc)
                if attempt == attempts:
                    self.failures.append(DeliveryFailure(function, source, described(exc)))
                    if spec.on_failure_arn:
                        self._deliver(spec.on_failure_arn, json.dumps(_failure_record(spec.arn, event, exc,
                                                                                      attempts)))

    # --- EventBridge ---------------------------------------------------------------------------------
    def put_event(self, event: dict[str, Any], bus: str = "default") -> int:
        """Deliver `event` to every target of every enabled rule on `bus` that matches it."""
        self.events.append(event)
        delivered = 0
        for rule in self.stack.rules:
            if not rule.enabled or rule.event_bus != bus or not matches(rule.pattern, event):
                continue
            for target in rule.targets:
                payload = target_input(event, rule.name, target.input, target.input_path,
                                       target.input_transformer)
                self._deliver(target.arn, payload)
                delivered += 1
        return delivered

    def _deliver(self, arn: str, payload: str) -> None:
        service = arn.split(":")[2]
        if service == "sns":
            self._sns.publish(TopicArn=arn, Message=payload)
        elif service == "sqs":
            name = arn.rsplit(":", 1)[-1]
            self._sqs.send_message(QueueUrl=f"{self.stack.endpoint_url}/{self.stack.account_id}/{name}",
                                   MessageBody=payload)
        elif service == "logs":
            self._put_log_event(arn.split(":log-group:", 1)[1].removesuffix(":*"), payload)
        elif service == "lambda":
            function = next(f.logical_id for f in self.stack.functions.values() if f.arn == arn)
            self._invoke_async(function, json.loads(payload), "events")
        else:
            raise NotImplementedError(f"EventBridge target {arn} is not emulated locally")

    def _put_log_event(self, group: str, payload: str) -> None:
        logs = self.aws.client("logs")
        stream = f"local-{uuid.uuid4().hex[:12]}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": int(datetime.now(UTC).timestamp() * 1000), "message": payload}])

    # --- quiescence ---------------------------------------------------------------------------------
    def in_flight(self) -> int:
        """Messages received but not yet visible again or deleted (waiting for a retry)."""
        urls = [s.queue_url for s in self.stack.sqs_sources] + [
            s.internal_queue_url for s in self.stack.sns_subscriptions]
        total = 0
        for url in urls:
            attrs = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible",
                                              "ApproximateNumberOfMessages"])["Attributes"]
            total += int(attrs["ApproximateNumberOfMessagesNotVisible"]) + int(
                attrs["ApproximateNumberOfMessages"])
        return total


def _failure_record(function_arn: str, event: dict[str, Any], exc: Exception,
                    attempts: int) -> dict[str, Any]:
    """The invocation record Lambda sends to an on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": f"{function_arn}:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(exc), "errorType": type(exc).__name__},
    }


def _batch_item_failures(result: Any) -> set[str]:
    if not isinstance(result, dict):
        return set()
    return {str(f["itemIdentifier"]) for f in result.get("batchItemFailures") or []}


def _complete_s3_notification(body: str, account_id: str) -> str:
    """moto's S3 notifications lack fields AWS always sends (userIdentity, requestParameters,
    responseElements, ownerIdentity, sequencer) and encode '/' in keys; fill them in as AWS would."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    records = data.get("Records") if isinstance(data, dict) else None
    if not isinstance(records, list) or not records or records[0].get("eventSource") != "aws:s3":
        return body
    # S3's sequencer is fixed per upload, so a redelivered message must carry the same one: derive it
    # from the message as moto stored it (its eventTime tells two uploads of a key apart).
    upload = hashlib.sha256(body.encode()).hexdigest()[:16].upper()
    for index, record in enumerate(records):
        record.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                               "x-amz-id-2": uuid.uuid4().hex})
        s3 = record.get("s3", {})
        s3.get("bucket", {}).setdefault("ownerIdentity", {"principalId": account_id})
        obj = s3.get("object", {})
        if "key" in obj:
            obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        obj.setdefault("sequencer", f"{upload}{index:02X}")
    return json.dumps(data)


def _sns_record(notification: dict[str, Any], sub: SnsSubscription) -> dict[str, Any]:
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": sub.subscription_arn,
        "Sns": {
            "Type": notification.get("Type", "Notification"),
            "MessageId": notification["MessageId"],
            "TopicArn": notification["TopicArn"],
            "Subject": notification.get("Subject"),
            "Message": notification["Message"],
            "Timestamp": notification["Timestamp"],
            "SignatureVersion": notification.get("SignatureVersion", "1"),
            "Signature": notification.get("Signature", ""),
            "SigningCertUrl": notification.get("SigningCertURL", ""),
            "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
            "MessageAttributes": {
                k: {"Type": v.get("Type"), "Value": v.get("Value")}
                for k, v in (notification.get("MessageAttributes") or {}).items()
            },
        },
    }


def _email(notification: dict[str, Any], sub: SnsSubscription) -> Email:
    body = notification["Message"] if sub.protocol == "email" else json.dumps(notification, indent=2)
    subject = notification.get("Subject") or "AWS Notification Message"
    return Email(to=sub.endpoint, subject=subject, body=body, topic_arn=sub.topic_arn,
                 sent_at=notification.get("Timestamp", ""))
