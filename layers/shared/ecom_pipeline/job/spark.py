"""The SparkSession the job runs in: Glue's own on AWS, a tuned `local[*]` one on a laptop."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

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
    # No adaptive execution, on Glue too (its default is on): the broadcasts are explicit; the job's one
    # shuffle is read by partition number (`shuffled_apart`), which AQE's coalescing would renumber; and
    # re-planning after every stage cost a Spark job per shuffle (10 -> 8 jobs per run locally; the
    # coalescing also merged the partitions into an odd count that left one of two cores idle).
    "spark.sql.adaptive.enabled": "false",
    # The collapse keeps row 1 of a window per transaction_id. Spark 3.5 puts a per-group limit before
    # such a window; with ~1% duplicates it filters almost nothing and copies every row once more
    # (paired runs: 4-9% less CPU without it).
    "spark.sql.optimizer.windowGroupLimitThreshold": "-1",
    # No _SUCCESS markers: the staged prefix holds only Parquet part files, which Redshift's COPY loads
    # all of. A session setting reaches the Hadoop configuration of every DataFrame write, Glue's too.
    "mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # Dates as they are (proleptic Gregorian, as every warehouse reads them): Spark's default refuses
    # to write one before 1582-10-15 and fails the whole run on such a row.
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
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


def shuffled_apart(frame: DataFrame, key: str, apart: Column) -> tuple[DataFrame, DataFrame]:
    """`frame` in one shuffle, as two DataFrames over disjoint partitions of it: the rows where `apart`
    is false hash-partitioned by `key` exactly as `repartition(key)` places them, and the rows where it
    is true in one partition of their own.

    Every action over either DataFrame reads the same shuffle: the first computes it, later ones read
    its files again (Spark skips a map stage whose output exists), and each reads only its own
    partitions, so the few rows set apart are not found by reading all the others again. Nothing is
    copied or stored beyond the shuffle files Spark writes anyway, and a lost shuffle file is recomputed
    from the lineage as in any Spark job. The keyed side declares its partitioning, which is the real
    one, so a window by `key` adds no shuffle; the other declares one partition.

    The public API can neither choose a row's partition nor read part of a shuffle, hence the JVM:
    the shuffle is hash-partitioned by a small integer chosen so that its hash lands each row where it
    belongs (`_landing_values`), and each side is a DataFrame over a pruned view of the shuffle's RDD,
    built as Spark builds a checkpoint's (`LogicalRDD`), minus the copy.
    """
    spark = frame.sparkSession
    jvm: Any = spark._jvm  # py4j: see above
    keyed = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)  # 200: Spark's default
    landing = F.array(*[F.lit(value) for value in _landing_values(keyed + 1)])
    target = F.when(apart, F.lit(keyed)).otherwise(F.pmod(F.hash(key), F.lit(keyed)))
    shuffled = frame.repartition(keyed + 1, F.element_at(landing, target + 1))._jdf
    rdd = shuffled.queryExecution().toRdd()
    physical = jvm.org.apache.spark.sql.catalyst.plans.physical
    by_key = physical.HashPartitioning(_seq(jvm, [shuffled.col(key).expr()]), keyed)
    single = getattr(getattr(physical, "SinglePartition$"), "MODULE$")
    return (_over(frame, shuffled, _pruned(jvm, rdd, range(keyed)), by_key),
            _over(frame, shuffled, _pruned(jvm, rdd, [keyed]), single))


@functools.cache
def _landing_values(partitions: int) -> tuple[int, ...]:
    """For each partition p < `partitions`, an integer that Spark's hash partitioning places in p:
    Spark places a row in pmod(murmur3(value, seed 42), partitions)."""
    found: dict[int, int] = {}
    value = 0
    while len(found) < partitions:
        found.setdefault(murmur3_int(value) % partitions, value)  # Python's % is pmod
        value += 1
    return tuple(found[partition] for partition in range(partitions))


_MASK32 = 0xFFFFFFFF


def murmur3_int(value: int, seed: int = 42) -> int:
    """Spark's hash of an INT value (Murmur3 x86_32, `Murmur3_x86_32.hashInt`), as a signed int.

    Computed here rather than asked of the JVM: a search over 200 partitions (Glue's default) takes
    about 1,200 hashes, each a py4j round trip. tests/integration/test_job_spark.py pins it to Spark's.
    """
    def rotated(x: int, bits: int) -> int:
        return ((x << bits) | (x >> (32 - bits))) & _MASK32

    k1 = rotated((value & _MASK32) * 0xCC9E2D51 & _MASK32, 15) * 0x1B873593 & _MASK32
    h1 = (rotated(seed ^ k1, 13) * 5 + 0xE6546B64) & _MASK32
    h1 ^= 4  # the input's length in bytes
    h1 = ((h1 ^ (h1 >> 16)) * 0x85EBCA6B) & _MASK32
    h1 = ((h1 ^ (h1 >> 13)) * 0xC2B2AE35) & _MASK32
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


def _seq(jvm: Any, items: list[Any]) -> Any:
    return jvm.org.apache.spark.api.python.PythonUtils.toSeq(items)


def _pruned(jvm: Any, rdd: Any, partitions: Iterable[int]) -> Any:
    """The partitions `partitions` of `rdd`, renumbered from 0 in their order."""
    kept = _seq(jvm, list(partitions)).toSet()  # a Scala Set is the Int => Boolean filter asked for
    return jvm.org.apache.spark.rdd.PartitionPruningRDD.create(rdd, kept)


def _over(frame: DataFrame, shuffled: Any, rdd: Any, partitioning: Any) -> DataFrame:
    """A DataFrame with `shuffled`'s columns over `rdd`, declaring `partitioning`."""
    jvm: Any = frame.sparkSession._jvm
    session = shuffled.sparkSession()
    none = getattr(getattr(jvm.scala, "None$"), "MODULE$")
    plan = jvm.org.apache.spark.sql.execution.LogicalRDD(
        shuffled.queryExecution().analyzed().output(), rdd, partitioning, _seq(jvm, []), False,
        session, none, none)
    return DataFrame(jvm.org.apache.spark.sql.Dataset.ofRows(session, plan), frame.sparkSession)
