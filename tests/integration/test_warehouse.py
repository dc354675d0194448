"""The warehouse adapters against real engines: an embedded DuckDB file and a throwaway PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ecom_pipeline import contracts
from ecom_pipeline.warehouse import WarehouseError, open_warehouse
from ecom_pipeline.warehouse.base import UpsertResult, Warehouse
from ecom_pipeline.warehouse.engine import Cursor, SqlWarehouse
from ecom_pipeline.warehouse.retry import with_retry
from ecom_pipeline.warehouse.schema import FACT_TRANSACTIONS
from ecom_pipeline.warehouse.sql import lock_statement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.postgres import fact_row

PRODUCTS = "product_id,product_name,category,price,supplier_id\nP1,Widget,Tools,10.50,S1\nP2,Gadget,,3,S2\n"
CUSTOMERS = "customer_id,first_name,last_name,email,membership_level\nC1,Ann,Lee,ann@example.com,Gold\n"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty warehouse of each local engine."""
    if request.param == "duckdb":
        return f"duckdb://{tmp_path / 'wh' / 'warehouse.duckdb'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[SqlWarehouse]:
    wh = open_warehouse(warehouse_url)
    assert isinstance(wh, SqlWarehouse)
    wh.apply_schema()
    yield wh
    wh.close()


def facts(wh: Warehouse) -> list[tuple]:
    return wh.query("SELECT * FROM fact_transactions ORDER BY transaction_id").rows


def write_dims(directory: Path, products: str = PRODUCTS, customers: str = CUSTOMERS) -> tuple[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "products.csv").write_text(products)
    (directory / "customers.csv").write_text(customers)
    return str(directory / "products.csv"), str(directory / "customers.csv")


# --- schema ---------------------------------------------------------------------------------------------
def test_schema_is_idempotent_and_has_the_contract_columns(warehouse: SqlWarehouse) -> None:
    warehouse.apply_schema()  # second time: no error, nothing duplicated

    for table, columns in [
        (contracts.DIM_PRODUCTS, contracts.PRODUCT_COLUMNS),
        (contracts.DIM_CUSTOMERS, contracts.CUSTOMER_COLUMNS),
        (contracts.FACT_TRANSACTIONS, contracts.FACT_COLUMNS),
    ]:
        assert tuple(warehouse.query(f"SELECT * FROM {table} WHERE 1 = 0").columns) == columns


def test_fact_decimal_and_date_types_round_trip(warehouse: SqlWarehouse, stage) -> None:
    warehouse.upsert_facts(stage([fact_row("T1", price=Decimal("0.10"), quantity=3,
                                           total_amount=Decimal("0.30"))]))

    row = dict(zip(contracts.FACT_COLUMNS, facts(warehouse)[0], strict=True))
    assert row["total_amount"] == Decimal("0.30") and isinstance(row["total_amount"], Decimal)
    assert row["transaction_date"] == date(2023, 3, 15)
    assert row["quantity"] == 3 and row["status_rank"] == 1


# --- dimensions -----------------------------------------------------------------------------------------
def test_dims_load_is_idempotent_and_updates_changed_rows(warehouse: SqlWarehouse, tmp_path: Path) -> None:
    first = warehouse.load_dims(*write_dims(tmp_path / "a"))
    again = warehouse.load_dims(*write_dims(tmp_path / "a"))
    changed = warehouse.load_dims(*write_dims(tmp_path / "b", PRODUCTS.replace("10.50", "11.00")))

    assert first == again == changed == {"dim_products": 2, "dim_customers": 1}
    rows = warehouse.query("SELECT product_id, category, price FROM dim_products ORDER BY product_id").rows
    assert rows == [("P1", "Tools", Decimal("11.00")), ("P2", None, Decimal("3.00"))]
    assert warehouse.query("SELECT customer_id, email FROM dim_customers").rows == [("C1", "ann@example.com")]


def test_bad_dim_file_names_file_and_line_and_changes_nothing(warehouse: SqlWarehouse,
                                                              tmp_path: Path) -> None:
    warehouse.load_dims(*write_dims(tmp_path / "good"))
    products, customers = write_dims(tmp_path / "bad", PRODUCTS + "P3,Thing,Tools,abc,S3\n")

    with pytest.raises(WarehouseError, match=r"bad/products\.csv:4: price 'abc' is not a number"):
        warehouse.load_dims(products, customers)
    assert warehouse.query("SELECT COUNT(*) FROM dim_products").rows == [(2,)]


