"""Pure DataFrame -> DataFrame steps of the job: validate, enrich, classify, collapse.

No I/O, no actions, no Python UDFs: every rule is a Spark SQL expression, so the whole run is one plan
the optimizer can fuse (and the same rules read the same in the DuckDB benchmark query).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ecom_pipeline.contracts import (
    FACT_COLUMNS,
    STATUS_RANK,
    TRANSACTION_COLUMNS,
    RejectReason,
    TransactionClass,
)
from ecom_pipeline.job.schema import (
    CORRUPT_RECORD,
    FILE_INDEX,
    INPUT_ORDER,
    JOB_RUN_ID,
    REJECT_DAY,
    REJECT_REASON,
    SOURCE_FILE,
)
from ecom_pipeline.warehouse.schema import DIM_CUSTOMERS, DIM_PRODUCTS, FACT_TRANSACTIONS, Table

# Typed values of a row, set only where the raw text is valid (null otherwise).
QUANTITY: Final = "_quantity"
PRICE: Final = "_price"
DATE: Final = "_date"
TOTAL: Final = "_total"
PRODUCT_NAME: Final = "product_name"
CATEGORY: Final = "category"
CUSTOMER_EMAIL: Final = "customer_email"

_INTEGER = r"^[+-]?[0-9]+$"
# A plain decimal in whole cents (trailing zeros aside): the fact's DECIMAL(12,2) price would round a
# finer one, and every total and class computed from it, without a trace.
_CENTS = r"^[+-]?([0-9]+([.][0-9]{0,2}0*)?|[.][0-9]{1,2}0*)$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Spark reads '0000-01-01' as a date; Python, PostgreSQL and Redshift have no year 0. (As text into the
# plan: PySpark passes a date literal on through strftime, which writes year 1 as '1-01-01'.)
FIRST_DATE: Final = date(1, 1, 1)
# The largest DECIMAL(14,2): a quantity whose total would not fit is not a usable quantity.
MAX_TOTAL: Final = Decimal("999999999999.99")


def _typed(raw: str, pattern: str, sql_type: str) -> Column:
    """`raw` trimmed and cast to `sql_type` when it matches `pattern`, else null (never an error).

    The regex guards what a bare cast would accept loosely ('3.7' as int is 3, '2023-3' as a date);
    try_cast turns overflow and impossible dates ('2023-02-30') into null whatever ANSI mode says.
    """
    text = F.trim(F.col(raw))
    return F.when(text.rlike(pattern), F.expr(f"try_cast(trim(`{raw}`) AS {sql_type})"))


# Input values the fact stores as they came, with the most bytes their warehouse column holds: a longer
# one would make the warehouse refuse the whole batch, so its row is rejected as malformed instead.
TEXT_LIMITS: Final = {name: limit for name in ("transaction_id", "customer_id", "product_id", "payment_type")
                      if (limit := FACT_TRANSACTIONS.text_limit(name)) is not None}


# What the reader decodes bytes that are not UTF-8 into: two ids that differ only there would merge.
NOT_UTF8: Final = "\ufffd"


def _unusable_text() -> Column:
    """A stored text value the warehouse would refuse or the reader garbled: longer than its column, not
    UTF-8, or (transaction_id) holding a double quote. Read line by line, a value whose quotes hold a line
    break leaves its record's tail as a line of its own, and that tail's first field ends in the closing
    quote: without this, the tail could load as a row with an id like `T2"`."""
    checks = [F.col("transaction_id").contains('"')]
    for name, limit in TEXT_LIMITS.items():
        checks += [F.octet_length(F.col(name)) > limit, F.col(name).contains(NOT_UTF8)]
    combined = checks[0]
    for check in checks[1:]:
        combined = combined | check
    return combined


def _blank(column: str) -> Column:
    return F.col(column).isNull() | (F.trim(F.col(column)) == "")


def parse_values(raw: DataFrame) -> DataFrame:
    """Add the typed quantity, price, date and total (DECIMAL arithmetic, never float)."""
    total = F.col(QUANTITY).cast("decimal(10,0)") * F.col(PRICE)
    return (raw
            .withColumn(QUANTITY, _typed("quantity", _INTEGER, "int"))
            .withColumn(PRICE, _typed("price", _CENTS, "decimal(12,2)"))
            .withColumn(DATE, _typed("transaction_date", _ISO_DATE, "date"))
            .withColumn(DATE, F.when(F.col(DATE) >= F.lit(FIRST_DATE.isoformat()).cast("date"), F.col(DATE)))
            .withColumn(TOTAL, F.when(total <= F.lit(MAX_TOTAL), total.cast("decimal(14,2)"))))


_PRODUCT_KNOWN = "_product_known"
_CUSTOMER_KNOWN = "_customer_known"


def product_lookup(products: DataFrame) -> DataFrame:
    """One row per product_id (name, category, known flag), small enough to broadcast to every task.

    Values trimmed, as the warehouse's dim_products holds them (warehouse.dims)."""
    first = F.min(F.struct(F.col("product_name"), F.col("category"))).alias("p")
    carried = _trimmed(products, DIM_PRODUCTS, "product_id", "product_name", "category")
    return (_one_partition(carried).where(~_blank("product_id"))
            .groupBy("product_id").agg(first)
            .select("product_id", F.col("p.product_name").alias(PRODUCT_NAME),
                    F.col("p.category").alias(CATEGORY), F.lit(True).alias(_PRODUCT_KNOWN)))


