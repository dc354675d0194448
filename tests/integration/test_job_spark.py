"""The job's Spark session and plan helpers, on a real local session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ecom_pipeline.job import spark as job_spark
from ecom_pipeline.job.spark import JOB_SQL_CONF, computed_once, get_spark
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F


def physical_plan(frame: DataFrame) -> str:
    return str(frame._jdf.queryExecution().executedPlan().toString())


def test_job_settings_reach_the_session_glue_created(restored_conf: SparkSession, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    spark = restored_conf
    for key in JOB_SQL_CONF:
        spark.conf.unset(key)
    spark.range(3).write.parquet(str(tmp_path / "before"))
    monkeypatch.setattr(job_spark, "on_glue", lambda: True)

    assert get_spark() is spark
    assert {key: spark.conf.get(key) for key in JOB_SQL_CONF} == JOB_SQL_CONF
    # Glue's session writes a _SUCCESS marker by default; the staged prefix must hold Parquet only.
    spark.range(3).write.parquet(str(tmp_path / "after"))
    assert (tmp_path / "before" / "_SUCCESS").exists()
    assert {p.suffix for p in (tmp_path / "after").iterdir()} == {".parquet"}


def test_computed_once_keeps_the_partitioning_and_the_rows(spark: SparkSession) -> None:
    rows = spark.range(1000).select((F.col("id") % 97).alias("key"), F.col("id").alias("value"))
    once = computed_once(rows.repartition("key"))
    latest = (once.withColumn("n", F.row_number().over(Window.partitionBy("key").orderBy(F.desc("value"))))
              .where("n = 1"))
    assert "Exchange" not in physical_plan(latest)  # the window reuses the shuffle it is given
    assert sorted(r.value for r in latest.collect()) == list(range(903, 1000))
    assert once.count() == 1000 and once.where("key = 3").count() == 11  # a second and third action


def test_on_glue_the_window_still_reads_the_shuffle_it_is_given(restored_conf: SparkSession,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    spark = restored_conf
    spark.conf.set("spark.sql.adaptive.enabled", "true")  # Glue's own default
    monkeypatch.setattr(job_spark, "on_glue", lambda: True)
    get_spark()

    rows = spark.range(1000).select((F.col("id") % 97).alias("key"), F.col("id").alias("value"))
    once = computed_once(rows.repartition("key"))
    latest = once.withColumn("n", F.row_number().over(Window.partitionBy("key").orderBy("value")))
    assert "Exchange" not in physical_plan(latest)


def test_a_local_session_starts_without_launcher_warnings_and_writes_no_markers(tmp_path: Path) -> None:
    # A fresh JVM: the launcher's warnings only show when a session is first created.
    code = ("import sys; from ecom_pipeline.job.spark import get_spark; "
            "get_spark('local[1]').range(3).write.parquet(sys.argv[1])")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    assert {p.suffix for p in (tmp_path / "out").iterdir()} == {".parquet"}
