"""Invoke the real Lambda handlers in-process, with the function's environment and a Lambda context."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ecom_pipeline.errors import described
from ecom_pipeline.local.handlers import load_function_module
from ecom_pipeline.local.moto_server import environ_overlay
from ecom_pipeline.local.stack import FunctionSpec


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    _deadline: float = field(repr=False, default=0.0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str  # logical id
    source: str  # "sqs" | "sns" | "events" | "schedule" | "manual"
    seconds: float
    ok: bool
    error: str | None = None


class LambdaInvoker:
    """Calls `functions/<code_dir>/app.<handler>` the way the Lambda service would, in this process."""

    def __init__(self, functions: dict[str, FunctionSpec]) -> None:
        self.functions = functions
        self.invocations: list[Invocation] = []

    def invoke(self, logical_id: str, event: dict[str, Any], source: str = "manual") -> Any:
        spec = self.functions[logical_id]
        module_name, _, attribute = spec.handler.rpartition(".")
        if module_name != "app":
            raise ValueError(f"{logical_id}: handler {spec.handler!r}; functions here use app.<name>")
        context = LambdaContext(
            function_name=spec.name, function_version="$LATEST", invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb, aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{spec.name}", log_stream_name=f"local/{uuid.uuid4().hex}",
            _deadline=time.monotonic() + spec.timeout,
        )
        started = time.perf_counter()
        with environ_overlay(spec.environment):
            handler = getattr(load_function_module(spec.code_dir), attribute)
            try:
                result = handler(event, context)
            except Exception as exc:
                self.invocations.append(Invocation(logical_id, source, time.perf_counter() - started, False,
                                                   described(exc)))
                raise
        self.invocations.append(Invocation(logical_id, source, time.perf_counter() - started, True))
        return result
