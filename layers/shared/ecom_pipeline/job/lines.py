"""Transaction lines into raw columns: an RFC 4180 reader made of Spark SQL expressions.

Spark's CSV reader hands every line to a general parser outside the stage's generated code. Nearly
every line of a transaction file holds no quote, and for such a line a split at each comma is the whole
parse, run inside the generated code (docs/benchmarks/job.md, fourteenth round). A line with a quote is
checked and unquoted by regular expressions, as RFC 4180 writes it (and as the rejects are written).

What the reader gives, line by line (a line break inside quotes is not supported, see docs/job.md):
- eight fields, each null when empty (`,,` or `""`); or the line in CORRUPT_RECORD when it does not have
  eight, or when a field that opens a quote does not close it right before its comma or the line's end
  (`"Completed` at the end of a line, `"Pay"Pal`); a quote elsewhere in a field is an ordinary character
  (`Comp"leted`), as it is to Spark's CSV reader;
- a malformed line keeps the values its commas give, the first eight (its raw values);
- a line of blanks only (characters up to U+0020) is no row at all, as Spark's CSV reader skips it.
"""

from __future__ import annotations

from typing import Final

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ecom_pipeline.contracts import TRANSACTION_COLUMNS
from ecom_pipeline.job.schema import CORRUPT_RECORD

LINE: Final = "value"  # the text source's one column

# A field: quoted ("" for a quote inside), or unquoted and not starting with a quote. Possessive
# repetition: no backtracking, and no recursion however long a quoted value is. No NUL or SOH: the
# unquoting below marks fields with them (a line with a quote and either of them is malformed).
_CONTENT: Final = r'(?:[^"\x00\x01]++|"")*+'
_UNQUOTED: Final = r'(?:[^,"\x00\x01][^,\x00\x01]*+)?'
_FIELD: Final = rf'"{_CONTENT}"|{_UNQUOTED}'
RFC_4180_LINE: Final = rf"^(?:{_FIELD})(?:,(?:{_FIELD}))*+$"
# The unquoting, one regexp_replace after the other. In the line with a comma put before it (so every
# field follows one, and none is an empty match at the start, which the next match would skip), each
# field as NUL, its quoted content, SOH, its unquoted value (one of the two is empty) ...
_MARKED: Final = (rf',(?:"({_CONTENT})"|({_UNQUOTED}))', "\u0000$1\u0001$2")
# ... so that a doubled quote outside the unquoted values (SOH to the next NUL, left as they are) is an
# escaped one. One pass over the line, whatever it holds ...
_UNDOUBLED: Final = (r'(\x01[^\x00]*+)|"(")', "$1$2")
# ... and the fields are what lies between the NULs once the SOHs and the first NUL are gone.
_UNMARKED: Final = (r"^\x00|\x01", "")

_QUOTED: Final = "_quoted"  # the line holds a quote
_WELL_QUOTED: Final = "_well_quoted"  # ... and is RFC 4180 throughout
_FIELDS: Final = "_fields"  # the values of the line's fields, as many as it has


def without_header(lines: DataFrame) -> DataFrame:
    """The lines of ONE file read by Spark's text source, its first line left out.

    The file's first split is its first partition (Spark orders a file's splits by size, largest first,
    and every split but the last has the largest size, so the order is stable), and the first line of that
    partition is the one monotonically_increasing_id numbers 0.
    """
    return lines.where(F.monotonically_increasing_id() > 0)


def parse(lines: DataFrame) -> DataFrame:
    """The transaction columns (strings) and CORRUPT_RECORD from a frame of lines in column LINE, in
    line order; other columns of `lines` are dropped."""
    line = F.col(LINE)
    quoted = line.contains('"')
    well_quoted = quoted & line.rlike(RFC_4180_LINE)
    # Two projections: every field reads the array, which Spark then builds once per line instead of
    # inlining it into each of them. All the unquoting is in the array's expression, for the same reason:
    # written per field, it made the stage's generated method too large for the JIT to compile.
    fields = lines.where(~_blank(line)).select(
        line,
        quoted.alias(_QUOTED),
        well_quoted.alias(_WELL_QUOTED),
        F.when(well_quoted, F.split(_unquoted(line), "\u0000", -1))
        .otherwise(F.split(line, ",", -1)).alias(_FIELDS))
    count_wrong = F.size(F.col(_FIELDS)) != len(TRANSACTION_COLUMNS)
    return fields.select(
        *[_value(F.get(F.col(_FIELDS), index)).alias(name) for index, name in enumerate(TRANSACTION_COLUMNS)],
        F.when(count_wrong | (F.col(_QUOTED) & ~F.col(_WELL_QUOTED)), line).alias(CORRUPT_RECORD))


def _value(field: Column) -> Column:
    """Null for an empty field, as Spark's CSV reader reads one. (Not F.nullif: on Spark 3.5.4, Glue 5.0's,
    it asks its still unresolved argument for its type: "Invalid call to dataType on unresolved object".)"""
    return F.when(field != "", field)


def _unquoted(line: Column) -> Column:
    """A well-quoted line's field values, unquoted, separated by NUL."""
    text = F.concat(F.lit(","), line)
    for pattern, replacement in (_MARKED, _UNDOUBLED, _UNMARKED):
        text = F.regexp_replace(text, F.lit(pattern), F.lit(replacement))
    return text


def _blank(line: Column) -> Column:
    """A line of characters up to U+0020 only, or none (what Java's String.trim leaves empty). Checked
    by a pattern only when the line sorts before "!" (U+0021), i.e. is empty or starts with such a
    character: other lines pay one byte comparison."""
    return (line < "!") & ~line.rlike("[^\\x00-\\x20]")
