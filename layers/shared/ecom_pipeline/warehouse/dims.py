"""Dimension CSVs: validated row by row before anything touches the warehouse.

A bad row fails the whole load with an error naming the file and the line; the local adapters then
bulk-load a normalised copy, so every engine sees exactly the rows Python validated.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from ecom_pipeline import contracts
from ecom_pipeline.warehouse.errors import DimFileError
from ecom_pipeline.warehouse.schema import DIM_CUSTOMERS, DIM_PRODUCTS, Table

_EXPECTED_HEADER = {
    DIM_PRODUCTS.name: contracts.PRODUCT_COLUMNS,
    DIM_CUSTOMERS.name: contracts.CUSTOMER_COLUMNS,
}
_CENT = Decimal("0.01")
_MAX_PRICE = Decimal("1e10")  # DECIMAL(12,2)


def local_path(location: str) -> Path:
    """A local file or directory given as a path or a file:// URL."""
    if location.startswith("file://"):
        return Path(location.removeprefix("file://"))
    if "://" in location:
        raise ValueError(f"this warehouse reads local files only, got {location!r}")
    return Path(location)


def _price(value: str, where: str) -> str:
    """`value` as a plain DECIMAL(12,2) literal ('1e3' and '+1000' become '1000.00'), which every engine's
    bulk loader reads alike; a DimFileError at `where` unless it is a non-negative price in whole cents."""
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise DimFileError(f"{where}: price {value!r} is not a number") from None
    if not price.is_finite() or price < 0 or price >= _MAX_PRICE:
        raise DimFileError(f"{where}: price {value!r} is not a non-negative DECIMAL(12,2)")
    if price != price.quantize(_CENT):
        raise DimFileError(f"{where}: price {value!r} has more than 2 decimal places")
    return format(abs(price).quantize(_CENT), "f")  # abs: '-0' is 0.00, not '-0.00'


def _too_long(row: list[str], table: Table) -> str | None:
    """Why a value of `row` does not fit its column (None if all fit): the load would fail on it."""
    for name, value in zip(table.column_names, row, strict=True):
        limit, size = table.text_limit(name), len(value.strip().encode("utf-8"))
        if limit is not None and size > limit:
            return f"{name} is {size} bytes, longer than its {limit}"
    return None


def read_dim_csv(location: str, table: Table) -> list[list[str]]:
    """The validated data rows of a dimension CSV (header checked, key unique and present, price valid,
    every value no longer than its column), values trimmed, prices written plainly (`_price`)."""
    path = local_path(location)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # a BOM is not part of the header
    except OSError as exc:
        raise DimFileError(f"{path}: cannot read {table.name} file: {exc}") from exc
    with handle:
        try:
            return _checked_rows(handle, path, table)
        except UnicodeDecodeError as exc:
            raise DimFileError(f"{path}: not UTF-8 text ({exc})") from exc


def _checked_rows(handle: TextIO, path: Path, table: Table) -> list[list[str]]:
    expected = _EXPECTED_HEADER[table.name]
    # The job's rule exactly (contracts.header_line, header_problem): the first line as it is, no
    # trimming, a BOM and line end aside, read up to the same bound.
    first = handle.readline(contracts.FIRST_LINE_LIMIT)
    if problem := contracts.header_problem(f"{path}:1", contracts.header_line(first or None),
                                           ",".join(expected)):
        raise DimFileError(problem)
    key_index = expected.index(table.key)
    price_index = expected.index("price") if "price" in expected else None
    rows: list[list[str]] = []
    seen: dict[str, int] = {}
    reader = csv.reader(handle)
    for row in reader:
        line = reader.line_num + 1  # the header was read before the reader's count began
        if not row:
            continue  # a blank line carries no row
        if len(row) != len(expected):
            raise DimFileError(f"{path}:{line}: expected {len(expected)} fields, got {len(row)}")
        key = row[key_index].strip()
        if not key:
            raise DimFileError(f"{path}:{line}: missing {table.key}")
        if key in seen:
            raise DimFileError(
                f"{path}:{line}: duplicate {table.key} {key!r} (first on line {seen[key]})"
            )
        seen[key] = line
        if problem := _too_long(row, table):
            raise DimFileError(f"{path}:{line}: {problem}")
        values = [value.strip() for value in row]
        if price_index is not None:
            values[price_index] = _price(values[price_index], f"{path}:{line}")
        rows.append(values)
    return rows


def write_normalised_csv(rows: list[list[str]], table: Table, target: Path) -> Path:
    """The validated rows as a plain CSV with the table's header, for the engines' bulk loaders."""
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")  # csv's default CRLF: Redshift would keep the CR
        writer.writerow(table.column_names)
        writer.writerows(rows)
    return target
