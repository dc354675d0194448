"""CloudFormation custom resource protocol without extra dependencies: the request model and the
response PUT to the pre-signed ResponseURL. A response is always sent (success, failure, or a timeout
guard shortly before Lambda's own deadline), so a stack never hangs waiting for it."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from ecom_pipeline.errors import described

logger = Logger(child=True)

# Time kept in reserve to report a timeout before Lambda stops the function.
TIMEOUT_MARGIN_MS = 10_000
_REASON_LIMIT = 3_000  # CloudFormation truncates long reasons anyway


class CustomResourceRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    RequestType: Literal["Create", "Update", "Delete"]
    ResponseURL: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    ResourceType: str = "Custom::WarehouseSetup"
    PhysicalResourceId: str | None = None
    ResourceProperties: dict[str, Any] = {}


def send_response(request: CustomResourceRequest, status: Literal["SUCCESS", "FAILED"], reason: str,
                  physical_id: str, data: dict[str, str] | None = None) -> None:
    body = json.dumps({
        "Status": status, "Reason": reason[:_REASON_LIMIT], "PhysicalResourceId": physical_id,
        "StackId": request.StackId, "RequestId": request.RequestId,
        "LogicalResourceId": request.LogicalResourceId, "NoEcho": False, "Data": data or {},
    }).encode()
    # The pre-signed URL is signed for an empty content type.
    put = urllib.request.Request(request.ResponseURL, data=body, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(put, timeout=30) as answer:  # the URL comes from CloudFormation
        logger.info("responded to CloudFormation", status=status, http_status=answer.status)


def respond_to_cloudformation(event: dict[str, Any], remaining_ms: Callable[[], int], physical_id: str,
                              on_create_or_update: Callable[[dict[str, Any]], dict[str, str]]) -> str:
    """Run `on_create_or_update(properties)` for Create/Update (Delete does nothing) and report the
    outcome; returns the status CloudFormation received. A failure is reported with its message, then
    logged."""
    request = CustomResourceRequest.model_validate(event)
    physical_id = request.PhysicalResourceId or physical_id
    sent = threading.Event()
    lock = threading.Lock()

    def report(status: Literal["SUCCESS", "FAILED"], reason: str, data: dict[str, str] | None = None) -> bool:
        with lock:
            if sent.is_set():
                return False
            send_response(request, status, reason, physical_id, data)
            sent.set()
            return True

    guard = threading.Timer(max(remaining_ms() - TIMEOUT_MARGIN_MS, 1_000) / 1000,
                            lambda: report("FAILED", "setup timed out; see the setup function's logs"))
    guard.daemon = True
    guard.start()
    try:
        if request.RequestType == "Delete":
            report("SUCCESS", "nothing to undo: data, dims and tables are kept")
            return "SUCCESS"
        data = on_create_or_update(request.ResourceProperties)
        # Past the guard, CloudFormation already has FAILED: say what it was told, not what came after.
        return "SUCCESS" if report("SUCCESS", "setup done", data) else "FAILED"
    except Exception as error:  # reported to CloudFormation, which shows it and rolls back
        logger.exception("setup failed")
        report("FAILED", described(error))
        return "FAILED"
    finally:
        guard.cancel()
