"""The job's transaction line reader (job.lines) on a real local Spark session."""

from __future__ import annotations

import csv
import io as text_io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.contracts import TRANSACTION_COLUMNS, TRANSACTIONS_HEADER
from ecom_pipeline.job import io, lines, transforms
from ecom_pipeline.job.schema import CORRUPT_RECORD, INPUT_ORDER, RAW_TRANSACTIONS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession

GOOD = "C1,P1,2,10.00,2023-03-15,PayPal,Completed"
GOOD_VALUES = ("C1", "P1", "2", "10.00", "2023-03-15", "PayPal", "Completed")
MALFORMED = "malformed"

# (line, the eight values it reads as, or MALFORMED with the values its commas give)
LINES: list[tuple[str, Any]] = [
    (f"T1,{GOOD}", ("T1", *GOOD_VALUES)),
    ("T2,,,,,,,", ("T2", None, None, None, None, None, None, None)),
    ('T3,"",P1,2,10.00,2023-03-15,"",Completed', ("T3", None, "P1", "2", "10.00", "2023-03-15", None,
                                                   "Completed")),
    ('T4,C1,P1,2,10.00,2023-03-15,"Pay ""Pal"", Inc.",Completed',
     ("T4", *GOOD_VALUES[:5], 'Pay "Pal", Inc.', "Completed")),
    ('T5,C1,P1,2,10.00,2023-03-15,"""",""""""', ("T5", *GOOD_VALUES[:5], '"', '""')),
    # A quote that does not open a field is a character, doubled or not, in a line with quoted fields too.
    ('T6,C1,P1,2,10.00,2023-03-15,a""b,"Comp""leted"', ("T6", *GOOD_VALUES[:5], 'a""b', 'Comp"leted')),
    ('T7,C1,P1,2,10.00,2023-03-15,Comp"leted,x', ("T7", *GOOD_VALUES[:5], 'Comp"leted', "x")),
    # An empty first field in a line with a quote (the unquoting's first match must not skip it).
    (',"C1",P1,2,10.00,2023-03-15,PayPal,Completed', (None, *GOOD_VALUES)),
    ('"",C1,P1,2,10.00,2023-03-15,PayPal,"x,y"', (None, *GOOD_VALUES[:6], "x,y")),
    ('"T8","C1","P1","2","10.00","2023-03-15","PayPal","Completed"', ("T8", *GOOD_VALUES)),
    (' T9 ,C1,P1,2,10.00,2023-03-15, PayPal ,Completed', (" T9 ", *GOOD_VALUES[:5], " PayPal ", "Completed")),
    ("T10,C1\x00,P1,2,10.00,2023-03-15,PayPal\x01,Completed",
     ("T10", "C1\x00", *GOOD_VALUES[1:5], "PayPal\x01", "Completed")),
    # Malformed: the field count, or a quote that opens a field and does not close it right before a
    # comma or the line's end (Spark's CSV reader loaded `"Completed` at the end of a line as Completed).
    ("T11,C1,P1,2,10.00,2023-03-15,PayPal", (MALFORMED, "T11", *GOOD_VALUES[:6], None)),
    (f"T12,{GOOD},extra", (MALFORMED, "T12", *GOOD_VALUES)),
    ('T13,C1,P1,2,10.00,2023-03-15,PayPal,"Completed', (MALFORMED, "T13", *GOOD_VALUES[:6], '"Completed')),
    ('T14,C1,P1,"2,10.00,2023-03-15,PayPal,Completed',
     (MALFORMED, "T14", "C1", "P1", '"2', *GOOD_VALUES[3:])),
    ('T15,C1,P1,2,10.00,2023-03-15,"Pay"Pal,Completed', (MALFORMED, "T15", *GOOD_VALUES[:5], '"Pay"Pal',
                                                          "Completed")),
    ('T16,C1,P1,2,10.00,2023-03-15,"PayPal" ,Completed', (MALFORMED, "T16", *GOOD_VALUES[:5], '"PayPal" ',
                                                           "Completed")),
    ('T17,C1,P1,2,10.00,2023-03-15,"x"",Completed',
     (MALFORMED, "T17", *GOOD_VALUES[:5], '"x""', "Completed")),
    # A line with a quote and a NUL or SOH, the marks the unquoting uses.
    ('T18,C1,P1,2,10.00,2023-03-15,"Pay\x00Pal",Completed', (MALFORMED, "T18", *GOOD_VALUES[:5],
                                                            '"Pay\x00Pal"', "Completed")),
    ('T19,C1\x01,P1,2,10.00,2023-03-15,"PayPal",Completed', (MALFORMED, "T19", "C1\x01", *GOOD_VALUES[1:5],
                                                             '"PayPal"', "Completed")),
    # Past 20,480 fields Spark's CSV reader threw and failed the run; this one is a malformed line.
    ("T20" + ",x" * 20_500, (MALFORMED, "T20", *["x"] * 7)),
    # Long values: no recursion or backtracking in the patterns, however long.
    ('T21,C1,P1,2,10.00,2023-03-15,"' + '""' * 50_000 + '",Completed',
     ("T21", *GOOD_VALUES[:5], '"' * 50_000, "Completed")),
    ("T22,C1,P1,2,10.00,2023-03-15," + "y" * 200_000 + ",Completed", ("T22", *GOOD_VALUES[:5], "y" * 200_000,
                                                                      "Completed")),
]


@pytest.fixture(scope="module")
def read(spark: SparkSession) -> list[Any]:
    """Every line of LINES through lines.parse, in one Spark job, in order."""
    frame = spark.createDataFrame([(line,) for line, _ in LINES], f"{lines.LINE} string")
    return lines.parse(frame).collect()


