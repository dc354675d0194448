"""Where generated files go: a local folder or an S3 bucket, always streamed chunk by chunk."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# S3 parts must be >= 5 MiB except the last; 8 MiB keeps memory small and requests few.
DEFAULT_PART_SIZE: Final = 8 * 1024 * 1024


class Sink(Protocol):
    def exists(self, key: str) -> bool: ...

    def read_text(self, key: str) -> str: ...

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the concatenated chunks under `key`; returns the bytes written."""
        ...

    def location(self, key: str) -> str: ...


class LocalSink:
    """Files under `root`; each written to a temporary name and renamed, so a crash leaves no half day."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_text(self, key: str) -> str:
        return self._path(key).read_text(encoding="utf-8")

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        size = 0
        try:
            # The kernel's write of one chunk (it releases the GIL) overlaps with numpy building the next:
            # at most one write in flight, so memory stays at two chunks.
            with partial.open("wb") as out, ThreadPoolExecutor(1, thread_name_prefix="sink") as writer:
                pending: Future[int] | None = None
                for chunk in chunks:
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(out.write, chunk)
                    size += len(chunk)
                if pending is not None:
                    pending.result()
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def location(self, key: str) -> str:
        return str(self._path(key))


class S3Sink:
    """Objects in `bucket` (under an optional `prefix`): one PutObject for a small file, else a
    multipart upload of `part_size` parts, aborted if anything fails so no part is left billed."""

    def __init__(self, bucket: str, prefix: str = "", *, part_size: int = DEFAULT_PART_SIZE,
                 client: S3Client | None = None) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + key

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read_text(self, key: str) -> str:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        return body.read().decode("utf-8")

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        buffer = bytearray()
        size = 0
        upload: _Multipart | None = None
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= self.part_size:
                    upload = upload or _Multipart(self.client, self.bucket, self._key(key))
                    upload.put(bytes(buffer[: self.part_size]))
                    del buffer[: self.part_size]
            if upload is None:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(buffer),
                                       ContentType="text/csv")
            else:
                if buffer:
                    upload.put(bytes(buffer))
                upload.complete()
        except BaseException:
            if upload is not None:
                upload.abort()
            raise
        return size

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


class _Multipart:
    def __init__(self, client: S3Client, bucket: str, key: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id = client.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType="text/csv"
        )["UploadId"]
        self.parts: list[dict[str, Any]] = []

    def put(self, body: bytes) -> None:
        number = len(self.parts) + 1
        etag = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )["ETag"]
        self.parts.append({"ETag": etag, "PartNumber": number})

    def complete(self) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def sink_for(out: str) -> Sink:
    """`s3://bucket[/prefix]` -> S3Sink (the scheme in any case), anything else -> a local folder."""
    if not out.strip():
        raise ValueError("no output location: give a folder or s3://bucket[/prefix]")
    if out[:5].lower() == "s3://":
        bucket, _, prefix = out[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {out!r}")
        return S3Sink(bucket, prefix)
    return LocalSink(out)