def test_a_dim_value_longer_than_its_column_names_file_and_line(warehouse: SqlWarehouse,
                                                                 tmp_path: Path) -> None:
    # 129 characters, 258 bytes: fits PostgreSQL's VARCHAR(256) characters, not Redshift's bytes.
    products, customers = write_dims(tmp_path / "bad", PRODUCTS + "P3," + "é" * 129 + ",Tools,1.00,S3\n")

    with pytest.raises(WarehouseError,
                       match=r"products\.csv:4: product_name is 258 bytes, longer than its 256"):
        warehouse.load_dims(products, customers)
    assert warehouse.query("SELECT COUNT(*) FROM dim_products").rows == [(0,)]


# --- fact upsert ----------------------------------------------------------------------------------------
def test_first_load_inserts_everything(warehouse: SqlWarehouse, stage) -> None:
    result = warehouse.upsert_facts(stage([fact_row("T1"), fact_row("T2"), fact_row("T3")]))

    assert result == UpsertResult(inserted=3, updated=0, kept_stored=0)
    assert [r[0] for r in facts(warehouse)] == ["T1", "T2", "T3"]


def test_precedence_strictly_greater_replaces_equal_and_lower_keep(warehouse: SqlWarehouse, stage) -> None:
    # Given five stored rows, all (2023-03-15, Completed=2), paid by PayPal
    stored = [fact_row(f"T{i}", "2023-03-15", "Completed") for i in range(1, 6)]
    warehouse.upsert_facts(stage(stored))

    # When a batch arrives with each relation to the stored key, paid by card, plus a new key
    batch = [
        fact_row("T1", "2023-03-15", "Refunded", payment_type="Credit Card"),  # same date, higher rank
        fact_row("T2", "2023-03-16", "Pending", payment_type="Credit Card"),  # later date, lower rank
        fact_row("T3", "2023-03-15", "Failed", payment_type="Credit Card"),  # equal (date, rank)
        fact_row("T4", "2023-03-15", "Pending", payment_type="Credit Card"),  # same date, lower rank
        fact_row("T5", "2023-03-14", "Refunded", payment_type="Credit Card"),  # earlier date, higher rank
        fact_row("T6", "2023-03-15", "Pending", payment_type="Credit Card"),  # new key
    ]
    result = warehouse.upsert_facts(stage(batch))

    # Then only strictly greater keys replace; equal and lower keep the stored row
    assert result == UpsertResult(inserted=1, updated=2, kept_stored=3)
    got = {r[0]: (r[10], r[12], r[11]) for r in facts(warehouse)}
    assert got == {
        "T1": (date(2023, 3, 15), "Refunded", "Credit Card"),
        "T2": (date(2023, 3, 16), "Pending", "Credit Card"),
        "T3": (date(2023, 3, 15), "Completed", "PayPal"),
        "T4": (date(2023, 3, 15), "Completed", "PayPal"),
        "T5": (date(2023, 3, 15), "Completed", "PayPal"),
        "T6": (date(2023, 3, 15), "Pending", "Credit Card"),
    }


def test_the_counts_are_also_given_per_source_file(warehouse: SqlWarehouse, stage) -> None:
    warehouse.upsert_facts(stage([fact_row("T1"), fact_row("T2"), fact_row("T3")]))
    batch = [
        fact_row("T1", status="Refunded", source_file="a.csv"),  # replaces
        fact_row("T2", source_file="a.csv"),  # equal: kept
        fact_row("T4", source_file="a.csv"),  # new
        fact_row("T3", "2023-03-16", source_file="b.csv"),  # replaces
        fact_row("T5", source_file="b.csv"),  # new
        fact_row("T6", source_file="b.csv"),  # new
    ]

    result = warehouse.upsert_facts(stage(batch))

    assert result == UpsertResult(inserted=3, updated=2, kept_stored=1)
    assert result.per_file == {"a.csv": UpsertResult(inserted=1, updated=1, kept_stored=1),
                               "b.csv": UpsertResult(inserted=2, updated=1, kept_stored=0)}


