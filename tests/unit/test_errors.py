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


def test_an_error_from_the_jvm_is_told_by_the_first_line_of_its_java_message() -> None:
    # PySpark's Py4JJavaError: its str() is the Java stack trace of every cause, hundreds of lines.
    class JavaObject:
        def toString(self) -> str:  # the JVM object's method
            return ("org.apache.spark.SparkException: Job aborted: TextParsingException: Index 20480 out of "
                    "bounds\nParser Configuration: CsvParserSettings:\n\tMaximum number of columns=20480")

    class Py4JJavaError(Exception):
        java_exception = JavaObject()

    error = Py4JJavaError("An error occurred while calling o778.parquet.\n: org.apache…\n\tat …\n" * 50)
    error.add_note("a line of t.csv is one the CSV reader cannot parse at all")

    assert described(error) == ("Py4JJavaError: org.apache.spark.SparkException: Job aborted: "
                                "TextParsingException: Index 20480 out of bounds; "
                                "a line of t.csv is one the CSV reader cannot parse at all")


def test_an_error_from_a_jvm_that_is_gone_is_still_told() -> None:
    # py4j's Py4JJavaError.__str__ asks the JVM too: describing must not raise in its place.
    class GoneJavaObject:
        def toString(self) -> str:  # the JVM object's method
            raise ConnectionError("Answer from Java side is empty")

    class Py4JJavaError(Exception):
        java_exception = GoneJavaObject()
        errmsg = "An error occurred while calling o42.parquet"

        def __str__(self) -> str:
            raise ConnectionError("Answer from Java side is empty")

    assert described(Py4JJavaError()) == "Py4JJavaError: An error occurred while calling o42.parquet"
