"""When metadata alone proves (or disproves) that an archived copy equals its source."""

from __future__ import annotations

from ecom_pipeline.archive.verify import same_content
from ecom_pipeline.aws.s3 import ObjectInfo


def _info(size: int = 10, etag: str = "abc", **checksums: str) -> ObjectInfo:
    return ObjectInfo(bucket="b", key="k", size=size, etag=etag, checksums=checksums)


def test_different_sizes_are_different() -> None:
    assert same_content(_info(size=10), _info(size=11)) is False


def test_a_shared_checksum_decides_both_ways() -> None:
    assert same_content(_info(CRC32="x", SHA256="s"), _info(etag="zzz", SHA256="s")) is True
    assert same_content(_info(SHA256="s"), _info(SHA256="t")) is False


def test_equal_single_part_etags_prove_equality() -> None:
    assert same_content(_info(etag="9b2c"), _info(etag="9b2c")) is True


def test_multipart_or_unequal_etags_leave_it_undecided() -> None:
    assert same_content(_info(etag="d41d-4"), _info(etag="d41d-4")) is None
    assert same_content(_info(etag="d41d-4"), _info(etag="77aa")) is None
    assert same_content(_info(etag="aaaa"), _info(etag="bbbb")) is None


def test_only_full_object_checksums_are_kept_from_s3_metadata() -> None:
    from ecom_pipeline.aws.s3 import _info

    full = _info("b", "k", {"ContentLength": 3, "ETag": '"abc"', "ChecksumCRC64NVME": "x=",
                            "ChecksumType": "FULL_OBJECT"})
    composite = _info("b", "k", {"ContentLength": 3, "ETag": '"abc-2"', "ChecksumSHA256": "y=-2",
                                 "ChecksumType": "COMPOSITE"})
    suffixed = _info("b", "k", {"ContentLength": 3, "ETag": '"abc-2"', "ChecksumCRC32": "z=-2"})

    assert (full.etag, full.checksums, full.multipart) == ("abc", {"CRC64NVME": "x="}, False)
    assert (composite.checksums, composite.multipart) == ({}, True)
    assert suffixed.checksums == {}
