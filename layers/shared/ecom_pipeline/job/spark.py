"""The SparkSession the job runs in: Glue's own on AWS, a tuned `local[*]` one on a laptop."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession

# Settings that matter for a small cluster or a laptop; on Glue the service owns the session config.
LOCAL_CONF: dict[str, str] = {
    # No adaptive execution: the broadcasts are explicit and a few even-sized shuffle partitions keep both
    # cores busy (AQE's coalescing merged them into an odd count that left one core idle), so re-planning
    # after every stage only cost a Spark job per shuffle (10 -> 8 jobs per run, a little faster cold).
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.autoBroadcastJoinThreshold": str(64 * 1024 * 1024),
    # No _SUCCESS markers: the staged directory holds only Parquet part files.
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # The raw local filesystem writes no `.x.crc` sidecars, which would otherwise follow every reject
    # file into the user's rejects folder (S3 on Glue has none either).
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    # Shuffle files stay on the local disk: compressing them costs more CPU than the I/O it saves.
    "spark.shuffle.compress": "false",
    # Local mode runs every task in the driver JVM: room for a 1M-row shuffle without GC thrash.
    "spark.driver.memory": "3g",
    "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
}


def on_glue() -> bool:
    """True inside an AWS Glue job run (the `awsglue` library is only there)."""
    return importlib.util.find_spec("awsglue") is not None


def get_spark(master: str = "local[*]", app_name: str = "process_transactions",
              extra_conf: dict[str, str] | None = None) -> SparkSession:
    """Glue's existing session on AWS; elsewhere a local session with `LOCAL_CONF` (+ `extra_conf`)."""
    if on_glue():
        return SparkSession.builder.getOrCreate()
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**LOCAL_CONF, **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def kept_in_executors(frame: DataFrame) -> Iterator[DataFrame]:
    """`frame`, computed by the first action that reads it and kept in the executors for later ones.

    A lazy local checkpoint: the first write computes the rows once (shuffle included) and leaves them
    in the executors' block stores, where the next write reads them instead of recomputing. The blocks
    are released on exit. A block lost with its executor cannot be recomputed: see `lost_checkpoint`.
    """
    kept = frame.localCheckpoint(eager=False)
    try:
        yield kept
    finally:
        plan: Any = kept._jdf.queryExecution().analyzed()  # the LogicalRDD holding the checkpointed RDD
        plan.rdd().unpersist(False)


def lost_checkpoint(error: BaseException) -> bool:
    """True when a Spark action failed because a locally checkpointed block is gone (executor lost)."""
    return "Checkpoint block" in str(error) and "not found" in str(error)
