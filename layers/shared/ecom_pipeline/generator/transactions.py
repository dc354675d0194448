"""Daily transaction files, fast: numpy draws per chunk, precomputed string tables, one join per chunk.

A row is cut into five pieces (`TXN20230315` + `000`..`999` hundreds, `000,` units, `C000123,`,
`P00012,2,19.99,`, `2023-03-15,PayPal,Completed\\n`), each looked up in a table with a numpy index
array, and the whole chunk becomes one `"".join`. The few special rows (faults, status updates) are
built one by one in plain Python and dropped into their slots. Every draw comes from `rng`, keyed by
(seed, day, row number), so a day does not depend on the days generated before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from ecom_pipeline.contracts import PAYMENT_TYPES, TRANSACTIONS_HEADER, Status
from ecom_pipeline.generator import faults
from ecom_pipeline.generator.config import FaultKind, GenerationRequest
from ecom_pipeline.generator.dims import Catalog
from ecom_pipeline.generator.rng import Column, cumulative, day_key, pick, uniform

IntArray = npt.NDArray[np.intp]

STATUSES: Final = tuple(Status)  # Pending, Completed, Failed, Cancelled, Refunded
STATUS_WEIGHTS: Final = (0.12, 0.74, 0.05, 0.06, 0.03)
PAYMENT_WEIGHTS: Final = (0.38, 0.22, 0.17, 0.1, 0.07, 0.06)
# Mostly one to three items, a thin tail up to ten.
QUANTITY_WEIGHTS: Final = (0.5, 0.22, 0.12, 0.05, 0.04, 0.025, 0.015, 0.012, 0.01, 0.008)
MAX_QUANTITY: Final = len(QUANTITY_WEIGHTS)
# Popularity follows a power law: a few customers and products account for much of the traffic.
CUSTOMER_SKEW: Final = 0.8
PRODUCT_SKEW: Final = 0.9
# How far back a status update reaches: 0 = earlier in the same file, 1 = yesterday's file, ...
UPDATE_LOOKBACK_WEIGHTS: Final = (0.2, 0.35, 0.15, 0.1, 0.08, 0.06, 0.06)
UPDATE_TARGET_ROUNDS: Final = 48
# Completed rows far outnumber Pending ones; accepting only this share of Completed targets makes
# Pending->Completed/Failed/Cancelled about as common as Completed->Refunded.
REFUND_ACCEPT: Final = 0.15
# Next status of an updated transaction, by its current status.
PENDING_NEXT: Final = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
PENDING_NEXT_WEIGHTS: Final = (0.8, 0.1, 0.1)

# Row kinds: fault kinds 0..7 (FaultKind order), then UPDATE, then NORMAL.
FAULT_KINDS: Final = tuple(FaultKind)
UPDATE: Final = len(FAULT_KINDS)
NORMAL: Final = UPDATE + 1
_PENDING, _COMPLETED = STATUSES.index(Status.PENDING), STATUSES.index(Status.COMPLETED)
_LOW = [f"{i:03d}," for i in range(1000)]


def id_width(rows_per_day: int) -> int:
    """Digits of the per-day sequence in a transaction id: 7, more only past ten million rows."""
    return max(7, len(str(max(rows_per_day - 1, 0))))


def transaction_id(day: date, seq: int, width: int) -> str:
    """`TXN` + yyyymmdd + zero-padded row number: unique across days by construction."""
    return f"TXN{day:%Y%m%d}{seq:0{width}d}"


def _popularity(seed: int, n: int, skew: float) -> npt.NDArray[np.float64]:
    ranks = np.random.default_rng(seed).permutation(n)
    return cumulative(1.0 / (ranks + 1.0) ** skew)


@dataclass
class _Base:
    """The attributes a row draws before any fault: indices into the catalog and the value tables."""

    customer: IntArray
    product: IntArray
    quantity: IntArray  # 0-based: quantity - 1
    payment: IntArray
    status: IntArray


class DayGenerator:
    """Turns (request, catalog) into the bytes of any day's file, chunk by chunk."""

    def __init__(self, request: GenerationRequest, catalog: Catalog) -> None:
        self.seed = request.seed
        self.rows = request.rows_per_day
        self.chunk_rows = request.chunk_rows
        self.width = id_width(self.rows)
        self.catalog = catalog
        n_products, n_customers = len(catalog.product_ids), len(catalog.customer_ids)
        self._customer_cum = _popularity(self.seed ^ 0xC0, n_customers, CUSTOMER_SKEW)
        self._product_cum = _popularity(self.seed ^ 0x90, n_products, PRODUCT_SKEW)
        self._quantity_cum = cumulative(QUANTITY_WEIGHTS)
        self._payment_cum = cumulative(PAYMENT_WEIGHTS)
        self._status_cum = cumulative(STATUS_WEIGHTS)
        self._lookback_cum = cumulative(UPDATE_LOOKBACK_WEIGHTS)
        self._pending_next_cum = cumulative(PENDING_NEXT_WEIGHTS)
        rates = request.kind_rates()
        self._kind_bounds = np.cumsum([rates[k] for k in FAULT_KINDS] + [request.update_rate])
        self._customer_tbl = np.array([f"{c}," for c in catalog.customer_ids], dtype=object)
        self._product_tbl = np.array(
            [f"{p},{q},{price},"
             for p, price in zip(catalog.product_ids, catalog.product_prices, strict=True)
             for q in range(1, MAX_QUANTITY + 1)],
            dtype=object,
        )
        self._low_tbl = np.array(_LOW, dtype=object)
        self._faults = faults.FaultMaker(catalog)

    # --- draws ------------------------------------------------------------------------------------
    def _kinds(self, key: int, seq: npt.NDArray[np.uint64]) -> IntArray:
        return np.searchsorted(self._kind_bounds, uniform(key, seq, Column.KIND), side="right")

    def _base(self, key: int, seq: npt.NDArray[np.uint64]) -> _Base:
        return _Base(
            customer=pick(self._customer_cum, uniform(key, seq, Column.CUSTOMER)),
            product=pick(self._product_cum, uniform(key, seq, Column.PRODUCT)),
            quantity=pick(self._quantity_cum, uniform(key, seq, Column.QUANTITY)),
            payment=pick(self._payment_cum, uniform(key, seq, Column.PAYMENT)),
            status=pick(self._status_cum, uniform(key, seq, Column.STATUS)),
        )

    # --- the file -----------------------------------------------------------------------------------
    def chunks(self, day: date) -> Iterator[tuple[bytes, int]]:
        """(bytes, data rows in them) for `day`: the header first, then one item per chunk of rows."""
        yield (TRANSACTIONS_HEADER + "\n").encode(), 0
        key = day_key(self.seed, day)
        prefix = f"TXN{day:%Y%m%d}"
        high_tbl = np.array(
            [f"{prefix}{h:0{self.width - 3}d}" for h in range(-(-self.rows // 1000))], dtype=object
        )
        tail_tbl = np.array(
            [f"{day.isoformat()},{p},{s}\n" for p in PAYMENT_TYPES for s in STATUSES], dtype=object
        )
        for start in range(0, self.rows, self.chunk_rows):
            stop = min(start + self.chunk_rows, self.rows)
            seq = np.arange(start, stop, dtype=np.uint64)
            base = self._base(key, seq)
            pieces = np.empty((stop - start, 5), dtype=object)
            pieces[:, 0] = high_tbl[seq // np.uint64(1000)]
            pieces[:, 1] = self._low_tbl[seq % np.uint64(1000)]
            pieces[:, 2] = self._customer_tbl[base.customer]
            pieces[:, 3] = self._product_tbl[base.product * MAX_QUANTITY + base.quantity]
            pieces[:, 4] = tail_tbl[base.payment * len(STATUSES) + base.status]
            special = self._special_lines(day, key, seq, base)
            if special:
                rows = np.fromiter(special, dtype=np.intp, count=len(special))
                pieces[rows, 0] = np.array(list(special.values()), dtype=object)
                pieces[rows, 1:] = ""
            yield "".join(pieces.ravel().tolist()).encode(), stop - start

    def _fields(self, txn: str, base: _Base, i: int, day: date, status: str) -> list[str]:
        product = int(base.product[i])
        return [
            txn,
            self.catalog.customer_ids[base.customer[i]],
            self.catalog.product_ids[product],
            str(int(base.quantity[i]) + 1),
            self.catalog.product_prices[product],
            day.isoformat(),
            PAYMENT_TYPES[base.payment[i]],
            status,
        ]

    def _special_lines(
        self, day: date, key: int, seq: npt.NDArray[np.uint64], base: _Base
    ) -> dict[int, str]:
        """Row index in chunk -> full line, for fault rows and status-update rows."""
        kinds = self._kinds(key, seq)
        lines: dict[int, str] = {}
        fault_rows = np.flatnonzero(kinds < UPDATE)
        if fault_rows.size:
            variants = uniform(key, seq[fault_rows], Column.VARIANT)
            for i, v in zip(fault_rows.tolist(), variants.tolist(), strict=True):
                fields = self._fields(
                    transaction_id(day, int(seq[i]), self.width), base, i, day, STATUSES[base.status[i]]
                )
                lines[i] = self._faults.line(FAULT_KINDS[kinds[i]], fields, v, day) + "\n"
        update_rows = np.flatnonzero(kinds == UPDATE)
        if update_rows.size:
            lines.update(self._update_lines(day, key, seq, update_rows, base))
        return lines

    def _update_lines(
        self, day: date, key: int, seq: npt.NDArray[np.uint64], rows: IntArray, base: _Base
    ) -> dict[int, str]:
        """Status updates: an earlier transaction again, with a later status, dated `day`.

        The target is a clean, non-final (Pending or Completed) row of this day (earlier in the file)
        or of one of the six days before, Completed ones thinned by REFUND_ACCEPT; it is found by
        rejection sampling over its re-derived draws. Rows left without a target after all rounds
        (vanishingly rare) become ordinary rows.
        """
        lines: dict[int, str] = {}
        open_rows = rows
        for rnd in range(UPDATE_TARGET_ROUNDS):
            if not open_rows.size:
                break
            s = seq[open_rows]
            back = pick(self._lookback_cum, uniform(key, s, Column.TARGET + 2 * rnd))
            limit = np.where(back == 0, s, np.uint64(self.rows)).astype(np.float64)
            target = np.floor(uniform(key, s, Column.TARGET + 2 * rnd + 1) * limit).astype(np.uint64)
            found = np.zeros(open_rows.size, dtype=bool)
            for lag in np.unique(back[limit > 0]).tolist():
                sel = np.flatnonzero((back == lag) & (limit > 0))
                source_day = day - timedelta(days=lag)
                source_key = day_key(self.seed, source_day)
                t_seq = target[sel]
                t_base = self._base(source_key, t_seq)
                refund_ok = uniform(key, s[sel], Column.TARGET + 2 * rnd + 1000) < REFUND_ACCEPT
                ok = (self._kinds(source_key, t_seq) == NORMAL) & (
                    (t_base.status == _PENDING) | ((t_base.status == _COMPLETED) & refund_ok)
                )
                ok_at = np.flatnonzero(ok)
                if not ok_at.size:
                    continue
                nxt = pick(self._pending_next_cum, uniform(key, s[sel[ok_at]], Column.NEW_STATUS))
                for j, n in zip(ok_at.tolist(), nxt.tolist(), strict=True):
                    status = PENDING_NEXT[n] if t_base.status[j] == _PENDING else Status.REFUNDED
                    txn = transaction_id(source_day, int(t_seq[j]), self.width)
                    lines[int(open_rows[sel[j]])] = ",".join(self._fields(txn, t_base, j, day, status)) + "\n"
                found[sel[ok_at]] = True
            open_rows = open_rows[~found]
        for i in open_rows.tolist():  # no target found: an ordinary new transaction after all
            txn = transaction_id(day, int(seq[i]), self.width)
            lines[i] = ",".join(self._fields(txn, base, i, day, STATUSES[base.status[i]])) + "\n"
        return lines
