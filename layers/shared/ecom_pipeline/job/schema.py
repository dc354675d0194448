"""Explicit schemas: every raw input column is read as a string, typed only after validation."""

from __future__ import annotations

from typing import Final

from pyspark.sql.types import StringType, StructField, StructType

from ecom_pipeline.contracts import CUSTOMER_COLUMNS, PRODUCT_COLUMNS, TRANSACTION_COLUMNS

CORRUPT_RECORD: Final = "_corrupt_record"
# Columns the job adds to every raw row: where it came from and its position in the run's input.
SOURCE_FILE: Final = "source_file"
FILE_INDEX: Final = "_file_index"  # position of the file in the run; the key is attached after the shuffle
INPUT_ORDER: Final = "input_order"
REJECT_REASON: Final = "reject_reason"
JOB_RUN_ID: Final = "job_run_id"
REJECT_DAY: Final = "_reject_day"


def _strings(columns: tuple[str, ...]) -> list[StructField]:
    return [StructField(name, StringType(), nullable=True) for name in columns]


# All strings plus the corrupt-record column, so a row that does not parse is kept, not dropped.
RAW_TRANSACTIONS: Final = StructType([*_strings(TRANSACTION_COLUMNS),
                                      StructField(CORRUPT_RECORD, StringType(), True)])
RAW_PRODUCTS: Final = StructType(_strings(PRODUCT_COLUMNS))
RAW_CUSTOMERS: Final = StructType(_strings(CUSTOMER_COLUMNS))

# A rejected row as written to the rejects location: raw values, then why, from where, by which run.
REJECT_COLUMNS: Final = (*TRANSACTION_COLUMNS, "raw_record", REJECT_REASON, SOURCE_FILE, JOB_RUN_ID)
