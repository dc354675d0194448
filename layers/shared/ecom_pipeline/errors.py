"""How an error is told in one line: in run messages, delivery failures and the CLI."""

from __future__ import annotations


def told(error: BaseException) -> str:
    """The error's message, then any notes added on the way up (`add_note`), which `str(error)` leaves
    out."""
    return "; ".join([str(error), *getattr(error, "__notes__", [])])


def described(error: BaseException) -> str:
    """`Type: message`, then the notes (`told`): for errors whose type says what went wrong."""
    return f"{type(error).__name__}: {told(error)}"
