"""errors.described: the one-line account of an error."""

from __future__ import annotations

from ecom_pipeline.errors import described, told


def test_an_error_is_told_with_its_type_and_message() -> None:
    assert described(ConnectionError("the warehouse is unavailable")) == \
        "ConnectionError: the warehouse is unavailable"


def test_notes_added_on_the_way_up_are_told_too() -> None:
    error = OSError("staging: access denied")
    error.add_note("the rejects write failed too: OSError: no space left on device")
    error.add_note("also rejected whole: transactions/bad.csv")

    assert described(error) == ("OSError: staging: access denied; the rejects write failed too: OSError: no "
                                "space left on device; also rejected whole: transactions/bad.csv")


def test_a_message_written_for_users_is_told_with_its_notes_and_without_its_type() -> None:
    error = ValueError("products.csv:1: header 'a,b' is not 'product_id,…'")
    error.add_note("also rejected whole: transactions/bad.csv")

    assert told(error) == ("products.csv:1: header 'a,b' is not 'product_id,…'; "
                           "also rejected whole: transactions/bad.csv")
