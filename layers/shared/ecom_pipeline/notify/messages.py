"""Parse what arrives on the notifications topic into a typed Glue state change (or nothing).

The EventBridge rule's InputTransformer (template.yaml, GlueStateChangeRule) turns a
"Glue Job State Change" event into:

    {"type": "glue_state_change", "job_name": ..., "state": ..., "run_id": ..., "message": ...,
     "time": ..., "region": ..., "note": ...}

The same topic carries the job's run summaries (`{"type": "run_summary", ...}`) and CloudWatch alarm
messages; those are not state changes and parse to None.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

STATE_CHANGE_TYPE: Final = "glue_state_change"
SUCCEEDED: Final = "SUCCEEDED"
TERMINAL_STATES: Final = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"})
_RAW_DETAIL_TYPE: Final = "Glue Job State Change"


class GlueStateChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: Literal["glue_state_change"] = STATE_CHANGE_TYPE
    job_name: str
    state: str
    run_id: str
    message: str | None = None
    time: str | None = None
    region: str | None = None


def parse_notification(text: str) -> GlueStateChange | None:
    """The state change a topic message carries; None for run summaries, alarms and other messages.

    A raw EventBridge event (a rule target without the transformer) is understood too. A state-change
    message that does not validate raises: it is ours and broken, which someone must see.
    """
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError:
        return None  # alarms from CloudWatch and other plain-text notices
    if not isinstance(payload, dict):
        return None
    if payload.get("type") == STATE_CHANGE_TYPE:
        return GlueStateChange.model_validate(payload)
    if payload.get("detail-type") == _RAW_DETAIL_TYPE and isinstance(payload.get("detail"), dict):
        detail = payload["detail"]
        return GlueStateChange(job_name=detail["jobName"], state=detail["state"], run_id=detail["jobRunId"],
                               message=detail.get("message"), time=payload.get("time"),
                               region=payload.get("region"))
    return None
