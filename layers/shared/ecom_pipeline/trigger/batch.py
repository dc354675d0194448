"""The SQS batch as Powertools' BatchProcessor sees it, with ONE StartJobRun after all records.

Each record is parsed on its own: a malformed message fails alone (partial batch failure) and, after
the queue's maxReceiveCount, lands in the DLQ. The keys of the records that parsed are started as one
run; when Glue refuses it, each of those messages is reported failed too (but those an earlier run
already covers: they would only use up receives on their way to the DLQ), so SQS redelivers them later
and no file is lost. Given a `delay`, each refused message comes back after a wait that doubles with
every receive, spread at random (`redelivery_delay`): a backfill of many days waits for Glue capacity
for hours, instead of reaching the DLQ after a few visibility timeouts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from ecom_pipeline.errors import described
from ecom_pipeline.trigger.events import uploads_from_body
from ecom_pipeline.trigger.service import GlueTrigger, QueuedFile, StartResult

logger = Logger(child=True)

# The trigger queue's VisibilityTimeout (template.yaml): the first wait, as Lambda's poller would give.
FIRST_DELAY_S: Final = 420
# SQS refuses a visibility past 12 hours counted from the receive, which came before this invocation by
# up to the batching window (at most 5 minutes) and the run so far (the function's 60 s timeout).
MAX_DELAY_S: Final = 12 * 3600 - 15 * 60


def redelivery_delay(receive_count: int, jitter: float | None = None) -> int:
    """Seconds before a refused message comes back: the queue's own timeout, doubled for each receive,
    plus up to as much again at random (`jitter`, in [0, 1): random unless given).

    The random part spreads the batches Glue refused together: with one wait for all, they all came
    back at the same moment, where at most MaxConcurrentRuns of them could start, and the rest were
    refused again, together, so a long backfill used up its receives and reached the DLQ with Glue idle
    between the returns."""
    doubled = FIRST_DELAY_S * 2 ** (max(receive_count, 1) - 1)
    spread = random.random() if jitter is None else jitter
    return min(int(doubled * (1 + spread)), MAX_DELAY_S)


def _record_handler(record: SqsRecordModel) -> QueuedFile:
    return QueuedFile(message_id=record.messageId, uploads=tuple(uploads_from_body(str(record.body))))


def handle_sqs_batch(event: dict[str, Any], trigger: GlueTrigger,
                     delay: Callable[[str, int], None] | None = None) -> tuple[dict[str, Any], StartResult]:
    """(the Lambda response with `batchItemFailures`, what was started).

    `delay(receipt_handle, seconds)` postpones a refused message's next delivery.
    """
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel,
                               raise_on_entire_batch_failure=False)
    with processor(records=event.get("Records", []), handler=_record_handler):
        outcomes = processor.process()
    response: dict[str, Any] = dict(processor.response())
    queued = [result for status, result, _ in outcomes if status == "success"]
    result = trigger.start(queued)
    if result.refused is not None:
        failed = [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]
        refused = [q.message_id for q in queued if q.keys and q.message_id not in result.already_started]
        response = {"batchItemFailures": [{"itemIdentifier": mid} for mid in dict.fromkeys(failed + refused)]}
        if delay is not None:
            _delay_refused(event, set(refused), delay)
    return response, result


def _delay_refused(event: dict[str, Any], refused: set[str], delay: Callable[[str, int], None]) -> None:
    for record in event.get("Records", []):
        if record.get("messageId") not in refused:
            continue
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        try:
            delay(record["receiptHandle"], redelivery_delay(receives))
        except Exception as error:  # the message still comes back, after the queue's own timeout
            logger.warning("could not delay a refused message", message_id=record.get("messageId"),
                           error=described(error))
