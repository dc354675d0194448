"""Create a planned stack in the emulated AWS (moto server): the template's wiring, made real.

Order matters: queues before the bucket notifications and subscriptions that point at them, DLQs
before the redrive policies. Subscriptions the runtime delivers itself (lambda, email) become
internal queues subscribed with the same filter policy, so moto itself applies the filter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecom_pipeline.local.moto_server import LocalAws
from ecom_pipeline.local.plan import Plan, PlannedResource, plan_template
from ecom_pipeline.local.stack import Stack
from ecom_pipeline.local.template import StackContext, load_template

log = logging.getLogger(__name__)

_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication",
)


def provision(aws: LocalAws, plan: Plan,
              before_notifications: Callable[[Stack], None] | None = None) -> Stack:
    """Create every planned resource; `before_notifications` runs once buckets and queues exist,
    before S3 notifications are switched on (restoring earlier objects then sends no events)."""
    for item in plan.of_type("AWS::S3::Bucket"):
        aws.client("s3").create_bucket(Bucket=item.name)
    _create_queues(aws, plan)
    _create_topics(aws, plan)
    if before_notifications is not None:
        before_notifications(plan.stack)
    for item in plan.of_type("AWS::S3::Bucket"):
        _bucket_notifications(aws, item)
    for item in plan.of_type("AWS::Logs::LogGroup"):
        aws.client("logs").create_log_group(logGroupName=item.name)
    _create_rules(aws, plan)
    for item in plan.of_type("AWS::Glue::Job"):
        _create_glue_job(aws, item)
    return plan.stack


def provision_template(aws: LocalAws, template_path: str | Path, context: StackContext,
                       before_notifications: Callable[[Stack], None] | None = None) -> Stack:
    plan = plan_template(load_template(template_path), context, aws.endpoint_url)
    return provision(aws, plan, before_notifications)


def _create_queues(aws: LocalAws, plan: Plan) -> None:
    sqs = aws.client("sqs")
    queues = plan.of_type("AWS::SQS::Queue")
    for item in queues:
        attrs = {k: _attr(item.properties[k]) for k in _QUEUE_ATTRIBUTES if k in item.properties}
        sqs.create_queue(QueueName=item.name, Attributes=attrs)
    # Redrive policies reference DLQs, which now all exist.
    for item in queues:
        redrive = item.properties.get("RedrivePolicy")
        if redrive:
            url = plan.stack.queues[item.logical_id]
            policy = {"deadLetterTargetArn": redrive["deadLetterTargetArn"],
                      "maxReceiveCount": int(redrive["maxReceiveCount"])}
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
    for sub in plan.stack.sns_subscriptions:
        sqs.create_queue(QueueName=sub.internal_queue_url.rsplit("/", 1)[-1])


def _attr(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _create_topics(aws: LocalAws, plan: Plan) -> None:
    sns = aws.client("sns")
    for item in plan.of_type("AWS::SNS::Topic"):
        attrs = {k: _attr(item.properties[k]) for k in ("DisplayName", "FifoTopic") if k in item.properties}
        sns.create_topic(Name=item.name, Attributes=attrs)
    # Plain SQS subscriptions are moto's own business.
    for item in plan.of_type("AWS::SNS::Subscription"):
        if str(item.properties.get("Protocol", "")).lower() == "sqs":
            _subscribe(sns, item.properties["TopicArn"], "sqs", item.properties["Endpoint"],
                       item.properties.get("FilterPolicy"), item.properties.get("FilterPolicyScope"),
                       raw=bool(item.properties.get("RawMessageDelivery", False)))
    # lambda and email: an internal queue per subscription, same filter policy.
    sqs = aws.client("sqs")
    for sub in plan.stack.sns_subscriptions:
        arn = sqs.get_queue_attributes(QueueUrl=sub.internal_queue_url,
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        _subscribe(sns, sub.topic_arn, "sqs", arn, sub.filter_policy, sub.filter_policy_scope, raw=False)


def _subscribe(sns: Any, topic_arn: str, protocol: str, endpoint: str, policy: Any, scope: Any,
               raw: bool) -> None:
    attributes: dict[str, str] = {}
    if policy:
        attributes["FilterPolicy"] = policy if isinstance(policy, str) else json.dumps(policy)
        attributes["FilterPolicyScope"] = str(scope or "MessageAttributes")
    if raw:
        attributes["RawMessageDelivery"] = "true"
    sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes=attributes)


def _bucket_notifications(aws: LocalAws, item: PlannedResource) -> None:
    spec = item.properties.get("NotificationConfiguration")
    if not spec:
        return
    config: dict[str, Any] = {}
    for cfn_key, arn_key, target_key in (
        ("QueueConfigurations", "QueueArn", "Queue"),
        ("TopicConfigurations", "TopicArn", "Topic"),
    ):
        entries = [_notification(c, arn_key, c[target_key]) for c in spec.get(cfn_key) or []]
        if entries:
            config[cfn_key] = entries
    if spec.get("LambdaConfigurations"):
        raise NotImplementedError(f"{item.logical_id}: direct S3 -> Lambda notifications are not emulated")
    if (spec.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        config["EventBridgeConfiguration"] = {}
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=item.name, NotificationConfiguration=config)


def _notification(cfn: dict[str, Any], arn_key: str, arn: str) -> dict[str, Any]:
    entry: dict[str, Any] = {arn_key: arn, "Events": [cfn["Event"]]}
    rules = ((cfn.get("Filter") or {}).get("S3Key") or {}).get("Rules")
    if rules:
        # CloudFormation spells the rule names freely; moto matches lowercase "prefix"/"suffix".
        entry["Filter"] = {"Key": {"FilterRules": [
            {"Name": str(r["Name"]).lower(), "Value": str(r["Value"])} for r in rules]}}
    return entry


def _create_rules(aws: LocalAws, plan: Plan) -> None:
    """Rules and targets go into moto as the template says (listable like in AWS); delivery is the
    dispatcher's job, since moto's EventBridge cannot deliver to SNS or Lambda targets."""
    events = aws.client("events")
    for rule in plan.stack.rules:
        events.put_rule(Name=rule.name, EventPattern=json.dumps(rule.pattern), EventBusName=rule.event_bus,
                        State="ENABLED" if rule.enabled else "DISABLED")
        targets = []
        for t in rule.targets:
            target: dict[str, Any] = {"Id": t.target_id or "target", "Arn": t.arn}
            if t.input_transformer:
                target["InputTransformer"] = t.input_transformer
            if t.input is not None:
                target["Input"] = t.input
            if t.input_path is not None:
                target["InputPath"] = t.input_path
            targets.append(target)
        if targets:
            events.put_targets(Rule=rule.name, EventBusName=rule.event_bus, Targets=targets)


_GLUE_JOB_KEYS = (
    "Description", "Role", "ExecutionProperty", "Command", "DefaultArguments", "NonOverridableArguments",
    "MaxRetries", "Timeout", "GlueVersion", "NumberOfWorkers", "WorkerType", "MaxCapacity",
    "SecurityConfiguration",
)


def _create_glue_job(aws: LocalAws, item: PlannedResource) -> None:
    args = {k: item.properties[k] for k in _GLUE_JOB_KEYS if k in item.properties}
    args.setdefault("Role", "local")
    args.setdefault("Command", {"Name": "glueetl", "ScriptLocation": "local"})
    if "DefaultArguments" in args:
        args["DefaultArguments"] = {k: str(v) for k, v in args["DefaultArguments"].items()}
    if "MaxCapacity" in args and "WorkerType" in args:
        args.pop("MaxCapacity")
    # Template parameters resolve to strings; the Glue API wants numbers for these.
    for key in ("MaxRetries", "Timeout", "NumberOfWorkers"):
        if key in args:
            args[key] = int(args[key])
    if "MaxCapacity" in args:
        args["MaxCapacity"] = float(args["MaxCapacity"])
    if "ExecutionProperty" in args:
        args["ExecutionProperty"] = {k: int(v) for k, v in args["ExecutionProperty"].items()}
    aws.client("glue").create_job(Name=item.name, **args)
