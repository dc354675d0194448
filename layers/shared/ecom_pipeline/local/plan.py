"""Turn a template into a local plan: every resource's physical name and resolved properties.

Pure (no AWS calls), so the template wiring is unit-tested without a server. `provision.py`
applies the plan to the emulated AWS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ecom_pipeline.local.stack import (
    EventRule,
    FunctionSpec,
    GlueJobSpec,
    RuleTarget,
    ScheduleSource,
    SnsSubscription,
    SqsSource,
    Stack,
)
from ecom_pipeline.local.template import Physical, Resolver, StackContext, TemplateError, generated_name

log = logging.getLogger(__name__)

# Resource types the local runtime creates; everything else is skipped with a debug log.
PROVISIONED_TYPES = frozenset({
    "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::SNS::Subscription",
    "AWS::Events::Rule", "AWS::Glue::Job", "AWS::Serverless::Function", "AWS::Lambda::Function",
    "AWS::Lambda::EventSourceMapping", "AWS::Logs::LogGroup",
})
# Name property per type: when set, it is the physical name; else CloudFormation generates one.
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::Rule": "Name",
    "AWS::Glue::Job": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::RedshiftServerless::Workgroup": "WorkgroupName",
    "AWS::RedshiftServerless::Namespace": "NamespaceName",
}


@dataclass
class PlannedResource:
    logical_id: str
    type: str
    name: str
    properties: dict[str, Any]


@dataclass
class Plan:
    stack: Stack
    resources: list[PlannedResource] = field(default_factory=list)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]


class _Lenient(dict[str, str]):
    """Attributes of a resource type the runtime does not create: any GetAtt gets a placeholder."""

    def __init__(self, arn: str) -> None:
        super().__init__(Arn=arn)
        self._arn = arn

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"{self._arn}/{key}"


class Planner:
    """Resolves one template for one stack context and endpoint."""

    def __init__(self, template: dict[str, Any], context: StackContext, endpoint_url: str) -> None:
        self.template = template
        self.context = context
        self.endpoint_url = endpoint_url.rstrip("/")
        self.resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self._physical: dict[str, Physical] = {}
        self._in_progress: set[str] = set()
        self.resolver = Resolver(template, context, self.physical)
        self._globals = (template.get("Globals") or {}).get("Function") or {}

    # --- physical identity ---------------------------------------------------------------------
    def name_of(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        type_ = resource.get("Type", "")
        prop = _NAME_PROPERTY.get(type_)
        raw = (resource.get("Properties") or {}).get(prop) if prop else None
        if raw is not None:
            return str(self.resolver.resolve(raw))
        if type_ == "AWS::S3::Bucket":
            return generated_name(self.context.stack_name, logical_id, max_len=63, lower=True)
        if type_ == "AWS::SQS::Queue" and (resource.get("Properties") or {}).get("FifoQueue"):
            return generated_name(self.context.stack_name, logical_id, max_len=75) + ".fifo"
        return generated_name(self.context.stack_name, logical_id, max_len=64)

    def physical(self, logical_id: str) -> Physical:
        if logical_id in self._physical:
            return self._physical[logical_id]
        if logical_id in self._in_progress:
            raise TemplateError(f"circular reference while naming {logical_id!r}")
        self._in_progress.add(logical_id)
        try:
            self._physical[logical_id] = self._make_physical(logical_id)
        finally:
            self._in_progress.discard(logical_id)
        return self._physical[logical_id]

    def _make_physical(self, logical_id: str) -> Physical:
        c = self.context
        type_ = self.resources[logical_id].get("Type", "")
        name = self.name_of(logical_id)
        region_acct = f"{c.region}:{c.account_id}"
        if type_ == "AWS::S3::Bucket":
            return Physical(name, {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
                                   "RegionalDomainName": f"{name}.s3.{c.region}.amazonaws.com"})
        if type_ == "AWS::SQS::Queue":
            url = f"{self.endpoint_url}/{c.account_id}/{name}"
            return Physical(url, {"Arn": f"arn:aws:sqs:{region_acct}:{name}", "QueueName": name,
                                  "QueueUrl": url})
        if type_ == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{region_acct}:{name}"
            return Physical(arn, {"TopicArn": arn, "TopicName": name})
        if type_ == "AWS::Events::Rule":
            return Physical(name, {"Arn": f"arn:aws:events:{region_acct}:rule/{name}"})
        if type_ == "AWS::Glue::Job":
            return Physical(name, {})
        if type_ in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return Physical(name, {"Arn": f"arn:aws:lambda:{region_acct}:function:{name}"})
        if type_ == "AWS::IAM::Role":
            return Physical(name, {"Arn": f"arn:aws:iam::{c.account_id}:role/{name}", "RoleId": name})
        if type_ == "AWS::Logs::LogGroup":
            return Physical(name, {"Arn": f"arn:aws:logs:{region_acct}:log-group:{name}:*"})
        if type_ == "AWS::SNS::Subscription":
            props = self.resources[logical_id].get("Properties") or {}
            topic = self.resolver.resolve(props.get("TopicArn"))
            return Physical(f"{topic}:{logical_id}", {})
        service = type_.split("::")[1].lower() if type_.count("::") >= 2 else "unknown"
        arn = f"arn:aws:{service}:{region_acct}:{name}"
        return Physical(name, _Lenient(arn))

    # --- planning -----------------------------------------------------------------------------------
    def plan(self) -> Plan:
        c = self.context
        stack = Stack(name=c.stack_name, account_id=c.account_id, region=c.region,
                      endpoint_url=self.endpoint_url)
        plan = Plan(stack)
        for logical_id, resource in self.resources.items():
            type_ = resource.get("Type", "")
            if not self.resolver.is_active(logical_id):
                log.debug("skipping %s: its condition is false", logical_id)
                continue
            if type_ not in PROVISIONED_TYPES:
                log.debug("skipping %s (%s): not emulated locally", logical_id, type_)
                stack.skipped[logical_id] = type_
                continue
            props = self.resolver.resolve(resource.get("Properties") or {})
            if type_ in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                self._plan_function(stack, logical_id, resource, props)
                continue
            item = PlannedResource(logical_id, type_, self.name_of(logical_id), props)
            plan.resources.append(item)
            self._register(stack, item)
        stack.outputs = self._outputs()
        return plan

    def _register(self, stack: Stack, item: PlannedResource) -> None:
        phys = self.physical(item.logical_id)
        props = item.properties
        if item.type == "AWS::S3::Bucket":
            stack.buckets[item.logical_id] = item.name
        elif item.type == "AWS::SQS::Queue":
            stack.queues[item.logical_id] = phys.ref
        elif item.type == "AWS::SNS::Topic":
            stack.topics[item.logical_id] = phys.ref
            for i, sub in enumerate(props.get("Subscription") or []):
                self._plan_subscription(stack, f"{item.logical_id}Sub{i}", phys.ref, sub)
        elif item.type == "AWS::SNS::Subscription":
            self._plan_subscription(stack, item.logical_id, props["TopicArn"], props)
        elif item.type == "AWS::Events::Rule":
            stack.rules.append(_rule(item.name, props))
        elif item.type == "AWS::Glue::Job":
            stack.glue_jobs[item.logical_id] = GlueJobSpec(
                name=item.name,
                default_arguments={k: str(v) for k, v in (props.get("DefaultArguments") or {}).items()},
                max_concurrent_runs=int((props.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1)),
                script_location=str((props.get("Command") or {}).get("ScriptLocation", "")),
            )
        elif item.type == "AWS::Lambda::EventSourceMapping":
            function = self._function_logical_id(str(props["FunctionName"]))
            stack.sqs_sources.append(_sqs_source(function, props, self._queue_url_for_arn(
                str(props["EventSourceArn"]))))

    def _plan_subscription(self, stack: Stack, logical_id: str, topic_arn: str,
                           props: dict[str, Any]) -> None:
        protocol = str(props.get("Protocol", "")).lower()
        endpoint = str(props.get("Endpoint", ""))
        policy = props.get("FilterPolicy")
        if protocol == "lambda":
            endpoint = self._function_logical_id(endpoint)
        elif protocol == "sqs":
            return  # created as-is in moto by the provisioner; moto delivers to the queue itself
        elif protocol not in ("email", "email-json"):
            log.warning("SNS subscription %s (%s) is not emulated locally: nothing receives it", logical_id,
                        protocol)
            return
        stack.sns_subscriptions.append(SnsSubscription(
            protocol=protocol, topic_arn=topic_arn, endpoint=endpoint,
            subscription_arn=f"{topic_arn}:{logical_id}",
            internal_queue_url=self._internal_queue_url(f"sns-{logical_id}"),
            filter_policy=policy if isinstance(policy, dict) else None,
            filter_policy_scope=str(props.get("FilterPolicyScope", "MessageAttributes")),
        ))

    def _plan_function(self, stack: Stack, logical_id: str, resource: dict[str, Any],
                       props: dict[str, Any]) -> None:
        glob = self.resolver.resolve(self._globals)
        env = dict((glob.get("Environment") or {}).get("Variables") or {})
        env.update((props.get("Environment") or {}).get("Variables") or {})
        code_uri = str(props.get("CodeUri", glob.get("CodeUri", ""))).rstrip("/")
        if not code_uri:
            raise TemplateError(f"{logical_id}: no CodeUri; the runtime loads functions/<dir>/app.py")
        phys = self.physical(logical_id)
        invoke_config = props.get("EventInvokeConfig") or {}
        on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {})
        stack.functions[logical_id] = FunctionSpec(
            logical_id=logical_id, name=phys.ref, arn=phys.attributes["Arn"],
            code_dir=code_uri.rsplit("/", 1)[-1],
            handler=str(props.get("Handler", glob.get("Handler", "app.handler"))),
            environment={k: str(v) for k, v in env.items()},
            timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", glob.get("MemorySize", 128))),
            max_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure_arn=str(on_failure["Destination"]) if on_failure.get("Destination") else None,
        )
        for event_id, event in (props.get("Events") or {}).items():
            self._plan_function_event(stack, logical_id, event_id, event)

    def _plan_function_event(self, stack: Stack, function: str, event_id: str, event: dict[str, Any]) -> None:
        type_ = event.get("Type")
        p = event.get("Properties") or {}
        if type_ == "SQS":
            stack.sqs_sources.append(_sqs_source(function, p, self._queue_url_for_arn(str(p["Queue"]))))
        elif type_ == "SNS":
            sub_id = f"{function}{event_id}"
            stack.sns_subscriptions.append(SnsSubscription(
                protocol="lambda", topic_arn=str(p["Topic"]), endpoint=function,
                subscription_arn=f"{p['Topic']}:{sub_id}",
                internal_queue_url=self._internal_queue_url(f"sns-{sub_id}"),
                filter_policy=p.get("FilterPolicy"),
                filter_policy_scope=str(p.get("FilterPolicyScope", "MessageAttributes")),
            ))
        elif type_ in ("Schedule", "ScheduleV2"):
            raw_input = p.get("Input")
            stack.schedules.append(ScheduleSource(
                function=function, schedule=str(p.get("Schedule", p.get("ScheduleExpression", ""))),
                input=_json_or_none(raw_input),
                enabled=bool(p.get("Enabled", True)) and str(p.get("State", "ENABLED")) != "DISABLED",
            ))
        elif type_ in ("EventBridgeRule", "CloudWatchEvent"):
            fn = stack.functions[function]
            stack.rules.append(EventRule(
                name=generated_name(self.context.stack_name, f"{function}{event_id}"),
                pattern=p.get("Pattern") or {}, event_bus=str(p.get("EventBusName", "default")),
                targets=[RuleTarget(arn=fn.arn, target_id=function)],
            ))
        else:
            log.debug("skipping event %s.%s of type %s: not emulated locally", function, event_id, type_)

    # --- lookups ------------------------------------------------------------------------------------
    def _function_logical_id(self, ref_or_arn: str) -> str:
        name = ref_or_arn.rsplit(":function:", 1)[-1].split(":")[0]
        for logical_id, res in self.resources.items():
            if res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function") and (
                    self.name_of(logical_id) == name):
                return logical_id
        raise TemplateError(f"no function in the template is called {name!r}")

    def _queue_url_for_arn(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        return f"{self.endpoint_url}/{self.context.account_id}/{name}"

    def _internal_queue_url(self, suffix: str) -> str:
        return self._queue_url_for_arn(f"{self.context.stack_name}-local-{suffix}"[:80])

    def _outputs(self) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for name, spec in (self.template.get("Outputs") or {}).items():
            if "Condition" in spec and not self.resolver.condition(spec["Condition"]):
                continue
            try:
                outputs[name] = self.resolver.resolve(spec.get("Value"))
            except TemplateError as exc:
                log.debug("output %s not resolvable locally: %s", name, exc)
        return outputs


def _sqs_source(function: str, props: dict[str, Any], queue_url: str) -> SqsSource:
    arn = str(props.get("Queue") or props.get("EventSourceArn"))
    return SqsSource(
        function=function, queue_url=queue_url, queue_arn=arn,
        batch_size=int(props.get("BatchSize", 10)),
        batching_window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        enabled=bool(props.get("Enabled", True)),
    )


def _rule(name: str, props: dict[str, Any]) -> EventRule:
    pattern = props.get("EventPattern") or {}
    if isinstance(pattern, str):
        pattern = _json_or_none(pattern) or {}
    targets = [
        RuleTarget(arn=str(t["Arn"]), target_id=str(t.get("Id", "")), input=t.get("Input"),
                   input_path=t.get("InputPath"), input_transformer=t.get("InputTransformer"))
        for t in props.get("Targets") or []
    ]
    return EventRule(name=name, pattern=pattern, targets=targets,
                     event_bus=str(props.get("EventBusName", "default")),
                     enabled=str(props.get("State", "ENABLED")) == "ENABLED")


def _json_or_none(raw: Any) -> dict[str, Any] | None:
    import json

    if raw is None:
        return None
    if isinstance(raw, dict):
        return raw
    value = json.loads(str(raw))
    return value if isinstance(value, dict) else None


def plan_template(template: dict[str, Any], context: StackContext, endpoint_url: str) -> Plan:
    return Planner(template, context, endpoint_url).plan()
