"""S3 key layout: Hive-partitioned, zero-padded, identical in the data and archive buckets."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

DIMS_PREFIX: Final = "dims/"
PRODUCTS_KEY: Final = "dims/products.csv"
CUSTOMERS_KEY: Final = "dims/customers.csv"
TRANSACTIONS_PREFIX: Final = "transactions/"
REJECTS_PREFIX: Final = "rejects/"
STAGING_PREFIX: Final = "staging/"
# Where the stack's setup puts the checked dims for Redshift to COPY (one folder per setup call).
SETUP_STAGING_PREFIX: Final = f"{STAGING_PREFIX}setup/"

_TRANSACTION_KEY = re.compile(
    r"^transactions/year=(?P<y>\d{4})/month=(?P<m>\d{2})/day=(?P<d>\d{2})/"
    r"transactions_(?P<iso>\d{4}-\d{2}-\d{2})\.csv$"
)


def partition(day: date) -> str:
    """`year=2023/month=03/day=15`: always zero-padded."""
    return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


def transaction_key(day: date) -> str:
    """`transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv`."""
    return f"{TRANSACTIONS_PREFIX}{partition(day)}/transactions_{day.isoformat()}.csv"


def rejects_prefix(day: date) -> str:
    """Where the rejects of a day's rows go: `rejects/year=…/month=…/day=…/`."""
    return f"{REJECTS_PREFIX}{partition(day)}/"


def parse_transaction_key(key: str) -> date:
    """The day a transaction key stands for; ValueError for anything else (not ours, or inconsistent)."""
    match = _TRANSACTION_KEY.match(key)
    if not match:
        raise ValueError(f"not a transaction file key: {key!r}")
    day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    if day.isoformat() != match["iso"]:
        raise ValueError(f"partition and file name disagree in {key!r}")
    return day


def is_transaction_key(key: str) -> bool:
    """True for keys the pipeline processes: daily transaction CSVs under `transactions/`."""
    return key.startswith(TRANSACTIONS_PREFIX) and key.endswith(".csv")
