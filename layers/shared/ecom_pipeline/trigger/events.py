"""The S3 event notification inside one SQS message body -> the transaction keys it announces."""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model

from ecom_pipeline.keys import is_transaction_key

S3_TEST_EVENT: Final = "s3:TestEvent"


def keys_from_body(body: str) -> list[str]:
    """Decoded keys of every ObjectCreated record (Put, Post, Copy, CompleteMultipartUpload) that is a
    transaction file, in record order. The s3:TestEvent S3 sends when notifications are configured,
    other event kinds and other keys yield nothing. A body that is not an S3 notification raises."""
    payload = json.loads(body)
    if isinstance(payload, dict) and payload.get("Event") == S3_TEST_EVENT:
        return []
    notification = S3Model.model_validate(payload)
    keys: list[str] = []
    for record in notification.Records:
        if not record.eventName.startswith("ObjectCreated") or record.s3.object is None:
            continue
        # S3 URL-encodes keys in notifications: spaces arrive as '+', non-ASCII as %XX.
        key = unquote_plus(record.s3.object.key)
        if is_transaction_key(key):
            keys.append(key)
    return keys
