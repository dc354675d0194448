"""Shared code of the e-commerce pipeline: contracts, key layout, domain logic and AWS adapters.

The same package serves the Lambda functions (through a layer), the Glue job and the local CLI.
"""

__version__ = "0.1.0"
