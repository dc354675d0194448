"""The job's pure transforms on small frames in the one local Spark session."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.contracts import FACT_COLUMNS, TRANSACTIONS_HEADER, RejectReason
from ecom_pipeline.job import io, transforms
from ecom_pipeline.job.schema import CORRUPT_RECORD, FILE_INDEX, INPUT_ORDER, RAW_TRANSACTIONS, REJECT_REASON
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

DAY = date(2023, 3, 15)
GOOD = {"transaction_id": "T1", "customer_id": "C1", "product_id": "P1", "quantity": "2",
        "price": "10.00", "transaction_date": "2023-03-15", "payment_type": "PayPal", "status": "Completed"}
RUN_AT = datetime(2023, 3, 16, 1, 2, 3, tzinfo=UTC)


def raw_frame(spark: SparkSession, rows: list[dict[str, Any]], file_index: int = 0) -> DataFrame:
    """Raw rows as io.read_transactions yields them (all strings, no corrupt record), in list order."""
    records = [tuple({**GOOD, **row}.get(f.name) for f in RAW_TRANSACTIONS.fields) for row in rows]
    frame = spark.createDataFrame(records, RAW_TRANSACTIONS)
    return (frame.withColumn(FILE_INDEX, F.lit(file_index))
            .withColumn(INPUT_ORDER, F.monotonically_increasing_id() + file_index * 10**6))


def reasons(spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame],
            rows: list[dict[str, Any]]) -> list[Any]:
    validated = transforms.validate(raw_frame(spark, rows), *spark_dims)
    return [r[REJECT_REASON] for r in validated.orderBy(INPUT_ORDER).collect()]


def stage(spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame], frames: list[DataFrame],
          small_max: Decimal = Decimal(100), medium_max: Decimal = Decimal(500)) -> list[dict[str, Any]]:
    raw = frames[0]
    for frame in frames[1:]:
        raw = raw.unionByName(frame)
    validated = transforms.validate(raw, *spark_dims)
    facts = transforms.to_facts(transforms.survivors(transforms.prepare(validated)),
                                keys=[f"file{i}.csv" for i in range(len(frames))], run_id="run-1",
                                run_at=RUN_AT, small_max=small_max, medium_max=medium_max)
    assert tuple(facts.columns) == FACT_COLUMNS
    return [r.asDict() for r in facts.orderBy("transaction_id").collect()]


REJECT_CASES: list[tuple[dict[str, Any], RejectReason | None]] = [
    ({}, None),
    ({"transaction_id": ""}, RejectReason.MISSING_TRANSACTION_ID),
    ({"transaction_id": "   "}, RejectReason.MISSING_TRANSACTION_ID),
    ({"transaction_id": None}, RejectReason.MISSING_TRANSACTION_ID),
    ({"quantity": "0"}, RejectReason.INVALID_QUANTITY),
    ({"quantity": "-3"}, RejectReason.INVALID_QUANTITY),
    ({"quantity": "1.5"}, RejectReason.INVALID_QUANTITY),
    ({"quantity": "two"}, RejectReason.INVALID_QUANTITY),
    ({"quantity": ""}, RejectReason.INVALID_QUANTITY),
    ({"quantity": "99999999999"}, RejectReason.INVALID_QUANTITY),  # beyond INT
    ({"quantity": "2000000000", "price": "9999.99"}, RejectReason.INVALID_QUANTITY),  # total overflows
    ({"price": "-0.01"}, RejectReason.INVALID_PRICE),
    ({"price": "abc"}, RejectReason.INVALID_PRICE),
    ({"price": "N/A"}, RejectReason.INVALID_PRICE),
    ({"price": None}, RejectReason.INVALID_PRICE),
    ({"price": "0"}, None),
    ({"price": "10.000"}, None),  # whole cents, written with more zeros
    ({"price": "5."}, None),
    ({"price": "0.004"}, RejectReason.INVALID_PRICE),  # would round to 0.00: 1,000 of them cost nothing
    ({"price": "71.427"}, RejectReason.INVALID_PRICE),  # a fraction of a cent
    ({"price": "1e2"}, RejectReason.INVALID_PRICE),
    ({"transaction_date": "2023-02-30"}, RejectReason.INVALID_DATE),
    ({"transaction_date": "2023-13-15"}, RejectReason.INVALID_DATE),
    ({"transaction_date": "15/03/2023"}, RejectReason.INVALID_DATE),
    ({"transaction_date": "2023-3-15"}, RejectReason.INVALID_DATE),
    ({"transaction_date": "2023-03-15T10:00"}, RejectReason.INVALID_DATE),
    ({"transaction_date": "2023-02-29"}, RejectReason.INVALID_DATE),
    ({"transaction_date": "2024-02-29"}, None),
    ({"transaction_date": "0000-01-01"}, RejectReason.INVALID_DATE),  # no warehouse has a year 0
    ({"transaction_date": "0001-01-01"}, None),
    ({"transaction_date": "1500-06-01"}, None),  # before the Gregorian calendar: a real date all the same
    ({"status": "Shipped"}, RejectReason.INVALID_STATUS),
    ({"status": "completed"}, RejectReason.INVALID_STATUS),
    ({"status": ""}, RejectReason.INVALID_STATUS),
    ({"product_id": "P404"}, RejectReason.UNKNOWN_PRODUCT),
    ({"customer_id": "C404"}, RejectReason.UNKNOWN_CUSTOMER),
    ({"customer_id": ""}, RejectReason.UNKNOWN_CUSTOMER),
    # Longer than its warehouse column (bytes, as Redshift counts): the load would refuse the batch.
    ({"transaction_id": "T" * 64}, None),
    ({"transaction_id": "T" * 65}, RejectReason.MALFORMED_ROW),
    ({"payment_type": "x" * 32}, None),
    ({"payment_type": "x" * 33}, RejectReason.MALFORMED_ROW),
    ({"payment_type": "é" * 17}, RejectReason.MALFORMED_ROW),  # 17 characters, 34 bytes
    ({"product_id": "P" * 65}, RejectReason.MALFORMED_ROW),
    ({"payment_type": None}, None),
    # Bytes that were not UTF-8, as the reader decodes them: two ids differing only there would merge.
    ({"transaction_id": "T\ufffd1"}, RejectReason.MALFORMED_ROW),
    ({"payment_type": "Cr\ufffddit"}, RejectReason.MALFORMED_ROW),
    # The tail of a record whose quoted value held a line break begins with the value's closing quote.
    ({"transaction_id": 'Card",T2'}, RejectReason.MALFORMED_ROW),
    ({"payment_type": 'Pay "Pal"'}, None),  # a quoted value may hold a quote
]


@pytest.fixture(scope="module")
def reject_results(spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> list[Any]:
    """All reject cases validated in one frame (one Spark job), in case order."""
    return reasons(spark, spark_dims, [row for row, _ in REJECT_CASES])


@pytest.mark.parametrize("case", range(len(REJECT_CASES)))
def test_each_reject_code(reject_results: list[Any], case: int) -> None:
    row, expected = REJECT_CASES[case]
    assert reject_results[case] == expected, row


def test_first_reason_that_applies_wins(spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    rows = [
        {"_corrupt_record": "T1,C1", "transaction_id": "", "quantity": "x"},
        {"transaction_id": "", "quantity": "x", "price": "-1"},
        {"quantity": "x", "price": "-1", "transaction_date": "bad"},
        {"price": "-1", "transaction_date": "bad", "status": "Nope"},
        {"transaction_date": "bad", "status": "Nope", "product_id": "P404"},
        {"status": "Nope", "product_id": "P404", "customer_id": "C404"},
        {"product_id": "P404", "customer_id": "C404"},
    ]
    assert reasons(spark, spark_dims, rows) == [
        "malformed_row", "missing_transaction_id", "invalid_quantity", "invalid_price", "invalid_date",
        "invalid_status", "unknown_product"]


TOTAL_CASES = [
    ("3", "0.10", "0.30", "Small"),      # 0.1 * 3 is 0.30000000000000004 in floats
    ("3", "33.33", "99.99", "Small"),
    ("1", "100", "100.00", "Medium"),
    ("4", "25.00", "100.00", "Medium"),
    ("7", "71.43", "500.01", "Large"),
    ("1", "499.99", "499.99", "Medium"),
    ("2", "250", "500.00", "Large"),
    ("3", "19.99", "59.97", "Small"),
]


@pytest.fixture(scope="module")
def total_results(spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> dict[str, dict[str, Any]]:
    rows = [{"transaction_id": f"T{i}", "quantity": q, "price": p}
            for i, (q, p, _, _) in enumerate(TOTAL_CASES)]
    return {fact["transaction_id"]: fact for fact in stage(spark, spark_dims, [raw_frame(spark, rows)])}


@pytest.mark.parametrize("case", range(len(TOTAL_CASES)))
def test_totals_are_exact_decimals_and_classes_follow_the_thresholds(
        total_results: dict[str, dict[str, Any]], case: int) -> None:
    _, price, total, klass = TOTAL_CASES[case]
    fact = total_results[f"T{case}"]
    assert (fact["total_amount"], fact["transaction_class"]) == (Decimal(total), klass)
    assert fact["price"] == Decimal(price).quantize(Decimal("0.01"))


def test_thresholds_are_arguments(spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    prices = ["9.99", "10.00", "19.99", "20.00"]
    rows = [{"transaction_id": f"T{i}", "quantity": "1", "price": p} for i, p in enumerate(prices)]
    facts = stage(spark, spark_dims, [raw_frame(spark, rows)], small_max=Decimal(10), medium_max=Decimal(20))
    assert [f["transaction_class"] for f in facts] == ["Small", "Medium", "Medium", "Large"]


def test_facts_carry_dims_source_and_run(spark: SparkSession,
                                         spark_dims: tuple[DataFrame, DataFrame]) -> None:
    [fact] = stage(spark, spark_dims, [raw_frame(spark, [{"customer_id": "C2", "product_id": "P2"}])])
    assert (fact["customer_email"], fact["product_name"], fact["category"]) == ("bo@example.com", "Gadget",
                                                                              "Toys")
    assert (fact["source_file"], fact["job_run_id"], fact["status_rank"]) == ("file0.csv", "run-1", 2)
    assert fact["updated_at"] == RUN_AT.replace(tzinfo=None)
    assert fact["transaction_date"] == date(2023, 3, 15)


@pytest.fixture
def laptop_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Python process in UTC+05:30, as on a laptop outside UTC (Glue's processes run in UTC)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_updated_at_is_the_run_time_in_utc_whatever_the_local_zone(
        spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame], laptop_east_of_utc: Any) -> None:
    [fact] = stage(spark, spark_dims, [raw_frame(spark, [{}])])
    assert fact["updated_at"] == datetime(2023, 3, 16, 1, 2, 3)


def test_collapse_keeps_greatest_date_then_rank(spark: SparkSession,
                                                spark_dims: tuple[DataFrame, DataFrame]) -> None:
    rows = [
        {"transaction_id": "A", "status": "Refunded", "transaction_date": "2023-03-14"},
        {"transaction_id": "A", "status": "Pending", "transaction_date": "2023-03-15"},  # later date wins
        {"transaction_id": "B", "status": "Refunded"},  # higher rank wins over a later line
        {"transaction_id": "B", "status": "Completed"},
        {"transaction_id": "C", "status": "Pending"},
    ]
    facts = stage(spark, spark_dims, [raw_frame(spark, rows)])
    assert [(f["transaction_id"], f["status"]) for f in facts] == [("A", "Pending"), ("B", "Refunded"),
                                                                   ("C", "Pending")]


def test_ties_keep_the_later_input_row_across_files(spark: SparkSession,
                                                    spark_dims: tuple[DataFrame, DataFrame]) -> None:
    first = raw_frame(spark, [{"transaction_id": "T", "status": "Completed", "payment_type": "one"},
                              {"transaction_id": "T", "status": "Failed", "payment_type": "two"}], 0)
    second = raw_frame(spark, [{"transaction_id": "T", "status": "Cancelled", "payment_type": "three"}], 1)
    [inside] = stage(spark, spark_dims, [first])
    [across] = stage(spark, spark_dims, [first, second])
    assert (inside["status"], inside["payment_type"]) == ("Failed", "two")
    assert (across["status"], across["source_file"]) == ("Cancelled", "file1.csv")


def test_the_key_is_stored_without_its_surrounding_spaces(spark: SparkSession,
                                                         spark_dims: tuple[DataFrame, DataFrame]) -> None:
    # Redshift compares VARCHARs ignoring trailing spaces, PostgreSQL and DuckDB do not: one key for all.
    rows = [{"transaction_id": "T1 ", "status": "Pending"}, {"transaction_id": " T1", "status": "Completed"},
            {"transaction_id": "T2", "status": "Pending"}]
    facts = stage(spark, spark_dims, [raw_frame(spark, rows)])
    assert [(f["transaction_id"], f["status"]) for f in facts] == [("T1", "Completed"), ("T2", "Pending")]


def test_rejects_keep_raw_values_and_file_day(spark: SparkSession,
                                              spark_dims: tuple[DataFrame, DataFrame]) -> None:
    raw = raw_frame(spark, [{"quantity": " x ", "transaction_date": "2023-03-10"},
                            {"transaction_date": "garbage", "quantity": "-1"}])
    prepared = transforms.prepare(transforms.validate(raw, *spark_dims))
    rows = transforms.rejects(prepared, ["k.csv"], [DAY], "run-9").orderBy("transaction_date")
    got = [r.asDict() for r in rows.collect()]
    assert [(r["quantity"], r["reject_reason"], r["source_file"], r["job_run_id"], r["_reject_day"])
            for r in got] == [(" x ", "invalid_quantity", "k.csv", "run-9", date(2023, 3, 10)),
                              ("-1", "invalid_quantity", "k.csv", "run-9", DAY)]


def write_file(path: Path, lines: list[str]) -> io.SourceFile:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return io.SourceFile(path.name, f"file://{path}", DAY)


def test_malformed_lines_become_rejects_not_failures(spark: SparkSession, tmp_path: Path,
                                                     spark_dims: tuple[DataFrame, DataFrame]) -> None:
    source = write_file(tmp_path / "t.csv", [
        TRANSACTIONS_HEADER,
        "T1,C1,P1,2,10.00,2023-03-15,PayPal,Completed",
        "T2,C1,P1,2,10.00,2023-03-15,PayPal",                      # a field short
        "T3,C1,P1,2,10.00,2023-03-15,PayPal,Completed,extra",      # a field too many
        'T4,C1,P1,"2,10.00,2023-03-15,PayPal,Completed',           # unbalanced quote
        'T5,C1,P1,"2",10.00,2023-03-15,"Credit Card",Completed',   # quoted fields are fine
    ])
    io.check_header(spark, source)
    validated = transforms.validate(io.read_transactions(spark, [source]), *spark_dims)
    got = {r["transaction_id"]: r[REJECT_REASON] for r in validated.collect()}
    assert got == {"T1": None, "T2": "malformed_row", "T3": "malformed_row", "T4": "malformed_row",
                   "T5": None}


def test_quotes_inside_a_field_are_read_as_rfc_4180_writes_them(
        spark: SparkSession, tmp_path: Path, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    # The rejects are written the same way, so a raw value survives the round trip unchanged.
    source = write_file(tmp_path / "q.csv", [
        TRANSACTIONS_HEADER,
        'T1,C1,P1,2,10.00,2023-03-15,"Pay ""Pal""",Completed',
        'T2,C1,P1,2,10.00,2023-03-15,"C:\\cards\\",Completed',  # a backslash is just a character
    ])
    raw = io.read_transactions(spark, [source]).orderBy(INPUT_ORDER).collect()
    assert [(r["payment_type"], r[CORRUPT_RECORD]) for r in raw] == [('Pay "Pal"', None),
                                                                      ("C:\\cards\\", None)]


