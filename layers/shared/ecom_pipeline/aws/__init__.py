"""Adapters that own boto3: every AWS call of the trigger, archiver and setup goes through here.

Clients are created per adapter instance (never at import time); boto3 picks up `AWS_ENDPOINT_URL`,
so the same code talks to AWS or to the local emulation.
"""
