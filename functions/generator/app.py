"""Generator Lambda: the daily schedule writes today's transactions; a manual payload backfills."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from ecom_pipeline.generator import S3Sink, generate
from ecom_pipeline.generator.events import GeneratorSettings, request_from_event

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = GeneratorSettings()  # type: ignore[call-arg]  # fields come from the environment
    request = request_from_event(event, settings)
    logger.info("generating", start=request.start.isoformat(), days=request.days,
                rows_per_day=request.rows_per_day, seed=request.seed)
    archive = S3Sink(settings.archive_bucket) if settings.archive_bucket else None
    summary = generate(request, S3Sink(settings.data_bucket), archive=archive)
    metrics.add_metric(name="RowsGenerated", unit=MetricUnit.Count, value=summary.rows)
    metrics.add_metric(name="DaysWritten", unit=MetricUnit.Count, value=len(summary.written))
    metrics.add_metric(name="DaysSkipped", unit=MetricUnit.Count, value=len(summary.skipped))
    logger.info("generated", written=len(summary.written), skipped=len(summary.skipped), rows=summary.rows)
    return summary.report()