def customer_lookup(customers: DataFrame) -> DataFrame:
    """One row per customer_id with its email (and known flag), small enough to broadcast; trimmed."""
    carried = _trimmed(customers, DIM_CUSTOMERS, "customer_id", "email")
    return (_one_partition(carried).where(~_blank("customer_id"))
            .groupBy("customer_id")
            .agg(F.min("email").alias(CUSTOMER_EMAIL), F.lit(True).alias(_CUSTOMER_KNOWN)))


def _trimmed(dim: DataFrame, table: Table, *names: str) -> DataFrame:
    """The dimension's columns `names` (the ones the facts carry), trimmed; a value longer than its
    warehouse column fails the run, naming it (the warehouse would refuse the whole batch instead), as
    does one holding bytes that were not UTF-8 (setup refuses such a file; one replaced since would
    otherwise put U+FFFD into every fact that carries the value).

    Only those columns: Spark drops a check on a column nothing reads, whatever the plan says."""
    def fitting(name: str) -> Column:
        value, limit = F.trim(F.col(name)), table.text_limit(name)
        checked = F.when(value.contains(NOT_UTF8), F.raise_error(F.lit(
            f"{table.name}.{name}: a value holding bytes that are not UTF-8 (the dims files must be UTF-8)")))
        if limit is not None:
            message = f"{table.name}: a {name} longer than {limit} bytes, more than the warehouse holds"
            checked = checked.when(F.octet_length(value) > limit, F.raise_error(F.lit(message)))
        return checked.otherwise(value).alias(name)

    return dim.select(*[fitting(name) for name in names])


def _one_partition(dim: DataFrame) -> DataFrame:
    """A dimension (thousands of rows) in one partition: its de-duplication then needs no shuffle, so
    building a broadcast table is one small Spark job instead of two (each costs planning and, in a fresh
    JVM, code generation)."""
    return dim.coalesce(1)


