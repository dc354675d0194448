"""The fixed contracts of the pipeline: CSV headers, statuses, reject codes, classes, table names.

Outside tests depend on every name and value here; change them only with the architecture note.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Final

# --- Input CSV headers (exact order) ---------------------------------------------------------------
PRODUCT_COLUMNS: Final = ("product_id", "product_name", "category", "price", "supplier_id")
CUSTOMER_COLUMNS: Final = ("customer_id", "first_name", "last_name", "email", "membership_level")
TRANSACTION_COLUMNS: Final = (
    "transaction_id",
    "customer_id",
    "product_id",
    "quantity",
    "price",  # UNIT price at sale time, never pre-multiplied by quantity
    "transaction_date",  # YYYY-MM-DD
    "payment_type",
    "status",
)

PRODUCTS_HEADER: Final = ",".join(PRODUCT_COLUMNS)
CUSTOMERS_HEADER: Final = ",".join(CUSTOMER_COLUMNS)
TRANSACTIONS_HEADER: Final = ",".join(TRANSACTION_COLUMNS)

# A header is ~80 characters; a first line is read up to this many bytes (a file with no newline, or
# binary garbage, must not be read whole into memory or into the error message).
FIRST_LINE_LIMIT: Final = 64 * 1024
_SHOWN = 120  # characters of a wrong header quoted in the error


def header_line(first_line: str | None) -> str | None:
    """The header a file's first line holds: a BOM and the line end removed; None for an empty file."""
    return None if first_line is None else first_line.removesuffix("\n").rstrip("\r").lstrip("\ufeff")


def header_problem(name: str, header: str | None, expected: str) -> str | None:
    """Why a file's first line `header` (as `header_line` gives it) is not `expected`, naming the file
    and showing a short excerpt; None if it is. The job and the dims load use this one rule."""
    if header == expected:
        return None
    if header is None:
        return f"{name}: the file is empty (no header line)"
    shown = repr(header) if len(header) <= _SHOWN else f"{header[:_SHOWN]!r}… (a longer line)"
    return f"{name}: header {shown} is not {expected!r}"


# --- Status precedence -----------------------------------------------------------------------------
class Status(StrEnum):
    PENDING = "Pending"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    REFUNDED = "Refunded"


# An incoming row replaces a stored one only when (transaction_date, rank) is strictly greater.
STATUS_RANK: Final[dict[str, int]] = {
    Status.PENDING: 1,
    Status.COMPLETED: 2,
    Status.FAILED: 2,
    Status.CANCELLED: 2,
    Status.REFUNDED: 3,
}

PAYMENT_TYPES: Final = ("Credit Card", "Debit Card", "PayPal", "Apple Pay", "Google Pay", "Bank Transfer")
MEMBERSHIP_LEVELS: Final = ("Bronze", "Silver", "Gold", "Platinum")


# --- Reject reasons, in the order they are checked (first that applies wins) -------------------------
class RejectReason(StrEnum):
    MALFORMED_ROW = "malformed_row"
    MISSING_TRANSACTION_ID = "missing_transaction_id"
    INVALID_QUANTITY = "invalid_quantity"  # missing, not an integer, <= 0
    INVALID_PRICE = "invalid_price"  # missing, not a number, < 0
    INVALID_DATE = "invalid_date"
    INVALID_STATUS = "invalid_status"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_CUSTOMER = "unknown_customer"


REJECT_REASONS: Final = tuple(RejectReason)


# --- Classification on total_amount ------------------------------------------------------------------
class TransactionClass(StrEnum):
    SMALL = "Small"
    MEDIUM = "Medium"
    LARGE = "Large"


# Small < SMALL_MAX <= Medium < MEDIUM_MAX <= Large. Job arguments may override them.
DEFAULT_SMALL_MAX: Final = Decimal("100")
DEFAULT_MEDIUM_MAX: Final = Decimal("500")


def classify(total_amount: Decimal, small_max: Decimal = DEFAULT_SMALL_MAX,
             medium_max: Decimal = DEFAULT_MEDIUM_MAX) -> TransactionClass:
    """Reference classification; the Spark and SQL versions must agree with it."""
    if total_amount < small_max:
        return TransactionClass.SMALL
    if total_amount < medium_max:
        return TransactionClass.MEDIUM
    return TransactionClass.LARGE


# --- Warehouse -----------------------------------------------------------------------------------------
DIM_PRODUCTS: Final = "dim_products"
DIM_CUSTOMERS: Final = "dim_customers"
FACT_TRANSACTIONS: Final = "fact_transactions"

FACT_COLUMNS: Final = (
    "transaction_id",
    "customer_id",
    "customer_email",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "price",
    "total_amount",
    "transaction_class",
    "transaction_date",
    "payment_type",
    "status",
    "status_rank",
    "source_file",
    "job_run_id",
    "updated_at",
)

# Accounting keys, as printed by `ecom-pipeline process` and returned by the job.
ACCOUNTING_KEYS: Final = (
    "rows_read",
    "rows_valid",
    "rows_rejected",
    "rejects_by_reason",
    "duplicates_collapsed",
    "inserted",
    "updated",
    "kept_stored",
)

# --- Glue run arguments the trigger sets and the archiver reads back (GetJobRun) ---------------------
SOURCE_KEYS_ARG: Final = "--source_keys"  # JSON array of the keys the run loads
UPLOADS_ARG: Final = "--s3_uploads"  # JSON array of key@sequencer: the uploads the run was started for
ETAGS_ARG: Final = "--s3_etags"  # JSON object: key -> the ETags those uploads announced
