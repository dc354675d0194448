"""AWS Glue 5.0 job script: validate, enrich, classify and upsert a batch of transaction files.

Thin on purpose: the logic ships as the `ecom_pipeline` package (`--extra-py-files` zip on Glue, the
installed package locally). Glue passes `--source_keys`, `--data_bucket`, `--warehouse_url` (and the
optional arguments in docs/job.md) plus its own JOB_NAME / JOB_RUN_ID. A failed run raises, which is
what makes Glue mark it FAILED with the error message.
"""

import sys

from ecom_pipeline.job.entry import main

if __name__ == "__main__":
    sys.exit(main(sys.argv, raise_on_failure=True))
