"""The run summary the job publishes to SNS when `--summary_topic_arn` is set (format in seams)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3

SUMMARY_TYPE = "run_summary"


def summary_message(job_name: str, run_id: str, source_keys: list[str], accounting: dict[str, Any],
                    failed_files: Sequence[tuple[str, str]] = ()) -> tuple[str, str]:
    """(subject, body) of the run summary; the archiver recognises and ignores `type: run_summary`.
    `failed_files` (key, reason) are the files the run rejected whole: in `source_keys`, not loaded."""
    subject = f"Glue run {run_id}: {accounting['inserted'] + accounting['updated']} rows loaded"
    if failed_files:
        subject += f", {len(failed_files)} file(s) rejected whole"
    body = {"type": SUMMARY_TYPE, "job_name": job_name, "run_id": run_id,
            "source_keys": list(source_keys), "accounting": accounting,
            "failed_files": [{"source_file": key, "reason": reason} for key, reason in failed_files]}
    # SNS subjects are at most 100 characters.
    return subject[:100], json.dumps(body, sort_keys=True, default=str)


def publish_summary(topic_arn: str, subject: str, body: str) -> str:
    """Publish to SNS; returns the message id. Errors propagate (the run summary is not optional)."""
    client = boto3.client("sns")
    response = client.publish(TopicArn=topic_arn, Subject=subject, Message=body,
                              MessageAttributes={"type": {"DataType": "String",
                                                          "StringValue": SUMMARY_TYPE}})
    return str(response["MessageId"])


def run_metrics(accounting: dict[str, Any]) -> dict[str, int]:
    """The run's figures as CloudWatch metrics (names the template's dashboard and alarms use)."""
    return {
        "RowsRead": int(accounting["rows_read"]),
        "RowsLoaded": int(accounting["inserted"]) + int(accounting["updated"]),
        "RowsRejected": int(accounting["rows_rejected"]),
        "RowsKeptStored": int(accounting["kept_stored"]),
        "DuplicatesCollapsed": int(accounting["duplicates_collapsed"]),
    }


def publish_metrics(namespace: str, job_name: str, metrics: dict[str, int]) -> None:
    """PutMetricData with the JobName dimension; errors propagate like the summary's."""
    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": name, "Value": value, "Unit": "Count",
                     "Dimensions": [{"Name": "JobName", "Value": job_name}]}
                    for name, value in metrics.items()])
