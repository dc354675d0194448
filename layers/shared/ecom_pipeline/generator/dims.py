"""Dimension data: products and customers, realistic via Faker, deterministic for a seed.

Dims are small (thousands of rows), so plain Python and csv.writer are fine here; the fast path is
the daily transactions.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from faker import Faker

from ecom_pipeline.contracts import (
    CUSTOMER_COLUMNS,
    MEMBERSHIP_LEVELS,
    PRODUCT_COLUMNS,
    header_line,
    header_problem,
)

# category -> (price range in dollars, adjectives, nouns). Prices are log-uniform within the range.
CATEGORIES: Final[dict[str, tuple[tuple[float, float], tuple[str, ...], tuple[str, ...]]]] = {
    "Electronics": ((15, 1500), ("Wireless", "Smart", "Portable", "Ultra", "Pro"),
                    ("Headphones", "Speaker", "Monitor", "Tablet", "Charger", "Camera", "Smartwatch")),
    "Home & Kitchen": ((8, 400), ("Stainless", "Nonstick", "Compact", "Deluxe", "Classic"),
                       ("Blender", "Cookware Set", "Kettle", "Knife Block", "Toaster", "Coffee Maker")),
    "Clothing": ((10, 250), ("Slim-Fit", "Organic", "Vintage", "Waterproof", "Everyday"),
                 ("Jacket", "T-Shirt", "Jeans", "Sneakers", "Hoodie", "Dress", "Scarf")),
    "Books": ((5, 60), ("Illustrated", "Collected", "Pocket", "Hardcover", "Annotated"),
              ("Novel", "Cookbook", "Atlas", "Biography", "Field Guide", "Anthology")),
    "Sports & Outdoors": ((10, 900), ("Lightweight", "Trail", "Adjustable", "Insulated", "Pro"),
                          ("Tent", "Yoga Mat", "Bike Helmet", "Backpack", "Dumbbell Set", "Water Bottle")),
    "Beauty": ((4, 150), ("Hydrating", "Gentle", "Matte", "Revitalizing", "Natural"),
               ("Moisturizer", "Serum", "Lipstick", "Shampoo", "Sunscreen", "Face Mask")),
    "Toys & Games": ((6, 200), ("Classic", "Deluxe", "Junior", "Magnetic", "Educational"),
                     ("Puzzle", "Board Game", "Building Set", "Plush Bear", "Race Track", "Card Game")),
    "Grocery": ((2, 80), ("Organic", "Roasted", "Family-Size", "Gluten-Free", "Premium"),
                ("Coffee Beans", "Olive Oil", "Granola", "Tea Sampler", "Dark Chocolate", "Pasta")),
}
# Shoppers buy more gadgets and clothes than atlases.
CATEGORY_WEIGHTS: Final = (0.22, 0.16, 0.18, 0.08, 0.1, 0.1, 0.08, 0.08)
MEMBERSHIP_WEIGHTS: Final = (0.5, 0.3, 0.15, 0.05)
_NOT_LOCAL_PART = re.compile(r"[^a-z0-9]")


def product_id(index: int) -> str:
    return f"P{index + 1:05d}"


def customer_id(index: int) -> str:
    return f"C{index + 1:06d}"


def supplier_id(index: int) -> str:
    return f"S{index + 1:03d}"


def _faker(seed: int) -> Faker:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake


def _csv_text(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _price(rnd: random.Random, low: float, high: float) -> str:
    value = math.exp(rnd.uniform(math.log(low), math.log(high)))
    # Most shop prices end in .99 or .49; the rest are whatever the supplier quoted.
    ending = rnd.random()
    if value >= 1 and ending < 0.55:
        value = math.floor(value) + 0.99
    elif value >= 1 and ending < 0.7:
        value = math.floor(value) + 0.49
    return f"{value:.2f}"


def products_csv(seed: int, count: int, suppliers: int) -> str:
    """`dims/products.csv`: P00001.., a category, a brand-adjective-noun name, unit price, supplier."""
    fake = _faker(seed)
    rnd = random.Random(seed ^ 0xD1)
    brands = [fake.last_name() for _ in range(max(8, count // 20))]
    names = list(CATEGORIES)
    # Each category is served by its own handful of suppliers.
    per_category = {c: rnd.sample(range(suppliers), k=min(suppliers, 4)) for c in names}
    rows = []
    for i in range(count):
        category = rnd.choices(names, weights=CATEGORY_WEIGHTS)[0]
        (low, high), adjectives, nouns = CATEGORIES[category]
        name = f"{rnd.choice(brands)} {rnd.choice(adjectives)} {rnd.choice(nouns)}"
        supplier = supplier_id(rnd.choice(per_category[category]))
        rows.append((product_id(i), name, category, _price(rnd, low, high), supplier))
    return _csv_text(PRODUCT_COLUMNS, rows)


def _local_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NOT_LOCAL_PART.sub("", ascii_name.lower())


def customers_csv(seed: int, count: int) -> str:
    """`dims/customers.csv`: C000001.., Faker names, a unique email built from the name, a level."""
    fake = _faker(seed ^ 0xC5)
    rnd = random.Random(seed ^ 0xC7)
    seen: set[str] = set()
    rows = []
    for i in range(count):
        first, last = fake.first_name(), fake.last_name()
        local = f"{_local_part(first)}.{_local_part(last)}"
        style = rnd.random()
        if style < 0.2:
            local = f"{_local_part(first)[:1]}{_local_part(last)}"
        elif style < 0.45:
            local = f"{local}{rnd.randint(1, 99)}"
        email = f"{local}@{fake.free_email_domain()}"
        while email in seen:
            email = f"{local}{rnd.randint(100, 9999)}@{fake.free_email_domain()}"
        seen.add(email)
        level = rnd.choices(MEMBERSHIP_LEVELS, weights=MEMBERSHIP_WEIGHTS)[0]
        rows.append((customer_id(i), first, last, email, level))
    return _csv_text(CUSTOMER_COLUMNS, rows)


@dataclass(frozen=True)
class Catalog:
    """What transactions need from the dims, as the exact strings in the dim files."""

    product_ids: tuple[str, ...]
    product_prices: tuple[str, ...]
    customer_ids: tuple[str, ...]

    @classmethod
    def from_csv(cls, products: str, customers: str) -> Catalog:
        prods = _columns(products, PRODUCT_COLUMNS, "products")
        custs = _columns(customers, CUSTOMER_COLUMNS, "customers")
        if not prods["product_id"] or not custs["customer_id"]:
            raise ValueError("dims must hold at least one product and one customer")
        return cls(
            product_ids=prods["product_id"],
            product_prices=prods["price"],
            customer_ids=custs["customer_id"],
        )


def _columns(text: str, columns: tuple[str, ...], what: str) -> dict[str, tuple[str, ...]]:
    """Column name -> values of a dim CSV whose header must be exactly `columns`: the rule the job and
    the dims load apply (`contracts.header_problem`; a BOM and CRLF line ends are fine)."""
    first = text.split("\n", 1)[0] if text else None
    if problem := header_problem(f"{what} dim", header_line(first), ",".join(columns)):
        raise ValueError(problem)
    rows = csv.reader(io.StringIO(text))
    next(rows)
    body = [r for r in rows if r]
    for line, row in enumerate(body, start=2):
        if len(row) != len(columns):
            raise ValueError(f"{what} dim line {line} has {len(row)} fields, expected {len(columns)}")
    values = tuple(zip(*body, strict=True)) if body else tuple(() for _ in columns)
    return dict(zip(columns, values, strict=True))
