"""The setup custom resource against moto, a DuckDB warehouse and a local HTTP endpoint standing in
for CloudFormation's pre-signed response URL."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.contracts import DIM_CUSTOMERS, DIM_PRODUCTS
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY
from ecom_pipeline.local.handlers import load_handler
from ecom_pipeline.warehouse import open_warehouse

JOB = "ecom-pipeline-process-transactions"
DATA = "ecom-data"
ARTIFACTS = "ecom-artifacts"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(response URL, the JSON bodies PUT to it)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response?X-Amz-Signature=x", received
    server.shutdown()


@pytest.fixture
def stack(s3: Any, glue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "setup")
    s3.create_bucket(Bucket=DATA)
    s3.create_bucket(Bucket=ARTIFACTS)
    warehouse_url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    glue.create_job(Name=JOB, Role="arn:aws:iam::123456789012:role/glue", GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{ARTIFACTS}/glue/job_script.py"},
                    DefaultArguments={"--extra-py-files": f"s3://{ARTIFACTS}/glue/ecom_pipeline.zip",
                                      "--data_bucket": DATA, "--warehouse_url": warehouse_url})
    return warehouse_url


def _request(sample_event: Any, url: str, kind: str = "Create") -> dict[str, Any]:
    event = sample_event("setup_create")
    event.update(RequestType=kind, ResponseURL=url)
    if kind != "Create":
        event["PhysicalResourceId"] = "5b6c7d80-1a2b-11ee-9c3d-0a1b2c3d4e5f-setup"
    return event  # type: ignore[no-any-return]


def _count(url: str, table: str) -> int:
    db = open_warehouse(url)
    try:
        return int(db.query(f"select count(*) from {table}").rows[0][0])
    finally:
        db.close()


def test_create_ships_the_package_writes_dims_and_prepares_the_warehouse(
        stack: str, s3: Any, cloudformation: Any, sample_event: Any, lambda_context: Any) -> None:
    url, received = cloudformation

    load_handler("setup")(_request(sample_event, url), lambda_context)

    (response,) = received
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == "5b6c7d80-1a2b-11ee-9c3d-0a1b2c3d4e5f-setup"
    products = s3.get_object(Bucket=DATA, Key=PRODUCTS_KEY)["Body"].read().decode().splitlines()
    customers = s3.get_object(Bucket=DATA, Key=CUSTOMERS_KEY)["Body"].read().decode().splitlines()
    assert _count(stack, DIM_PRODUCTS) == len(products) - 1
    assert _count(stack, DIM_CUSTOMERS) == len(customers) - 1
    shipped = s3.get_object(Bucket=ARTIFACTS, Key="glue/job_script.py")["Body"].read()
    assert shipped == (REPO / "glue" / "process_transactions.py").read_bytes()
    assert response["Data"]["ScriptUri"] == f"s3://{ARTIFACTS}/glue/job_script.py"
    names = zipfile.ZipFile(io.BytesIO(
        s3.get_object(Bucket=ARTIFACTS, Key="glue/ecom_pipeline.zip")["Body"].read())).namelist()
    assert "ecom_pipeline/contracts.py" in names
    assert "ecom_pipeline/job/entry.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_update_is_idempotent_and_keeps_existing_dims(
        stack: str, s3: Any, cloudformation: Any, sample_event: Any, lambda_context: Any) -> None:
    url, received = cloudformation
    handler = load_handler("setup")
    handler(_request(sample_event, url), lambda_context)
    dims_before = s3.get_object(Bucket=DATA, Key=PRODUCTS_KEY)["ETag"]
    rows_before = _count(stack, DIM_PRODUCTS)

    handler(_request(sample_event, url, "Update"), lambda_context)

    assert [r["Status"] for r in received] == ["SUCCESS", "SUCCESS"]
    assert received[1]["Data"]["DimsWritten"] == ""
    assert s3.get_object(Bucket=DATA, Key=PRODUCTS_KEY)["ETag"] == dims_before
    assert _count(stack, DIM_PRODUCTS) == rows_before


def test_delete_reports_success_and_touches_nothing(
        stack: str, s3: Any, cloudformation: Any, sample_event: Any, lambda_context: Any) -> None:
    url, received = cloudformation

    load_handler("setup")(_request(sample_event, url, "Delete"), lambda_context)

    assert [r["Status"] for r in received] == ["SUCCESS"]
    assert s3.list_objects_v2(Bucket=ARTIFACTS)["KeyCount"] == 0


def test_a_failure_is_reported_to_cloudformation_with_its_reason(
        stack: str, glue: Any, cloudformation: Any, sample_event: Any, lambda_context: Any) -> None:
    url, received = cloudformation
    glue.delete_job(JobName=JOB)
    glue.create_job(Name=JOB, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://a/b.py"},
                    DefaultArguments={"--data_bucket": DATA})

    load_handler("setup")(_request(sample_event, url), lambda_context)

    (response,) = received
    assert response["Status"] == "FAILED"
    assert "--extra-py-files" in response["Reason"]


def test_the_shipped_zip_imports_on_its_own(tmp_path: Path) -> None:
    from ecom_pipeline.deploy import package_zip

    archive = tmp_path / "ecom_pipeline.zip"
    archive.write_bytes(package_zip())
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import ecom_pipeline.keys as k; "
            "assert k.__file__.startswith(sys.argv[1]), k.__file__; print(k.PRODUCTS_KEY)")

    out = subprocess.run([sys.executable, "-S", "-c", code, str(archive)], capture_output=True, text=True,
                         check=True)

    assert out.stdout.strip() == PRODUCTS_KEY


class RecordingWarehouse:
    """Stands in for Redshift, which the Data API reaches only in AWS: records what it is asked to load,
    and what those S3 objects held when it was asked."""

    def __init__(self, s3: Any = None) -> None:
        self.s3 = s3
        self.loaded: list[tuple[str, str]] = []
        self.contents: list[str] = []

    def apply_schema(self) -> None:
        pass

    def load_dims(self, products: str, customers: str) -> dict[str, int]:
        self.loaded.append((products, customers))
        for uri in (products, customers) if self.s3 else ():
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            self.contents.append(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
        return {DIM_PRODUCTS: 0, DIM_CUSTOMERS: 0}

    def close(self) -> None:
        pass


@pytest.fixture
def redshift_job(s3: Any, glue: Any) -> None:
    s3.create_bucket(Bucket=DATA)
    s3.create_bucket(Bucket=ARTIFACTS)
    glue.create_job(Name=JOB, Role="r", Command={"Name": "glueetl", "ScriptLocation": f"s3://{ARTIFACTS}/glue/s.py"},
                    DefaultArguments={"--extra-py-files": f"s3://{ARTIFACTS}/glue/ecom_pipeline.zip",
                                      "--data_bucket": DATA,
                                      "--warehouse_url": "redshift://?workgroup=w&database=dev&secret_arn=arn:s"})


def test_redshift_copies_checked_copies_of_the_dims_then_removes_them(redshift_job: None, s3: Any) -> None:
    # COPY would read the dims' own keys as prefixes (a products.csv.bak too), keep the spaces the checks
    # trim and refuse or round what they accept: it gets the checked rows, at keys of this setup's own.
    from ecom_pipeline.aws.glue import GlueJobs
    from ecom_pipeline.aws.s3 import ObjectStore
    from ecom_pipeline.deploy import setup_stack

    s3.put_object(Bucket=DATA, Key=PRODUCTS_KEY,
                  Body=b"product_id,product_name,category,price,supplier_id\n P1 , Widget ,Tools,1e3,S1\n"
                       b"P2,Gadget,Tools,+4.5,S2\n")
    s3.put_object(Bucket=DATA, Key=PRODUCTS_KEY + ".bak", Body=b"not,a,dims,file\n")
    redshift = RecordingWarehouse(s3)
    setup_stack(JOB, b"script", GlueJobs(), ObjectStore(), warehouse=lambda url: redshift)

    [(products, customers)] = redshift.loaded
    assert products.startswith(f"s3://{DATA}/staging/setup/") and products.endswith("/products.csv")
    assert customers == products.removesuffix("products.csv") + "customers.csv"
    assert redshift.contents[0] == ("product_id,product_name,category,price,supplier_id\n"
                                    "P1,Widget,Tools,1000.00,S1\nP2,Gadget,Tools,4.50,S2\n")
    assert redshift.contents[1].splitlines()[0] == "customer_id,first_name,last_name,email,membership_level"
    left = [item["Key"] for item in s3.list_objects_v2(Bucket=DATA, Prefix="staging/").get("Contents", [])]
    assert left == []


def test_redshift_never_copies_dims_whose_columns_are_out_of_order(redshift_job: None, s3: Any) -> None:
    from ecom_pipeline.aws.glue import GlueJobs
    from ecom_pipeline.aws.s3 import ObjectStore
    from ecom_pipeline.deploy import setup_stack
    from ecom_pipeline.warehouse import DimFileError

    s3.put_object(Bucket=DATA, Key=PRODUCTS_KEY,
                  Body=b"product_id,category,product_name,price,supplier_id\nP1,Tools,Widget,10.50,S1\n")
    redshift = RecordingWarehouse()

    with pytest.raises(DimFileError, match=r"products\.csv:1: header 'product_id,category,product_name"):
        setup_stack(JOB, b"script", GlueJobs(), ObjectStore(), warehouse=lambda url: redshift)
    assert redshift.loaded == []


@pytest.mark.parametrize("failing", ["apply_schema", "load_dims"])
def test_a_failed_setup_leaves_both_buckets_as_they_were(redshift_job: None, s3: Any, failing: str) -> None:
    # CloudFormation cannot delete a bucket with objects in it: a first deploy that fails here must roll back.
    from ecom_pipeline.aws.glue import GlueJobs
    from ecom_pipeline.aws.s3 import ObjectStore
    from ecom_pipeline.deploy import setup_stack
    from ecom_pipeline.warehouse import WarehouseError

    def unavailable(*args: Any) -> Any:
        raise WarehouseError("the workgroup is not available")

    class UnreachableWarehouse(RecordingWarehouse):
        pass

    setattr(UnreachableWarehouse, failing, unavailable)

    with pytest.raises(WarehouseError, match="not available"):
        setup_stack(JOB, b"script", GlueJobs(), ObjectStore(), warehouse=lambda url: UnreachableWarehouse())

    assert s3.list_objects_v2(Bucket=DATA)["KeyCount"] == 0
    assert s3.list_objects_v2(Bucket=ARTIFACTS)["KeyCount"] == 0


def test_a_copy_that_cannot_be_removed_is_told_beside_the_error_that_stopped_the_load(
        redshift_job: None, s3: Any) -> None:
    from ecom_pipeline.aws.glue import GlueJobs
    from ecom_pipeline.aws.s3 import ObjectStore
    from ecom_pipeline.deploy import setup_stack
    from ecom_pipeline.warehouse import WarehouseError

    class StickyStaging(ObjectStore):
        def delete(self, bucket: str, key: str) -> None:
            if key.startswith("staging/"):
                raise PermissionError("AccessDenied")
            super().delete(bucket, key)

    class RefusingWarehouse(RecordingWarehouse):
        def load_dims(self, products: str, customers: str) -> dict[str, int]:
            raise WarehouseError("COPY refused")

    with pytest.raises(WarehouseError, match="COPY refused") as failed:
        setup_stack(JOB, b"script", GlueJobs(), StickyStaging(), warehouse=lambda url: RefusingWarehouse())

    [note] = failed.value.__notes__
    assert note.startswith("could not remove the dims' staged copies: s3://ecom-data/staging/setup/")
    assert note.count("AccessDenied") == 2


def test_a_setup_that_overruns_is_reported_failed_before_lambda_stops_it(
        cloudformation: Any, sample_event: Any) -> None:
    # A stack must never wait an hour for an answer that a timed-out Lambda can no longer send.
    import time

    from ecom_pipeline.deploy import respond_to_cloudformation
    from ecom_pipeline.deploy.cfn import TIMEOUT_MARGIN_MS

    url, received = cloudformation
    slow_ms = 2_500

    def overrunning(properties: dict[str, Any]) -> dict[str, str]:
        time.sleep(slow_ms / 1000)
        return {}

    status = respond_to_cloudformation(_request(sample_event, url), lambda: TIMEOUT_MARGIN_MS + 1_000,
                                       "phys-1", overrunning)

    assert [r["Status"] for r in received] == ["FAILED"]  # the guard's answer, and only that one
    assert "timed out" in received[0]["Reason"]
    assert status == "FAILED"  # what the stack was told, though the work itself finished afterwards
