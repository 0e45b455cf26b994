"""The flights ETL in plain pandas: one process, the whole input in memory, no parallelism.

    rayline etl data/raw/flights.csv --out data/processed/flights-pandas --engine pandas

The way a pandas user writes it: read every chunk (pandas' C reader, see csv_pandas.py),
hold them all, take the vocabularies from what is held, then apply the shared rules and
features chunk by chunk. The reference the distributed engines are compared against.
"""

from __future__ import annotations

import time

import pyarrow.fs as pafs

from pipelines.csv_pandas import parse_chunk_pandas
from pipelines.csv_sources import InputPlan
from pipelines.etl_chunk import finish_chunk
from pipelines.etl_config import EtlSpec
from pipelines.etl_output import read_range, write_chunk
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
        parsed = [parse_chunk_pandas(read_range(plan.filesystem, c), c, spec.csv) for c in plan.chunks]
        vocab = merge_categories([distinct_categories(p.table) for p in parsed])
        timings = {"read": time.perf_counter() - mark}
        mark = time.perf_counter()
        stats = []
        for index, chunk in enumerate(plan.chunks):
            data = read_range(plan.filesystem, chunk)  # again: the page cache has it; raw lines of rejects
            stats.append(write_chunk(finish_chunk(parsed[index], data, chunk, spec, vocab), chunk,
                                     dest_fs, staging))
            parsed[index] = None  # let each chunk's memory go once it is written
        timings["transform"] = time.perf_counter() - mark
        return ChunkRun(vocab, stats, timings)
