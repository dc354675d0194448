"""glue_trigger: turn a batch of S3-via-SQS notifications into ONE Glue run over the batch's files."""

from ecom_pipeline.trigger.batch import handle_sqs_batch
from ecom_pipeline.trigger.events import Upload, uploads_from_body
from ecom_pipeline.trigger.service import GlueTrigger, QueuedFile, StartResult, TriggerSettings

__all__ = [
    "GlueTrigger", "QueuedFile", "StartResult", "TriggerSettings", "Upload", "handle_sqs_batch",
    "uploads_from_body",
]
