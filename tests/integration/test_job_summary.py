"""The run's own outputs to AWS: the SNS summary and the CloudWatch metrics the dashboard plots."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
from ecom_pipeline.job.summary import publish_metrics, publish_summary, run_metrics, summary_message

ACCOUNTING = {"rows_read": 120, "rows_valid": 110, "rows_rejected": 10,
              "rejects_by_reason": {"invalid_price": 10}, "duplicates_collapsed": 4,
              "inserted": 100, "updated": 5, "kept_stored": 1}


def test_metrics_are_derived_from_the_accounting():
    assert run_metrics(ACCOUNTING) == {"RowsRead": 120, "RowsLoaded": 105, "RowsRejected": 10,
                                       "RowsKeptStored": 1, "DuplicatesCollapsed": 4}


def test_metrics_reach_cloudwatch_with_the_job_dimension(mocked_aws):
    publish_metrics("EcomPipeline", "ecom-process-transactions", run_metrics(ACCOUNTING))

    cloudwatch = boto3.client("cloudwatch")
    now = datetime.now(UTC)
    stats = cloudwatch.get_metric_statistics(
        Namespace="EcomPipeline", MetricName="RowsLoaded",
        Dimensions=[{"Name": "JobName", "Value": "ecom-process-transactions"}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5),
        Period=60, Statistics=["Sum"])
    assert [point["Sum"] for point in stats["Datapoints"]] == [105.0]


def test_summary_is_published_with_its_type_attribute(mocked_aws, sns, sqs):
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})

    subject, body = summary_message("job", "jr_1", ["transactions/a.csv"], ACCOUNTING)
    publish_summary(topic, subject, body)

    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert subject == "Glue run jr_1: 105 rows loaded"
    assert json.loads(message["Body"])["accounting"]["kept_stored"] == 1
    assert message["MessageAttributes"]["type"]["StringValue"] == "run_summary"


def test_a_summary_names_the_files_rejected_whole():
    subject, body = summary_message("job", "jr_2", ["transactions/a.csv", "transactions/b.csv"], ACCOUNTING,
                                    [("transactions/b.csv", "transactions/b.csv: wrong header")])

    assert subject == "Glue run jr_2: 105 rows loaded, 1 file(s) rejected whole"
    assert json.loads(body)["failed_files"] == [
        {"source_file": "transactions/b.csv", "reason": "transactions/b.csv: wrong header"}]
    assert json.loads(summary_message("job", "jr_3", ["transactions/a.csv"], ACCOUNTING)[1])[
        "failed_files"] == []
