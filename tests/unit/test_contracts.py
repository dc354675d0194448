from datetime import date

import pytest
from ecom_pipeline import contracts, keys


def test_transaction_key_is_zero_padded_hive_layout():
    assert keys.transaction_key(date(2023, 3, 5)) == (
        "transactions/year=2023/month=03/day=05/transactions_2023-03-05.csv"
    )


def test_parse_transaction_key_round_trips_and_refuses_foreign_keys():
    assert keys.parse_transaction_key(keys.transaction_key(date(2024, 12, 31))) == date(2024, 12, 31)
    with pytest.raises(ValueError, match="disagree"):
        keys.parse_transaction_key("transactions/year=2023/month=03/day=15/transactions_2023-03-16.csv")
    with pytest.raises(ValueError, match="not a transaction file key"):
        keys.parse_transaction_key("transactions/year=2023/month=3/day=15/transactions_2023-03-15.csv")


def test_rejects_prefix_uses_the_same_partitioning():
    assert keys.rejects_prefix(date(2023, 7, 1)) == "rejects/year=2023/month=07/day=01/"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("99.99", "Small"), ("100", "Medium"), ("499.99", "Medium"), ("500", "Large")],
)
def test_classify_boundaries(amount, expected):
    from decimal import Decimal

    assert contracts.classify(Decimal(amount)) == expected


def test_status_rank_orders_pending_below_final_below_refunded():
    rank = contracts.STATUS_RANK
    assert rank["Pending"] < rank["Completed"] == rank["Failed"] == rank["Cancelled"] < rank["Refunded"]
