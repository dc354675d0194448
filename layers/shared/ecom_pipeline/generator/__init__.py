"""Mock data for the pipeline: dimension CSVs and daily transaction CSVs with injectable faults.

`generate(request, sink)` is the one entry point; the Lambda handler and the CLI both call it.
"""

from ecom_pipeline.generator.config import FaultKind, GenerationRequest
from ecom_pipeline.generator.service import DayResult, GenerationSummary, generate
from ecom_pipeline.generator.sinks import LocalSink, S3Sink, Sink, sink_for

__all__ = [
    "DayResult",
    "FaultKind",
    "GenerationRequest",
    "GenerationSummary",
    "LocalSink",
    "S3Sink",
    "Sink",
    "generate",
    "sink_for",
]
