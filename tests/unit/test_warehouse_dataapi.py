"""Redshift Data API plumbing with botocore's Stubber: polling, backoff, bounds, failures, retries, pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from ecom_pipeline.warehouse import RetryableWarehouseError, UpsertResult, WarehouseError
from ecom_pipeline.warehouse.dataapi import DataApi, PollPolicy
from ecom_pipeline.warehouse.redshift import RedshiftTarget, RedshiftWarehouse
from ecom_pipeline.warehouse.sql import Step

TARGET = {"Database": "dev", "WorkgroupName": "wg1"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client() -> Iterator[tuple[object, Stubber]]:
    real = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x")
    with Stubber(real) as stubber:
        yield real, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def api_for(client: object, clock: FakeClock, timeout_s: float = 60.0) -> DataApi:
    return DataApi(client, TARGET, poll=PollPolicy(first_delay_s=0.5, max_delay_s=2.0, timeout_s=timeout_s),
                   sleep=clock.sleep, clock=clock)


def described(status: str, **extra: object) -> dict[str, object]:
    return {"Id": "s1", "Status": status, **extra}


def test_polls_with_doubling_capped_delays_until_finished(client, clock) -> None:
    real, stub = client
    stub.add_response("execute_statement", {"Id": "s1"}, {"Sql": "SELECT 1", **TARGET})
    for status in ("SUBMITTED", "PICKED", "STARTED", "STARTED"):
        stub.add_response("describe_statement", described(status), {"Id": "s1"})
    stub.add_response("describe_statement", described("FINISHED", HasResultSet=False), {"Id": "s1"})

    assert api_for(real, clock).run("SELECT 1") is None
    assert clock.sleeps == [0.5, 1.0, 2.0, 2.0]


def test_failed_statement_raises_with_the_error_text(client, clock) -> None:
    real, stub = client
    stub.add_response("execute_statement", {"Id": "s1"}, {"Sql": ANY, **TARGET})
    stub.add_response("describe_statement", described("FAILED", Error='ERROR: relation "x" does not exist'),
                      {"Id": "s1"})

    with pytest.raises(WarehouseError, match='s1 FAILED: ERROR: relation "x" does not exist') as caught:
        api_for(real, clock).run("SELECT * FROM x")
    assert not isinstance(caught.value, RetryableWarehouseError)


def test_serialization_violation_is_retryable(client, clock) -> None:
    real, stub = client
    stub.add_response("execute_statement", {"Id": "s1"}, {"Sql": ANY, **TARGET})
    stub.add_response("describe_statement", described(
        "ABORTED", Error="ERROR: 1023 DETAIL: Serializable isolation violation on table - 123"), {"Id": "s1"})

    with pytest.raises(RetryableWarehouseError, match="1023"):
        api_for(real, clock).run("DELETE FROM t")


def test_an_error_that_merely_contains_1023_is_not_retried(client, clock) -> None:
    real, stub = client
    stub.add_response("execute_statement", {"Id": "s1"}, {"Sql": ANY, **TARGET})
    stub.add_response("describe_statement", described(
        "FAILED", Error='ERROR: invalid input syntax for type numeric: "T1023"'), {"Id": "s1"})

    with pytest.raises(WarehouseError, match="T1023") as caught:
        api_for(real, clock).run("INSERT INTO t SELECT 'T1023'::numeric")
    assert not isinstance(caught.value, RetryableWarehouseError)


def running_to_the_bound(stub: Any) -> None:
    """A statement still STARTED at each look until a 5s bound: 0.5 + 1 + 2 = 3.5s slept, the next 2s
    would pass it."""
    stub.add_response("execute_statement", {"Id": "s1"}, {"Sql": ANY, **TARGET})
    for _ in range(4):
        stub.add_response("describe_statement", described("STARTED"), {"Id": "s1"})


def test_statement_still_running_at_the_bound_is_cancelled(client, clock) -> None:
    real, stub = client
    running_to_the_bound(stub)
    stub.add_response("cancel_statement", {"Status": True}, {"Id": "s1"})
    stub.add_response("describe_statement", described("ABORTED", Error="Query cancelled."), {"Id": "s1"})

    with pytest.raises(WarehouseError, match=r"still running after 5s: cancelled \(ABORTED"):
        api_for(real, clock, timeout_s=5.0).run("VACUUM")
    assert sum(clock.sleeps) <= 5.0


def test_a_batch_that_commits_before_the_cancel_reaches_it_is_not_reported_failed(client, clock) -> None:
    real, stub = client
    running_to_the_bound(stub)
    stub.add_response("cancel_statement", {"Status": True}, {"Id": "s1"})
    stub.add_response("describe_statement", described("STARTED"), {"Id": "s1"})
    stub.add_response("describe_statement", described("FINISHED"), {"Id": "s1"})

    assert api_for(real, clock, timeout_s=5.0).run("DELETE FROM t") is None


def test_a_cancelled_statement_that_never_ends_fails_within_a_bound(client, clock) -> None:
    real, stub = client
    running_to_the_bound(stub)
    stub.add_response("cancel_statement", {"Status": False}, {"Id": "s1"})
    for _ in range(32):  # one look at once, then every 2s until 60s past the bound (3.5s -> 65.5s)
        stub.add_response("describe_statement", described("STARTED"), {"Id": "s1"})

    with pytest.raises(WarehouseError, match="did not cancel it, and it was still STARTED 60s later"):
        api_for(real, clock, timeout_s=5.0).run("VACUUM")
    assert sum(clock.sleeps) <= 5.0 + 60.0 + 5.0


def test_a_statement_that_ends_as_the_bound_passes_is_judged_by_its_end(client, clock) -> None:
    real, stub = client
    running_to_the_bound(stub)
    stub.add_client_error("cancel_statement", "ValidationException",
                          "Could not cancel a query that is already in FINISHED state.",
                          expected_params={"Id": "s1"})
    stub.add_response("describe_statement", described("FINISHED"), {"Id": "s1"})

    assert api_for(real, clock, timeout_s=5.0).run("DELETE FROM t") is None


def test_results_are_read_across_pages(client, clock) -> None:
    real, stub = client
    stub.add_response("execute_statement", {"Id": "s1"}, {"Sql": ANY, **TARGET})
    stub.add_response("describe_statement", described("FINISHED", HasResultSet=True), {"Id": "s1"})
    meta = [{"name": "id"}, {"name": "n"}]
    stub.add_response("get_statement_result", {
        "ColumnMetadata": meta, "TotalNumRows": 3, "NextToken": "p2",
        "Records": [[{"stringValue": "a"}, {"longValue": 1}], [{"stringValue": "b"}, {"isNull": True}]],
    }, {"Id": "s1"})
    stub.add_response("get_statement_result", {
        "ColumnMetadata": meta, "TotalNumRows": 3, "Records": [[{"stringValue": "c"}, {"longValue": 3}]],
    }, {"Id": "s1", "NextToken": "p2"})

    result = api_for(real, clock).run("SELECT id, n FROM t")

    assert result is not None
    assert result.columns == ["id", "n"]
    assert result.rows == [("a", 1), ("b", None), ("c", 3)]


def test_upsert_batch_is_rerun_after_a_serialization_failure(client, clock, monkeypatch) -> None:
    real, stub = client
    slept: list[float] = []
    monkeypatch.setattr("ecom_pipeline.warehouse.retry.time.sleep", slept.append)
    target = RedshiftTarget(database="dev", workgroup="wg1", iam_role="arn:aws:iam::1:role/copy")
    wh = RedshiftWarehouse(target, real, poll=PollPolicy(first_delay_s=0.5), sleep=clock.sleep, clock=clock)
    steps = wh.fact_upsert_steps("s3://bucket/staging/run-1")
    statements = ["LOCK TABLE fact_transactions", *(step.sql for step in steps)]
    affected = {"kept_stored": 1, "updated": 2, "written": 9, "candidates": 1}
    subs = [{"Id": f"b2:{n}", "HasResultSet": step.measure in ("candidates", "per_file"),
             "ResultRows": affected.get(step.measure or "", 0)}
            for n, step in enumerate([Step("LOCK"), *steps], 1)]

    stub.add_response("batch_execute_statement", {"Id": "b1"}, {"Sqls": statements, **TARGET})
    conflict = {"Id": "b1", "Status": "FAILED", "Error": "ERROR: 1023 Serializable isolation violation"}
    stub.add_response("describe_statement", conflict, {"Id": "b1"})
    stub.add_response("batch_execute_statement", {"Id": "b2"}, {"Sqls": statements, **TARGET})
    # Listed in another order than sent: the Ids say which is which.
    stub.add_response("describe_statement", {"Id": "b2", "Status": "FINISHED", "SubStatements": subs[::-1]},
                      {"Id": "b2"})
    stub.add_response("get_statement_result", {
        "ColumnMetadata": [{"name": "candidates"}], "Records": [[{"longValue": 10}]], "TotalNumRows": 1,
    }, {"Id": f"b2:{len(statements) - 1}"})
    # Per file: batch rows, rows written, stored rows they replaced.
    stub.add_response("get_statement_result", {
        "ColumnMetadata": [{"name": n} for n in ("source_file", "candidates", "written", "replaced")],
        "Records": [[{"stringValue": "a.csv"}, {"longValue": 6}, {"longValue": 5}, {"longValue": 1}],
                    [{"stringValue": "b.csv"}, {"longValue": 4}, {"longValue": 4}, {"longValue": 1}]],
        "TotalNumRows": 2,
    }, {"Id": f"b2:{len(statements)}"})

    result = wh.upsert_facts("s3://bucket/staging/run-1")

    assert result == UpsertResult(inserted=7, updated=2, kept_stored=1)
    assert result.per_file == {"a.csv": UpsertResult(inserted=4, updated=1, kept_stored=1),
                               "b.csv": UpsertResult(inserted=3, updated=1, kept_stored=0)}
    assert len(slept) == 1
    assert statements[3] == ("COPY stg_fact_transactions FROM 's3://bucket/staging/run-1/' "
                             "IAM_ROLE 'arn:aws:iam::1:role/copy' FORMAT AS PARQUET")
