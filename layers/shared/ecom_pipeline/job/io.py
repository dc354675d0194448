"""Reading the run's inputs and writing its outputs; the only part of the job that touches storage.

Paths are URIs (`s3://…` on Glue, `file:///…` locally) handed to Spark and to the Hadoop FileSystem
API, so the same code reads and writes S3 on Glue and a local directory on a laptop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_pipeline.contracts import (
    CUSTOMERS_HEADER,
    FIRST_LINE_LIMIT,
    PRODUCTS_HEADER,
    TRANSACTIONS_HEADER,
    header_line,
    header_problem,
)
from ecom_pipeline.job import lines
from ecom_pipeline.job.schema import (
    FILE_INDEX,
    INPUT_ORDER,
    RAW_CUSTOMERS,
    RAW_PRODUCTS,
    REJECT_COLUMNS,
    REJECT_DAY,
)
from ecom_pipeline.keys import STAGING_PREFIX, parse_transaction_key

_PARTITION = re.compile(r"year=(\d{4})/month=(\d{2})/day=(\d{2})/")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# RFC 4180 quoting ("" inside quotes) for the dims read and the rejects written, as `lines` reads the
# transactions, so a raw value survives the round trip into the rejects; Spark's default escape is a
# backslash, which kept the quotes in a value.
RFC_4180: Final = {"quote": '"', "escape": '"'}


class WrongHeader(ValueError):
    """A transaction file whose first line is not contracts.TRANSACTIONS_HEADER."""


class WrongDimsHeader(ValueError):
    """A dimension file whose first line is not its contract header: every file of the run needs it."""


@dataclass(frozen=True)
class SourceFile:
    """One input file of a run: its key as given, where Spark reads it, and the day it stands for."""

    key: str
    uri: str
    day: date


def resolve(root: str, key: str) -> str:
    """A key under `root` (`s3://bucket/` or `file:///dir/`); a key that is already a URI stays as is."""
    return key if "://" in key else root.rstrip("/") + "/" + key.lstrip("/")


def file_day(key: str, fallback: date) -> date:
    """The day a source file stands for: its Hive partition, else a YYYY-MM-DD in its name, else fallback.

    Rejects whose own date is unusable are filed under this day.
    """
    start = key.find("transactions/year=")
    if start >= 0:
        try:
            return parse_transaction_key(key[start:])
        except ValueError:
            pass
    for pattern in (_PARTITION, _ISO_DAY):
        match = pattern.search(key)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
    return fallback


def source_files(keys: list[str], input_root: str, fallback_day: date) -> list[SourceFile]:
    return [SourceFile(key, resolve(input_root, key), file_day(key, fallback_day)) for key in keys]


# --- Hadoop FileSystem access (S3 on Glue, local disk elsewhere) without a Spark job -------------------
def _fs_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm: Any = spark._jvm  # py4j: the way to reach Hadoop FileSystem
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark._jsc.hadoopConfiguration()), path


def read_first_line(spark: SparkSession, uri: str) -> str | None:
    """The first line of a file (BOM and CR removed, at most FIRST_LINE_LIMIT bytes); None for an empty
    file. Raises if unreadable."""
    fs, path = _fs_path(spark, uri)
    jvm: Any = spark._jvm
    bounded = jvm.org.apache.commons.io.input.BoundedInputStream(fs.open(path), FIRST_LINE_LIMIT)
    reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(bounded, "UTF-8"))
    try:
        line = reader.readLine()
    finally:
        reader.close()
    return header_line(None if line is None else str(line))


def check_header(spark: SparkSession, source: SourceFile) -> None:
    """Raise WrongHeader naming the file when its header is not the contract's transactions header."""
    problem = header_problem(source.key, read_first_line(spark, source.uri), TRANSACTIONS_HEADER)
    if problem:
        raise WrongHeader(problem)


_GLOB_CHARACTERS = re.compile(r"([\\{}\[\]*?])")


def literal_path(uri: str) -> str:
    """`uri` as Spark's file reader must be given it to read that one file: the reader takes a path as
    a glob pattern, so a key with `[`, `{`, `*`, `?` or a backslash in its name (S3 allows them) would
    match nothing, or other files; each is escaped."""
    return _GLOB_CHARACTERS.sub(r"\\\1", uri)


def read_transactions(spark: SparkSession, files: list[SourceFile]) -> DataFrame:
    """All rows of `files` (headers already checked), in input order, tagged with their file index.

    Lines are read as text and parsed by `lines` (RFC 4180, a malformed line kept in CORRUPT_RECORD):
    cheaper than Spark's CSV reader, and with the same results for every well-formed line.
    Each file is read on its own and the reads are unioned in the order given, so the union's partition
    order is file order and, inside a file, line order: monotonically_increasing_id over it is a total
    input order (later file, later line = greater) without a shuffle.
    """
    if not files:
        raise ValueError("no source files to read")
    frames = [read_transaction_file(spark, source.uri).withColumn(FILE_INDEX, F.lit(index))
              for index, source in enumerate(files)]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union.withColumn(INPUT_ORDER, F.monotonically_increasing_id())


