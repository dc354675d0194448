"""Move a run's source files into the archive bucket: copy, verify, then delete the original.

Idempotent per key, so repeated notifications and retries are harmless:

| source | archive              | action                                    |
|--------|----------------------|-------------------------------------------|
| yes    | no / different bytes | copy, verify, delete source -> MOVED       |
| yes    | same bytes           | delete source -> SOURCE_REMOVED            |
| no     | yes                  | nothing -> ALREADY_ARCHIVED                |
| no     | no                   | ArchiveError naming the key (lost file)    |
| not the object the run was started for | any | nothing -> LEFT_FOR_ITS_OWN_RUN |

The last row: a file rewritten under the same key since the run was started may not be what the run
read; it stays in place, and its own notification starts the run that loads and then archives it. Not
the object the run was started for: its ETag is none of those S3 announced for the run's uploads
(`--s3_etags`, recorded by the trigger), or it was written after the run started (the only check for
a run started by hand, without ETags). The time alone misses a multipart rewrite begun before the run
and completed during it: S3 dates such an object from the start of its upload.
The source is deleted only while it still holds the version that was checked (S3's conditional
delete), so a file rewritten while the archiver copies it is left for its own run too, never lost.

Every key is attempted, whatever fails for one of them; the failures are raised together at the end
so that the Lambda is retried (and, after its retries, lands in the on-failure queue with an alarm)
while finished keys stay finished.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecom_pipeline.archive.verify import same_content
from ecom_pipeline.aws.glue import JobRun
from ecom_pipeline.aws.s3 import ObjectInfo
from ecom_pipeline.contracts import ETAGS_ARG, SOURCE_KEYS_ARG
from ecom_pipeline.errors import described
from ecom_pipeline.keys import is_transaction_key
from ecom_pipeline.notify import SUCCEEDED, GlueStateChange


class ArchiverSettings(BaseSettings):
    """archiver's environment (template.yaml sets exactly these)."""

    model_config = SettingsConfigDict(frozen=True)

    glue_job_name: str = Field(min_length=1)
    data_bucket: str = Field(min_length=3)
    archive_bucket: str = Field(min_length=3)


class ArchiveOutcome(StrEnum):
    MOVED = "moved"
    SOURCE_REMOVED = "source_removed"  # an equal copy was already archived
    ALREADY_ARCHIVED = "already_archived"
    LEFT_FOR_ITS_OWN_RUN = "left_for_its_own_run"  # not the object the run was started for


class ArchiveError(RuntimeError):
    """One or more keys could not be archived; the message names each key and why."""


class Store(Protocol):
    def head(self, bucket: str, key: str) -> ObjectInfo | None: ...

    def copy(self, source: ObjectInfo, bucket: str, key: str, checksum_algorithm: str = ...) -> None: ...

    def sha256(self, bucket: str, key: str) -> str: ...

    def delete_if_unchanged(self, source: ObjectInfo) -> bool: ...


class JobRuns(Protocol):
    def run(self, job_name: str, run_id: str) -> JobRun: ...


@dataclass
class RunArchive:
    """What archiving one notification did (empty when it was not for us)."""

    run_id: str | None = None
    skipped_reason: str | None = None
    outcomes: dict[str, ArchiveOutcome] = field(default_factory=dict)

    @property
    def left_in_landing(self) -> list[str]:
        """Keys that now hold another object than the run was started for: their own run archives them."""
        return [key for key, done in self.outcomes.items() if done is ArchiveOutcome.LEFT_FOR_ITS_OWN_RUN]


def archive_key(store: Store, key: str, source_bucket: str, archive_bucket: str,
                run_started: datetime | None = None,
                announced: Collection[str] | None = None) -> ArchiveOutcome:
    """Archive one key under the same name (see the module table). `announced`: the ETags of the
    uploads the run was started for, when known."""
    source = store.head(source_bucket, key)
    archived = store.head(archive_bucket, key)
    if source is None:
        if archived is None:
            raise ArchiveError(f"{key}: in neither s3://{source_bucket} nor s3://{archive_bucket}")
        return ArchiveOutcome.ALREADY_ARCHIVED
    if announced is not None and source.etag not in announced:
        return ArchiveOutcome.LEFT_FOR_ITS_OWN_RUN
    if run_started and source.last_modified and source.last_modified > run_started:
        return ArchiveOutcome.LEFT_FOR_ITS_OWN_RUN
    if archived is not None and _verified(store, source, archived):
        return _remove(store, source, ArchiveOutcome.SOURCE_REMOVED)
    # Ask S3 for the same checksum algorithm the source already has, so that metadata can decide.
    algorithm = next(iter(source.checksums), "SHA256")
    store.copy(source, archive_bucket, key, checksum_algorithm=algorithm)
    archived = store.head(archive_bucket, key)
    if archived is None or not _verified(store, source, archived):
        raise ArchiveError(f"{key}: the archived copy does not match the source; source kept")
    return _remove(store, source, ArchiveOutcome.MOVED)


