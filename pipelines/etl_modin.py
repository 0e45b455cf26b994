"""The flights ETL on Modin, on the same Ray cluster as everything else.

    rayline etl data/raw/flights.csv --out data/processed/flights-modin --engine modin

Modin's model: the whole table lives in memory as one distributed DataFrame whose row
partitions are pandas frames in Ray's object store. Ray tasks read the planned chunks with
pandas' reader (as Modin's own read_csv does) and apply the shared rules; the checked
partitions become one Modin DataFrame, the vocabularies are Modin operations on it, and the
shared features are mapped over its partitions, each writing its chunk's outputs.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.fs as pafs

from cluster.connect import ensure_ray
from cluster.errors import PipelineError
from pipelines.csv_chunk import ChunkRef, Reject
from pipelines.csv_pandas import parse_chunk_pandas
from pipelines.csv_sources import InputPlan
from pipelines.etl_chunk import ChunkResult, featurise_chunk
from pipelines.etl_config import EtlSpec
from pipelines.etl_output import check_chunk_at, write_chunk
from pipelines.etl_run import ChunkRun, EtlReport, run_with_engine
from pipelines.features import CATEGORICAL, Vocabulary, build_vocabulary
from pipelines.flights_schema import FLIGHTS_COLUMNS

_ARROW_SCHEMA = pa.schema([(c.name, c.type) for c in FLIGHTS_COLUMNS])


def run_etl(source: str, dest: str, spec: EtlSpec | None = None, *, force: bool = False,
            ray_address: str | None = None, num_cpus: int | None = None) -> EtlReport:
    """Run the ETL of `source` into `dest` with Modin on Ray."""
    return run_with_engine(ModinEngine(ray_address, num_cpus), source, dest, spec, force=force)


class ModinEngine:
    """One Modin DataFrame over every chunk; rules and features mapped over its partitions."""

    name = "modin"

    def __init__(self, ray_address: str | None = None, num_cpus: int | None = None):
        self._address, self._num_cpus = ray_address, num_cpus

    def start(self) -> None:
        import modin.config

        ensure_ray(self._address, self._num_cpus)
        modin.config.Engine.put("ray")  # Modin finds the Ray that ensure_ray started or joined

    def run_chunks(self, plan: InputPlan, spec: EtlSpec, dest_fs: pafs.FileSystem, staging: str) -> ChunkRun:
        import ray
        from modin.distributed.dataframe.pandas import from_partitions, unwrap_partitions

        mark = time.perf_counter()
        read = ray.remote(num_returns=2)(_read_partition)
        pairs = [read.remote(plan.filesystem, chunk, spec) for chunk in plan.chunks]
        frame = from_partitions([frame_ref for frame_ref, _ in pairs], axis=0)
        vocab = modin_vocabulary(frame)
        timings = {"read": time.perf_counter() - mark}
        mark = time.perf_counter()
        partitions = unwrap_partitions(frame, axis=0)
        if len(partitions) != len(plan.chunks):
            raise PipelineError(f"Modin holds {len(partitions)} partitions for {len(plan.chunks)} chunks")
        finish = ray.remote(_finish_partition)
        stats = ray.get([finish.remote(part, side, chunk, spec, vocab, dest_fs, staging)
                         for part, (_, side), chunk in zip(partitions, pairs, plan.chunks, strict=True)])
        timings["transform"] = time.perf_counter() - mark
        return ChunkRun(vocab, stats, timings)


def modin_vocabulary(frame) -> Vocabulary:
    """Distinct values of the categorical columns, computed by Modin across the partitions."""
    return build_vocabulary({name: {v for v in frame[name].dropna().unique() if isinstance(v, str)}
                             for name in CATEGORICAL})


def _read_partition(filesystem: pafs.FileSystem, chunk: ChunkRef, spec: EtlSpec):
    """A checked chunk as a pandas frame (Arrow-backed columns), plus its rejects and counts."""
    import pandas as pd

    checked = check_chunk_at(filesystem, chunk, spec, parse_chunk_pandas)
    return checked.table.to_pandas(types_mapper=pd.ArrowDtype), (checked.rejects, checked.stats)


def _finish_partition(frame, side: tuple[list[Reject], dict], chunk: ChunkRef, spec: EtlSpec,
                      vocab: Vocabulary, dest_fs: pafs.FileSystem, staging: str) -> dict:
    """The shared features on one partition; its outputs written, its counts back."""
    table = pa.Table.from_pandas(frame, preserve_index=False).cast(_ARROW_SCHEMA)
    rejects, stats = side
    expected = stats["rows_in"] - stats["rows_filtered"] - stats["rows_rejected"]
    if expected != table.num_rows:
        raise PipelineError(f"{chunk.source}: a Modin partition has {table.num_rows} rows, "
                            f"its chunk {expected}")
    checked = ChunkResult(table, rejects, stats)
    return write_chunk(featurise_chunk(checked, vocab, spec), chunk, dest_fs, staging)
