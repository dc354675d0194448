"""archiver Lambda: SNS Glue state change -> on this job's SUCCEEDED, archive the run's source files."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from ecom_pipeline.archive import ArchiverSettings, archive_notification
from ecom_pipeline.aws.glue import GlueJobs
from ecom_pipeline.aws.s3 import ObjectStore
from ecom_pipeline.notify import parse_notification

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = ArchiverSettings()  # type: ignore[call-arg]  # fields come from the environment
    glue, store = GlueJobs(), ObjectStore()
    archived: dict[str, dict[str, str]] = {}
    for record in parse(event=event, model=SnsModel).Records:
        change = parse_notification(str(record.Sns.Message))
        if change is None:
            logger.info("not a state change; ignored", message_id=record.Sns.MessageId,
                        subject=record.Sns.Subject)
            metrics.add_metric(name="NotificationsIgnored", unit=MetricUnit.Count, value=1)
            continue
        result = archive_notification(change, settings, glue, store)
        if result.skipped_reason:
            logger.info("not archiving", run_id=change.run_id, reason=result.skipped_reason)
            metrics.add_metric(name="NotificationsIgnored", unit=MetricUnit.Count, value=1)
            continue
        left = result.left_in_landing
        logger.info("run archived", run_id=change.run_id, files=len(result.outcomes),
                    outcomes=sorted(str(o) for o in result.outcomes.values()))
        if left:  # their own runs archive them; should none follow, they stay in landing: say so
            logger.warning("left in landing for their own runs: not the objects this run was started for",
                           run_id=change.run_id, keys=left)
        done = len(result.outcomes) - len(left)
        metrics.add_metric(name="FilesArchived", unit=MetricUnit.Count, value=done)
        metrics.add_metric(name="FilesLeftForTheirOwnRun", unit=MetricUnit.Count, value=len(left))
        archived[change.run_id] = {key: str(outcome) for key, outcome in result.outcomes.items()}
    return {"archived": archived}