def test_rerunning_the_same_batch_changes_nothing(warehouse: SqlWarehouse, stage) -> None:
    batch = stage([fact_row("T1"), fact_row("T2", status="Refunded"), fact_row("T3", "2023-03-17")])
    warehouse.upsert_facts(batch)
    before = facts(warehouse)

    result = warehouse.upsert_facts(batch)

    assert result == UpsertResult(inserted=0, updated=0, kept_stored=3)
    assert facts(warehouse) == before


def test_duplicate_keys_in_a_batch_fail_and_change_nothing(warehouse: SqlWarehouse, stage) -> None:
    warehouse.upsert_facts(stage([fact_row("T1")]))
    before = facts(warehouse)

    with pytest.raises(Exception, match="staged_keys_unique"):
        warehouse.upsert_facts(stage([fact_row("T2"), fact_row("T3"), fact_row("T3", status="Refunded")]))
    assert facts(warehouse) == before


def test_a_batch_of_another_size_than_the_job_counted_fails_and_changes_nothing(
        warehouse: SqlWarehouse, stage) -> None:
    warehouse.upsert_facts(stage([fact_row("T1")]))
    before = facts(warehouse)
    batch = stage([fact_row("T1", status="Refunded"), fact_row("T2")])

    with pytest.raises(Exception, match="staged_rows_as_counted"):
        warehouse.upsert_facts(batch, expected_rows=3)  # e.g. a part file lost on the way
    assert facts(warehouse) == before
    assert warehouse.upsert_facts(batch, expected_rows=2) == UpsertResult(inserted=1, updated=1,
                                                                          kept_stored=0)


def test_failure_midway_rolls_back_the_whole_upsert(warehouse: SqlWarehouse, stage,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored row that the next batch would replace
    warehouse.upsert_facts(stage([fact_row("T1"), fact_row("T2")]))
    before = facts(warehouse)
    original = warehouse.transaction

    @contextmanager
    def failing_before_insert() -> Iterator[Cursor]:
        with original() as cur:
            affected = cur.affected

            def affected_or_fail(statement: str) -> int:
                if statement.startswith("INSERT INTO fact_transactions"):
                    raise RuntimeError("connection lost")  # after the stored rows were deleted
                return affected(statement)

            cur.affected = affected_or_fail  # type: ignore[method-assign]
            yield cur

    monkeypatch.setattr(warehouse, "transaction", failing_before_insert)

    # When the upsert dies between its DELETE and its INSERT
    with pytest.raises(RuntimeError, match="connection lost"):
        warehouse.upsert_facts(stage([fact_row("T1", status="Refunded"), fact_row("T9")]))

    # Then the table is exactly as before
    monkeypatch.undo()
    assert facts(warehouse) == before


def test_staged_batch_with_wrong_columns_is_refused(warehouse: SqlWarehouse, tmp_path: Path) -> None:
    import duckdb

    directory = tmp_path / "wrong"
    directory.mkdir()
    duckdb.sql(f"COPY (SELECT 'T1' AS transaction_id, 2 AS qty) TO '{directory / 'part-0.parquet'}'")

    with pytest.raises(WarehouseError, match="staged Parquet columns"):
        warehouse.upsert_facts(str(directory))


def test_staged_batch_with_a_column_of_another_type_is_refused(warehouse: SqlWarehouse, stage: Any,
                                                                tmp_path: Path) -> None:
    # A local engine would cast a DOUBLE price to DECIMAL quietly; Redshift's Parquet COPY refuses it.
    import duckdb

    right = stage([fact_row("T1")])
    directory = tmp_path / "double"
    directory.mkdir()
    duckdb.sql(f"COPY (SELECT * REPLACE (CAST(price AS DOUBLE) AS price) "
               f"FROM read_parquet('{right}/*.parquet')) TO '{directory / 'part-0.parquet'}'")

    with pytest.raises(WarehouseError, match=r"wrong types: price is DOUBLE, not DECIMAL\(12,2\)$"):
        warehouse.upsert_facts(str(directory))
    warehouse.upsert_facts(right)  # the job's own types pass


def test_missing_or_empty_staged_batch_is_an_error(warehouse: SqlWarehouse, tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="not found"):
        warehouse.upsert_facts(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WarehouseError, match="no Parquet files"):
        warehouse.upsert_facts(f"file://{tmp_path / 'empty'}")


# --- properties -----------------------------------------------------------------------------------------
STATUSES = list(contracts.STATUS_RANK)


@st.composite
def batches(draw: st.DrawFn) -> list[list[tuple[str, int, str]]]:
    """2-3 batches over a small key pool; one row per key per batch; no exact (date, rank) ties per key."""
    n_batches = draw(st.integers(2, 3))
    out: list[list[tuple[str, int, str]]] = [[] for _ in range(n_batches)]
    for key in (f"T{i}" for i in range(draw(st.integers(1, 6)))):
        versions = draw(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(STATUSES)),
                                 min_size=1, max_size=n_batches,
                                 unique_by=lambda v: (v[0], contracts.STATUS_RANK[v[1]])))
        where = draw(st.permutations(range(n_batches)))
        for (offset, status), index in zip(versions, where, strict=False):
            out[index].append((key, offset, status))
    return out


