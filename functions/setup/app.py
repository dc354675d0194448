"""setup Lambda (CloudFormation custom resource): script and package to Glue, dims, warehouse schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from ecom_pipeline.aws.glue import GlueJobs
from ecom_pipeline.aws.s3 import ObjectStore
from ecom_pipeline.deploy import respond_to_cloudformation, setup_stack

logger = Logger()

# glue/process_transactions.py, linked into this function so that `sam build` ships it with the code.
JOB_SCRIPT = Path(__file__).with_name("process_transactions.py")


def _create_or_update(properties: dict[str, Any]) -> dict[str, str]:
    job_name = str(properties["GlueJobName"])
    result = setup_stack(job_name, JOB_SCRIPT.read_bytes(), GlueJobs(), ObjectStore())
    logger.info("setup done", job_name=job_name, script=result.script_uri, package=result.package_uri,
                dims_written=result.dims_written, dims_loaded=result.dims_loaded)
    return result.as_data()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    status = respond_to_cloudformation(event, context.get_remaining_time_in_millis,
                                       f"{event.get('StackId', 'stack').split('/')[-1]}-setup",
                                       _create_or_update)
    return {"Status": status}
