"""The generation use case: dims once, then each day of the range unless it already exists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

from pydantic import BaseModel

from ecom_pipeline.generator.config import GenerationRequest
from ecom_pipeline.generator.dims import Catalog, customers_csv, products_csv
from ecom_pipeline.generator.sinks import Sink
from ecom_pipeline.generator.transactions import DayGenerator
from ecom_pipeline.keys import CUSTOMERS_KEY, PRODUCTS_KEY, transaction_key

Progress = Callable[[date, int], None]


class DayResult(BaseModel):
    day: date
    key: str
    location: str
    rows: int
    bytes: int


class GenerationSummary(BaseModel):
    dims_written: list[str]
    dims_reused: list[str]
    written: list[DayResult]
    skipped: list[str]

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.written)

    def report(self) -> dict[str, object]:
        """JSON-able summary: keys written and skipped, rows."""
        return {
            "dims_written": self.dims_written,
            "dims_reused": self.dims_reused,
            "written": [d.key for d in self.written],
            "skipped": self.skipped,
            "rows": self.rows,
            "files": [d.model_dump(mode="json") for d in self.written],
        }


def days_of(request: GenerationRequest) -> list[date]:
    return [request.start + timedelta(days=i) for i in range(request.days)]


def ensure_dims(request: GenerationRequest, sink: Sink) -> tuple[list[str], list[str]]:
    """Write each dim file that is missing (or all, on request); returns (written, reused) keys."""
    written, reused = [], []
    for key, make in (
        (PRODUCTS_KEY, lambda: products_csv(request.seed, request.products, request.suppliers)),
        (CUSTOMERS_KEY, lambda: customers_csv(request.seed, request.customers)),
    ):
        if request.regenerate_dims or not sink.exists(key):
            sink.write(key, [make().encode()])
            written.append(key)
        else:
            reused.append(key)
    return written, reused


def generate(request: GenerationRequest, sink: Sink, progress: Progress | None = None,
             archive: Sink | None = None) -> GenerationSummary:
    """Dims (if needed), then one transactions file per day; days that exist are skipped unless
    `request.overwrite`, in `sink` or, once processed, in `archive` (the pipeline moves a loaded day
    there: writing it again would load it again). Transactions always use the dims as stored, so
    prices match them."""
    dims_written, dims_reused = ensure_dims(request, sink)
    catalog = Catalog.from_csv(sink.read_text(PRODUCTS_KEY), sink.read_text(CUSTOMERS_KEY))
    days = DayGenerator(request, catalog)
    written: list[DayResult] = []
    skipped: list[str] = []
    for day in days_of(request):
        key = transaction_key(day)
        if not request.overwrite and (sink.exists(key) or (archive is not None and archive.exists(key))):
            skipped.append(key)
            continue
        counted = _Counted(days.chunks(day), day, progress)
        size = sink.write(key, counted)
        written.append(
            DayResult(day=day, key=key, location=sink.location(key), rows=counted.rows, bytes=size)
        )
    return GenerationSummary(dims_written=dims_written, dims_reused=dims_reused, written=written,
                             skipped=skipped)


class _Counted:
    """Passes the chunks through, counting rows and reporting progress."""

    def __init__(self, chunks: Iterator[tuple[bytes, int]], day: date, progress: Progress | None) -> None:
        self._chunks, self._day, self._progress = chunks, day, progress
        self.rows = 0

    def __iter__(self) -> Iterator[bytes]:
        for data, rows in self._chunks:
            self.rows += rows
            if self._progress and rows:
                self._progress(self._day, rows)
            yield data
