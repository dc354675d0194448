"""What to generate: a validated request shared by the Lambda payload, the CLI and the tests."""

from __future__ import annotations

import math
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecom_pipeline.contracts import RejectReason


class FaultKind(StrEnum):
    """Kinds of bad rows the generator can inject; each maps to the reject code the job must give it."""

    MALFORMED_ROW = "malformed_row"
    MISSING_ID = "missing_id"
    BAD_QUANTITY = "bad_quantity"
    BAD_PRICE = "bad_price"
    BAD_DATE = "bad_date"
    BAD_STATUS = "bad_status"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_CUSTOMER = "unknown_customer"


EXPECTED_REJECT: Final[dict[FaultKind, RejectReason]] = {
    FaultKind.MALFORMED_ROW: RejectReason.MALFORMED_ROW,
    FaultKind.MISSING_ID: RejectReason.MISSING_TRANSACTION_ID,
    FaultKind.BAD_QUANTITY: RejectReason.INVALID_QUANTITY,
    FaultKind.BAD_PRICE: RejectReason.INVALID_PRICE,
    FaultKind.BAD_DATE: RejectReason.INVALID_DATE,
    FaultKind.BAD_STATUS: RejectReason.INVALID_STATUS,
    FaultKind.UNKNOWN_PRODUCT: RejectReason.UNKNOWN_PRODUCT,
    FaultKind.UNKNOWN_CUSTOMER: RejectReason.UNKNOWN_CUSTOMER,
}

DEFAULT_SEED: Final = 42
DEFAULT_ROWS_PER_DAY: Final = 20_000
DEFAULT_FAULT_RATE: Final = 0.02
DEFAULT_UPDATE_RATE: Final = 0.03
MAX_ROWS_PER_DAY: Final = 50_000_000

Rate = Field(ge=0.0, le=1.0)


class VariabilityOptions(BaseModel):
    """How much of each day is faulty or a status update. Every rate is a fraction of ALL rows of a day.

    `fault_rate` is spread evenly over the fault kinds; `fault_rates` overrides single kinds
    (0 switches a kind off). `update_rate` is separate: rows that move an earlier transaction to a
    later status.
    """

    model_config = ConfigDict(extra="forbid")

    fault_rate: float = Field(default=DEFAULT_FAULT_RATE, ge=0.0, le=1.0)
    fault_rates: dict[FaultKind, float] = Field(default_factory=dict)
    update_rate: float = Field(default=DEFAULT_UPDATE_RATE, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _rates_fit(self) -> VariabilityOptions:
        for kind, rate in self.fault_rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault_rates.{kind.value} must be between 0 and 1, got {rate}")
        # fsum and a hair of slack: 0.9 spread over eight kinds plus 0.1 is 1, not 1.0000000000000002.
        total = math.fsum([*self.kind_rates().values(), self.update_rate])
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates plus update_rate add up to {total:.4f}, more than 1")
        return self

    def kind_rates(self) -> dict[FaultKind, float]:
        even = self.fault_rate / len(FaultKind)
        return {kind: self.fault_rates.get(kind, even) for kind in FaultKind}


# How far back a status update reaches: 0 = earlier in the same file, 1 = yesterday's file, ...
UPDATE_LOOKBACK_WEIGHTS: Final = (0.2, 0.35, 0.15, 0.1, 0.08, 0.06, 0.06)
LOOKBACK_DAYS: Final = len(UPDATE_LOOKBACK_WEIGHTS)


class GenerationRequest(VariabilityOptions):
    """One generation run: dims (if missing or asked for) and `days` daily files from `start`."""

    start: date
    days: int = Field(default=1, ge=1, le=3660)
    rows_per_day: int = Field(default=DEFAULT_ROWS_PER_DAY, ge=0, le=MAX_ROWS_PER_DAY)
    seed: int = Field(default=DEFAULT_SEED, ge=0, lt=2**63)
    products: int = Field(default=1_000, ge=1, le=99_999)
    customers: int = Field(default=10_000, ge=1, le=999_999)
    suppliers: int = Field(default=50, ge=1, le=999)
    regenerate_dims: bool = False
    overwrite: bool = False
    chunk_rows: int = Field(default=100_000, ge=1_000, le=1_000_000)

    @model_validator(mode="after")
    def _days_are_dates(self) -> GenerationRequest:
        """Every day asked for, and the days its status updates look back to, is a calendar date."""
        reach = LOOKBACK_DAYS - 1  # lag 0 is the file's own day
        try:
            self.start - timedelta(days=reach)
            self.start + timedelta(days=self.days - 1)
        except OverflowError:
            raise ValueError(f"{self.days} day(s) from {self.start} (and the {reach} days before, which "
                             "status updates look back to) do not fit in years 1-9999") from None
        return self
