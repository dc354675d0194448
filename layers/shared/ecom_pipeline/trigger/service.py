"""One Glue run for all the new files of a batch, not twice for the same SQS message.

Delivery is at least once: SQS may hand the same message over again (a visibility timeout that ran out,
a retried batch). Each run carries the ids of the messages it was started for (`--sqs_message_ids`),
so a message that already has a live or successful run is not started again. Should a duplicate still
slip through (two deliveries racing), the warehouse upsert is idempotent and the archiver tolerates
already-archived files: the cost is one redundant run, never wrong data. (S3 announcing one upload
twice gives two message ids; if the second run starts after the first one's files were archived, it
fails on the missing file: a false alarm, with the data already loaded.)
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

SOURCE_KEYS_ARG: Final = "--source_keys"
MESSAGE_IDS_ARG: Final = "--sqs_message_ids"
# Runs in these states already took their messages' files (or are about to); others (FAILED, TIMEOUT,
# STOPPED, ERROR) left the files in place, so a redelivered message may start them again.
_LIVE_OR_DONE: Final = frozenset({"STARTING", "RUNNING", "WAITING", "STOPPING", "SUCCEEDED"})
# How far back a redelivery is looked for: past the queue's retention a message cannot come back.
DEDUP_WINDOW: Final = timedelta(days=4)


class TriggerSettings(BaseSettings):
    """glue_trigger's environment (template.yaml sets exactly these)."""

    model_config = SettingsConfigDict(frozen=True)

    glue_job_name: str = Field(min_length=1)


class GlueRuns(Protocol):
    def start_run(self, job_name: str, arguments: dict[str, str]) -> str: ...

    def recent_runs(self, job_name: str) -> Iterable[JobRun]: ...


@dataclass(frozen=True)
class QueuedFile:
    """One SQS message and the transaction keys it announced (possibly none)."""

    message_id: str
    keys: tuple[str, ...]


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
        hand all the messages back to the queue; any other error raises.
        """
        with_keys = [q for q in queued if q.keys]
        if not with_keys:
            return StartResult()
        try:
            covered = self._messages_with_runs({q.message_id for q in with_keys})
            fresh = [q for q in with_keys if q.message_id not in covered]
            if not fresh:
                return StartResult(already_started=tuple(sorted(covered)))
            keys = tuple(dict.fromkeys(key for q in fresh for key in q.keys))
            ids = tuple(q.message_id for q in fresh)
            run_id = self.glue.start_run(self.job_name, {
                SOURCE_KEYS_ARG: json.dumps(list(keys)),
                MESSAGE_IDS_ARG: json.dumps(list(ids)),
            })
        except GlueRunRefused as refusal:
            return StartResult(refused=refusal)
        return StartResult(run_id=run_id, keys=keys, message_ids=ids, already_started=tuple(sorted(covered)))

    def _messages_with_runs(self, message_ids: set[str]) -> set[str]:
        since = (self._now or datetime.now(UTC)) - DEDUP_WINDOW
        covered: set[str] = set()
        for run in self.glue.recent_runs(self.job_name):
            if run.state not in _LIVE_OR_DONE:
                continue
            if run.started_on is not None and _aware(run.started_on) < since:
                continue
            covered.update(message_ids.intersection(_json_list(run.arguments.get(MESSAGE_IDS_ARG))))
        return covered


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
