"""The Glue adapter at the boto3 boundary (botocore Stubber): pagination and refusal translation."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from ecom_pipeline.aws.glue import GlueJobs, GlueRunRefused

STARTED = datetime(2023, 3, 16, tzinfo=UTC)


def _client() -> tuple[object, Stubber]:
    client = boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def _run(run_id: str) -> dict[str, object]:
    return {"Id": run_id, "JobRunState": "RUNNING", "StartedOn": STARTED, "Arguments": {"--a": run_id}}


def test_recent_runs_follows_next_tokens() -> None:
    client, stub = _client()
    stub.add_response("get_job_runs", {"JobRuns": [_run("jr_1"), _run("jr_2")], "NextToken": "t1"},
                      {"JobName": "job", "MaxResults": 200})
    stub.add_response("get_job_runs", {"JobRuns": [_run("jr_3")]},
                      {"JobName": "job", "MaxResults": 200, "NextToken": "t1"})

    with stub:
        runs = list(GlueJobs(client).recent_runs("job"))

    assert [r.run_id for r in runs] == ["jr_1", "jr_2", "jr_3"]
    assert runs[2].arguments == {"--a": "jr_3"}
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["ConcurrentRunsExceededException", "ThrottlingException",
                                  "ResourceNumberLimitExceededException"])
def test_refusals_become_glue_run_refused(code: str) -> None:
    client, stub = _client()
    stub.add_client_error("start_job_run", service_error_code=code, service_message="busy")

    with stub, pytest.raises(GlueRunRefused) as refused:
        GlueJobs(client).start_run("job", {"--source_keys": "[]"})

    assert refused.value.code == code


def test_other_errors_stay_client_errors() -> None:
    client, stub = _client()
    stub.add_client_error("get_job_runs", service_error_code="AccessDeniedException", service_message="no")

    with stub, pytest.raises(ClientError, match="AccessDenied"):
        list(GlueJobs(client).recent_runs("job"))
