"""Warehouse errors: which failures a caller may retry, and which are final."""

from __future__ import annotations


class WarehouseError(RuntimeError):
    """A warehouse operation failed and retrying the same input will not help."""


class RetryableWarehouseError(WarehouseError):
    """A transient failure (serialization conflict, deadlock, lock held): the same call may succeed later."""


class DimFileError(WarehouseError, ValueError):
    """A dimension CSV is unusable; the message names the file and the line."""
