"""One bad row per fault kind, each broken in exactly one way so the job's first matching reject
code is the kind's code (`config.EXPECTED_REJECT`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Final

from ecom_pipeline.generator.config import FaultKind
from ecom_pipeline.generator.dims import Catalog

# Field positions in a transaction row.
TXN, CUSTOMER, PRODUCT, QUANTITY, PRICE, DATE, PAYMENT, STATUS = range(8)

BAD_QUANTITIES: Final = ("0", "-1", "-3", "1.5", "", "two")
BAD_STATUSES: Final = ("Shipped", "Processing", "", "Unknown", "On Hold")
_UNKNOWN_POOL = 64


def _pick(options: tuple[str, ...] | list[str], v: float) -> str:
    return options[min(int(v * len(options)), len(options) - 1)]


def _unknown_ids(known: tuple[str, ...], fmt: Callable[[int], str], start: int) -> list[str]:
    """Ids shaped like real ones that are not in the dims."""
    taken, n = set(known), start
    out: list[str] = []
    while len(out) < _UNKNOWN_POOL:
        if fmt(n) not in taken:
            out.append(fmt(n))
        n += 1
    return out


class FaultMaker:
    def __init__(self, catalog: Catalog) -> None:
        self._unknown_customers = _unknown_ids(catalog.customer_ids, lambda n: f"C{n:06d}", 900_001)
        self._unknown_products = _unknown_ids(catalog.product_ids, lambda n: f"P{n:05d}", 90_001)

    def line(self, kind: FaultKind, fields: list[str], v: float, day: date) -> str:
        """The CSV line (no newline) for a row of `kind`; `v` in [0, 1) picks the variant."""
        if kind is FaultKind.MALFORMED_ROW:
            return _malformed(fields, v)
        if kind is FaultKind.MISSING_ID:
            fields[TXN] = ""
        elif kind is FaultKind.BAD_QUANTITY:
            fields[QUANTITY] = _pick(BAD_QUANTITIES, v)
        elif kind is FaultKind.BAD_PRICE:
            fields[PRICE] = _pick((f"-{fields[PRICE]}", "-0.01", "abc", "", "N/A"), v)
        elif kind is FaultKind.BAD_DATE:
            y, m, d = day.year, day.month, day.day
            fields[DATE] = _pick(
                (f"{y}-02-30", f"{y}-13-{d:02d}", f"{d:02d}/{m:02d}/{y}", "", "not-a-date",
                 f"{y}-{m:02d}-32"),
                v,
            )
        elif kind is FaultKind.BAD_STATUS:
            fields[STATUS] = _pick(BAD_STATUSES, v)
        elif kind is FaultKind.UNKNOWN_PRODUCT:
            fields[PRODUCT] = _pick(self._unknown_products, v)
        elif kind is FaultKind.UNKNOWN_CUSTOMER:
            fields[CUSTOMER] = _pick(self._unknown_customers, v)
        return ",".join(fields)


def _malformed(fields: list[str], v: float) -> str:
    """A field missing, one too many, or an opening quote that never closes."""
    if v < 1 / 3:
        return ",".join(fields[:-1])
    if v < 2 / 3:
        return ",".join([*fields, "gift-wrap"])
    return ",".join(fields[:PRODUCT]) + ',"' + ",".join(fields[PRODUCT:])
