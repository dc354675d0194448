"""The SparkSession the job runs in: Glue's own on AWS, a tuned `local[*]` one on a laptop."""

from __future__ import annotations

import importlib.util
from typing import Any

from pyspark.sql import DataFrame, SparkSession

# Settings that matter for a small cluster or a laptop; on Glue the service owns the session config.
LOCAL_CONF: dict[str, str] = {
    # A few even-sized shuffle partitions keep both cores busy.
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.autoBroadcastJoinThreshold": str(64 * 1024 * 1024),
    # The raw local filesystem writes no `.x.crc` sidecars, which would otherwise follow every reject
    # file into the user's rejects folder (S3 on Glue has none either).
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    # Shuffle files stay on the local disk: compressing them costs more CPU than the I/O it saves.
    "spark.shuffle.compress": "false",
    # Local mode runs every task in the driver JVM: room for a 1M-row shuffle without GC thrash.
    "spark.driver.memory": "3g",
    "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
}

# Runtime settings the job's plans and outputs rely on, set on Glue's session too.
JOB_SQL_CONF: dict[str, str] = {
    # No adaptive execution, on Glue too (its default is on): the broadcasts are explicit, the rejects
    # write reads the staging write's shuffle (`computed_once`), which a re-planned query shuffles again,
    # and re-planning after every stage cost a Spark job per shuffle (10 -> 8 jobs per run locally; AQE's
    # coalescing also merged the partitions into an odd count that left one of two cores idle).
    "spark.sql.adaptive.enabled": "false",
    # The collapse keeps row 1 of a window per transaction_id. Spark 3.5 puts a per-group limit before
    # such a window; with ~1% duplicates it filters almost nothing and copies every row once more
    # (paired runs: 4-9% less CPU without it).
    "spark.sql.optimizer.windowGroupLimitThreshold": "-1",
    # No _SUCCESS markers: the staged prefix holds only Parquet part files, which Redshift's COPY loads
    # all of. A session setting reaches the Hadoop configuration of every DataFrame write, Glue's too.
    "mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
}


def on_glue() -> bool:
    """True inside an AWS Glue job run (the `awsglue` library is only there)."""
    return importlib.util.find_spec("awsglue") is not None


def get_spark(master: str = "local[*]", app_name: str = "process_transactions",
              extra_conf: dict[str, str] | None = None) -> SparkSession:
    """Glue's existing session on AWS; elsewhere a local session with `LOCAL_CONF` (+ `extra_conf`).

    Both get `JOB_SQL_CONF` as runtime settings of the session: given to the builder, the launcher would
    print "Warning: Ignoring non-Spark config property" for the Hadoop one on every local start.
    """
    if on_glue():
        spark = SparkSession.builder.getOrCreate()
    else:
        builder = SparkSession.builder.master(master).appName(app_name)
        for key, value in {**LOCAL_CONF, **(extra_conf or {})}.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
    for key, value in JOB_SQL_CONF.items():
        spark.conf.set(key, value)
    return spark


def computed_once(frame: DataFrame) -> DataFrame:
    """`frame` as a DataFrame over the RDD of its own physical plan, partitioning kept.

    Every action over the result runs that one RDD: a shuffle in it is computed by the first action,
    and later actions read its files again (Spark skips a map stage whose output exists). Nothing is
    copied or stored beyond the shuffle files Spark writes anyway (a checkpoint copied every row into
    the block store), and a lost shuffle file is recomputed from the lineage like in any Spark job.
    The plan's partitioning is declared on the result, so a window by the same key adds no shuffle.
    Spark builds its checkpoints' plans the same way (`LogicalRDD.fromDataset`), minus the copy.
    """
    jvm: Any = frame.sparkSession._jvm  # py4j: the public API has no checkpoint-free form of this
    jdf = frame._jdf
    logical_rdd = getattr(getattr(jvm.org.apache.spark.sql.execution, "LogicalRDD$"), "MODULE$")
    plan = logical_rdd.fromDataset(jdf.queryExecution().toRdd(), jdf, False)
    return DataFrame(jvm.org.apache.spark.sql.Dataset.ofRows(jdf.sparkSession(), plan), frame.sparkSession)
