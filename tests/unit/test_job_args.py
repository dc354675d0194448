"""Job arguments as Glue passes them, source-file days, and the accounting invariant (no Spark)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from ecom_pipeline.contracts import ACCOUNTING_KEYS, REJECT_REASONS
from ecom_pipeline.job.accounting import AccountingError, FileCounts, file_counts, public, run_accounting
from ecom_pipeline.job.entry import parse_args
from ecom_pipeline.job.io import file_day, resolve
from ecom_pipeline.warehouse.base import UpsertResult
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures import glue_options

KEY = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"


def glue_argv(**extra: str) -> list[str]:
    """argv the way Glue builds it: script path, Glue's own arguments, then the job's."""
    argv = ["/tmp/process_transactions.py", "--JOB_ID", "j_123",
            "--job-bookmark-option", "job-bookmark-disable",
            "--JOB_RUN_ID", "jr_abc", "--JOB_NAME", "ecom-process", "--TempDir", "s3://tmp/",
            "--source_keys", json.dumps([KEY, KEY]), "--data_bucket", "data-bucket",
            "--warehouse_url", "duckdb:///tmp/w.duckdb"]
    for name, value in extra.items():
        argv += [f"--{name}", value]
    return argv


def test_glue_arguments_are_parsed_with_defaults() -> None:
    args = parse_args(glue_argv())
    assert args.source_keys == [KEY]  # delivered twice, processed once
    assert (args.job_name, args.job_run_id) == ("ecom-process", "jr_abc")
    assert (args.inputs, args.outputs) == ("s3://data-bucket/", "s3://data-bucket/")
    assert args.dims == "s3://data-bucket/dims/"
    assert args.rejects == "s3://data-bucket/rejects/"
    assert (args.small_max, args.medium_max) == (Decimal(100), Decimal(500))
    assert args.summary_topic_arn is None


def test_on_glue_the_arguments_come_from_get_resolved_options(monkeypatch: pytest.MonkeyPatch) -> None:
    glue_options.install(monkeypatch)

    args = parse_args(glue_argv(small_max="50"))

    assert (args.job_name, args.job_run_id) == ("ecom-process", "jr_abc")  # JOB_RUN_ID comes unasked
    assert (args.source_keys, args.small_max) == ([KEY], Decimal(50))


def test_optional_arguments_override() -> None:
    args = parse_args(glue_argv(input_root="file:///stage/in/", output_root="file:///stage/out",
                                small_max="50", medium_max="250.5", summary_topic_arn="arn:aws:sns:x"))
    assert args.inputs == "file:///stage/in/"
    assert (args.small_max, args.medium_max) == (Decimal(50), Decimal("250.5"))
    assert args.rejects == "file:///stage/out/rejects/"
    assert args.summary_topic_arn == "arn:aws:sns:x"


@pytest.mark.parametrize("bad", [
    {"source_keys": "not json"}, {"source_keys": "[]"}, {"small_max": "600"}, {"medium_max": "abc"}])
def test_bad_arguments_fail_fast(bad: dict[str, str]) -> None:
    with pytest.raises(SystemExit, match="invalid job arguments"):
        parse_args(glue_argv(**bad))


def test_missing_required_argument_fails() -> None:
    with pytest.raises(SystemExit):
        parse_args(["script", "--source_keys", "[]"])


def test_without_run_id_a_local_one_is_made() -> None:
    argv = ["s", "--source_keys", json.dumps([KEY]), "--data_bucket", "b", "--warehouse_url", "duckdb:///x"]
    assert parse_args(argv).job_run_id.startswith("local-")


@pytest.mark.parametrize(("key", "day"), [
    (KEY, date(2023, 3, 15)),
    ("file:///data/transactions/year=2024/month=02/day=29/transactions_2024-02-29.csv", date(2024, 2, 29)),
    ("uploads/year=2022/month=12/day=01/x.csv", date(2022, 12, 1)),
    ("file:///tmp/sales_2021-07-04.csv", date(2021, 7, 4)),
    ("file:///tmp/sales.csv", date(2000, 1, 1)),
    ("file:///tmp/sales_2021-13-40.csv", date(2000, 1, 1)),
])
def test_file_day(key: str, day: date) -> None:
    assert file_day(key, date(2000, 1, 1)) == day


def test_resolve_keys_and_uris() -> None:
    assert resolve("s3://b/", KEY) == f"s3://b/{KEY}"
    assert resolve("file:///x", "/a.csv") == "file:///x/a.csv"
    assert resolve("s3://b/", "file:///y/a.csv") == "file:///y/a.csv"


def _seen(read: int, valid: int, candidates: int, duplicates: int,
          by_reason: dict[str, int] | None = None) -> dict[str, int]:
    """What the job observes for one file (accounting.file_counts input)."""
    return {"rows_read": read, "rows_valid": valid, "candidates": candidates,
            "duplicates_collapsed": duplicates, **(by_reason or {})}


def _stored(inserted: int, updated: int, kept: int, name: str = "a") -> UpsertResult:
    """An upsert of one file's rows, per file as the warehouse reports it."""
    one = UpsertResult(inserted, updated, kept)
    return UpsertResult(inserted, updated, kept, per_file={name: one})


