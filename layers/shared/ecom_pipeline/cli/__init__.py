"""`ecom-pipeline`: the local front door to the pipeline."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ecom-pipeline",
    help=(
        "Event-driven e-commerce transactions pipeline, on a laptop.\n\n"
        "generate: write dims and daily transaction CSVs.  setup: create the warehouse schema and "
        "load the dims.  process: run the Glue job over local files.  query: ask the warehouse.  "
        "demo: the whole event-driven flow against emulated AWS."
    ),
    no_args_is_help=True,
    add_completion=False,
)

# Each command lives in its own module and registers itself on `app`.
from ecom_pipeline.cli import demo, generate, process, warehouse  # noqa: E402,F401
