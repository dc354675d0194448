"""What the setup custom resource does on Create and Update, reading everything from the Glue job.

The job's definition (template.yaml) is the one source of where the script goes (`ScriptLocation`),
where the package goes (`--extra-py-files`), which bucket holds the dims (`--data_bucket`) and which
warehouse to prepare (`--warehouse_url`), so the setup cannot disagree with what the job will use.
The script is shipped here rather than by `sam package`: a packaged script would sit in the deployer's
artifact bucket, which the job's role cannot read (and which CI expires).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ecom_pipeline.aws.glue import JobDefinition
from ecom_pipeline.deploy.package import package_zip
from ecom_pipeline.generator import GenerationRequest, S3Sink
from ecom_pipeline.generator.service import ensure_dims
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY, SETUP_STAGING_PREFIX
from ecom_pipeline.warehouse import open_warehouse
from ecom_pipeline.warehouse.base import Warehouse
from ecom_pipeline.warehouse.dims import read_dim_csv, write_normalised_csv
from ecom_pipeline.warehouse.schema import DIM_CUSTOMERS, DIM_PRODUCTS


class JobDefinitions(Protocol):
    def definition(self, job_name: str) -> JobDefinition: ...


class Objects(Protocol):
    def put(self, bucket: str, key: str, body: bytes, content_type: str = ...) -> None: ...

    def get_text(self, bucket: str, key: str) -> str: ...

    def delete(self, bucket: str, key: str) -> None: ...


@dataclass(frozen=True)
class SetupResult:
    script_uri: str
    package_uri: str
    dims_written: list[str] = field(default_factory=list)
    dims_loaded: dict[str, int] = field(default_factory=dict)

    def as_data(self) -> dict[str, str]:
        """Custom resource `Data` (strings only, readable with Fn::GetAtt)."""
        return {"ScriptUri": self.script_uri, "PackageUri": self.package_uri,
                "DimsWritten": ",".join(self.dims_written),
                **{f"Rows_{table}": str(count) for table, count in self.dims_loaded.items()}}


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"expected s3://bucket/key, got {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def setup_stack(job_name: str, script: bytes, glue: JobDefinitions, store: Objects,
                warehouse: Callable[[str], Warehouse] = open_warehouse) -> SetupResult:
    """Ensure the dims, prepare the warehouse, ship the script and the package. Safe to repeat.

    A failure leaves the buckets as they were (dims written by this call are removed, the script and
    package are shipped last): a stack whose first deploy fails can then roll back, since CloudFormation
    cannot delete a bucket with objects in it.
    """
    job = glue.definition(job_name)
    arguments = job.default_arguments
    missing = [a for a in ("--extra-py-files", "--data_bucket", "--warehouse_url") if not arguments.get(a)]
    if missing:
        raise ValueError(f"Glue job {job_name} lacks default arguments {missing}")
    package_uri = arguments["--extra-py-files"].split(",")[0]

    data_bucket = arguments["--data_bucket"]
    written, _ = ensure_dims(GenerationRequest(start=datetime.now(UTC).date()), S3Sink(data_bucket))
    try:
        db = warehouse(arguments["--warehouse_url"])
        try:
            db.apply_schema()
            loaded = _load_dims(db, arguments["--warehouse_url"], data_bucket, store)
        finally:
            db.close()
    except Exception:
        for key in written:
            store.delete(data_bucket, key)
        raise

    store.put(*split_s3_uri(job.script_location), script, content_type="text/x-python")
    store.put(*split_s3_uri(package_uri), package_zip(), content_type="application/zip")
    return SetupResult(script_uri=job.script_location, package_uri=package_uri, dims_written=written,
                       dims_loaded=loaded)


def _load_dims(db: Warehouse, url: str, data_bucket: str, store: Objects) -> dict[str, int]:
    """Every engine loads the rows the checks passed (warehouse.dims): the local engines from copies on
    disk, Redshift from the normalised copies uploaded to a folder of this call's own under staging/.

    COPY from the dims' own keys would skip the header unread (columns in another order would load into
    the wrong ones), keep the spaces the checks trim, round a third decimal, and read every object whose
    key merely begins with the file's (`products.csv.bak` too). The copies are removed after the load
    (staging/ also expires).
    """
    with tempfile.TemporaryDirectory(prefix="ecom-setup-") as tmp:
        paths = []
        for key in (PRODUCTS_KEY, CUSTOMERS_KEY):
            path = Path(tmp) / Path(key).name
            path.write_text(store.get_text(data_bucket, key), encoding="utf-8")
            paths.append(path)
        if not url.startswith("redshift://"):
            return db.load_dims(str(paths[0]), str(paths[1]))
        folder = f"{SETUP_STAGING_PREFIX}{uuid.uuid4().hex}/"
        staged: list[str] = []
        try:
            for path, table in zip(paths, (DIM_PRODUCTS, DIM_CUSTOMERS), strict=True):
                normalised = write_normalised_csv(read_dim_csv(str(path), table), table,
                                                  Path(tmp) / f"normalised-{path.name}")
                staged.append(folder + path.name)
                store.put(data_bucket, staged[-1], normalised.read_bytes(), content_type="text/csv")
            loaded = db.load_dims(*(f"s3://{data_bucket}/{key}" for key in staged))
        except BaseException as error:
            _remove(store, data_bucket, staged, pending=error)
            raise
        _remove(store, data_bucket, staged)
        return loaded


def _remove(store: Objects, bucket: str, keys: list[str], pending: BaseException | None = None) -> None:
    """Delete every one of `keys`, then report any that could not be: as a note on the `pending` error
    (which it must not replace), else as an error of its own."""
    failed: list[str] = []
    for key in keys:
        try:
            store.delete(bucket, key)
        except Exception as error:
            failed.append(f"s3://{bucket}/{key} ({error})")
    if not failed:
        return
    message = f"could not remove the dims' staged copies: {', '.join(failed)} (staging/ expires them)"
    if pending is None:
        raise RuntimeError(message)
    pending.add_note(message)