def _remove(store: Store, source: ObjectInfo, done: ArchiveOutcome) -> ArchiveOutcome:
    """Delete the archived source, unless its key was rewritten (or removed) since it was checked."""
    if store.delete_if_unchanged(source):
        return done
    if store.head(source.bucket, source.key) is None:
        return ArchiveOutcome.ALREADY_ARCHIVED  # another delivery of the notification got there first
    return ArchiveOutcome.LEFT_FOR_ITS_OWN_RUN


def archive_notification(change: GlueStateChange, settings: ArchiverSettings, glue: JobRuns,
                         store: Store) -> RunArchive:
    """Archive the source files of this job's SUCCEEDED run; anything else is skipped with a reason."""
    if change.job_name != settings.glue_job_name:
        return RunArchive(run_id=change.run_id, skipped_reason=f"another job ({change.job_name})")
    if change.state != SUCCEEDED:
        reason = f"state {change.state}: files stay for a rerun"
        return RunArchive(run_id=change.run_id, skipped_reason=reason)
    run = glue.run(settings.glue_job_name, change.run_id)
    keys = source_keys(run.arguments, change.run_id)
    etags = announced_etags(run.arguments, change.run_id)
    result = RunArchive(run_id=change.run_id)
    errors: dict[str, Exception] = {}
    for key in keys:
        try:
            result.outcomes[key] = archive_key(store, key, settings.data_bucket, settings.archive_bucket,
                                               run.started_on, etags.get(key))
        except Exception as error:  # raised below, once the other keys had their turn
            errors[key] = error
    if errors:
        said = [str(error) if isinstance(error, ArchiveError) else f"{key}: {described(error)}"
                for key, error in errors.items()]
        raise ArchiveError(f"run {change.run_id}: {len(errors)} of {len(keys)} files not archived: "
                           + "; ".join(said)) from next(iter(errors.values()))
    return result


def source_keys(arguments: dict[str, str], run_id: str) -> Sequence[str]:
    """The run's distinct `--source_keys`, each a transaction key; anything else is a clear error."""
    raw = arguments.get(SOURCE_KEYS_ARG)
    if raw is None:
        raise ArchiveError(f"run {run_id} has no {SOURCE_KEYS_ARG} argument")
    try:
        keys = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ArchiveError(f"run {run_id}: {SOURCE_KEYS_ARG} is not JSON: {error}") from error
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ArchiveError(f"run {run_id}: {SOURCE_KEYS_ARG} is not a JSON array of strings")
    foreign = [k for k in keys if not is_transaction_key(k)]
    if foreign:
        raise ArchiveError(f"run {run_id}: not transaction files, refusing to archive: {foreign}")
    return list(dict.fromkeys(keys))


def announced_etags(arguments: dict[str, str], run_id: str) -> dict[str, frozenset[str]]:
    """The run's `--s3_etags` (key -> ETags S3 announced for the uploads it was started for); empty for
    a run without them. Anything but a JSON object of string lists is a clear error."""
    raw = arguments.get(ETAGS_ARG)
    if raw is None:
        return {}
    try:
        etags = _ETAGS.validate_json(raw)
    except ValidationError as error:
        raise ArchiveError(f"run {run_id}: {ETAGS_ARG} is not a JSON object of ETag lists: {error}") \
            from error
    return {key: frozenset(found) for key, found in etags.items()}


_ETAGS = TypeAdapter(dict[str, list[str]])


def _verified(store: Store, source: ObjectInfo, archived: ObjectInfo) -> bool:
    decided = same_content(source, archived)
    if decided is None:
        decided = store.sha256(source.bucket, source.key) == store.sha256(archived.bucket, archived.key)
    return decided
