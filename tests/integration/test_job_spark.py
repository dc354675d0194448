"""The job's Spark session and plan helpers, on a real local session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ecom_pipeline.job import spark as job_spark
from ecom_pipeline.job.spark import JOB_SQL_CONF, get_spark, murmur3_int, shuffled_apart
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


def _rows(spark: SparkSession) -> DataFrame:
    """1,000 rows under 97 keys; every seventh row is set apart."""
    return spark.range(1000).select((F.col("id") % 97).alias("key"), F.col("id").alias("value"),
                                    (F.col("id") % 7 == 0).alias("apart"))


def _partition_of_each(frame: DataFrame) -> dict[int, int]:
    return {row.value: row.p for row in frame.select("value", F.spark_partition_id().alias("p")).collect()}


def test_shuffled_apart_splits_the_rows_between_its_two_sides(spark: SparkSession) -> None:
    keyed, apart = shuffled_apart(_rows(spark), "key", F.col("apart"))

    assert sorted(r.value for r in keyed.collect()) == [v for v in range(1000) if v % 7]
    assert sorted(r.value for r in apart.collect()) == list(range(0, 1000, 7))
    assert apart.rdd.getNumPartitions() == 1


@pytest.mark.parametrize("partitions", [1, 2, 7, 200])  # 200: Glue's setting
def test_the_keyed_side_is_placed_as_repartition_by_the_key_would_place_it(
        restored_conf: SparkSession, partitions: int) -> None:
    spark = restored_conf
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    rows = _rows(spark)
    keyed, apart = shuffled_apart(rows, "key", F.col("apart"))

    expected = _partition_of_each(rows.where(~F.col("apart")).repartition("key"))
    assert keyed.rdd.getNumPartitions() == partitions and apart.rdd.getNumPartitions() == 1
    assert _partition_of_each(keyed) == expected
    assert len(set(expected.values())) >= min(partitions, 2)  # rows spread out: a real comparison


def test_spark_hashes_an_int_as_the_job_computes_it(spark: SparkSession) -> None:
    values = [0, 1, -1, 42, 97, 2**31 - 1, -(2**31), *range(1000, 1200)]
    hashed = spark.createDataFrame([(v,) for v in values], "v INT").select("v", F.hash("v").alias("h"))

    assert {row.v: row.h for row in hashed.collect()} == {v: murmur3_int(v) for v in values}


def test_a_window_by_the_key_reuses_the_shuffle_on_the_keyed_side(spark: SparkSession) -> None:
    keyed, apart = shuffled_apart(_rows(spark), "key", F.col("apart"))
    latest = (keyed.withColumn("n", F.row_number().over(Window.partitionBy("key").orderBy(F.desc("value"))))
              .where("n = 1"))

    assert "Exchange" not in physical_plan(latest)
    top = {key: max(v for v in range(1000) if v % 97 == key and v % 7) for key in range(97)}
    assert sorted(r.value for r in latest.collect()) == sorted(top.values())
    assert apart.count() == 143 and keyed.where("key = 3").count() == 9  # later actions, same shuffle


def test_on_glue_the_window_still_reads_the_shuffle_it_is_given(restored_conf: SparkSession,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    spark = restored_conf
    spark.conf.set("spark.sql.adaptive.enabled", "true")  # Glue's own default
    monkeypatch.setattr(job_spark, "on_glue", lambda: True)
    get_spark()

    keyed, _ = shuffled_apart(_rows(spark), "key", F.col("apart"))
    latest = keyed.withColumn("n", F.row_number().over(Window.partitionBy("key").orderBy("value")))
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
