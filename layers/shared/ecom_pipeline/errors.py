"""How an error is told in one line: in run messages, delivery failures and the CLI."""

from __future__ import annotations


def told(error: BaseException) -> str:
    """The error's message, then any notes added on the way up (`add_note`), which `str(error)` leaves
    out."""
    return _with_notes(str(error), error)


def _with_notes(text: str, error: BaseException) -> str:
    return "; ".join([text, *getattr(error, "__notes__", [])])


_JAVA_LINE_LIMIT = 600


def java_message(error: BaseException) -> str | None:
    """The Java message of an error raised in Spark's JVM (PySpark's Py4JJavaError), None for any other.

    Read from the JVM, which may be gone by now: then only py4j's own short text is left to tell.
    """
    java = getattr(error, "java_exception", None)
    if java is None:
        return None
    try:
        return str(java.toString())
    except Exception:  # the gateway is closed: str(error) would ask the JVM too
        return str(getattr(error, "errmsg", "") or "the JVM is gone; its message with it")


def described(error: BaseException) -> str:
    """`Type: message`, then the notes (`told`): for errors whose type says what went wrong.

    An error raised in Spark's JVM is told by the first line of its Java message, which names the failure
    and its cause: its str() is the stack trace of every cause, hundreds of lines that a run message or
    the CLI's one error line cannot carry.
    """
    text = java_message(error)
    if text is None:
        return f"{type(error).__name__}: {told(error)}"
    lines = [line for line in text.splitlines() if line.strip()] or [""]
    first = lines[0] if len(lines[0]) <= _JAVA_LINE_LIMIT else lines[0][:_JAVA_LINE_LIMIT] + "…"
    return _with_notes(f"{type(error).__name__}: {first}", error)
