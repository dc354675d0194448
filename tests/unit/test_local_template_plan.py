"""The project's own template.yaml, planned for the local runtime (no server needed)."""

from __future__ import annotations

import pytest
from ecom_pipeline.local.handlers import REPO_ROOT
from ecom_pipeline.local.plan import Plan, plan_template
from ecom_pipeline.local.template import StackContext, load_template

ENDPOINT = "http://127.0.0.1:1"


@pytest.fixture(scope="module")
def plan() -> Plan:
    template = load_template(REPO_ROOT / "template.yaml")
    context = StackContext(parameters={"NotificationEmail": "ops@example.com"})
    return plan_template(template, context, ENDPOINT)


def test_every_function_has_code_and_its_environment(plan: Plan) -> None:
    functions = {f.code_dir: f for f in plan.stack.functions.values()}
    assert {"generator", "glue_trigger", "archiver"} <= set(functions)
    for spec in functions.values():
        assert (REPO_ROOT / "functions" / spec.code_dir / "app.py").is_file()
        assert spec.environment["POWERTOOLS_SERVICE_NAME"]
    data_bucket = plan.stack.outputs["DataBucketName"]
    assert functions["generator"].environment["DATA_BUCKET"] == data_bucket
    assert functions["archiver"].environment["ARCHIVE_BUCKET"] == plan.stack.outputs["ArchiveBucketName"]
    assert functions["glue_trigger"].environment["GLUE_JOB_NAME"] == plan.stack.outputs["GlueJobName"]


def test_trigger_reads_the_bucket_queue_in_batches_with_partial_failures(plan: Plan) -> None:
    trigger = plan.stack.function_by_code("glue_trigger").logical_id
    (source,) = [s for s in plan.stack.sqs_sources if s.function == trigger]
    assert source.report_batch_item_failures
    assert source.batch_size >= 10
    buckets = plan.of_type("AWS::S3::Bucket")
    bucket = next(r for r in buckets if r.name == plan.stack.outputs["DataBucketName"])
    (queue_config,) = bucket.properties["NotificationConfiguration"]["QueueConfigurations"]
    assert queue_config["Queue"] == source.queue_arn
    assert queue_config["Event"] == "s3:ObjectCreated:*"


def test_archiver_gets_only_successful_state_changes(plan: Plan) -> None:
    archiver = plan.stack.function_by_code("archiver").logical_id
    (sub,) = [s for s in plan.stack.sns_subscriptions if s.protocol == "lambda" and s.endpoint == archiver]
    assert sub.topic_arn == plan.stack.outputs["NotificationsTopicArn"]
    assert sub.filter_policy is not None
    assert sub.internal_queue_url.startswith(ENDPOINT)


def test_state_change_rule_is_scoped_to_this_job_and_targets_the_topic(plan: Plan) -> None:
    job = plan.stack.only_glue_job().name
    rules = [r for r in plan.stack.rules if r.pattern.get("source") == ["aws.glue"]]
    assert rules and all(r.pattern["detail"]["jobName"] == [job] for r in rules)
    assert any(t.arn == plan.stack.outputs["NotificationsTopicArn"] for r in rules for t in r.targets)


def test_email_subscription_follows_the_parameter(plan: Plan) -> None:
    emails = [s for s in plan.stack.sns_subscriptions if s.protocol == "email"]
    assert [s.endpoint for s in emails] == ["ops@example.com"]
    without = plan_template(load_template(REPO_ROOT / "template.yaml"), StackContext(), ENDPOINT)
    assert [s for s in without.stack.sns_subscriptions if s.protocol == "email"] == []


def test_glue_job_arguments_come_from_the_template(plan: Plan) -> None:
    job = plan.stack.only_glue_job()
    assert job.default_arguments["--data_bucket"] == plan.stack.outputs["DataBucketName"]
    assert job.max_concurrent_runs >= 1
    assert "--warehouse_url" in job.default_arguments


def test_a_template_parameter_changes_the_local_wiring() -> None:
    template = load_template(REPO_ROOT / "template.yaml")
    small = plan_template(template, StackContext(parameters={"TriggerBatchSize": "10"}), ENDPOINT)
    assert {s.batch_size for s in small.stack.sqs_sources} == {10}


def test_unemulated_types_are_listed_as_skipped(plan: Plan) -> None:
    assert "AWS::IAM::Role" in plan.stack.skipped.values()
    assert all(t not in plan.stack.skipped.values() for t in ("AWS::S3::Bucket", "AWS::SQS::Queue",
                                                                 "AWS::SNS::Topic", "AWS::Glue::Job"))
