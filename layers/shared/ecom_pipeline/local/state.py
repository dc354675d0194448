"""What survives between demo runs: the data and archive buckets, mirrored under `.local/s3/`.

moto keeps everything in memory; a rerun restores the objects before S3 notifications are switched
on (so restoring sends no events) and the generator then finds the days it already wrote.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from ecom_pipeline.keys import STAGING_PREFIX

log = logging.getLogger(__name__)


def restore_buckets(s3: Any, mirror: Path, buckets: list[str]) -> dict[str, int]:
    """Upload every mirrored object back into its bucket; returns objects restored per bucket."""
    restored: dict[str, int] = {}
    for bucket in buckets:
        root = mirror / bucket
        count = 0
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_file():
                s3.upload_file(str(path), bucket, path.relative_to(root).as_posix())
                count += 1
        restored[bucket] = count
    saved = [p.name for p in mirror.iterdir() if p.is_dir()] if mirror.is_dir() else []
    unknown = [name for name in saved if name not in buckets]
    if unknown:
        log.warning("ignoring saved buckets the template no longer has: %s", ", ".join(unknown))
    return restored


def save_buckets(s3: Any, mirror: Path, buckets: list[str]) -> dict[str, int]:
    """Replace the mirror with the buckets' current objects (staging Parquet excluded)."""
    saved: dict[str, int] = {}
    for bucket in buckets:
        root = mirror / bucket
        tmp = mirror / f".{bucket}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        count = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.startswith(STAGING_PREFIX) or key.endswith("/"):
                    continue
                target = tmp / key
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, key, str(target))
                count += 1
        tmp.mkdir(parents=True, exist_ok=True)
        # Swap only once the copy is complete: an interrupted save keeps the previous mirror.
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        saved[bucket] = count
    return saved
