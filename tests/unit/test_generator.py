"""Daily transaction files: layout, determinism, faults, status updates, unit prices, no overwrite."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from ecom_pipeline.contracts import (
    PAYMENT_TYPES,
    STATUS_RANK,
    TRANSACTIONS_HEADER,
    RejectReason,
    Status,
)
from ecom_pipeline.generator import FaultKind, GenerationRequest, LocalSink, generate
from ecom_pipeline.generator.config import EXPECTED_REJECT
from ecom_pipeline.keys import PRODUCTS_KEY, transaction_key

from tests.fixtures.data import GeneratedDataset, classify_row, data_lines, read_csv

DAY = date(2023, 3, 5)
KEY_0305 = "transactions/year=2023/month=03/day=05/transactions_2023-03-05.csv"
SMALL = {"products": 150, "customers": 400}


def _request(**kw: object) -> GenerationRequest:
    return GenerationRequest.model_validate({"start": DAY, "rows_per_day": 2_000, "seed": 3, **SMALL, **kw})


def _dims(root: Path) -> tuple[dict[str, str], set[str]]:
    prices = {r["product_id"]: r["price"] for r in read_csv(root / PRODUCTS_KEY)}
    customers = {r["customer_id"] for r in read_csv(root / "dims/customers.csv")}
    return prices, customers


def _rows(path: Path) -> list[list[str]]:
    return [next(csv.reader([line])) for line in data_lines(path)]


def test_day_file_has_contract_header_and_zero_padded_hive_key(tmp_path: Path) -> None:
    summary = generate(_request(), LocalSink(tmp_path))

    assert [d.key for d in summary.written] == [KEY_0305]
    path = tmp_path / KEY_0305
    assert path.read_text().splitlines()[0] == TRANSACTIONS_HEADER
    assert len(data_lines(path)) == 2_000 == summary.rows


def test_same_seed_same_bytes_and_other_seed_other_bytes(tmp_path: Path) -> None:
    generate(_request(), LocalSink(tmp_path / "a"))
    generate(_request(), LocalSink(tmp_path / "b"))
    generate(_request(seed=4), LocalSink(tmp_path / "c"))

    a, b, c = ((tmp_path / x / KEY_0305).read_bytes() for x in "abc")
    assert a == b
    assert a != c


def test_backfill_equals_day_by_day_and_chunking_does_not_matter(tmp_path: Path) -> None:
    generate(_request(days=3), LocalSink(tmp_path / "backfill"))
    for i in range(3):
        generate(_request(start=DAY + timedelta(days=i), chunk_rows=1_000), LocalSink(tmp_path / "daily"))

    for key in sorted(p.relative_to(tmp_path / "backfill") for p in (tmp_path / "backfill").rglob("*.csv")):
        assert (tmp_path / "backfill" / key).read_bytes() == (tmp_path / "daily" / key).read_bytes(), key


def test_existing_day_is_skipped_unless_overwrite(tmp_path: Path) -> None:
    sink = LocalSink(tmp_path)
    generate(_request(), sink)
    original = (tmp_path / KEY_0305).read_bytes()
    (tmp_path / KEY_0305).write_text("kept\n")

    again = generate(_request(days=2), sink)
    assert again.skipped == [KEY_0305]
    assert [d.day for d in again.written] == [DAY + timedelta(days=1)]
    assert (tmp_path / KEY_0305).read_text() == "kept\n"

    forced = generate(_request(overwrite=True), sink)
    assert forced.skipped == []
    assert (tmp_path / KEY_0305).read_bytes() == original


def test_rows_are_realistic_when_faults_and_updates_are_off(tmp_path: Path) -> None:
    generate(_request(rows_per_day=20_000, fault_rate=0.0, update_rate=0.0), LocalSink(tmp_path))
    prices, customers = _dims(tmp_path)
    rows = _rows(tmp_path / KEY_0305)

    assert all(classify_row(",".join(r), set(prices), customers) is None for r in rows)
    ids = [r[0] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("TXN20230305") and len(i) == 18 for i in ids)
    assert {r[5] for r in rows} == {"2023-03-05"}
    quantities = Counter(int(r[3]) for r in rows)
    assert max(quantities) <= 10
    assert sum(quantities[q] for q in (1, 2, 3)) / len(rows) > 0.75
    assert quantities[1] > quantities[2] > quantities[3] > quantities[5]
    payments = Counter(r[6] for r in rows)
    assert set(payments) == set(PAYMENT_TYPES)
    statuses = Counter(r[7] for r in rows)
    assert set(statuses) == set(Status)
    assert statuses.most_common(1)[0][0] == Status.COMPLETED
    buyers = Counter(r[1] for r in rows)
    repeat_buyers = sum(1 for n in buyers.values() if n >= 3)
    assert repeat_buyers > 100
    assert buyers.most_common(1)[0][1] > 10 * len(rows) / len(customers)


def test_price_is_the_product_unit_price_never_multiplied(tmp_path: Path) -> None:
    generate(_request(rows_per_day=5_000), LocalSink(tmp_path))
    prices, _ = _dims(tmp_path)

    checked = 0
    for r in _rows(tmp_path / KEY_0305):
        if len(r) == 8 and r[2] in prices and r[3].isdigit():
            assert r[4] == prices[r[2]] or r[4] in ("", "abc", "N/A", "-0.01", f"-{prices[r[2]]}")
            checked += int(int(r[3]) > 1 and r[4] == prices[r[2]])
    assert checked > 1_000  # many multi-item rows carry the plain unit price


def test_injected_faults_match_their_rates_and_reject_codes(tmp_path: Path) -> None:
    rows_per_day, rate = 40_000, 0.08
    generate(_request(rows_per_day=rows_per_day, fault_rate=rate, update_rate=0.05), LocalSink(tmp_path))
    prices, customers = _dims(tmp_path)

    found = Counter(classify_row(line, set(prices), customers) for line in data_lines(tmp_path / KEY_0305))

    per_kind = rate / len(FaultKind)
    tolerance = 4 * (per_kind * (1 - per_kind) / rows_per_day) ** 0.5
    for kind in FaultKind:
        share = found[EXPECTED_REJECT[kind]] / rows_per_day
        assert abs(share - per_kind) < tolerance, (kind, share)
    assert set(found) == {None, *RejectReason}


def test_a_zero_rate_switches_a_fault_kind_off_and_overrides_apply(tmp_path: Path) -> None:
    rates = {FaultKind.BAD_PRICE: 0.05, FaultKind.MALFORMED_ROW: 0.0}
    generate(_request(rows_per_day=20_000, fault_rate=0.0, fault_rates=rates, update_rate=0.0),
             LocalSink(tmp_path))
    prices, customers = _dims(tmp_path)

    found = Counter(classify_row(line, set(prices), customers) for line in data_lines(tmp_path / KEY_0305))

    assert set(found) == {None, RejectReason.INVALID_PRICE}
    assert abs(found[RejectReason.INVALID_PRICE] / 20_000 - 0.05) < 0.006


def test_status_updates_follow_precedence_and_repeat_the_original(tmp_path: Path) -> None:
    days, rows_per_day = 8, 2_000
    generate(_request(days=days, rows_per_day=rows_per_day, fault_rate=0.02, update_rate=0.1),
             LocalSink(tmp_path))
    prices, customers = _dims(tmp_path)

    originals: dict[str, list[str]] = {}
    updates = 0
    transitions: Counter[tuple[str, str]] = Counter()
    for i in range(days):
        day = DAY + timedelta(days=i)
        for line in data_lines(tmp_path / transaction_key(day)):
            if classify_row(line, set(prices), customers) is not None:
                continue
            row = next(csv.reader([line]))
            txn_day = date(int(row[0][3:7]), int(row[0][7:9]), int(row[0][9:11]))
            if row[0] not in originals and txn_day == day:
                originals[row[0]] = row
                continue
            if txn_day < DAY:
                continue  # its original is in a file before the generated range
            updates += 1
            # The original came earlier (earlier day or earlier line); updates move on from it.
            before = originals[row[0]]
            assert STATUS_RANK[row[7]] > STATUS_RANK[before[7]]
            assert row[5] >= before[5]
            assert row[1:5] == before[1:5] and row[6] == before[6]
            transitions[(before[7], row[7])] += 1
    assert updates > 0.06 * days * rows_per_day
    assert transitions[(Status.PENDING, Status.COMPLETED)] > 100
    assert transitions[(Status.COMPLETED, Status.REFUNDED)] > 100


def test_status_updates_reach_into_later_files(tmp_path: Path) -> None:
    generate(_request(days=2, update_rate=0.1), LocalSink(tmp_path))
    second = data_lines(tmp_path / "transactions/year=2023/month=03/day=06/transactions_2023-03-06.csv")

    assert sum(line.startswith("TXN20230305") for line in second) > 50


def test_dataset_fixture_has_dims_two_days_and_faults(generated_dataset: GeneratedDataset) -> None:
    ds = generated_dataset
    prices = {r["product_id"] for r in read_csv(ds.products_csv)}
    customers = {r["customer_id"] for r in read_csv(ds.customers_csv)}

    reasons = Counter(
        classify_row(line, prices, customers) for path in ds.transaction_files for line in data_lines(path)
    )
    assert [p.exists() for p in ds.transaction_files] == [True, True]
    assert sum(reasons.values()) == 600
    assert 20 < sum(n for reason, n in reasons.items() if reason is not None) < 100


@pytest.mark.parametrize(
    ("rows", "chunk", "chunks"), [(0, 1_000, 0), (999, 1_000, 1), (25_000, 10_000, 3)]
)
def test_day_is_produced_in_bounded_chunks(tmp_path: Path, rows: int, chunk: int, chunks: int) -> None:
    sizes: list[int] = []
    generate(_request(rows_per_day=rows, chunk_rows=chunk), LocalSink(tmp_path),
             progress=lambda _day, n: sizes.append(n))

    assert len(sizes) == chunks
    assert all(n <= chunk for n in sizes)
    assert len(data_lines(tmp_path / KEY_0305)) == rows
