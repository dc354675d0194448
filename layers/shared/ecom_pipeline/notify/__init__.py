"""The messages on the notifications topic: Glue state changes (from the EventBridge rule's input
transformer in template.yaml) and the job's own run summaries (`ecom_pipeline.job.summary`)."""

from ecom_pipeline.notify.messages import (
    STATE_CHANGE_TYPE,
    SUCCEEDED,
    TERMINAL_STATES,
    GlueStateChange,
    parse_notification,
)

__all__ = ["STATE_CHANGE_TYPE", "SUCCEEDED", "TERMINAL_STATES", "GlueStateChange", "parse_notification"]
