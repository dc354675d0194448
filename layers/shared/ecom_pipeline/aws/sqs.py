"""SQS as glue_trigger uses it beyond Lambda's poller: delaying a message's next delivery."""

from __future__ import annotations

from typing import Any

import boto3


class MessageQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make the received message visible again only after `seconds` (from now)."""
        self._client.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle,
                                               VisibilityTimeout=seconds)
