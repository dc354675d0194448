"""Redshift Data API plumbing: submit, poll with backoff under an overall bound, fetch paginated results.

A batch (`batch_execute_statement`) runs as one transaction in one session: temp tables live across its
statements and a failure anywhere rolls back all of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ecom_pipeline.warehouse.base import QueryResult
from ecom_pipeline.warehouse.errors import RetryableWarehouseError, WarehouseError

_DONE = "FINISHED"
_BROKEN = ("FAILED", "ABORTED")
# Redshift's serializable isolation violation (error 1023): the transaction may simply be run again.
# Matched by its words, which Redshift always sends: "1023" alone also occurs in ids and values.
_SERIALIZATION_MARKER = "serializable isolation violation"
# How long a cancelled statement is still watched for how it ends (a cancel takes effect in seconds).
_AFTER_CANCEL_S = 60.0


@dataclass(frozen=True)
class Outcome:
    """What one statement of a batch did: its rows (queries) and its row count (`ResultRows`: rows
    returned by a query, rows affected by DML)."""

    result: QueryResult | None
    row_count: int


@dataclass(frozen=True)
class PollPolicy:
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0
    timeout_s: float = 1800.0


def _value(field: dict[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    for kind in ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue"):
        if kind in field:
            return field[kind]
    raise WarehouseError(f"unexpected Data API field {field!r}")


class DataApi:
    """Runs SQL through a `redshift-data` client for one target (workgroup or cluster, database, auth)."""

    def __init__(self, client: Any, target: dict[str, str], *, poll: PollPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.target = target
        self.poll = poll or PollPolicy()
        self.sleep = sleep
        self.clock = clock

    def run_batch(self, statements: list[str]) -> list[Outcome]:
        """Run `statements` as one transaction; what each of them did, in order."""
        submitted = self.client.batch_execute_statement(Sqls=statements, **self.target)
        described = self.wait(submitted["Id"])
        subs = sorted(described.get("SubStatements") or [], key=_position)
        if len(subs) != len(statements):
            raise WarehouseError(f"Data API reported {len(subs)} sub-statements for {len(statements)} sent")
        return [Outcome(self.result(sub["Id"]) if sub.get("HasResultSet") else None,
                        int(sub.get("ResultRows", -1))) for sub in subs]

    def run(self, statement: str) -> QueryResult | None:
        submitted = self.client.execute_statement(Sql=statement, **self.target)
        described = self.wait(submitted["Id"])
        return self.result(submitted["Id"]) if described.get("HasResultSet") else None

    def wait(self, statement_id: str) -> dict[str, Any]:
        """Poll until the statement ends: doubling delays, an overall bound, a clear error when it fails.

        At the bound the statement is cancelled, then still judged by how it ends: a batch may commit
        before a cancel reaches it (or the cancel may be refused), and one that committed must not be
        reported as failed, nor its counts lost.
        """
        deadline = self.clock() + self.poll.timeout_s
        delay = self.poll.first_delay_s
        cancelled: str | None = None  # how the cancel went, once it was asked for
        while True:
            described: dict[str, Any] = self.client.describe_statement(Id=statement_id)
            status = described["Status"]
            if status == _DONE:
                return described
            over = f"Redshift statement {statement_id} still running after {self.poll.timeout_s:.0f}s"
            if status in _BROKEN:
                error = described.get("Error") or "no error text"
                if cancelled:
                    raise WarehouseError(f"{over}: {cancelled} ({status}: {error})")
                message = f"Redshift statement {statement_id} {status}: {error}"
                if _SERIALIZATION_MARKER in error.lower():
                    raise RetryableWarehouseError(message)
                raise WarehouseError(message)
            if cancelled and self.clock() > deadline + _AFTER_CANCEL_S:
                raise WarehouseError(f"{over}: {cancelled}, and it was still {status} "
                                     f"{_AFTER_CANCEL_S:.0f}s later")
            if not cancelled and self.clock() + delay > deadline:
                try:
                    accepted = self.client.cancel_statement(Id=statement_id).get("Status", False)
                    cancelled = "cancelled" if accepted else "the Data API did not cancel it"
                except ClientError as refused:  # e.g. it ended since the last look
                    cancelled = f"the Data API refused to cancel it ({refused})"
                continue
            self.sleep(delay)
            delay = min(delay * 2, self.poll.max_delay_s)

    def result(self, statement_id: str) -> QueryResult:
        """Every page of a statement's result set."""
        columns: list[str] = []
        rows: list[tuple[Any, ...]] = []
        token: str | None = None
        while True:
            paging = {"NextToken": token} if token else {}
            page = self.client.get_statement_result(Id=statement_id, **paging)
            columns = columns or [meta["name"] for meta in page.get("ColumnMetadata", [])]
            rows.extend(tuple(_value(field) for field in record) for record in page.get("Records", []))
            token = page.get("NextToken")
            if not token:
                return QueryResult(columns=columns, rows=rows)


def _position(sub: dict[str, Any]) -> int:
    """Where a sub-statement stood in its batch: its Id ends in ':<1-based position>'."""
    _, _, position = str(sub.get("Id", "")).rpartition(":")
    if not position.isdigit():
        raise WarehouseError(f"Data API sub-statement Id {sub.get('Id')!r} does not end in ':<position>'")
    return int(position)
