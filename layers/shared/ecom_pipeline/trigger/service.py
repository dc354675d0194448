"""One Glue run for all the new files of a batch, not twice for the same upload.

Delivery is at least once, twice over: SQS may hand the same message over again (a visibility timeout
that ran out, a retried batch), and S3 itself occasionally announces one upload in two messages. Each
run records the uploads it was started for (`--s3_uploads`: key@sequencer, the same in both cases), so
a message whose uploads all have a live or successful run is not started again; a key written anew has
a new sequencer and is. Should a duplicate still slip through (two deliveries racing), the warehouse
upsert is idempotent and the archiver tolerates already-archived files: the cost is one redundant run,
never wrong data (if it starts after the first run's files were archived, it fails on the missing file).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecom_pipeline.aws.glue import GlueRunRefused, JobRun
from ecom_pipeline.contracts import ETAGS_ARG, SOURCE_KEYS_ARG, UPLOADS_ARG
from ecom_pipeline.trigger.events import Upload

# Runs in these states already took their messages' files (or are about to); others (FAILED, TIMEOUT,
# STOPPED, ERROR) left the files in place, so a redelivered message may start them again.
_LIVE_OR_DONE: Final = frozenset({"STARTING", "RUNNING", "WAITING", "STOPPING", "SUCCEEDED"})
# How far back a redelivery is looked for: past the queue's retention a message cannot come back.
DEDUP_WINDOW: Final = timedelta(days=4)


class TriggerSettings(BaseSettings):
    """glue_trigger's environment (template.yaml sets exactly these)."""

    model_config = SettingsConfigDict(frozen=True)

    glue_job_name: str = Field(min_length=1)
    # The queue the batches come from: a message Glue refused is delayed there, longer each time.
    trigger_queue_url: str | None = Field(default=None, min_length=1)


class GlueRuns(Protocol):
    def start_run(self, job_name: str, arguments: dict[str, str]) -> str: ...

    def recent_runs(self, job_name: str) -> Iterable[JobRun]: ...


@dataclass(frozen=True)
class QueuedFile:
    """One SQS message and the transaction file uploads it announced (possibly none)."""

    message_id: str
    uploads: tuple[Upload, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(upload.key for upload in self.uploads)

    @property
    def upload_ids(self) -> tuple[str, ...]:
        """How a run remembers these uploads: key@sequencer (the message id where S3 gave none)."""
        return tuple(f"{u.key}@{u.sequencer or 'message:' + self.message_id}" for u in self.uploads)


@dataclass(frozen=True)
class StartResult:
    run_id: str | None = None
    keys: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    already_started: tuple[str, ...] = field(default=())  # message ids a previous run already covers
    refused: GlueRunRefused | None = None


class GlueTrigger:
    def __init__(self, job_name: str, glue: GlueRuns, now: datetime | None = None) -> None:
        self.job_name = job_name
        self.glue = glue
        self._now = now

    def start(self, queued: Sequence[QueuedFile]) -> StartResult:
        """Start one run with every distinct key of the messages not yet covered by a run.

        Glue refusing (concurrency limit, throttling) is returned as `refused` so that the caller can
        hand the messages back to the queue, all but those a run already covers; any other error raises.
        """
        with_keys = [q for q in queued if q.keys]
        if not with_keys:
            return StartResult()
        covered: set[str] = set()
        try:
            started = self._uploads_with_runs()
            covered = {q.message_id for q in with_keys if started.issuperset(q.upload_ids)}
            fresh = [q for q in with_keys if q.message_id not in covered]
            if not fresh:
                return StartResult(already_started=tuple(sorted(covered)))
            keys = tuple(dict.fromkeys(key for q in fresh for key in q.keys))
            ids = tuple(q.message_id for q in fresh)
            arguments = {
                SOURCE_KEYS_ARG: json.dumps(list(keys)),
                UPLOADS_ARG: json.dumps(list(dict.fromkeys(u for q in fresh for u in q.upload_ids))),
            }
            if etags := _etags_by_key(upload for q in fresh for upload in q.uploads):
                arguments[ETAGS_ARG] = json.dumps(etags)
            run_id = self.glue.start_run(self.job_name, arguments)
        except GlueRunRefused as refusal:
            return StartResult(refused=refusal, already_started=tuple(sorted(covered)))
        return StartResult(run_id=run_id, keys=keys, message_ids=ids, already_started=tuple(sorted(covered)))

    def _uploads_with_runs(self) -> set[str]:
        """The uploads of the job's live or successful runs inside the window."""
        since = (self._now or datetime.now(UTC)) - DEDUP_WINDOW
        started: set[str] = set()
        for run in self.glue.recent_runs(self.job_name):
            if run.state not in _LIVE_OR_DONE:
                continue
            if run.started_on is not None and _aware(run.started_on) < since:
                continue
            started.update(_json_list(run.arguments.get(UPLOADS_ARG)))
        return started


def _json_list(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return []  # a run started by hand with another format is simply not ours to match
    return [str(item) for item in parsed] if isinstance(parsed, list) else []


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _etags_by_key(uploads: Iterable[Upload]) -> dict[str, list[str]]:
    """key -> the distinct ETags announced for it (keys S3 announced without one are left out)."""
    etags: dict[str, list[str]] = {}
    for upload in uploads:
        if upload.etag and upload.etag not in etags.setdefault(upload.key, []):
            etags[upload.key].append(upload.etag)
    return {key: found for key, found in etags.items() if found}
