"""setup Lambda (CloudFormation custom resource): package to Glue, dims, warehouse schema and dims."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from ecom_pipeline.aws.glue import GlueJobs
from ecom_pipeline.aws.s3 import ObjectStore
from ecom_pipeline.deploy import respond_to_cloudformation, setup_stack

logger = Logger()


def _create_or_update(properties: dict[str, Any]) -> dict[str, str]:
    job_name = str(properties["GlueJobName"])
    result = setup_stack(job_name, GlueJobs(), ObjectStore())
    logger.info("setup done", job_name=job_name, package=result.package_uri,
                dims_written=result.dims_written, dims_loaded=result.dims_loaded)
    return result.as_data()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    status = respond_to_cloudformation(event, context.get_remaining_time_in_millis,
                                       f"{event.get('StackId', 'stack').split('/')[-1]}-setup",
                                       _create_or_update)
    return {"Status": status}
