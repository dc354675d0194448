"""The job benchmark's straightforward reference writes what the job writes, or its ratio means nothing."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

from ecom_pipeline.contracts import FACT_COLUMNS
from ecom_pipeline.job import io
from pyspark.sql import DataFrame, SparkSession

from tests.fixtures.data import GeneratedDataset

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_job.py"
# Per run, not per row: who wrote it and when.
COMPARED = [name for name in FACT_COLUMNS if name not in ("source_file", "job_run_id", "updated_at")]


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_job", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(frame: DataFrame, columns: list[str]) -> Counter[tuple[object, ...]]:
    return Counter(tuple(row) for row in frame.select(*columns).collect())


def test_straightforward_reference_stages_and_rejects_the_same_rows(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    key, bench, data = generated_dataset.transaction_keys[1], bench_module(), generated_dataset.root
    counts = bench.job_stage(spark, data, key, f"file://{tmp_path}/job", "job")
    bench.straightforward_stage(spark, data, key, f"file://{tmp_path}/reference", "reference")
    staged_uri = io.staging_uri(f"file://{tmp_path}/job/", "job")

    job_facts = rows(spark.read.parquet(staged_uri), COMPARED)
    assert sum(job_facts.values()) == counts[key]["candidates"] > 0
    assert rows(spark.read.parquet(f"file://{tmp_path}/reference/staged"), COMPARED) == job_facts

    def rejects(uri: str) -> Counter[tuple[object, ...]]:
        return rows(spark.read.option("header", "true").csv(uri), ["transaction_id", "reject_reason"])

    job_rejects = rejects(f"file://{tmp_path}/job/rejects/")
    assert len(set(reason for _, reason in job_rejects)) >= 5  # the faults cover most reject codes
    assert rejects(f"file://{tmp_path}/reference/rejects") == job_rejects


def test_duckdb_baseline_stages_and_rejects_the_same_rows(
        spark: SparkSession, generated_dataset: GeneratedDataset, tmp_path: Path) -> None:
    # The baseline every ratio is taken against: a query that read fewer rows would flatter Spark.
    key, bench, data = generated_dataset.transaction_keys[1], bench_module(), generated_dataset.root
    counts = bench.job_stage(spark, data, key, f"file://{tmp_path}/job", "job")
    ctes = bench._duckdb_ctes(str(data / key), str(generated_dataset.products_csv),
                              str(generated_dataset.customers_csv))
    *_, written = bench.duckdb_run(ctes, tmp_path / "duck")
    assert any('"' in line for line in (data / key).read_text().splitlines())  # a quote that never closes

    job_facts = rows(spark.read.parquet(io.staging_uri(f"file://{tmp_path}/job/", "job")), COMPARED)
    assert rows(spark.read.parquet(f"file://{tmp_path}/duck/staged.parquet"), COMPARED) == job_facts
    reasons = Counter(r.reject_reason for r in spark.read.option("header", "true")
                      .csv(f"file://{tmp_path}/duck/rejects.csv").collect())
    assert reasons == Counter(counts[key]["rejects_by_reason"]) - Counter()  # codes with rows only
    assert written == {"staged": counts[key]["candidates"], "rejects": counts[key]["rows_rejected"]}
