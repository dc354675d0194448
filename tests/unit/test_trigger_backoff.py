"""The trigger's back-off as a policy: batches Glue refused together, played out against Glue's slots."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

from ecom_pipeline.trigger.batch import redelivery_delay


def dead_letters(batches: int, slots: int, run_s: float, draw: Callable[[], float], receives: int = 5) -> int:
    """How many of `batches`, all refused at once (a backfill), reach the DLQ after `receives` receives,
    when each refused one comes back after `redelivery_delay` (its random part drawn by `draw`) and Glue
    runs `slots` runs of `run_s` seconds at a time."""
    returns = [(0.0, batch, 1) for batch in range(batches)]  # (when, batch, its receive count)
    heapq.heapify(returns)
    running: list[float] = []  # when each run ends
    dead = 0
    while returns:
        now, batch, receive = heapq.heappop(returns)
        running = [end for end in running if end > now]
        if len(running) < slots:
            running.append(now + run_s)
        elif receive >= receives:
            dead += 1
        else:
            heapq.heappush(returns, (now + redelivery_delay(receive, draw()), batch, receive + 1))
    return dead


def test_batches_refused_together_come_back_apart_and_none_reaches_the_dlq() -> None:
    # 15 batches of a backfill, 2 Glue runs at a time (the template's default), 4-minute runs.
    # With one wait for all, every return brings them all back at once: 2 start, the rest are refused
    # again, and a third of the backfill ends in the DLQ with Glue idle between the returns.
    assert dead_letters(15, 2, 240, draw=lambda: 0.0) == 5
    # Spread at random (the trigger's own random part), none does, in any of 50 draws.
    assert [dead_letters(15, 2, 240, draw=random.Random(seed).random) for seed in range(50)] == [0] * 50
