"""Fault rows, vectorised: each kind breaks exactly one thing, so the job's first matching reject
code is the kind's code (`config.EXPECTED_REJECT`).

A row is a sequence of table entries (see `transactions`); a fault row points one or two of its
pieces at extra entries appended to those tables (an empty id, a quantity of `-3`, a `2023-02-30`
date tail, ...). No fault row is built one by one in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt

from ecom_pipeline.contracts import PAYMENT_TYPES, Status
from ecom_pipeline.generator.config import FaultKind
from ecom_pipeline.generator.dims import Catalog

IntArray = npt.NDArray[np.intp]

# Piece positions in a row: TXN20230315 + thousands | units, | customer, | product, | qty, | price, | tail
HIGH, LOW, CUSTOMER, PRODUCT, QUANTITY, PRICE, TAIL = range(7)
STATUSES: Final = tuple(Status)

BAD_QUANTITIES: Final = ("0", "-1", "-3", "1.5", "", "two")
BAD_PRICE_TEXTS: Final = ("-0.01", "abc", "", "N/A")  # plus the product's own price, negated
BAD_STATUSES: Final = ("Shipped", "Processing", "", "Unknown", "On Hold")
_UNKNOWN_POOL: Final = 64


def bad_dates(day: date) -> tuple[str, ...]:
    y, m, d = day.year, day.month, day.day
    return (f"{y}-02-30", f"{y}-13-{d:02d}", f"{d:02d}/{m:02d}/{y}", "", "not-a-date", f"{y}-{m:02d}-32")


BAD_DATE_VARIANTS: Final = len(bad_dates(date(2000, 1, 1)))


def _unknown_ids(known: tuple[str, ...], prefix: str, digits: int, start: int) -> list[str]:
    """Ids shaped like real ones that are not in the dims."""
    taken, n = set(known), start
    out: list[str] = []
    while len(out) < _UNKNOWN_POOL:
        candidate = f"{prefix}{n:0{digits}d}"
        if candidate not in taken:
            out.append(candidate)
        n += 1
    return out


@dataclass(frozen=True)
class TableSizes:
    """Ordinary entries in each piece table; fault entries are appended after them."""

    high: int
    customers: int
    products: int
    quantities: int
    payments: int
    statuses: int


class FaultTables:
    """The extra table entries fault rows point at, and the index rewrite that makes a fault row."""

    def __init__(self, catalog: Catalog) -> None:
        self.unknown_customers = _unknown_ids(catalog.customer_ids, "C", 6, 900_001)
        self.unknown_products = _unknown_ids(catalog.product_ids, "P", 5, 90_001)
        self.prices = catalog.product_prices

    # --- entries appended to each table, in this order ------------------------------------------------
    @staticmethod
    def high_extra() -> list[str]:
        return [""]  # missing id: no TXN head ...

    @staticmethod
    def low_extra() -> list[str]:
        # ... and a bare comma; then every `NNN,` again with a quote opened before the customer id.
        return [",", *(f'{i:03d},"' for i in range(1000))]

    def customer_extra(self) -> list[str]:
        return [f"{c}," for c in self.unknown_customers]

    def product_extra(self) -> list[str]:
        return [f"{p}," for p in self.unknown_products]

    @staticmethod
    def quantity_extra(quantities: int) -> list[str]:
        # Bad quantities; then every quantity again followed by a stray empty field (`2,,19.99`).
        return [f"{q}," for q in BAD_QUANTITIES] + [f"{q},," for q in range(1, quantities + 1)]

    def price_extra(self) -> list[str]:
        return [f"-{p}," for p in self.prices] + [f"{t}," for t in BAD_PRICE_TEXTS]

    @staticmethod
    def tail_extra(day: date) -> list[str]:
        """Bad-date tails (date x payment x status), bad-status tails (status x payment), and tails
        missing the status field (payment)."""
        return (
            [f"{d},{p},{s}\n" for d in bad_dates(day) for p in PAYMENT_TYPES for s in STATUSES]
            + [f"{day.isoformat()},{p},{b}\n" for b in BAD_STATUSES for p in PAYMENT_TYPES]
            + [f"{day.isoformat()},{p}\n" for p in PAYMENT_TYPES]
        )

    # --- the rewrite -----------------------------------------------------------------------------------
    def inject(self, pieces: list[IntArray], kinds: IntArray, variant: npt.NDArray[np.float64],
               payment: IntArray, status: IntArray, sizes: TableSizes) -> None:
        """Point the pieces of rows whose kind is a fault kind (index in FaultKind order) at fault
        entries; `variant` in [0, 1) per row picks which bad value."""
        pay_status = sizes.statuses * payment + status
        n_pay, n_ps = sizes.payments, sizes.payments * sizes.statuses
        bad_date_base = sizes.payments * sizes.statuses
        bad_status_base = bad_date_base + BAD_DATE_VARIANTS * n_ps
        drop_base = bad_status_base + len(BAD_STATUSES) * n_pay
        for code, kind in enumerate(FaultKind):
            rows = np.flatnonzero(kinds == code)
            if not rows.size:
                continue

            def choose(count: int, rows: IntArray = rows) -> IntArray:
                return np.minimum((variant[rows] * count).astype(np.intp), count - 1)

            if kind is FaultKind.MISSING_ID:
                pieces[HIGH][rows] = sizes.high
                pieces[LOW][rows] = 1000
            elif kind is FaultKind.UNKNOWN_CUSTOMER:
                pieces[CUSTOMER][rows] = sizes.customers + choose(_UNKNOWN_POOL)
            elif kind is FaultKind.UNKNOWN_PRODUCT:
                pieces[PRODUCT][rows] = sizes.products + choose(_UNKNOWN_POOL)
            elif kind is FaultKind.BAD_QUANTITY:
                pieces[QUANTITY][rows] = sizes.quantities + choose(len(BAD_QUANTITIES))
            elif kind is FaultKind.BAD_PRICE:
                pick = choose(1 + len(BAD_PRICE_TEXTS))
                pieces[PRICE][rows] = np.where(pick == 0, sizes.products + pieces[PRICE][rows],
                                               2 * sizes.products + pick - 1)
            elif kind is FaultKind.BAD_DATE:
                pieces[TAIL][rows] = bad_date_base + choose(BAD_DATE_VARIANTS) * n_ps + pay_status[rows]
            elif kind is FaultKind.BAD_STATUS:
                pieces[TAIL][rows] = bad_status_base + choose(len(BAD_STATUSES)) * n_pay + payment[rows]
            elif kind is FaultKind.MALFORMED_ROW:
                self._malformed(pieces, rows, choose(3), payment, drop_base,
                                sizes.quantities + len(BAD_QUANTITIES))

    @staticmethod
    def _malformed(pieces: list[IntArray], rows: IntArray, how: IntArray, payment: IntArray,
                   drop_base: int, extra_quantity_base: int) -> None:
        """A field missing, one too many, or an opening quote that never closes."""
        drop, extra, quote = rows[how == 0], rows[how == 1], rows[how == 2]
        pieces[TAIL][drop] = drop_base + payment[drop]
        pieces[QUANTITY][extra] = extra_quantity_base + pieces[QUANTITY][extra]
        pieces[LOW][quote] = 1001 + pieces[LOW][quote]
