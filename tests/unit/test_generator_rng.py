"""Counter-based draws: the invariants determinism and status updates rely on."""

from __future__ import annotations

from datetime import date

import numpy as np
from ecom_pipeline.generator.rng import Sampler, bits, day_key, uniform
from hypothesis import given, settings
from hypothesis import strategies as st

SEQ = np.arange(10_000, dtype=np.uint64)


@given(seed=st.integers(0, 2**63 - 1), start=st.integers(0, 9_000), size=st.integers(1, 1_000))
@settings(max_examples=50, deadline=None)
def test_a_row_draws_the_same_in_any_slice_and_with_a_per_row_key(seed: int, start: int, size: int) -> None:
    key = day_key(seed, date(2023, 3, 15))
    whole = bits(key, SEQ, 3)
    part = SEQ[start:start + size]

    assert np.array_equal(bits(key, part, 3), whole[start:start + size])
    assert np.array_equal(bits(np.full(part.size, key, dtype=np.uint64), part, 3), whole[start:start + size])


def test_days_seeds_and_columns_give_different_streams() -> None:
    k1, k2, k3 = (day_key(1, date(2023, 3, 15)), day_key(1, date(2023, 3, 16)), day_key(2, date(2023, 3, 15)))

    streams = [bits(k1, SEQ, 3), bits(k2, SEQ, 3), bits(k3, SEQ, 3), bits(k1, SEQ, 4)]

    for i in range(len(streams)):
        for j in range(i + 1, len(streams)):
            assert np.mean(streams[i] == streams[j]) < 0.001


def test_uniform_draws_cover_zero_to_one_evenly() -> None:
    u = uniform(day_key(7, date(2023, 1, 1)), np.arange(200_000, dtype=np.uint64), 1)

    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - 20_000) < 600)


def test_sampler_follows_its_weights_and_never_draws_a_zero_weight() -> None:
    weights = [0.5, 0.0, 0.3, 0.2]
    drawn = Sampler(weights).draw(bits(day_key(3, date(2023, 1, 1)), np.arange(100_000, dtype=np.uint64), 2))

    shares = np.bincount(drawn, minlength=4) / drawn.size
    assert shares[1] == 0
    assert np.allclose(shares, weights, atol=0.01)


def test_sampler_over_a_large_skewed_catalog_stays_in_range() -> None:
    n = 50_000
    sampler = Sampler(1.0 / (np.arange(n) + 1.0) ** 0.8)
    drawn = sampler.draw(bits(1, np.arange(200_000, dtype=np.uint64), 5))

    assert drawn.min() >= 0 and drawn.max() < n
    assert np.bincount(drawn)[0] > np.bincount(drawn, minlength=n)[n // 2] * 10
