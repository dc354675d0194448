"""One `error: …` line and exit code 1 for a command that fails, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError

from ecom_pipeline.errors import described, told


def fail(message: str) -> typer.Exit:
    """Print `message` as one `error:` line (an engine's message over several lines is folded, its caret
    lines under the SQL dropped); the Exit to raise."""
    lines = [line.strip() for line in message.splitlines() if line.strip(" \t^")]
    typer.echo(f"error: {' / '.join(lines)}", err=True)
    return typer.Exit(1)


def options_told(error: ValidationError) -> str:
    """pydantic's errors as `--option: what is wrong`, one per problem (its own text is a dump of the
    input over several lines)."""
    told = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")  # a validator's own ValueError
        where = ".".join(str(part) for part in problem["loc"]).replace("_", "-")
        told.append(f"--{where}: {message}" if where else message)
    return "; ".join(told)


@contextmanager
def reported() -> Iterator[None]:
    """Any error raised inside becomes `fail(...)`; the command's own exits pass through unchanged."""
    from ecom_pipeline.warehouse import WarehouseError

    try:
        yield
    except (typer.Exit, typer.Abort):  # typer's own classes (it carries its own click)
        raise
    except ValidationError as exc:  # bad options (a ValueError too, but told by option)
        raise fail(options_told(exc)) from exc
    except (WarehouseError, ValueError) as exc:  # messages written for users (DimFileError, bad URLs...)
        raise fail(told(exc)) from exc
    except Exception as exc:  # an engine's own error (connection refused, SQL error): shown plainly
        raise fail(described(exc)) from exc
