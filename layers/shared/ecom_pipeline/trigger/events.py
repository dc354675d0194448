"""The S3 event notification inside one SQS message body -> the transaction file uploads it announces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model

from ecom_pipeline.keys import is_transaction_key

S3_TEST_EVENT: Final = "s3:TestEvent"


@dataclass(frozen=True)
class Upload:
    """One transaction file as S3 announced it. The sequencer tells uploads of a key apart: S3 may
    announce one upload twice (in two messages, same sequencer); a key written again gets a new one.
    The ETag names the object it made, as HEAD reports it: the archiver moves only that object."""

    key: str
    sequencer: str | None = None
    etag: str | None = None


def uploads_from_body(body: str) -> list[Upload]:
    """Every ObjectCreated record (Put, Post, Copy, CompleteMultipartUpload) that is a transaction file,
    key decoded, in record order. The s3:TestEvent S3 sends when notifications are configured, other
    event kinds and other keys yield nothing. A body that is not an S3 notification raises."""
    payload = json.loads(body)
    if isinstance(payload, dict) and payload.get("Event") == S3_TEST_EVENT:
        return []
    notification = S3Model.model_validate(payload)
    uploads: list[Upload] = []
    for record in notification.Records:
        if not record.eventName.startswith("ObjectCreated") or record.s3.object is None:
            continue
        # S3 URL-encodes keys in notifications: spaces arrive as '+', non-ASCII as %XX.
        key = unquote_plus(record.s3.object.key)
        if is_transaction_key(key):
            etag = (record.s3.object.eTag or "").strip('"') or None
            uploads.append(Upload(key, record.s3.object.sequencer, etag))
    return uploads
