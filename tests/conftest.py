"""Test-wide setup: markers follow the folder, fixtures come from tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Powertools outside Lambda: no X-Ray daemon, metrics namespace set, quiet logs.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EcomPipelineTests")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.data",
    "tests.fixtures.postgres",
    "tests.fixtures.spark",
]

_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(str(item.fspath)).relative_to(_TESTS).parts[0]
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, kind))