def reject_reason() -> Column:
    """The first reason that applies, in contract order; null for a valid row."""
    quantity_ok = F.col(QUANTITY).isNotNull() & (F.col(QUANTITY) > 0)
    price_ok = F.col(PRICE).isNotNull() & (F.col(PRICE) >= 0)
    checks: list[tuple[RejectReason, Column]] = [
        (RejectReason.MALFORMED_ROW, F.col(CORRUPT_RECORD).isNotNull() | _unusable_text()),
        (RejectReason.MISSING_TRANSACTION_ID, _blank("transaction_id")),
        # A total that overflows DECIMAL(14,2) makes the quantity unusable for that price.
        (RejectReason.INVALID_QUANTITY, ~quantity_ok | (price_ok & F.col(TOTAL).isNull())),
        (RejectReason.INVALID_PRICE, ~price_ok),
        (RejectReason.INVALID_DATE, F.col(DATE).isNull()),
        (RejectReason.INVALID_STATUS, ~F.col("status").isin(list(STATUS_RANK))
         | F.col("status").isNull()),
        (RejectReason.UNKNOWN_PRODUCT, F.col(_PRODUCT_KNOWN).isNull()),
        (RejectReason.UNKNOWN_CUSTOMER, F.col(_CUSTOMER_KNOWN).isNull()),
    ]
    reason: Column | None = None
    for code, failed in checks:
        reason = F.when(failed, F.lit(code.value)) if reason is None else reason.when(failed, code.value)
    assert reason is not None
    return reason


def validate(raw: DataFrame, products: DataFrame, customers: DataFrame) -> DataFrame:
    """Every raw row once, typed where valid, dims attached, with `reject_reason` (null = valid).

    One broadcast join per dimension both checks membership and brings the name, category and email:
    a second join after the collapse cost more than carrying three short strings through the shuffle.
    """
    joined = (parse_values(raw)
              .join(F.broadcast(product_lookup(products)), on="product_id", how="left")
              .join(F.broadcast(customer_lookup(customers)), on="customer_id", how="left"))
    return joined.withColumn(REJECT_REASON, reject_reason()).drop(_PRODUCT_KNOWN, _CUSTOMER_KNOWN)


def status_rank() -> Column:
    """contracts.STATUS_RANK as an expression."""
    rank: Column | None = None
    for status, value in STATUS_RANK.items():
        hit = F.col("status") == status
        rank = F.when(hit, F.lit(value)) if rank is None else rank.when(hit, value)
    assert rank is not None
    return rank


def transaction_class(total: Column, small_max: Decimal, medium_max: Decimal) -> Column:
    """Small < small_max <= Medium < medium_max <= Large (agrees with contracts.classify)."""
    return (F.when(total < F.lit(small_max), TransactionClass.SMALL.value)
            .when(total < F.lit(medium_max), TransactionClass.MEDIUM.value)
            .otherwise(TransactionClass.LARGE.value))


RAW: Final = "_raw"
_TYPED = ("transaction_id", "customer_id", "product_id", "quantity", "price", "total_amount",
          "transaction_date", "payment_type", "status", "status_rank", FILE_INDEX,
          PRODUCT_NAME, CATEGORY, CUSTOMER_EMAIL)


def prepare(validated: DataFrame) -> DataFrame:
    """Every row once, in the shape both outputs read: typed values for the valid rows, raw text for rejects.

    A rejected row carries its raw text in one RAW struct (null for a valid row, which then takes 8
    bytes of the shuffle instead of 8 per raw column); a valid row carries its dims (null for rejects):
    the shuffle carries each value once, and each output selects only what it needs.
    """
    valid = ~rejected()
    raw = F.struct(*[F.col(name) for name in (*TRANSACTION_COLUMNS, CORRUPT_RECORD)])
    return validated.select(
        F.when(~valid, raw).alias(RAW),
        REJECT_REASON,
        # The key without its surrounding spaces: Redshift ignores trailing spaces when it compares
        # VARCHARs, PostgreSQL and DuckDB do not, so 'T1 ' and 'T1' must be one key before any of them.
        F.trim(F.col("transaction_id")).alias("transaction_id"),
        "customer_id", "product_id",
        F.col(QUANTITY).alias("quantity"),
        F.col(PRICE).alias("price"),
        F.col(TOTAL).alias("total_amount"),
        F.col(DATE).alias("transaction_date"),
        "payment_type", "status",
        status_rank().alias("status_rank"),
        FILE_INDEX, INPUT_ORDER,
        *[F.when(valid, F.col(name)).alias(name) for name in (PRODUCT_NAME, CATEGORY, CUSTOMER_EMAIL)],
    )


