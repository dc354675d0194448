"""S3 objects as the archiver sees them: metadata (size, ETag, checksums, time), copy, hash, delete."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from ecom_pipeline.aws.errors import error_code, is_not_found

CHECKSUM_ALGORITHMS = ("CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256")
# CopyObject copies up to 5 GiB in one request; larger objects need a multipart copy.
SINGLE_COPY_LIMIT = 5 * 1024**3
_READ_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # without quotes; "<md5>-<parts>" for multipart uploads
    checksums: dict[str, str] = field(default_factory=dict)  # full-object checksums only
    last_modified: datetime | None = None

    @property
    def multipart(self) -> bool:
        return "-" in self.etag


class ObjectStore:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client or boto3.client("s3")

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """The object's metadata, or None when there is no such key."""
        try:
            response = self._client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if is_not_found(error):
                return None
            raise
        return _info(bucket, key, response)

    def copy(self, source: ObjectInfo, bucket: str, key: str, checksum_algorithm: str = "SHA256") -> None:
        """Copy exactly the version `source` describes (If-Match on its ETag), asking S3 for a checksum."""
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        if source.size <= SINGLE_COPY_LIMIT:
            self._client.copy_object(CopySource=copy_source, Bucket=bucket, Key=key,
                                     CopySourceIfMatch=f'"{source.etag}"',
                                     ChecksumAlgorithm=checksum_algorithm, MetadataDirective="COPY")
        else:
            self._client.copy(copy_source, bucket, key,
                              ExtraArgs={"CopySourceIfMatch": f'"{source.etag}"',
                                         "ChecksumAlgorithm": checksum_algorithm})

    def sha256(self, bucket: str, key: str) -> str:
        """Hex SHA-256 of the object's bytes, streamed (the last resort when metadata cannot decide)."""
        body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(_READ_CHUNK), b""):
            digest.update(chunk)
        return digest.hexdigest()

    def delete(self, bucket: str, key: str) -> None:
        self._client.delete_object(Bucket=bucket, Key=key)

    def delete_if_unchanged(self, source: ObjectInfo) -> bool:
        """Delete the object only while the key still holds the version `source` describes (If-Match on
        its ETag); False when it was rewritten or removed meanwhile, which then stays as it is."""
        try:
            self._client.delete_object(Bucket=source.bucket, Key=source.key, IfMatch=f'"{source.etag}"')
        except ClientError as error:
            if error_code(error) == "PreconditionFailed" or is_not_found(error):
                return False
            raise
        return True

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "text/csv") -> None:
        self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                                ChecksumAlgorithm="SHA256")

    def exists(self, bucket: str, key: str) -> bool:
        return self.head(bucket, key) is not None

    def get_text(self, bucket: str, key: str) -> str:
        return str(self._client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))


def _info(bucket: str, key: str, response: dict[str, Any]) -> ObjectInfo:
    checksums: dict[str, str] = {}
    # Composite checksums (multipart uploads) end in "-<parts>" and depend on part sizes: not comparable.
    if response.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        for algorithm in CHECKSUM_ALGORITHMS:
            value = response.get(f"Checksum{algorithm}")
            if value and "-" not in value:
                checksums[algorithm] = value
    return ObjectInfo(bucket=bucket, key=key, size=int(response["ContentLength"]),
                      etag=str(response.get("ETag", "")).strip('"'), checksums=checksums,
                      last_modified=response.get("LastModified"))
