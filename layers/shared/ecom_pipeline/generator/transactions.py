"""Daily transaction files, fast: numpy draws per chunk, precomputed byte tables, one gather per chunk.

A row is cut into seven pieces (`TXN20230315` + thousands, `000,` units, `C000123,`, `P00012,`, `2,`,
`19.99,`, `2023-03-15,PayPal,Completed\\n`), each an entry of a small byte table chosen by a numpy
index array; a chunk is gathered into NUL-padded fixed-size records and squeezed (`_assemble`), with
no Python object per row. Status updates and faults are only different indices (faults point at
extra table entries, see `faults`). Every draw comes from `rng`, keyed by (seed, day, row number),
so a day never depends on the days generated before it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from ecom_pipeline.contracts import PAYMENT_TYPES, TRANSACTIONS_HEADER, Status
from ecom_pipeline.generator import faults
from ecom_pipeline.generator.config import (
    LOOKBACK_DAYS,
    UPDATE_LOOKBACK_WEIGHTS,
    FaultKind,
    GenerationRequest,
)
from ecom_pipeline.generator.dims import Catalog
from ecom_pipeline.generator.rng import U64, Column, Key, Sampler, bits, day_key, uniform

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
# Candidate targets drawn per update row, in batches; the first suitable one wins. About one in five
# candidates is suitable, so all 128 failing (the row then stays an ordinary new sale) has odds
# below 1e-13, while most rows are settled by the first small batch.
UPDATE_CANDIDATE_BATCHES: Final = (8, 24, 96)
MAX_CANDIDATES: Final = sum(UPDATE_CANDIDATE_BATCHES)
# Completed rows far outnumber Pending ones; accepting only this share of Completed targets makes
# Pending->Completed/Failed/Cancelled about as common as Completed->Refunded.
REFUND_ACCEPT: Final = 0.15
# Next status of an updated Pending transaction (a Completed one becomes Refunded).
PENDING_NEXT: Final = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
PENDING_NEXT_WEIGHTS: Final = (0.8, 0.1, 0.1)

# Row kinds: fault kinds 0..7 (FaultKind order), then UPDATE, then NORMAL.
FAULT_KINDS: Final = tuple(FaultKind)
UPDATE: Final = len(FAULT_KINDS)
NORMAL: Final = UPDATE + 1
_PENDING, _COMPLETED = STATUSES.index(Status.PENDING), STATUSES.index(Status.COMPLETED)
_REFUNDED = STATUSES.index(Status.REFUNDED)
_PENDING_NEXT_INDEX = np.array([STATUSES.index(s) for s in PENDING_NEXT])


def id_width(rows_per_day: int) -> int:
    """Digits of the per-day sequence in a transaction id: 7, more only past ten million rows."""
    return max(7, len(str(max(rows_per_day - 1, 0))))


@functools.lru_cache(maxsize=64)
def _txn_prefix(day: date) -> str:
    return f"TXN{day:%Y%m%d}"


def transaction_id(day: date, seq: int, width: int) -> str:
    """`TXN` + yyyymmdd + zero-padded row number: unique across days by construction."""
    return f"{_txn_prefix(day)}{seq:0{width}d}"


def _popularity(seed: int, n: int, skew: float) -> Sampler:
    ranks = np.random.default_rng(seed).permutation(n)
    return Sampler(1.0 / (ranks + 1.0) ** skew)


Table = npt.NDArray[np.void]


def _table(values: list[str]) -> Table:
    """Strings as NUL-padded fixed-size records (numpy `V<longest>`): a lookup copies one record."""
    encoded = [v.encode() for v in values]
    width = max(map(len, encoded), default=1)
    return np.array(encoded, dtype=f"S{width}").view(f"V{width}")


def _assemble(tables: list[Table], indices: list[IntArray]) -> bytes:
    """The chunk's bytes: row r is tables[0][indices[0][r]] + tables[1][indices[1][r]] + ...

    Each row is a record of the NUL-padded pieces at fixed offsets (one gather per table), then the
    NULs are squeezed out in one pass; no Python object per row or per field.
    """
    layout = np.dtype([(f"p{i}", t.dtype) for i, t in enumerate(tables)])
    rows = np.empty(len(indices[0]), dtype=layout)
    for i, (table, index) in enumerate(zip(tables, indices, strict=True)):
        rows[f"p{i}"] = np.take(table, index)
    flat = rows.view(np.uint8)
    return flat[flat.view(bool)].tobytes()


@dataclass
class _Base:
    """What a row draws before any fault: indices into the catalog and the value tables."""

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
        self._customers = _popularity(self.seed ^ 0xC0, len(catalog.customer_ids), CUSTOMER_SKEW)
        self._products = _popularity(self.seed ^ 0x90, len(catalog.product_ids), PRODUCT_SKEW)
        self._quantity = Sampler(QUANTITY_WEIGHTS)
        self._payment = Sampler(PAYMENT_WEIGHTS)
        self._status = Sampler(STATUS_WEIGHTS)
        self._lookback = Sampler(UPDATE_LOOKBACK_WEIGHTS)
        self._pending_next = Sampler(PENDING_NEXT_WEIGHTS)
        rates = request.kind_rates()
        self._kind_bounds = np.cumsum([rates[k] for k in FAULT_KINDS] + [request.update_rate])
        self._faulty = any(rates.values())
        self._faults = faults.FaultTables(catalog)
        self._low_tbl = _table([f"{i:03d}," for i in range(1000)] + self._faults.low_extra())
        self._customer_tbl = _table([f"{c}," for c in catalog.customer_ids] + self._faults.customer_extra())
        self._product_tbl = _table([f"{p}," for p in catalog.product_ids] + self._faults.product_extra())
        self._quantity_tbl = _table(
            [f"{q}," for q in range(1, MAX_QUANTITY + 1)] + self._faults.quantity_extra(MAX_QUANTITY)
        )
        self._price_tbl = _table([f"{p}," for p in catalog.product_prices] + self._faults.price_extra())
        self._thousands = max(1, -(-self.rows // 1000))
        self._sizes = faults.TableSizes(
            high=LOOKBACK_DAYS * self._thousands, customers=len(catalog.customer_ids),
            products=len(catalog.product_ids), quantities=MAX_QUANTITY, payments=len(PAYMENT_TYPES),
            statuses=len(STATUSES),
        )

    # --- draws: pure functions of (key, row number) ---------------------------------------------------
    def _kinds(self, key: Key, seq: U64) -> npt.NDArray[np.intp]:
        return np.searchsorted(self._kind_bounds, uniform(key, seq, Column.KIND), side="right")

    def _base(self, key: Key, seq: U64) -> _Base:
        return _Base(
            customer=self._customers.draw(bits(key, seq, Column.CUSTOMER)),
            product=self._products.draw(bits(key, seq, Column.PRODUCT)),
            quantity=self._quantity.draw(bits(key, seq, Column.QUANTITY)),
            payment=self._payment.draw(bits(key, seq, Column.PAYMENT)),
            status=self._status.draw(bits(key, seq, Column.STATUS)),
        )

    # --- the file -------------------------------------------------------------------------------------
    def chunks(self, day: date) -> Iterator[tuple[bytes, int]]:
        """(bytes, data rows in them) for `day`: the header first, then one item per chunk of rows."""
        yield (TRANSACTIONS_HEADER + "\n").encode(), 0
        key = day_key(self.seed, day)
        tables = _DayTables(day, self.rows, self.width)
        layout = [tables.high, self._low_tbl, self._customer_tbl, self._product_tbl, self._quantity_tbl,
                  self._price_tbl, tables.tail]
        for start in range(0, self.rows, self.chunk_rows):
            stop = min(start + self.chunk_rows, self.rows)
            seq = np.arange(start, stop, dtype=np.uint64)
            base = self._base(key, seq)
            kinds = self._kinds(key, seq)
            pieces = self._pieces(seq, base, np.zeros(seq.size, dtype=np.intp))
            self._point_updates(pieces, day, key, seq, np.flatnonzero(kinds == UPDATE), tables)
            if self._faulty:
                self._faults.inject(pieces, kinds, uniform(key, seq, Column.VARIANT), base.payment,
                                    base.status, self._sizes)
            yield _assemble(layout, pieces), stop - start

    def _pieces(self, seq: U64, base: _Base, lag: IntArray) -> list[IntArray]:
        """Row indices into the seven tables of `chunks` for rows drawn as `base`."""
        return [
            lag * self._thousands + (seq // np.uint64(1000)).astype(np.intp),
            (seq % np.uint64(1000)).astype(np.intp),
            base.customer,
            base.product,
            base.quantity,
            base.product.copy(),  # its own array: faults rewrite price and product id separately
            base.payment * len(STATUSES) + base.status,
        ]

    def _point_updates(
        self, pieces: list[IntArray], day: date, key: int, seq: U64, rows: IntArray, tables: _DayTables
    ) -> None:
        """Status updates: an earlier transaction again, with a later status, dated `day`.

        The target is a clean, non-final (Pending or Completed) row of this day (earlier in the file)
        or of one of the six days before, Completed ones thinned by REFUND_ACCEPT: the first suitable
        one of MAX_CANDIDATES candidates, judged by re-deriving their draws. A row with no suitable
        candidate (odds below 1e-13 at the default rates; real when most rows are updates or faults,
        see docs/generator.md) keeps its own draws: an ordinary new sale. The update row then
        points at the target's table entries, with the new status in its tail.
        """
        if not rows.size:
            return
        own = seq[rows]
        lag_keys = np.array([day_key(self.seed, day - timedelta(days=i)) for i in range(LOOKBACK_DAYS)],
                            dtype=np.uint64)
        found = np.zeros(own.size, dtype=bool)
        t_lag = np.zeros(own.size, dtype=np.intp)
        t_seq = np.zeros(own.size, dtype=np.uint64)
        first_candidate = 0
        for batch in UPDATE_CANDIDATE_BATCHES:  # few candidates for all, more only for the unlucky
            todo = np.flatnonzero(~found)
            if not todo.size:
                break
            lag, target, ok = self._candidates(key, own[todo], first_candidate, batch, lag_keys)
            hit = ok.any(axis=1)
            pick = (np.arange(todo.size) * batch + ok.argmax(axis=1))[hit]
            found[todo[hit]] = True
            t_lag[todo[hit]], t_seq[todo[hit]] = lag[pick], target[pick]
            first_candidate += batch
        rows, own, t_lag, t_seq = rows[found], own[found], t_lag[found], t_seq[found]
        t_base = self._base(lag_keys[t_lag], t_seq)
        after_pending = _PENDING_NEXT_INDEX[self._pending_next.draw(bits(key, own, Column.NEW_STATUS))]
        t_base.status = np.where(t_base.status == _PENDING, after_pending, _REFUNDED)
        for piece, index in zip(pieces, self._pieces(t_seq, t_base, t_lag), strict=True):
            piece[rows] = index

    def _candidates(
        self, key: int, own: U64, first: int, count: int, lag_keys: U64
    ) -> tuple[IntArray, U64, npt.NDArray[np.bool_]]:
        """Candidates `first`..`first + count - 1` of each update row: (source-day lag, row number,
        suitable?), the last shaped (rows, count)."""
        cand: U64 = np.asarray(
            own[:, None] * np.uint64(MAX_CANDIDATES) + np.arange(first, first + count, dtype=np.uint64),
            np.uint64,
        ).ravel()
        lag = self._lookback.draw(bits(key, cand, Column.TARGET))
        limit = np.where(lag == 0, np.repeat(own, count), np.uint64(self.rows)).astype(np.float64)
        target = (uniform(key, cand, Column.TARGET + 1) * limit).astype(np.uint64)
        keys = lag_keys[lag]
        status = self._status.draw(bits(keys, target, Column.STATUS))
        refund_ok = uniform(key, cand, Column.TARGET + 2) < REFUND_ACCEPT
        ok = (limit > 0) & (self._kinds(keys, target) == NORMAL) & (
            (status == _PENDING) | ((status == _COMPLETED) & refund_ok)
        )
        return lag, target, ok.reshape(own.size, count)


class _DayTables:
    """Byte tables that depend on the day: transaction-id heads (`TXN20230315` + thousands) for the
    day and the days an update may reach back to (entry lag * thousands + h), and the
    `date,payment,status` tails."""

    def __init__(self, day: date, rows: int, width: int) -> None:
        thousands = max(1, -(-rows // 1000))
        heads = [f"{h:0{width - 3}d}" for h in range(thousands)]
        self.high = _table([
            prefix + head
            for prefix in (_txn_prefix(day - timedelta(days=lag)) for lag in range(LOOKBACK_DAYS))
            for head in heads
        ] + faults.FaultTables.high_extra())
        self.tail = _table([f"{day.isoformat()},{p},{s}\n" for p in PAYMENT_TYPES for s in STATUSES]
                           + faults.FaultTables.tail_extra(day))