def rejected() -> Column:
    """True for a row `prepare` marked as rejected."""
    return F.col(REJECT_REASON).isNotNull()


RANK: Final = "_rank"


def ranked(prepared: DataFrame) -> DataFrame:
    """The valid rows, each with its RANK among the valid rows of its transaction_id: 1 for the row that
    survives the collapse (the greatest date, then status rank; a tie keeps the later input), 2, 3, … for
    the duplicates it replaces.

    Rows are ordered by (date, status rank, input order) descending; input order is unique, so nothing
    else decides. Given rows hash-partitioned by transaction_id (the job's one shuffle), the window sorts
    inside each partition with no shuffle of its own; given anything else, Spark adds the shuffle. It
    measured faster than the max of a row struct per key, which Spark can only aggregate by sorting too
    and then copies row by row.
    """
    latest_first = Window.partitionBy("transaction_id").orderBy(
        F.col("transaction_date").desc(), F.col("status_rank").desc(), F.col(INPUT_ORDER).desc())
    return prepared.where(~rejected()).withColumn(RANK, F.row_number().over(latest_first))


def winners(ranked_rows: DataFrame) -> DataFrame:
    """The rows `ranked` ranks first: one per transaction_id."""
    return ranked_rows.where(F.col(RANK) == 1).select(*_TYPED)


def survivors(prepared: DataFrame) -> DataFrame:
    """One valid row per transaction_id (`ranked`, then `winners`)."""
    return winners(ranked(prepared))


def by_file(values: Sequence[Any]) -> Column:
    """The value of a row's source file, from `values` in run order (keys, days, run time).

    The values enter the plan as one array literal, which Spark's generated code holds by reference,
    where a date or timestamp literal on its own is written into the Java source. So the next run in a
    session, with other keys, days or run time, compiles to the same code: Spark reuses the classes it
    compiled, and the JIT its machine code, instead of compiling every run anew. (The job applies it
    after the shuffle, where the file index is data, not a literal the optimizer could fold in.)
    """
    return F.element_at(F.array(*[F.lit(value) for value in values]), F.col(FILE_INDEX) + 1)


def to_facts(survivors: DataFrame, *, keys: list[str], run_id: str, run_at: datetime, small_max: Decimal,
             medium_max: Decimal) -> DataFrame:
    """Fact rows in contracts.FACT_COLUMNS: class, source file, run id, run time added."""
    # UTC wall time as a timestamp without time zone (every warehouse reads it as-is). From text: a
    # datetime literal would go through the Python process's local zone (time.mktime) on its way in.
    updated_at = F.lit(run_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")).cast("timestamp_ntz")
    columns: dict[str, Column] = {
        "transaction_class": transaction_class(F.col("total_amount"), small_max, medium_max),
        SOURCE_FILE: by_file(keys),
        JOB_RUN_ID: F.lit(run_id),
        "updated_at": by_file([updated_at] * len(keys)),
    }
    return survivors.select(*[columns.get(name, F.col(name)).alias(name) for name in FACT_COLUMNS])


def rejects(prepared: DataFrame, keys: list[str], days: list[date], run_id: str) -> DataFrame:
    """The rejected rows: raw values (the whole raw line when malformed), reason, source file, run id.

    REJECT_DAY says which day's partition a reject belongs to: its own date when that is valid,
    otherwise the day its file stands for (`days`, in the order of `keys`).
    """
    return prepared.where(rejected()).select(
        *[F.col(f"{RAW}.{name}").alias(name) for name in TRANSACTION_COLUMNS],
        F.col(f"{RAW}.{CORRUPT_RECORD}").alias("raw_record"),
        REJECT_REASON,
        by_file(keys).alias(SOURCE_FILE),
        F.lit(run_id).alias(JOB_RUN_ID),
        F.coalesce(F.col("transaction_date"), by_file(days)).alias(REJECT_DAY),
        FILE_INDEX,  # for counting per file; not written
    )
