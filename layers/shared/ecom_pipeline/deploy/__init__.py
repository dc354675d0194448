"""Deploy-time setup (a CloudFormation custom resource): ship the shared package to Glue, write the
dims if missing, apply the warehouse schema and load the dims. Idempotent; Delete changes nothing."""

from ecom_pipeline.deploy.cfn import CustomResourceRequest, respond_to_cloudformation
from ecom_pipeline.deploy.package import package_zip
from ecom_pipeline.deploy.service import SetupResult, setup_stack

__all__ = ["CustomResourceRequest", "SetupResult", "package_zip", "respond_to_cloudformation", "setup_stack"]
