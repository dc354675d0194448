"""How an error is told in one line: in run messages, delivery failures and the CLI."""

from __future__ import annotations


def described(error: BaseException) -> str:
    """`Type: message`, then any notes added on the way up (`add_note`), which `str(error)` leaves out."""
    return "; ".join([f"{type(error).__name__}: {error}", *getattr(error, "__notes__", [])])
