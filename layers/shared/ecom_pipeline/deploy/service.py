"""What the setup custom resource does on Create and Update, reading everything from the Glue job.

The job's DefaultArguments (template.yaml) are the one source of where the package goes
(`--extra-py-files`), which bucket holds the dims (`--data_bucket`) and which warehouse to prepare
(`--warehouse_url`), so the setup cannot disagree with what the job will use.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ecom_pipeline.deploy.package import package_zip
from ecom_pipeline.generator import GenerationRequest, S3Sink
from ecom_pipeline.generator.service import ensure_dims
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY
from ecom_pipeline.warehouse import open_warehouse
from ecom_pipeline.warehouse.base import Warehouse


class JobDefaults(Protocol):
    def default_arguments(self, job_name: str) -> dict[str, str]: ...


class Objects(Protocol):
    def put(self, bucket: str, key: str, body: bytes, content_type: str = ...) -> None: ...

    def get_text(self, bucket: str, key: str) -> str: ...


@dataclass(frozen=True)
class SetupResult:
    package_uri: str
    dims_written: list[str] = field(default_factory=list)
    dims_loaded: dict[str, int] = field(default_factory=dict)

    def as_data(self) -> dict[str, str]:
        """Custom resource `Data` (strings only, readable with Fn::GetAtt)."""
        return {"PackageUri": self.package_uri, "DimsWritten": ",".join(self.dims_written),
                **{f"Rows_{table}": str(count) for table, count in self.dims_loaded.items()}}


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"expected s3://bucket/key, got {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def setup_stack(job_name: str, glue: JobDefaults, store: Objects,
                warehouse: Callable[[str], Warehouse] = open_warehouse) -> SetupResult:
    """Ship the package, ensure the dims, prepare the warehouse. Safe to run any number of times."""
    arguments = glue.default_arguments(job_name)
    missing = [a for a in ("--extra-py-files", "--data_bucket", "--warehouse_url") if not arguments.get(a)]
    if missing:
        raise ValueError(f"Glue job {job_name} lacks default arguments {missing}")
    package_uri = arguments["--extra-py-files"].split(",")[0]
    bucket, key = split_s3_uri(package_uri)
    store.put(bucket, key, package_zip(), content_type="application/zip")

    data_bucket = arguments["--data_bucket"]
    written, _ = ensure_dims(GenerationRequest(start=datetime.now(UTC).date()), S3Sink(data_bucket))

    db = warehouse(arguments["--warehouse_url"])
    try:
        db.apply_schema()
        loaded = _load_dims(db, arguments["--warehouse_url"], data_bucket, store)
    finally:
        db.close()
    return SetupResult(package_uri=package_uri, dims_written=written, dims_loaded=loaded)


def _load_dims(db: Warehouse, url: str, data_bucket: str, store: Objects) -> dict[str, int]:
    """Redshift COPYs the dims straight from S3; local engines read them from files."""
    if url.startswith("redshift://"):
        return db.load_dims(f"s3://{data_bucket}/{PRODUCTS_KEY}", f"s3://{data_bucket}/{CUSTOMERS_KEY}")
    with tempfile.TemporaryDirectory(prefix="ecom-setup-") as tmp:
        paths = []
        for key in (PRODUCTS_KEY, CUSTOMERS_KEY):
            path = Path(tmp) / Path(key).name
            path.write_text(store.get_text(data_bucket, key), encoding="utf-8")
            paths.append(str(path))
        return db.load_dims(paths[0], paths[1])
