"""The SQS batch as Powertools' BatchProcessor sees it, with ONE StartJobRun after all records.

Each record is parsed on its own: a malformed message fails alone (partial batch failure) and, after
the queue's maxReceiveCount, lands in the DLQ. The keys of the records that parsed are started as one
run; when Glue refuses it, each of those messages is reported failed too (but those an earlier run
already covers: they would only use up receives on their way to the DLQ), so SQS redelivers them later
and no file is lost.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from ecom_pipeline.trigger.events import uploads_from_body
from ecom_pipeline.trigger.service import GlueTrigger, QueuedFile, StartResult


def _record_handler(record: SqsRecordModel) -> QueuedFile:
    return QueuedFile(message_id=record.messageId, uploads=tuple(uploads_from_body(str(record.body))))


def handle_sqs_batch(event: dict[str, Any], trigger: GlueTrigger) -> tuple[dict[str, Any], StartResult]:
    """(the Lambda response with `batchItemFailures`, what was started)."""
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel,
                               raise_on_entire_batch_failure=False)
    with processor(records=event.get("Records", []), handler=_record_handler):
        outcomes = processor.process()
    response: dict[str, Any] = dict(processor.response())
    queued = [result for status, result, _ in outcomes if status == "success"]
    result = trigger.start(queued)
    if result.refused is not None:
        failed = [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]
        failed += [q.message_id for q in queued if q.keys and q.message_id not in result.already_started]
        response = {"batchItemFailures": [{"itemIdentifier": mid} for mid in dict.fromkeys(failed)]}
    return response, result