def test_neither_half_of_a_record_split_by_a_quoted_line_break_loads(
        spark: SparkSession, tmp_path: Path, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    # Read line by line, the tail would otherwise load as a row of its own, with the id 'T2"'.
    source = write_file(tmp_path / "split.csv", [
        TRANSACTIONS_HEADER,
        'T1,C1,P1,2,10.00,2023-03-15,"Credit',
        'T2",C1,P1,2,10.00,2023-03-15,PayPal,Completed',
        'T3,C1,P1,2,10.00,2023-03-15,"Credit',
        'Card",Completed',
        "T4,C1,P1,2,10.00,2023-03-15,PayPal,Completed",
    ])
    validated = transforms.validate(io.read_transactions(spark, [source]), *spark_dims)
    got = [(r["transaction_id"], r[REJECT_REASON]) for r in validated.orderBy(INPUT_ORDER).collect()]
    assert [reason for _, reason in got] == ["malformed_row"] * 4 + [None]
    assert got[-1] == ("T4", None)


def test_bytes_that_are_not_utf8_make_a_row_malformed(spark: SparkSession, tmp_path: Path,
                                                      spark_dims: tuple[DataFrame, DataFrame]) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{TRANSACTIONS_HEADER}\n".encode()
                     + "T\xe91,C1,P1,2,10.00,2023-03-15,PayPal,Completed\n".encode("latin-1")
                     + "T2,C1,P1,2,10.00,2023-03-15,Cr\xe9dit,Completed\n".encode("latin-1")
                     + "T3,C1,P1,2,10.00,2023-03-15,Crédit,Completed\n".encode())
    source = io.SourceFile(path.name, f"file://{path}", DAY)
    validated = transforms.validate(io.read_transactions(spark, [source]), *spark_dims)
    got = [r[REJECT_REASON] for r in validated.orderBy(INPUT_ORDER).collect()]
    assert got == ["malformed_row", "malformed_row", None]


