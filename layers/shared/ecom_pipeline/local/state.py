"""What survives between demo runs: the data and archive buckets, mirrored under `.local/s3/`.

moto keeps everything in memory; a rerun restores the objects before S3 notifications are switched
on (so restoring sends no events) and the generator then finds the days it already wrote. Day files
an earlier run left unprocessed in the landing bucket are held back and dropped again once the
notifications are on, so the flow picks them up where it stopped.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecom_pipeline.keys import STAGING_PREFIX

log = logging.getLogger(__name__)


SavedObject = tuple[str, str, Path]  # bucket, key, mirrored file


def restore_buckets(s3: Any, mirror: Path, buckets: list[str],
                    hold: Callable[[str, str], bool] | None = None) -> list[SavedObject]:
    """Upload the mirrored objects back into their buckets, except those `hold(bucket, key)` keeps
    back (returned, for `upload_objects` once notifications are on)."""
    held: list[SavedObject] = []
    for bucket in buckets:
        root = mirror / bucket
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if not path.is_file():
                continue
            key = path.relative_to(root).as_posix()
            if hold is not None and hold(bucket, key):
                held.append((bucket, key, path))
            else:
                s3.upload_file(str(path), bucket, key)
    saved = [p.name for p in mirror.iterdir() if p.is_dir()] if mirror.is_dir() else []
    unknown = [name for name in saved if name not in buckets]
    if unknown:
        log.warning("ignoring saved buckets the template no longer has: %s", ", ".join(unknown))
    return held


def upload_objects(s3: Any, objects: list[SavedObject]) -> None:
    for bucket, key, path in objects:
        s3.upload_file(str(path), bucket, key)


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
