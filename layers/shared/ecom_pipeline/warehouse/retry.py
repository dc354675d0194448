"""Bounded exponential backoff for transient warehouse failures (serialization conflicts, locks)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from ecom_pipeline.warehouse.errors import RetryableWarehouseError

T = TypeVar("T")
log = logging.getLogger(__name__)


def with_retry(
    action: Callable[[], T],
    *,
    attempts: int = 6,
    base_delay: float = 0.2,
    max_delay: float = 5.0,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run `action`; on RetryableWarehouseError wait (jittered, doubling) and retry, `attempts` in all.

    The last failure is re-raised, so a conflict is never lost silently: the caller (and Glue) sees it.
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except RetryableWarehouseError as exc:
            if attempt == attempts:
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            log.warning("transient warehouse failure, retrying: attempt=%d delay=%.2fs error=%s",
                        attempt, delay, exc)
            (sleep or time.sleep)(delay)
    raise AssertionError("unreachable")
