"""The flights ETL on Ray Data: CSV (file, folder, glob; local or s3://) to Parquet.

    rayline etl data/raw/flights.csv --out data/processed/flights

The vocabularies (carrier, origin, dest codes) must be known before any row gets features,
so the chunks are gone over twice, in one of two ways:
- held (the input fits in a quarter of the object store): Ray tasks read, parse (pyarrow)
  and check each chunk once, returning its categories and leaving its checked rows in the
  object store; then a Ray Data read with one task per chunk featurises those rows and
  writes the chunk's Parquet file and rejects, yielding only its counts;
- streamed (larger inputs): Ray tasks parse and check each chunk for its categories only,
  then the Ray Data tasks parse it again, so no data crosses the object store at all.
Staging, commit and manifest: etl_run.py.
"""

from __future__ import annotations

import functools
import time

import pyarrow as pa
import pyarrow.fs as pafs
from ray.data import Datasource

from cluster.connect import ensure_ray
from pipelines.csv_chunk import ChunkRef
from pipelines.csv_sources import InputPlan
from pipelines.etl_chunk import featurise_chunk, process_chunk
from pipelines.etl_config import EtlSpec
from pipelines.etl_output import (
    STATS_SCHEMA,
    categories_of_chunk,
    check_chunk_and_categories,
    read_range,
    write_chunk,
)
from pipelines.etl_run import ChunkRun, EtlReport, merge_categories, run_with_engine
from pipelines.features import Vocabulary

# Hold the checked rows in the object store when the input is at most this share of it.
HELD_FRACTION = 0.25


def run_etl(source: str, dest: str, spec: EtlSpec | None = None, *, force: bool = False,
            ray_address: str | None = None, num_cpus: int | None = None) -> EtlReport:
    """Run the ETL of `source` into `dest` on Ray Data (Ray is reached as cluster.connect says)."""
    return run_with_engine(RayDataEngine(ray_address, num_cpus), source, dest, spec, force=force)


class RayDataEngine:
    """Chunks as Ray tasks (vocabulary) and Ray Data read tasks (transform)."""

    name = "ray"

    def __init__(self, ray_address: str | None = None, num_cpus: int | None = None):
        self._address, self._num_cpus = ray_address, num_cpus

    def start(self) -> None:
        ensure_ray(self._address, self._num_cpus)
        _start_ray_data_stats_actor()

    def run_chunks(self, plan: InputPlan, spec: EtlSpec, dest_fs: pafs.FileSystem, staging: str) -> ChunkRun:
        import ray

        mark = time.perf_counter()
        held = plan.bytes_in <= HELD_FRACTION * ray.cluster_resources().get("object_store_memory", 0)
        if held:
            check = ray.remote(num_returns=2)(check_chunk_and_categories)
            pairs = [check.remote(plan.filesystem, chunk, spec) for chunk in plan.chunks]
            checked = [checked_ref for checked_ref, _ in pairs]
            vocab = merge_categories(ray.get([categories for _, categories in pairs]))
        else:
            checked, vocab = None, scan_vocabulary(plan, spec)
        timings = {"vocabulary": time.perf_counter() - mark}
        mark = time.perf_counter()
        stats = _transform(plan, spec, vocab, dest_fs, staging, checked)
        del checked  # the held rows can go
        timings["transform"] = time.perf_counter() - mark
        timings["held_in_object_store"] = float(held)
        return ChunkRun(vocab, stats, timings)


def _start_ray_data_stats_actor() -> None:
    """Ask for Ray Data's (detached) stats actor now, without waiting: its process then boots
    while the vocabulary tasks run, instead of holding up the first dataset by ~1.5 s on a
    fresh cluster. Ray Data creates it anyway; a private helper, so any failure is ignored."""
    try:
        from ray.data._internal.stats import get_or_create_stats_actor

        get_or_create_stats_actor()
    except Exception:  # noqa: BLE001  (an optimisation only; Ray Data will create it itself)
        pass


def scan_vocabulary(plan: InputPlan, spec: EtlSpec) -> Vocabulary:
    """Sorted distinct carrier/origin/dest values over all chunks, read in parallel Ray tasks."""
    import ray

    task = ray.remote(num_cpus=1)(categories_of_chunk)
    return merge_categories(ray.get([task.remote(plan.filesystem, c, spec) for c in plan.chunks]))


def _transform(plan: InputPlan, spec: EtlSpec, vocab: Vocabulary, dest_fs: pafs.FileSystem,
               staging: str, checked: list | None) -> list[dict]:
    """Ray Data: one task per chunk parses, featurises and writes its Parquet file and rejects
    into staging; the dataset's rows are the chunks' counts (so they come back in-band)."""
    import ray.data

    source = _FlightsCsvDatasource(plan, spec, vocab, dest_fs, staging, checked)
    context = ray.data.DataContext.get_current()
    reserving = context.op_resource_reservation_enabled
    # One operator only, so nothing to reserve for: with reservation on, Ray 2.60 runs a single
    # task for the first ~10 s while its autoscaling coordinator ramps up (measured: 16 s vs 11 s).
    context.op_resource_reservation_enabled = False
    try:
        dataset = ray.data.read_datasource(source, override_num_blocks=len(plan.chunks))
        return dataset.take_all()
    finally:
        context.op_resource_reservation_enabled = reserving


def _read_chunk_task(filesystem: pafs.FileSystem, chunk: ChunkRef, spec: EtlSpec, vocab: Vocabulary,
                     dest_fs: pafs.FileSystem, staging: str, checked_ref=None) -> list[pa.Table]:
    """One Ray Data read task: featurised rows to Parquet, rejects to JSON lines, counts out."""
    import ray

    if checked_ref is not None:
        result = featurise_chunk(ray.get(checked_ref), vocab, spec)
    else:
        result = process_chunk(read_range(filesystem, chunk), chunk, spec, vocab)
    return [pa.Table.from_pylist([write_chunk(result, chunk, dest_fs, staging)], schema=STATS_SCHEMA)]


class _FlightsCsvDatasource(Datasource):
    """A Ray Data datasource: one read task per planned chunk, each yielding that chunk's counts."""

    def __init__(self, plan: InputPlan, spec: EtlSpec, vocab: Vocabulary,
                 dest_fs: pafs.FileSystem, staging: str, checked: list | None):
        super().__init__()
        self._plan, self._spec, self._vocab = plan, spec, vocab
        self._dest_fs, self._staging, self._checked = dest_fs, staging, checked

    def get_name(self) -> str:
        return "FlightsCsv"

    def estimate_inmemory_data_size(self) -> int:
        return 200 * len(self._plan.chunks)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context=None) -> list:
        from ray.data.block import BlockMetadata
        from ray.data.datasource import ReadTask

        tasks = []
        for index, chunk in enumerate(self._plan.chunks):
            held = self._checked[index] if self._checked else None
            read = functools.partial(_read_chunk_task, self._plan.filesystem, chunk, self._spec,
                                     self._vocab, self._dest_fs, self._staging, held)
            meta = BlockMetadata(num_rows=1, size_bytes=200, input_files=[chunk.source], exec_stats=None)
            tasks.append(ReadTask(read, meta, schema=STATS_SCHEMA))
        return tasks
