"""Is the archived copy the same bytes as the source? Decided from metadata when it can be.

- Sizes differ: not the same.
- A full-object checksum both have with the same algorithm (S3 computes CRC64NVME for new uploads,
  and the archiver asks for SHA256 on copy): equal or not decides.
- Equal single-part ETags (the content MD5 under SSE-S3) prove equality. Unequal ETags prove nothing:
  a multipart upload's ETag is "<md5 of part md5s>-<parts>" and a plain copy gets a fresh single-part
  ETag, while SSE-KMS ETags are not MD5s at all.
- Otherwise: undecided, and the caller hashes both objects.
"""

from __future__ import annotations

from ecom_pipeline.aws.s3 import ObjectInfo


def same_content(source: ObjectInfo, copy: ObjectInfo) -> bool | None:
    """True/False when metadata decides; None when only the bytes can tell."""
    if source.size != copy.size:
        return False
    for algorithm, value in source.checksums.items():
        other = copy.checksums.get(algorithm)
        if other is not None:
            return other == value
    if source.etag and source.etag == copy.etag and not source.multipart:
        return True
    return None
