"""glue_trigger Lambda: an SQS batch of new-file notifications -> one Glue run (partial failures)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from ecom_pipeline.aws.glue import GlueJobs
from ecom_pipeline.aws.sqs import MessageQueue
from ecom_pipeline.trigger import GlueTrigger, TriggerSettings, handle_sqs_batch

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = TriggerSettings()  # type: ignore[call-arg]  # fields come from the environment
    queue = MessageQueue(settings.trigger_queue_url) if settings.trigger_queue_url else None
    response, result = handle_sqs_batch(event, GlueTrigger(settings.glue_job_name, GlueJobs()),
                                        delay=queue.delay if queue else None)
    if result.refused is not None:
        logger.warning("glue refused the run; messages go back to the queue",
                       code=result.refused.code, messages=len(response["batchItemFailures"]))
        metrics.add_metric(name="GlueRunsRefused", unit=MetricUnit.Count, value=1)
    elif result.run_id:
        logger.info("job started", run_id=result.run_id, files=len(result.keys),
                    messages=len(result.message_ids), already_started=len(result.already_started))
        metrics.add_metric(name="GlueRunsStarted", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="FilesSubmitted", unit=MetricUnit.Count, value=len(result.keys))
    else:
        logger.info("nothing to start", records=len(event.get("Records", [])),
                    already_started=len(result.already_started))
        metrics.add_metric(name="BatchesWithoutNewFiles", unit=MetricUnit.Count, value=1)
    return response
