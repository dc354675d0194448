"""The local AWS runtime: moto server + the template's stack + the pieces moto does not run.

    with LocalRuntime.start(template, warehouse_url=..., state_dir=...) as rt:
        rt.invoke("generator", {...})      # like the schedule or a manual invoke
        rt.run_until_idle()                 # S3 -> SQS -> trigger -> Glue -> EventBridge -> SNS -> archiver
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecom_pipeline.local.dispatcher import TIME_SCALE, Dispatcher, Outbox
from ecom_pipeline.local.glue_runner import GlueRunner
from ecom_pipeline.local.lambdas import LambdaInvoker
from ecom_pipeline.local.moto_server import ACCOUNT_ID, REGION, LocalAws
from ecom_pipeline.local.provision import provision_template
from ecom_pipeline.local.stack import Stack
from ecom_pipeline.local.template import StackContext

log = logging.getLogger(__name__)

DEFAULT_STACK_NAME = "ecom-pipeline-local"
# The template's optional e-mail subscription exists locally too: its mail goes to the outbox.
LOCAL_NOTIFICATION_EMAIL = "data-team@example.com"


BeforeNotifications = Callable[[LocalAws, Stack], None]


def scheduled_event(stack: Stack, function: str, at: datetime) -> dict[str, Any]:
    """The event a schedule rule sends (see events/generator_schedule.json)."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": stack.account_id, "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": stack.region,
        "resources": [f"arn:aws:events:{stack.region}:{stack.account_id}:rule/{stack.name}-{function}"],
        "detail": {},
    }


class FlowStuck(TimeoutError):
    """Events were still moving when the time allowed for them ran out."""


@dataclass
class RuntimeOptions:
    template: Path
    warehouse_url: str
    state_dir: Path
    parameters: dict[str, str] | None = None
    stack_name: str = DEFAULT_STACK_NAME
    time_scale: float | None = TIME_SCALE  # AWS seconds per local second for SQS waits; None: real
    spark_factory: Callable[[], Any] | None = None


class LocalRuntime:
    """A provisioned stack plus the dispatcher and Glue runner that make it move."""

    def __init__(self, aws: LocalAws, stack: Stack, options: RuntimeOptions) -> None:
        self.aws = aws
        self.stack = stack
        self.options = options
        self.invoker = LambdaInvoker(stack.functions)
        self.outbox = Outbox(options.state_dir / "outbox")
        self.dispatcher = Dispatcher(aws, stack, self.invoker, self.outbox, options.time_scale)
        self.glue = GlueRunner(aws, stack, self.dispatcher.put_event, options.warehouse_url,
                               options.state_dir / "glue", options.spark_factory)

    @classmethod
    @contextmanager
    def start(cls, options: RuntimeOptions,
              before_notifications: BeforeNotifications | None = None) -> Iterator[LocalRuntime]:
        """Start moto, point boto3 at it, provision the template; everything is torn down on exit."""
        parameters = {"NotificationEmail": LOCAL_NOTIFICATION_EMAIL, **(options.parameters or {})}
        context = StackContext(stack_name=options.stack_name, account_id=ACCOUNT_ID, region=REGION,
                               parameters=parameters)
        with LocalAws() as aws, aws.environment():
            hook = (lambda stack: before_notifications(aws, stack)) if before_notifications else None
            stack = provision_template(aws, options.template, context, hook)
            runtime = cls(aws, stack, options)
            try:
                with runtime.dispatcher.handler_waits_scaled():
                    yield runtime
            finally:
                runtime.glue.close()

    # --- driving the flow ---------------------------------------------------------------------------
    def invoke(self, code_dir: str, event: dict[str, Any]) -> Any:
        """Invoke the function whose code is functions/<code_dir>/ synchronously (like `sam local invoke`)."""
        return self.invoker.invoke(self.stack.function_by_code(code_dir).logical_id, event, source="manual")

    def fire_schedules(self, at: datetime) -> int:
        """What EventBridge Scheduler does at `at`: every enabled schedule invokes its function with a
        "Scheduled Event" (or the schedule's constant Input). Returns how many fired."""
        fired = 0
        for schedule in (s for s in self.stack.schedules if s.enabled):
            event = schedule.input if schedule.input is not None else scheduled_event(
                self.stack, schedule.function, at)
            self.invoker.invoke(schedule.function, event, source="schedule")
            fired += 1
        return fired

    def step(self) -> int:
        """One round: SQS batches to Lambdas, waiting Glue runs, SNS deliveries. Returns work done."""
        # Drain several batches per round, as Lambda's concurrent pollers do: a second batch can
        # then meet a Glue run that has not finished, exactly like in AWS.
        work = 0
        for _ in range(10):
            delivered = self.dispatcher.poll_sqs_sources()
            work += delivered
            if not delivered:
                break
        work += self.glue.step()
        work += self.dispatcher.poll_sns_subscriptions()
        return work

    def run_until_idle(self, timeout_s: float = 900.0, poll_s: float = 0.2,
                       on_step: Callable[[int], None] | None = None) -> None:
        """Step until no queue holds a message (visible or waiting for a retry) and no run waits."""
        deadline = time.monotonic() + timeout_s
        while True:
            work = self.step()
            if on_step is not None:
                on_step(work)
            if work:
                continue
            if not self.glue.pending() and self.dispatcher.in_flight() == 0:
                return
            if time.monotonic() > deadline:
                raise FlowStuck(f"events still in flight after {timeout_s:.0f}s")
            time.sleep(poll_s)

    # --- looking at the result ----------------------------------------------------------------------
    def bucket(self, logical_id: str) -> str:
        return self.stack.buckets[logical_id]

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        s3 = self.aws.client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys

    def queue_depth(self, logical_id: str) -> int:
        attrs = self.aws.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.queues[logical_id], AttributeNames=["ApproximateNumberOfMessages"])
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])