def _row(key: str, offset: int, status: str, batch: int) -> tuple:
    day = (date(2023, 3, 15) + timedelta(days=offset)).isoformat()
    return fact_row(key, day, status, job_run_id=f"run{batch}")


def _reference(applied: list[list[tuple[str, int, str]]]) -> dict[str, tuple[int, str]]:
    """The precedence rule in plain Python: the greatest (date, rank) per key."""
    best: dict[str, tuple[int, str]] = {}
    for batch in applied:
        for key, offset, status in batch:
            if key not in best or (offset, contracts.STATUS_RANK[status]) > (
                best[key][0], contracts.STATUS_RANK[best[key][1]]
            ):
                best[key] = (offset, status)
    return best


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=batches(), order=st.randoms(use_true_random=False))
def test_result_is_independent_of_file_order_and_counts_add_up(warehouse: SqlWarehouse, stage, data,
                                                                 order) -> None:
    staged = [stage([_row(k, o, s, i) for k, o, s in batch]) if batch else None
              for i, batch in enumerate(data)]
    tables = []
    for sequence in (list(range(len(data))), order.sample(range(len(data)), len(data))):
        warehouse.query("DELETE FROM fact_transactions")
        seen: set[str] = set()
        for index in sequence:
            if staged[index] is None:
                continue
            result = warehouse.upsert_facts(staged[index])
            keys = {k for k, _, _ in data[index]}
            # candidates = inserted + updated + kept_stored = the batch, and inserted = keys not seen before
            assert result.candidates == len(data[index])
            assert result.inserted == len(keys - seen)
            seen |= keys
        tables.append(facts(warehouse))

    assert tables[0] == tables[1]
    expected = _reference(data)
    assert {r[0]: (r[10], r[12]) for r in tables[0]} == {
        k: (date(2023, 3, 15) + timedelta(days=o), s) for k, (o, s) in expected.items()
    }