def test_input_order_follows_files_then_lines(spark: SparkSession, tmp_path: Path) -> None:
    lines = [f"T{i},C1,P1,1,1.00,2023-03-15,PayPal,Pending" for i in range(50)]
    one = write_file(tmp_path / "b.csv", [TRANSACTIONS_HEADER, *lines[:25]])
    two = write_file(tmp_path / "a.csv", [TRANSACTIONS_HEADER, *lines[25:]])
    raw = io.read_transactions(spark, [one, two])
    ordered = [r["transaction_id"] for r in raw.orderBy(INPUT_ORDER).collect()]
    assert ordered == [f"T{i}" for i in range(50)]


def test_wrong_header_is_named(spark: SparkSession, tmp_path: Path) -> None:
    source = write_file(tmp_path / "bad.csv", ["id,customer,product", "T1,C1,P1"])
    with pytest.raises(io.WrongHeader, match=r"bad\.csv: header 'id,customer,product' is not"):
        io.check_header(spark, source)
    empty = write_file(tmp_path / "empty.csv", [])
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(io.WrongHeader, match=r"empty\.csv: the file is empty"):
        io.check_header(spark, empty)


def test_a_file_without_line_breaks_is_neither_read_whole_nor_quoted_whole(spark: SparkSession,
                                                                           tmp_path: Path) -> None:
    blob = write_file(tmp_path / "blob.csv", [])
    (tmp_path / "blob.csv").write_text("x" * 5_000_000)  # no newline anywhere

    assert len(io.read_first_line(spark, blob.uri) or "") == io.FIRST_LINE_LIMIT
    with pytest.raises(io.WrongHeader) as wrong:
        io.check_header(spark, blob)
    assert len(str(wrong.value)) < 400 and "(a longer line)" in str(wrong.value)


