"""S3 sink against moto: single put for small files, multipart for big days, abort on failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.generator import GenerationRequest, LocalSink, S3Sink, generate, sink_for
from ecom_pipeline.keys import PRODUCTS_KEY, transaction_key

BUCKET = "ecom-data-it"
MIB = 1024 * 1024
DAY = date(2023, 3, 15)


@pytest.fixture
def bucket(s3: Any) -> Any:
    s3.create_bucket(Bucket=BUCKET)
    return s3


def _request(**kw: Any) -> GenerationRequest:
    return GenerationRequest.model_validate(
        {"start": DAY, "seed": 8, "products": 100, "customers": 300, **kw}
    )


def test_big_day_goes_up_in_multipart_parts_identical_to_the_local_file(bucket: Any, tmp_path: Path) -> None:
    request = _request(rows_per_day=160_000)  # ~12 MB: three 5 MiB parts
    sink = S3Sink(BUCKET, part_size=5 * MIB, client=bucket)

    summary = generate(request, sink)
    generate(request, LocalSink(tmp_path))

    key = transaction_key(DAY)
    head = bucket.head_object(Bucket=BUCKET, Key=key)
    assert head["ETag"].strip('"').endswith("-3")  # S3's mark of a multipart object
    assert summary.written[0].bytes == head["ContentLength"]
    body = bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == (tmp_path / key).read_bytes()
    assert summary.written[0].location == f"s3://{BUCKET}/{key}"


def test_small_files_are_single_puts_and_existing_days_are_skipped(bucket: Any) -> None:
    sink = sink_for(f"s3://{BUCKET}/")

    first = generate(_request(rows_per_day=500, days=2), sink)
    second = generate(_request(rows_per_day=500, days=3), sink)

    assert "-" not in bucket.head_object(Bucket=BUCKET, Key=transaction_key(DAY))["ETag"]
    assert bucket.head_object(Bucket=BUCKET, Key=PRODUCTS_KEY)["ContentLength"] > 0
    assert second.skipped == [d.key for d in first.written]
    assert [d.day for d in second.written] == [date(2023, 3, 17)]


def test_prefix_puts_keys_below_it(bucket: Any) -> None:
    generate(_request(rows_per_day=10), sink_for(f"s3://{BUCKET}/sandbox"))

    keys = {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"sandbox/{transaction_key(DAY)}" in keys
    assert f"sandbox/{PRODUCTS_KEY}" in keys


def test_failure_mid_upload_aborts_and_leaves_nothing(bucket: Any) -> None:
    sink = S3Sink(BUCKET, part_size=5 * MIB, client=bucket)

    def chunks() -> Iterator[bytes]:
        yield b"x" * (6 * MIB)
        raise RuntimeError("generation failed half way")

    with pytest.raises(RuntimeError, match="half way"):
        sink.write("transactions/broken.csv", chunks())

    assert not sink.exists("transactions/broken.csv")
    assert bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_part_size_below_the_s3_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="5 MiB"):
        S3Sink(BUCKET, part_size=MIB)
