"""The flights ETL in plain pandas: one process, the whole input in memory, no parallelism.

    rayline etl data/raw/flights.csv --out data/processed/flights-pandas --engine pandas

The way a pandas user writes it: read and check every chunk (pandas' C reader, see csv_pandas.py;
the shared rules), hold them all, take the vocabularies from what is held, then add the
shared features chunk by chunk. The reference the distributed engines are compared against.
"""

from __future__ import annotations

import time

import pyarrow.fs as pafs

from pipelines.csv_pandas import parse_chunk_pandas
from pipelines.csv_sources import InputPlan
from pipelines.etl_chunk import featurise_chunk
from pipelines.etl_config import EtlSpec
from pipelines.etl_output import check_chunk_at, write_chunk
from pipelines.etl_run import ChunkRun, EtlReport, merge_categories, run_with_engine
from pipelines.features import distinct_categories


def run_etl(source: str, dest: str, spec: EtlSpec | None = None, *, force: bool = False) -> EtlReport:
    """Run the ETL of `source` into `dest` with pandas in this process."""
    return run_with_engine(PandasEngine(), source, dest, spec, force=force)


class PandasEngine:
    """Every chunk in turn, in this process."""

    name = "pandas"

    def start(self) -> None:
        import pandas  # noqa: F401  (fail here, before any work, if pandas is missing)

    def run_chunks(self, plan: InputPlan, spec: EtlSpec, dest_fs: pafs.FileSystem, staging: str) -> ChunkRun:
        mark = time.perf_counter()
        checked = [check_chunk_at(plan.filesystem, c, spec, parse_chunk_pandas) for c in plan.chunks]
        vocab = merge_categories([distinct_categories(c.table) for c in checked])
        timings = {"read": time.perf_counter() - mark}
        mark = time.perf_counter()
        stats = []
        for index, chunk in enumerate(plan.chunks):
            stats.append(write_chunk(featurise_chunk(checked[index], vocab, spec), chunk, dest_fs, staging))
            checked[index] = None  # let each chunk's memory go once it is written
        timings["transform"] = time.perf_counter() - mark
        return ChunkRun(vocab, stats, timings)