def test_a_dims_value_may_hold_a_quoted_line_break_as_setup_reads_it(spark: SparkSession,
                                                                     tmp_path: Path) -> None:
    from ecom_pipeline.contracts import CUSTOMERS_HEADER, PRODUCTS_HEADER

    products_csv, customers_csv = tmp_path / "products.csv", tmp_path / "customers.csv"
    products_csv.write_text(f'{PRODUCTS_HEADER}\nP3,"Multi\nLine",Cat,5.00,S3\nP4,Lamp,Home,1.00,S1\n')
    customers_csv.write_text(f"{CUSTOMERS_HEADER}\nC1,Ann,Lee,ann@example.com,Gold\n")
    products, _ = io.read_dims(spark, f"file://{products_csv}", f"file://{customers_csv}")
    got = products.orderBy("product_id").collect()
    assert [(r["product_id"], r["product_name"], r["category"]) for r in got] == [
        ("P3", "Multi\nLine", "Cat"), ("P4", "Lamp", "Home")]


def test_dims_are_matched_trimmed_as_the_warehouse_stores_them(spark: SparkSession) -> None:
    products = spark.createDataFrame([(" P7 ", " Lamp ", "Home ", "1.00", "S1")],
                                     "product_id string, product_name string, category string, "
                                     "price string, supplier_id string")
    customers = spark.createDataFrame([("C7  ", "Al", "Bo", " al@example.com", "Gold")],
                                      "customer_id string, first_name string, last_name string, "
                                      "email string, membership_level string")

    sale = raw_frame(spark, [{"product_id": "P7", "customer_id": "C7"}])

    facts = stage(spark, (products, customers), [sale])

    assert [(f["product_name"], f["category"], f["customer_email"]) for f in facts] == [
        ("Lamp", "Home", "al@example.com")]


