"""Counter-based randomness: every value is a pure function of (seed, day, row, column).

That is what makes a day's file depend on seed + day only (backfill == day-by-day), and what lets a
status update re-derive the attributes of an earlier day's transaction without regenerating that day.
It is splitmix64 over numpy uint64 arrays, so a million draws cost a few milliseconds.
"""

from __future__ import annotations

from datetime import date
from enum import IntEnum

import numpy as np
import numpy.typing as npt

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]


class Column(IntEnum):
    """Independent streams; the update-target search uses one stream per round above TARGET."""

    KIND = 1
    CUSTOMER = 2
    PRODUCT = 3
    QUANTITY = 4
    PAYMENT = 5
    STATUS = 6
    VARIANT = 7
    NEW_STATUS = 8
    TARGET = 100


def _mix_int(x: int) -> int:
    x &= _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def day_key(seed: int, day: date) -> int:
    return _mix_int(_mix_int(seed ^ 0x5EED) + day.toordinal() * _GOLDEN)


def _mix(x: U64) -> U64:
    x = x ^ (x >> np.uint64(30))
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


Key = int | U64  # one day's key, or one key per row (rows drawn from different days)


def bits(key: Key, seq: U64, column: int) -> U64:
    """64 random bits per row number in `seq`, for one column of the day(s) `key` stands for."""
    salt = column * _GOLDEN & _MASK
    if isinstance(key, int):
        stream: np.uint64 | U64 = np.uint64(_mix_int(key ^ salt))
    else:
        stream = _mix(key ^ np.uint64(salt))
    return _mix(seq * np.uint64(_GOLDEN) + stream)


def uniform(key: Key, seq: U64, column: int) -> F64:
    """Uniform [0, 1) draws, one per row number in `seq`."""
    return (bits(key, seq, column) >> np.uint64(11)).astype(np.float64) * _TO_UNIT


def cumulative(weights: npt.ArrayLike) -> F64:
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return cum


class Sampler:
    """Draws indices with given weights from random bits by one table lookup (an inverse CDF
    quantised to 2**resolution steps), which is far faster than a binary search over a large
    cumulative array. The table stays small enough for the CPU cache; outcomes lighter than
    2**-resolution may never be drawn (with the default resolution, none of a power-law catalog)."""

    def __init__(self, weights: npt.ArrayLike, resolution: int | None = None) -> None:
        cum = cumulative(weights)
        if resolution is None:
            resolution = max(12, int(np.ceil(np.log2(len(cum)))) + 4)
        steps = 1 << resolution
        self._shift = np.uint64(64 - resolution)
        ends = np.round(cum * steps).astype(np.int64)
        counts = np.diff(ends, prepend=0)
        dtype = np.uint16 if len(cum) <= 1 << 16 else np.int32
        self._table = np.repeat(np.arange(len(cum), dtype=dtype), counts)

    def draw(self, h: U64) -> npt.NDArray[np.intp]:
        return self._table[h >> self._shift].astype(np.intp)