@pytest.mark.parametrize("case", range(len(LINES)), ids=[line[:24] for line, _ in LINES])
def test_each_line_reads_as_rfc_4180_says(read: list[Any], case: int) -> None:
    line, expected = LINES[case]
    row = read[case]
    values = tuple(row[name] for name in TRANSACTION_COLUMNS)
    if expected[0] == MALFORMED:
        assert (row[CORRUPT_RECORD], values) == (line, expected[1:])
    else:
        assert (row[CORRUPT_RECORD], values) == (None, expected)


def test_blank_lines_and_the_header_are_no_rows(spark: SparkSession, tmp_path: Path) -> None:
    # Given a header, blank lines of every kind (as Spark's CSV reader skipped them) and three line ends
    path = tmp_path / "t.csv"
    path.write_bytes(f"{TRANSACTIONS_HEADER}\r\n\r\nT1,{GOOD}\r\n   \n\t \nT2,{GOOD}\rT3,{GOOD}\n\n".encode())
    # When it is read
    rows = io.read_transactions(spark, [io.SourceFile("t.csv", f"file://{path}", date(2023, 3, 15))])
    got = [(r["transaction_id"], r["status"], r[CORRUPT_RECORD]) for r in rows.orderBy(INPUT_ORDER).collect()]
    # Then only its three records are rows, whole
    assert got == [("T1", "Completed", None), ("T2", "Completed", None), ("T3", "Completed", None)]


def test_only_the_first_line_of_each_file_is_left_out_even_across_splits(spark: SparkSession,
                                                                         tmp_path: Path) -> None:
    # Given two files, each read in several splits, one with a line equal to the header in its middle
    conf = spark.conf
    saved = conf.get("spark.sql.files.maxPartitionBytes")
    body = [f"T{i},{GOOD}" for i in range(3000)]
    sources = []
    for name, rows in (("a.csv", [*body[:1500], TRANSACTIONS_HEADER, *body[1500:]]), ("b.csv", body)):
        (tmp_path / name).write_text("\n".join([TRANSACTIONS_HEADER, *rows]) + "\n")
        sources.append(io.SourceFile(name, f"file://{tmp_path / name}", date(2023, 3, 15)))
    conf.set("spark.sql.files.maxPartitionBytes", "16384")
    try:
        raw = io.read_transactions(spark, sources)
        assert raw.rdd.getNumPartitions() > 4
        got = [r["transaction_id"] for r in raw.orderBy(INPUT_ORDER).collect()]
    finally:
        conf.set("spark.sql.files.maxPartitionBytes", saved)
    # Then every record and the header line inside a file are rows, in order; the headers are not
    assert got == [f"T{i}" for i in range(1500)] + ["transaction_id"] + [f"T{i}" for i in range(1500, 3000)] \
        + [f"T{i}" for i in range(3000)]


_VALUE = st.text(st.characters(exclude_characters="\r\n\x00\x01", exclude_categories=("Cs",)),
                 max_size=12) | st.sampled_from(['"', '""', ",", '","', " ", '"a', 'a"', ""])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(*[_VALUE] * len(TRANSACTION_COLUMNS)), min_size=1, max_size=40),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_what_an_rfc_4180_writer_writes_reads_back_as_sparks_csv_reader_reads_it(
        spark: SparkSession, rows: list[tuple[str, ...]], quoting: int) -> None:
    # Given rows written by Python's csv module (RFC 4180 quoting), one line each
    buffer = text_io.StringIO()
    csv.writer(buffer, quoting=quoting, lineterminator="\n").writerows(rows)
    written = buffer.getvalue().split("\n")[:-1]
    # When the lines are read by lines.parse, and by Spark's CSV reader as the job read them before
    parsed = lines.parse(spark.createDataFrame([(line,) for line in written], f"{lines.LINE} string"))
    by_spark = (spark.read.schema(RAW_TRANSACTIONS)
                .options(mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT_RECORD, quote='"', escape='"')
                .csv(spark.sparkContext.parallelize(written, 1)).collect())
    # Then every value comes back as written (an empty one as null), and as Spark's reader gives it
    got = [tuple(r) for r in parsed.collect()]
    assert got == [(*(value or None for value in row), None) for row in rows]
    assert got == [tuple(r) for r in by_spark]


def test_the_map_stage_stays_small_enough_for_the_jit_to_compile(
        spark: SparkSession, spark_dims: tuple[DataFrame, DataFrame], tmp_path: Path) -> None:
    # The JVM leaves a method over 8,000 bytes of bytecode to its interpreter. Written per field, the
    # unquoting put the stage that reads, parses and validates the rows at 9,105 bytes, and the runs took
    # 1.5x as long.
    path = tmp_path / "t.csv"
    path.write_text(f"{TRANSACTIONS_HEADER}\nT1,{GOOD}\n")
    raw = io.read_transactions(spark, [io.SourceFile("t.csv", f"file://{path}", date(2023, 3, 15))])
    prepared = transforms.prepare(transforms.validate(raw, *spark_dims))
    mapped = prepared.repartition(4, "transaction_id")
    jvm: Any = spark._jvm
    stages = jvm.org.apache.spark.sql.execution.debug.package.codegenStringSeq(
        mapped._jdf.queryExecution().executedPlan())
    sizes = [stages.apply(i)._3().maxMethodCodeSize() for i in range(stages.size())]
    assert sizes and max(sizes) < 8000, sizes