def test_a_customer_email_longer_than_the_warehouse_holds_fails_naming_it(
        spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    customers = spark.createDataFrame([("C1", "Al", "Lee", "a" * 257 + "@example.com", "Gold")],
                                      "customer_id string, first_name string, last_name string, "
                                      "email string, membership_level string")

    with pytest.raises(Exception, match="dim_customers: a email longer than 256 bytes"):
        stage(spark, (spark_dims[0], customers), [raw_frame(spark, [{}])])


def test_a_dims_value_that_was_not_utf8_fails_the_run_naming_it(
        spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    # As the reader decodes it: setup refuses such a file, but one replaced since reaches the job.
    customers = spark.createDataFrame([("C1", "Ann", "Lee", "ann@exampl\ufffd.com", "Gold")],
                                      "customer_id string, first_name string, last_name string, "
                                      "email string, membership_level string")

    with pytest.raises(Exception, match=r"dim_customers\.email: a value holding bytes that are not UTF-8"):
        stage(spark, (spark_dims[0], customers), [raw_frame(spark, [{}])])


def test_a_dims_value_longer_than_the_warehouse_holds_fails_naming_it(
        spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame]) -> None:
    products = spark.createDataFrame([("P1", "x" * 257, "Tools", "1.00", "S1")],
                                     "product_id string, product_name string, category string, "
                                     "price string, supplier_id string")

    with pytest.raises(Exception, match="dim_products: a product_name longer than 256 bytes"):
        stage(spark, (products, spark_dims[1]), [raw_frame(spark, [{}])])
