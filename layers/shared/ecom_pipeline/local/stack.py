"""What the local runtime knows about a provisioned stack: names, functions and their event sources.

Built by `provision.py` from `template.yaml`; read by the dispatcher, the Glue runner and the demo.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FunctionSpec:
    """One Lambda function of the template: where its code lives and the environment it gets."""

    logical_id: str
    name: str
    arn: str
    code_dir: str  # folder name under functions/, loaded with local.handlers.load_handler
    handler: str  # "app.handler"
    environment: dict[str, str]
    timeout: int = 3
    memory_mb: int = 128
    # Asynchronous invocations (SNS, EventBridge): retries after the first attempt, and where a
    # record of an invocation that failed for good goes (EventInvokeConfig.DestinationConfig.OnFailure).
    max_retry_attempts: int = 2
    on_failure_arn: str | None = None


@dataclass
class SqsSource:
    """An SQS event source mapping: Lambda polls `queue_url` and calls `function` with batches."""

    function: str  # logical id
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    enabled: bool = True


@dataclass
class SnsSubscription:
    """An SNS subscription the runtime delivers itself (lambda, email), through an internal queue
    subscribed in moto with the same filter policy, so moto applies the filter."""

    protocol: str  # "lambda" | "email" | "email-json"
    topic_arn: str
    endpoint: str  # function logical id, or the e-mail address
    subscription_arn: str
    internal_queue_url: str
    filter_policy: dict[str, Any] | None = None
    filter_policy_scope: str = "MessageAttributes"


@dataclass
class ScheduleSource:
    function: str  # logical id
    schedule: str
    input: dict[str, Any] | None = None
    enabled: bool = True


@dataclass
class RuleTarget:
    arn: str
    target_id: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: dict[str, Any] | None = None


@dataclass
class EventRule:
    name: str
    pattern: dict[str, Any]
    targets: list[RuleTarget]
    event_bus: str = "default"
    enabled: bool = True


@dataclass
class GlueJobSpec:
    name: str
    default_arguments: dict[str, str]
    max_concurrent_runs: int = 1
    script_location: str = ""


@dataclass
class Stack:
    """The provisioned stack, by logical id where the template has one."""

    name: str
    account_id: str
    region: str
    endpoint_url: str
    buckets: dict[str, str] = field(default_factory=dict)  # logical -> bucket name
    queues: dict[str, str] = field(default_factory=dict)  # logical -> queue url
    topics: dict[str, str] = field(default_factory=dict)  # logical -> topic arn
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    sqs_sources: list[SqsSource] = field(default_factory=list)
    sns_subscriptions: list[SnsSubscription] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    rules: list[EventRule] = field(default_factory=list)
    glue_jobs: dict[str, GlueJobSpec] = field(default_factory=dict)  # logical -> job
    outputs: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # logical -> resource type

    def function_by_code(self, code_dir: str) -> FunctionSpec:
        """The function whose code is `functions/<code_dir>/` (e.g. "glue_trigger")."""
        matches = [f for f in self.functions.values() if f.code_dir == code_dir]
        if len(matches) != 1:
            raise LookupError(f"expected one function with code functions/{code_dir}/, found {len(matches)}")
        return matches[0]

    def only_glue_job(self) -> GlueJobSpec:
        if len(self.glue_jobs) != 1:
            raise LookupError(f"expected one Glue job in the template, found {len(self.glue_jobs)}")
        return next(iter(self.glue_jobs.values()))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)
