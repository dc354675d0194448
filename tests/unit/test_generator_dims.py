"""Dimension files: contract headers, id formats, realistic values, written once and reused."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from ecom_pipeline.contracts import CUSTOMERS_HEADER, MEMBERSHIP_LEVELS, PRODUCTS_HEADER
from ecom_pipeline.generator import GenerationRequest, LocalSink, generate
from ecom_pipeline.generator.dims import CATEGORIES, Catalog
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY, transaction_key

from tests.fixtures.data import read_csv

DAY = date(2023, 3, 15)


@pytest.fixture(scope="module")
def dims_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dims")
    request = GenerationRequest(start=DAY, rows_per_day=0, seed=5, products=800, customers=3_000)
    generate(request, LocalSink(root))
    return root


def test_dims_have_the_contract_headers(dims_root: Path) -> None:
    assert (dims_root / PRODUCTS_KEY).read_text().splitlines()[0] == PRODUCTS_HEADER
    assert (dims_root / CUSTOMERS_KEY).read_text().splitlines()[0] == CUSTOMERS_HEADER


def test_products_are_varied_with_two_decimal_prices(dims_root: Path) -> None:
    products = read_csv(dims_root / PRODUCTS_KEY)

    assert len(products) == 800
    assert [p["product_id"] for p in products[:2]] == ["P00001", "P00002"]
    assert len({p["product_id"] for p in products}) == 800
    assert all(re.fullmatch(r"\d+\.\d{2}", p["price"]) and float(p["price"]) > 0 for p in products)
    assert all(re.fullmatch(r"S\d{3}", p["supplier_id"]) for p in products)
    assert {p["category"] for p in products} == set(CATEGORIES)
    assert len({p["product_name"] for p in products}) > 600
    assert len({p["supplier_id"] for p in products}) > 10


def test_customers_have_emails_that_match_their_names(dims_root: Path) -> None:
    customers = read_csv(dims_root / CUSTOMERS_KEY)

    assert len(customers) == 3_000
    assert customers[0]["customer_id"] == "C000001"
    emails = [c["email"] for c in customers]
    assert len(set(emails)) == len(emails)
    for c in customers:
        local, _, domain = c["email"].partition("@")
        last = re.sub(r"[^a-z0-9]", "", c["last_name"].lower())
        assert last in local and "." in domain, c
    levels = Counter(c["membership_level"] for c in customers)
    assert set(levels) == set(MEMBERSHIP_LEVELS)
    assert levels["Bronze"] > levels["Silver"] > levels["Gold"] > levels["Platinum"]
    assert len({c["first_name"] for c in customers}) > 300


def test_dims_are_reused_and_only_regenerated_on_request(tmp_path: Path) -> None:
    sink = LocalSink(tmp_path)
    first = generate(GenerationRequest(start=DAY, rows_per_day=10, seed=1, products=50, customers=50), sink)
    products_before = (tmp_path / PRODUCTS_KEY).read_bytes()

    reused = generate(
        GenerationRequest(start=DAY, rows_per_day=200, seed=2, fault_rate=0, overwrite=True), sink
    )
    assert (tmp_path / PRODUCTS_KEY).read_bytes() == products_before
    prices = {p["product_id"]: p["price"] for p in read_csv(tmp_path / PRODUCTS_KEY)}
    day_rows = [line.split(",") for line in (tmp_path / transaction_key(DAY)).read_text().splitlines()[1:]]
    assert len(prices) == 50
    assert all(prices[r[2]] == r[4] for r in day_rows)  # the stored dims, not seed 2's own

    regenerated = generate(
        GenerationRequest(start=DAY, rows_per_day=10, seed=2, regenerate_dims=True, overwrite=True), sink
    )
    assert first.dims_written == [PRODUCTS_KEY, CUSTOMERS_KEY]
    assert reused.dims_written == [] and reused.dims_reused == [PRODUCTS_KEY, CUSTOMERS_KEY]
    assert regenerated.dims_written == [PRODUCTS_KEY, CUSTOMERS_KEY]
    assert (tmp_path / PRODUCTS_KEY).read_bytes() != products_before


def test_catalog_refuses_dims_with_a_wrong_header() -> None:
    with pytest.raises(ValueError, match="products dim: header 'id,name' is not"):
        Catalog.from_csv("id,name\nP1,x\n", CUSTOMERS_HEADER + "\nC1,a,b,a.b@x.com,Gold\n")
    with pytest.raises(ValueError, match="customers dim: the file is empty"):
        Catalog.from_csv(PRODUCTS_HEADER + "\nP1,W,T,1.00,S1\n", "")


def test_catalog_reads_dims_with_a_bom_and_crlf_as_setup_and_the_job_do() -> None:
    # e.g. saved from a spreadsheet; the dims load and the job accept them (contracts.header_problem)
    catalog = Catalog.from_csv("\ufeff" + PRODUCTS_HEADER + "\r\nP1,W,T,1.00,S1\r\n",
                               "\ufeff" + CUSTOMERS_HEADER + "\r\nC1,a,b,a.b@x.com,Gold\r\n")
    assert catalog == Catalog(product_ids=("P1",), product_prices=("1.00",), customer_ids=("C1",))
