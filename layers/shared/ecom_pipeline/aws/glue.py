"""Glue control plane: start a run, list recent runs, read one run or the job's definition."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from ecom_pipeline.aws.errors import error_code

# Glue said "not now": the same request can succeed later, so the caller hands the work back to its
# queue instead of failing for good. Anything else (AccessDenied, EntityNotFound, ...) propagates.
RETRYABLE_CODES = frozenset({
    "ConcurrentRunsExceededException",
    "ThrottlingException",
    "ResourceNumberLimitExceededException",
    "OperationTimeoutException",
    "InternalServiceException",
})

# GetJobRuns pages scanned at most when looking for earlier runs of the same messages.
MAX_RUN_PAGES = 5


class GlueRunRefused(RuntimeError):
    """Glue refused or throttled the request; retrying later is expected to work."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class JobRun:
    run_id: str
    state: str
    started_on: datetime | None
    arguments: dict[str, str]


@dataclass(frozen=True)
class JobDefinition:
    """What the template set on the job: where its script is and its default arguments."""

    script_location: str
    default_arguments: dict[str, str]


class GlueJobs:
    """The Glue calls the pipeline makes; retryable refusals surface as GlueRunRefused."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client or boto3.client("glue")

    def start_run(self, job_name: str, arguments: dict[str, str]) -> str:
        try:
            response = self._client.start_job_run(JobName=job_name, Arguments=arguments)
        except ClientError as error:
            raise _refusal_or_same(error) from error
        return str(response["JobRunId"])

    def recent_runs(self, job_name: str) -> Iterator[JobRun]:
        """The job's runs, newest pages first, at most MAX_RUN_PAGES pages."""
        token: str | None = None
        for _ in range(MAX_RUN_PAGES):
            request: dict[str, Any] = {"JobName": job_name, "MaxResults": 200}
            if token:
                request["NextToken"] = token
            try:
                page = self._client.get_job_runs(**request)
            except ClientError as error:
                raise _refusal_or_same(error) from error
            yield from (_job_run(run) for run in page.get("JobRuns", []))
            token = page.get("NextToken")
            if not token:
                return

    def run(self, job_name: str, run_id: str) -> JobRun:
        """One run: its state, start time and the arguments it was started with (not the defaults)."""
        return _job_run(self._client.get_job_run(JobName=job_name, RunId=run_id)["JobRun"])

    def definition(self, job_name: str) -> JobDefinition:
        job = self._client.get_job(JobName=job_name)["Job"]
        return JobDefinition(script_location=str(job.get("Command", {}).get("ScriptLocation", "")),
                             default_arguments=dict(job.get("DefaultArguments") or {}))


def _job_run(run: dict[str, Any]) -> JobRun:
    return JobRun(run_id=run["Id"], state=run.get("JobRunState", ""), started_on=run.get("StartedOn"),
                  arguments=dict(run.get("Arguments") or {}))


def _refusal_or_same(error: ClientError) -> Exception:
    code = error_code(error)
    if code in RETRYABLE_CODES:
        return GlueRunRefused(code, str(error.response.get("Error", {}).get("Message", "")))
    return error