def read_transaction_file(spark: SparkSession, uri: str) -> DataFrame:
    """One transaction file's rows as raw strings and CORRUPT_RECORD, in line order, its header left out."""
    return lines.parse(lines.without_header(spark.read.text(literal_path(uri))))


def read_dims(spark: SparkSession, products_uri: str, customers_uri: str) -> tuple[DataFrame, DataFrame]:
    """The product and customer dimension CSVs with their explicit all-string schemas.

    The schema maps columns by position, so the headers are checked first: columns in another order
    would otherwise swap names and categories (or emails) in every fact without a trace.
    """
    for uri, expected in ((products_uri, PRODUCTS_HEADER), (customers_uri, CUSTOMERS_HEADER)):
        problem = header_problem(uri, read_first_line(spark, uri), expected)
        if problem:
            raise WrongDimsHeader(problem)
    # Whole files (they are small): a quoted value may hold a line break, as setup's reader allows.
    options = {"header": "true", "mode": "PERMISSIVE", "multiLine": "true", **RFC_4180}
    products = spark.read.schema(RAW_PRODUCTS).options(**options).csv(literal_path(products_uri))
    customers = spark.read.schema(RAW_CUSTOMERS).options(**options).csv(literal_path(customers_uri))
    return products, customers


def staging_uri(output_root: str, run_id: str) -> str:
    return resolve(output_root, f"{STAGING_PREFIX}{run_id}/")


def write_staged(staged: DataFrame, uri: str) -> None:
    """The batch as Parquet part files in a run-scoped directory (replaced if the run is retried)."""
    # No dictionary encoding: the files are read once by the warehouse load and deleted, and building
    # the dictionaries measured ~10% of a run's CPU (the files are ~3x larger, still snappy-compressed).
    staged.write.mode("overwrite").option("parquet.enable.dictionary", "false").parquet(uri)


def delete_tree(spark: SparkSession, uri: str) -> None:
    fs, path = _fs_path(spark, uri)
    fs.delete(path, True)


def rejects_temporary_uri(output_root: str, run_id: str) -> str:
    """Where a run's rejects wait, written but not yet published (under the staging prefix)."""
    return resolve(output_root, f"{STAGING_PREFIX}{run_id}-rejects/")


def write_rejects(rejects: DataFrame, temporary: str) -> None:
    """Write rejects as CSV under `<temporary>year=…/month=…/day=…/` (`publish_rejects` moves them).

    `rejects` should come in one partition (the job's rejects side of its shuffle): they are written by
    one task, into one file per day, and whatever computes them upstream runs in that task too. The
    directory is the run's own, so concurrent runs never share a committer directory.
    """
    day = F.col(REJECT_DAY)
    (rejects
     .withColumn("year", F.date_format(day, "yyyy"))
     .withColumn("month", F.date_format(day, "MM"))
     .withColumn("day", F.date_format(day, "dd"))
     .coalesce(1)  # one file per day
     .select(*REJECT_COLUMNS, "year", "month", "day")
     .write.mode("overwrite").partitionBy("year", "month", "day")
     # Raw values exactly as read: the CSV writer would trim surrounding blanks by default.
     .options(header="true", ignoreLeadingWhiteSpace="false", ignoreTrailingWhiteSpace="false", **RFC_4180)
     .csv(temporary))


def publish_rejects(spark: SparkSession, temporary: str, rejects_root: str, run_id: str) -> list[str]:
    """Move the files `write_rejects` left in `temporary` into `<rejects_root>year=…/month=…/day=…/` as
    `rejects-<run_id>-<n>.csv`; return their URIs.

    The job publishes only once the warehouse has taken the run's facts: a run that fails before then
    leaves no rejects behind for its retry (a new run id) to write again beside its own. A run retried
    under the same id overwrites its own files and never touches another run's. The rejects root may
    be on another file system or bucket than the temporary directory, which is deleted at the end.
    """
    fs, root = _fs_path(spark, temporary)
    published: list[str] = []
    if not fs.exists(root):
        return published
    files = fs.listFiles(root, True)
    moves: list[tuple[Any, str]] = []
    while files.hasNext():
        status = files.next()
        path = status.getPath()
        if not path.getName().endswith(".csv"):
            continue  # checksums and markers stay behind and go with the temporary directory
        match = _PARTITION.search(str(path.getParent()) + "/")
        if match is None:
            raise RuntimeError(f"reject file outside a day partition: {path}")
        moves.append((path, f"year={match[1]}/month={match[2]}/day={match[3]}/"))
    jvm: Any = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    rejects_root = rejects_root.rstrip("/") + "/"
    for number, (source, partition) in enumerate(sorted(moves, key=lambda m: str(m[0]))):
        target_fs, target = _fs_path(spark, f"{rejects_root}{partition}rejects-{run_id}-{number:03d}.csv")
        target_fs.mkdirs(target.getParent())
        if target_fs.exists(target):
            target_fs.delete(target, False)
        # Copied: a rename cannot cross file systems or buckets (the files are small, and on S3 a
        # rename is a copy anyway). The originals go with their directory once every copy is made.
        if not jvm.org.apache.hadoop.fs.FileUtil.copy(fs, source, target_fs, target, False, conf):
            raise OSError(f"could not copy {source} to {target}")
        published.append(str(target))
    fs.delete(root, True)
    return published