counts = st.integers(min_value=0, max_value=10_000)


@given(valid=counts, rejected=st.lists(counts, min_size=len(REJECT_REASONS), max_size=len(REJECT_REASONS)),
       share=st.floats(min_value=0, max_value=1), split=st.floats(min_value=0, max_value=1))
def test_consistent_counts_add_up(valid: int, rejected: list[int], share: float, split: float) -> None:
    by_reason = {r.value: n for r, n in zip(REJECT_REASONS, rejected, strict=True)}
    candidates = int(valid * share)
    inserted = int(candidates * split)
    per_file = file_counts(["a"], {"a": _seen(valid + sum(rejected), valid, candidates, valid - candidates,
                                              by_reason)})
    accounting = run_accounting(per_file, _stored(inserted, candidates - inserted, 0))
    assert accounting["rows_read"] == accounting["rows_valid"] + accounting["rows_rejected"]
    assert accounting["rows_rejected"] == sum(rejected)
    assert accounting["per_file"]["a"]["inserted"] == inserted
    assert list(public(accounting)) == list(ACCOUNTING_KEYS)


@given(valid=st.integers(min_value=1, max_value=1000), lost=st.integers(min_value=1, max_value=50))
def test_a_lost_row_fails_loudly(valid: int, lost: int) -> None:
    # Read as it entered the collapse, but never reaching the rejects writer.
    per_file = file_counts(["a"], {"a": _seen(valid + lost, valid, valid, 0)})
    with pytest.raises(AccountingError, match="rows_read"):
        run_accounting(per_file, _stored(valid, 0, 0))


def test_a_valid_row_lost_in_the_collapse_fails() -> None:
    per_file = file_counts(["a"], {"a": _seen(10, 10, 8, 1)})
    with pytest.raises(AccountingError, match="rows_valid 10 != candidates 8 \\+ duplicates_collapsed 1"):
        run_accounting(per_file, _stored(8, 0, 0))


def test_upsert_that_misses_candidates_fails() -> None:
    per_file = file_counts(["a"], {"a": _seen(10, 10, 8, 2)})
    with pytest.raises(AccountingError, match="candidates 8 != inserted 7"):
        run_accounting(per_file, _stored(7, 0, 0))


def test_each_file_must_add_up_with_its_own_upsert_counts() -> None:
    per_file = file_counts(["a", "b"], {"a": _seen(5, 5, 5, 0), "b": _seen(3, 3, 3, 0)})
    # The run's totals add up (8 = 6 + 2), the files' do not (a: 5 != 6, b: 3 != 2).
    upsert = UpsertResult(6, 2, 0, per_file={"a": UpsertResult(6, 0, 0), "b": UpsertResult(0, 2, 0)})
    with pytest.raises(AccountingError, match=r"a: candidates 5 != inserted 6.*b: candidates 3 != inserted"):
        run_accounting(per_file, upsert)

    good = UpsertResult(6, 2, 0, per_file={"a": UpsertResult(5, 0, 0), "b": UpsertResult(1, 2, 0)})
    accounting = run_accounting(per_file, good)
    assert accounting["per_file"]["b"]["updated"] == 2 and accounting["updated"] == 2


def test_more_candidates_than_valid_rows_fails() -> None:
    per_file = file_counts(["a"], {"a": _seen(10, 10, 11, 0)})
    with pytest.raises(AccountingError, match=r"rows_valid 10 != candidates 11 \+ duplicates_collapsed 0"):
        run_accounting(per_file, _stored(11, 0, 0))


def test_a_negative_count_fails() -> None:
    per_file = file_counts(["a"], {"a": _seen(10, 10, 11, -1)})
    with pytest.raises(AccountingError, match="a count is negative"):
        run_accounting(per_file, _stored(11, 0, 0))


def test_files_without_rows_get_zeros_and_unknown_files_fail() -> None:
    per_file = file_counts(["a", "b"], {"a": _seen(1, 1, 1, 0)})
    assert per_file["b"] == FileCounts()
    with pytest.raises(AccountingError, match="did not read"):
        file_counts(["a"], {"z": _seen(1, 1, 1, 0)})
    with pytest.raises(AccountingError, match="did not read"):
        run_accounting(per_file, UpsertResult(1, 0, 0, per_file={"a": UpsertResult(1, 0, 0),
                                                                 "z": UpsertResult(0, 0, 0)}))
