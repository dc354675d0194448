"""One `error: …` line and exit code 1 for a command that fails, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ecom_pipeline.errors import described, told


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def reported() -> Iterator[None]:
    """Any error raised inside becomes `fail(...)`; the command's own exits pass through unchanged."""
    from ecom_pipeline.warehouse import WarehouseError

    try:
        yield
    except (typer.Exit, typer.Abort):  # typer's own classes (it carries its own click)
        raise
    except (WarehouseError, ValueError) as exc:  # messages written for users (DimFileError, bad URLs...)
        raise fail(told(exc)) from exc
    except Exception as exc:  # an engine's own error (connection refused, SQL error): shown plainly
        raise fail(described(exc)) from exc
