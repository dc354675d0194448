"""The pure pieces of dispatch: S3 notification repair, SNS record shape, batch failures, day runs."""

from __future__ import annotations

import json
from datetime import date

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsModel
from ecom_pipeline.local.demo import _contiguous
from ecom_pipeline.local.dispatcher import (
    _batch_item_failures,
    _complete_s3_notification,
    _email,
    _sns_record,
)
from ecom_pipeline.local.stack import SnsSubscription

# What moto puts on the queue for a new object: no userIdentity/requestParameters/responseElements,
# no ownerIdentity or sequencer, and '/' percent-encoded in the key.
MOTO_S3_EVENT = {"Records": [{
    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
    "eventTime": "2024-03-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
    "s3": {"s3SchemaVersion": "1.0", "configurationId": "cfg",
           "bucket": {"name": "data", "arn": "arn:aws:s3:::data"},
           "object": {"key": "transactions%2Fyear%3D2024%2Fmonth%3D03%2Fday%3D01%2F"
                             "transactions_2024-03-01.csv", "size": 10, "eTag": "abc"}},
}]}

SNS_BODY = {
    "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:runs",
    "Subject": "Glue run jr_1: 5 rows loaded", "Message": '{"type": "run_summary"}',
    "Timestamp": "2024-03-01T00:00:00.000Z", "SignatureVersion": "2", "Signature": "c2ln",
    "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    "MessageAttributes": {"kind": {"Type": "String", "Value": "summary"}},
}


def _sub(protocol: str = "lambda") -> SnsSubscription:
    return SnsSubscription(protocol=protocol, topic_arn=SNS_BODY["TopicArn"], endpoint="ops@example.com",
                           subscription_arn=SNS_BODY["TopicArn"] + ":sub", internal_queue_url="http://q")


def test_completed_s3_notification_parses_with_the_powertools_model() -> None:
    body = _complete_s3_notification(json.dumps(MOTO_S3_EVENT), "123456789012")
    record = parse(json.loads(body), model=S3Model).Records[0]
    # As in AWS: '/' stays, '=' is encoded.
    assert record.s3.object.key == "transactions/year%3D2024/month%3D03/day%3D01/transactions_2024-03-01.csv"
    assert record.s3.bucket.ownerIdentity.principalId == "123456789012"


def test_a_redelivered_message_keeps_its_upload_sequencer_and_a_new_upload_gets_another() -> None:
    def sequencer(event: dict) -> str:
        body = _complete_s3_notification(json.dumps(event), "123456789012")
        return str(parse(json.loads(body), model=S3Model).Records[0].s3.object.sequencer)

    rewritten = json.loads(json.dumps(MOTO_S3_EVENT))
    rewritten["Records"][0]["eventTime"] = "2024-03-01T00:00:01.000Z"

    assert sequencer(MOTO_S3_EVENT) == sequencer(MOTO_S3_EVENT)  # as S3 sends it: fixed per upload
    assert sequencer(rewritten) != sequencer(MOTO_S3_EVENT)


def test_non_s3_bodies_pass_through_untouched() -> None:
    test_event = '{"Service": "Amazon S3", "Event": "s3:TestEvent"}'
    assert _complete_s3_notification(test_event, "1") == test_event
    assert _complete_s3_notification("not json", "1") == "not json"


def test_sns_record_has_the_lambda_event_shape() -> None:
    event = {"Records": [_sns_record(SNS_BODY, _sub())]}
    sns = parse(event, model=SnsModel).Records[0].Sns
    assert sns.Message == SNS_BODY["Message"] and sns.Subject == SNS_BODY["Subject"]
    assert str(sns.UnsubscribeUrl).startswith("https://sns.")
    assert sns.MessageAttributes is not None and sns.MessageAttributes["kind"].Value == "summary"


def test_email_protocol_gets_the_message_and_email_json_the_envelope() -> None:
    mail = _email(SNS_BODY, _sub("email"))
    assert mail.body == SNS_BODY["Message"] and mail.subject == SNS_BODY["Subject"]
    assert json.loads(_email(SNS_BODY, _sub("email-json")).body)["MessageId"] == "m-1"
    assert _email({**SNS_BODY, "Subject": None}, _sub("email")).subject == "AWS Notification Message"


def test_batch_item_failures_are_read_from_the_response() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}
    assert _batch_item_failures(response) == {"a", "b"}
    assert _batch_item_failures({"batchItemFailures": []}) == set()
    assert _batch_item_failures(None) == set()


def test_missing_days_are_generated_in_contiguous_runs() -> None:
    d = date(2024, 3, 1)
    days = [d, date(2024, 3, 2), date(2024, 3, 5), date(2024, 3, 4)]
    assert _contiguous(days) == [(d, 2), (date(2024, 3, 4), 2)]
