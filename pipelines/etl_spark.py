"""The flights ETL on PySpark: `local[*]` by default, any Spark master with --spark-master.

    rayline etl data/raw/flights.csv --out data/processed/flights-spark --engine spark

Spark runs the planned chunks as tasks of a DataFrame with one partition per chunk
(`spark.range(n, numPartitions=n)`), the Python work in Arrow batches (`mapInArrow`):
one job reads each chunk's categorical values and Spark's own `distinct` (a shuffle) makes
the vocabularies; a second job parses (pyarrow), applies the shared rules and features and
writes each chunk's outputs, returning its counts. Spark's JVM CSV reader is not used: it
cannot say on which line a bad record was, and the contract quarantines records by line.
Executors must be able to import rayline and read the input and output paths.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import pyarrow as pa
import pyarrow.fs as pafs

from cluster.errors import ConfigError, PipelineError
from pipelines.csv_sources import InputPlan
from pipelines.etl_chunk import process_chunk
from pipelines.etl_config import EtlSpec
from pipelines.etl_output import STATS_SCHEMA, categories_of_chunk, read_range, write_chunk
from pipelines.etl_run import ChunkRun, EtlReport, run_with_engine
from pipelines.features import build_vocabulary
from pipelines.spark_master import check_spark_master

DEFAULT_MASTER = "local[*]"
_CATEGORY_SCHEMA = "column string, value string"
_STATS_DDL = ", ".join(f"{f.name} {'string' if f.type == pa.string() else 'bigint'}" for f in STATS_SCHEMA)


def run_etl(source: str, dest: str, spec: EtlSpec | None = None, *, force: bool = False,
            master: str = DEFAULT_MASTER) -> EtlReport:
    """Run the ETL of `source` into `dest` on Spark."""
    return run_with_engine(SparkEngine(master), source, dest, spec, force=force)


def spark_session(master: str = DEFAULT_MASTER):
    """A Spark session on `master` (an existing one is reused); its UI and driver stay on 127.0.0.1."""
    check_spark_master(master)
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise ConfigError("the spark engine needs Java 17 or later: install it or set JAVA_HOME")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName("rayline-etl")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.python.worker.reuse", "true"))
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        raise ConfigError(f"--spark-master {master}: this process already runs Spark on "
                          f"{active.sparkContext.master}; one process holds one Spark context")
    try:
        session = builder.getOrCreate()
    except (PySparkException, OSError, ValueError) as e:
        raise ConfigError(f"--spark-master {master}: Spark did not start: {str(e).splitlines()[0]}") from e
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine:
    """Chunks as Spark tasks over one partition each."""

    name = "spark"

    def __init__(self, master: str = DEFAULT_MASTER):
        self._master = master
        self._session = None

    def start(self) -> None:
        self._session = spark_session(self._master)

    def run_chunks(self, plan: InputPlan, spec: EtlSpec, dest_fs: pafs.FileSystem, staging: str) -> ChunkRun:
        chunks, filesystem, n = plan.chunks, plan.filesystem, len(plan.chunks)

        def categories(batches):
            for batch in batches:
                for index in batch.column("id").to_pylist():
                    found = categories_of_chunk(filesystem, chunks[index], spec)
                    rows = [(name, v) for name, values in found.items() for v in sorted(values)]
                    yield pa.RecordBatch.from_pylist([{"column": c, "value": v} for c, v in rows],
                                                     schema=pa.schema([("column", pa.string()),
                                                                       ("value", pa.string())]))

        def transform(batches):
            for batch in batches:
                for index in batch.column("id").to_pylist():
                    chunk = chunks[index]
                    result = process_chunk(read_range(filesystem, chunk), chunk, spec, vocab)
                    yield pa.RecordBatch.from_pylist([write_chunk(result, chunk, dest_fs, staging)],
                                                     schema=STATS_SCHEMA)

        mark = time.perf_counter()
        rows = self._collect(self._chunk_frame(n).mapInArrow(categories, _CATEGORY_SCHEMA).distinct())
        values: dict[str, set[str]] = {}
        for row in rows:
            values.setdefault(row["column"], set()).add(row["value"])
        vocab = build_vocabulary(values)
        timings = {"vocabulary": time.perf_counter() - mark}
        mark = time.perf_counter()
        counted = self._collect(self._chunk_frame(n).mapInArrow(transform, _STATS_DDL))
        stats = [row.asDict() for row in counted]
        timings["transform"] = time.perf_counter() - mark
        return ChunkRun(vocab, sorted(stats, key=lambda s: s["chunk_index"]), timings)

    def _chunk_frame(self, n: int):
        """A DataFrame of chunk indexes 0..n-1, one per partition, so each chunk is one Spark task."""
        return self._session.range(0, n, 1, numPartitions=n)

    @staticmethod
    def _collect(frame) -> list:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            return frame.collect()
        except (Py4JJavaError, PySparkException) as e:
            raise PipelineError(f"a Spark task failed: {_python_error(str(e))}") from e


def _python_error(text: str) -> str:
    """The Python exception line of a Spark task failure (the rest is JVM stack)."""
    lines = [line.strip() for line in text.splitlines()]
    python = [line for line in lines if line and ("Error:" in line or "Exception:" in line)
              and not line.startswith(("at ", "org.apache", "py4j"))]
    return python[-1] if python else (lines[0] if lines else "unknown error")