# --- concurrency ----------------------------------------------------------------------------------------
def test_two_first_setups_at_once_both_succeed(warehouse_url: str) -> None:
    """Two commands starting together on an empty warehouse both create the schema "if not exists":
    PostgreSQL would let both try to create the same table and fail one (a duplicate catalog key)."""
    def race() -> list[BaseException]:
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def setup() -> None:
            wh = open_warehouse(warehouse_url)
            try:
                barrier.wait()
                wh.apply_schema()
            except BaseException as exc:  # surfaced below: a thread must not hide a failure
                errors.append(exc)
            finally:
                wh.close()

        threads = [threading.Thread(target=setup) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors

    for _ in range(5):
        assert race() == []
        wh = open_warehouse(warehouse_url)
        for table in ("fact_transactions", "dim_products", "dim_customers"):
            wh.query(f"DROP TABLE {table}")  # empty again for the next round
        wh.close()


def test_two_concurrent_writers_lose_no_update(warehouse_url: str, stage) -> None:
    # Given two runs whose batches overlap on half their keys, with different winners per key
    first = [fact_row(f"T{i:03d}", status="Refunded" if i % 2 else "Pending") for i in range(0, 200)]
    second = [fact_row(f"T{i:03d}", status="Pending" if i % 2 else "Completed") for i in range(100, 300)]
    batches_ = [stage(first), stage(second)]
    setup = open_warehouse(warehouse_url)
    setup.apply_schema()

    # When both upsert at the same moment, each on its own connection, a few rounds
    results: list[UpsertResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(staged: str) -> None:
        wh = open_warehouse(warehouse_url)
        try:
            barrier.wait()
            for _ in range(3):
                results.append(wh.upsert_facts(staged))
        except BaseException as exc:  # surfaced below: a thread must not hide a failure
            errors.append(exc)
        finally:
            wh.close()

    threads = [threading.Thread(target=run, args=(b,)) for b in batches_]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = facts(setup)

    # Then the table equals applying them one after the other, and every key was inserted exactly once
    setup.query("DELETE FROM fact_transactions")
    setup.upsert_facts(batches_[0])
    setup.upsert_facts(batches_[1])
    sequential = facts(setup)
    setup.close()
    assert not errors
    assert len(concurrent) == 300
    assert [r[:13] for r in concurrent] == [r[:13] for r in sequential]
    assert sum(r.inserted for r in results) == 300
    assert sum(r.candidates for r in results) == 3 * (200 + 200)


def test_postgres_writer_lock_excludes_writers_but_not_readers(postgres_url: str) -> None:
    open_warehouse(postgres_url).apply_schema()
    lock = lock_statement([FACT_TRANSACTIONS], "postgres")
    with psycopg.connect(postgres_url) as writer, psycopg.connect(postgres_url, autocommit=True) as other:
        writer.execute(lock)  # held until the writer's transaction ends
        other.execute("SET lock_timeout = '2s'")

        assert other.execute("SELECT count(*) FROM fact_transactions").fetchone() == (0,)
        with pytest.raises(psycopg.errors.LockNotAvailable), other.transaction():
            other.execute(lock)


def test_a_postgres_serialization_failure_is_retried_and_the_retry_applies(postgres_url: str) -> None:
    # The writer lock keeps the upsert itself clear of conflicts on PostgreSQL; this provokes a real one
    # (SQLSTATE 40001) inside the adapter's transaction to check its mapping and the retry around it.
    wh = open_warehouse(postgres_url)
    assert isinstance(wh, SqlWarehouse)
    wh.query("CREATE TABLE counter (id int PRIMARY KEY, n int)")
    wh.query("INSERT INTO counter VALUES (1, 0)")
    seen: list[int] = []

    def bump() -> None:
        with wh.transaction() as cur:
            cur.run("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            (n,), = cur.run("SELECT n FROM counter WHERE id = 1") or []
            if not seen:  # the first attempt: another writer commits after this one's snapshot
                with psycopg.connect(postgres_url, autocommit=True) as other:
                    other.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
            seen.append(n)
            cur.run(f"UPDATE counter SET n = {n + 1} WHERE id = 1")

    with_retry(bump, sleep=lambda _: None)

    assert seen == [0, 10]  # the first attempt read a stale 0 and was refused, the retry read 10
    assert wh.query("SELECT n FROM counter").rows == [(11,)]
    wh.close()


def test_duckdb_works_in_utc_whatever_the_local_zone(tmp_path: Path) -> None:
    # Settings are per DuckDB connection and every transaction or query opens its own: each must get it.
    code = ("import sys; from ecom_pipeline.warehouse import open_warehouse; "
            "wh = open_warehouse(sys.argv[1]); "
            "print(wh.query(\"SELECT current_setting('TimeZone')\").rows[0][0])")
    url = f"duckdb://{tmp_path / 'tz.duckdb'}"

    shown = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True,
                           env={**os.environ, "TZ": "Asia/Kolkata"})

    assert shown.stdout.strip() == "UTC"


def test_duckdb_waits_for_another_process_to_let_go_of_the_file_then_gives_up_clearly(tmp_path: Path) -> None:
    from ecom_pipeline.warehouse.duck import DuckDBWarehouse

    path = tmp_path / "busy.duckdb"
    holder = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
              "time.sleep(float(sys.argv[2])); c.close()")

    def hold(seconds: float) -> subprocess.Popen[str]:
        other = subprocess.Popen([sys.executable, "-c", holder, str(path), str(seconds)],
                                 stdout=subprocess.PIPE, text=True)
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        return other

    briefly = hold(1.5)
    DuckDBWarehouse(path, open_timeout_s=20).close()  # waited for the other process, then opened
    assert briefly.wait(timeout=10) == 0

    for_long = hold(30)
    try:
        with pytest.raises(WarehouseError, match=r"cannot open DuckDB warehouse .*busy\.duckdb"):
            DuckDBWarehouse(path, open_timeout_s=1)
    finally:
        for_long.kill()
        for_long.wait()
