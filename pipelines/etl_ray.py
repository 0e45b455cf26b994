"""The flights ETL on Ray Data: CSV (file, folder, glob; local or s3://) to Parquet.

    rayline etl data/raw/flights.csv --out data/processed/flights

Two passes over the chunks: cheap Ray tasks read only carrier/origin/dest to fix the
vocabularies, then a Ray Data read with one task per chunk that parses, validates,
featurises and writes that chunk's Parquet file and rejects, and yields its counts (the
data itself never crosses the object store). Output is staged and moved into DEST only when
every count reconciles; the manifest is written last, so a DEST with a manifest is complete.
`seconds` in the manifest is the ETL's own time; connecting to Ray is timed apart.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from ray.data import Datasource

from cluster.connect import ensure_ray
from cluster.errors import InputError
from pipelines import manifest as mf
from pipelines.csv_chunk import ChunkRef, read_categories
from pipelines.csv_sources import InputPlan, plan_input
from pipelines.etl_chunk import process_chunk
from pipelines.etl_config import EtlSpec
from pipelines.features import (
    Vocabulary,
    build_vocabulary,
    vocabulary_to_json,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EtlReport:
    """The manifest of the run, and whether the run was skipped as up to date."""

    manifest: dict
    skipped: bool = False

    @property
    def rows_in(self) -> int:
        return self.manifest["rows_in"]


def run_etl(source: str, dest: str, spec: EtlSpec | None = None, *, force: bool = False,
            ray_address: str | None = None, num_cpus: int | None = None) -> EtlReport:
    """Run the ETL of `source` into `dest`; Ray is reached (see cluster.connect) only when
    there is work to do, so a bad path or an up-to-date DEST answers at once."""
    spec = spec or EtlSpec()
    started = time.perf_counter()
    plan = plan_input(source, spec.csv, spec.chunk_bytes)
    timings = {"plan": time.perf_counter() - started}
    log.info("%d input files (%.1f MB), %d chunks", len(plan.files), plan.bytes_in / 1e6, len(plan.chunks))
    dest_fs, dest_path = resolve_dest(dest)
    _check_dest(plan, dest, dest_fs, dest_path)
    fp = mf.fingerprint(plan, spec)
    previous = mf.read_json(dest_fs, f"{dest_path}/{mf.MANIFEST}")
    if not force and _up_to_date(previous, fp, dest_fs, dest_path):
        return EtlReport(previous, skipped=True)
    if plan.chunks:
        mark = time.perf_counter()
        ensure_ray(ray_address, num_cpus)
        timings["connect"] = time.perf_counter() - mark
    staging = f"{dest_path}/_staging-{uuid.uuid4().hex[:12]}"
    dest_fs.create_dir(staging, recursive=True)
    try:
        mark = time.perf_counter()
        vocab = scan_vocabulary(plan, spec)
        timings["vocabulary"] = time.perf_counter() - mark
        log.info("vocabularies: %s", ", ".join(f"{len(v)} {k}" for k, v in vocab.items()))
        mark = time.perf_counter()
        stats = _transform(plan, spec, vocab, dest_fs, staging)
        timings["transform"] = time.perf_counter() - mark
        mark = time.perf_counter()
        manifest = _commit(plan, spec, fp, vocab, stats, dest_fs, dest_path, staging, timings, started)
    finally:
        _delete_dir(dest_fs, staging)
    return EtlReport(manifest)


def resolve_dest(dest: str) -> tuple[pafs.FileSystem, str]:
    """Filesystem and path of an output folder (local path or URI)."""
    if "://" in dest:
        return pafs.FileSystem.from_uri(dest)
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(dest))


def _check_dest(plan: InputPlan, dest: str, filesystem: pafs.FileSystem, path: str) -> None:
    """InputError (before Ray starts) for an output folder that cannot or must not be used."""
    if any(os.path.dirname(f.path.rstrip("/")) == path.rstrip("/") for f in plan.files):
        raise InputError(f"--out {dest} is the folder of the input files; choose another folder")
    try:
        if filesystem.get_file_info(path).type == pafs.FileType.File:
            raise InputError(f"--out {dest} is a file, not a folder")
        filesystem.create_dir(path, recursive=True)
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"cannot create the output folder {dest}: {e}") from e


def scan_vocabulary(plan: InputPlan, spec: EtlSpec) -> Vocabulary:
    """Sorted distinct carrier/origin/dest values over all chunks, read in parallel Ray tasks."""
    import ray

    if not plan.chunks:
        return build_vocabulary({})
    task = ray.remote(num_cpus=1)(_categories_task)
    found = ray.get([task.remote(plan.filesystem, c, spec) for c in plan.chunks])
    merged: dict[str, set[str]] = {}
    for part in found:
        for name, values in part.items():
            merged.setdefault(name, set()).update(values)
    return build_vocabulary(merged)


def _categories_task(filesystem: pafs.FileSystem, chunk: ChunkRef, spec: EtlSpec) -> dict[str, set[str]]:
    return read_categories(read_range(filesystem, chunk), chunk, spec.csv)


def read_range(filesystem: pafs.FileSystem, chunk: ChunkRef) -> bytes:
    """The bytes of one chunk."""
    path = pafs.FileSystem.from_uri(chunk.source)[1] if "://" in chunk.source else chunk.source
    with filesystem.open_input_file(path) as f:
        return f.read_at(chunk.end - chunk.start, chunk.start)


def _transform(plan: InputPlan, spec: EtlSpec, vocab: Vocabulary,
               dest_fs: pafs.FileSystem, staging: str) -> list[dict]:
    """Ray Data: one task per chunk parses, featurises and writes its Parquet file and rejects
    into staging; the dataset's rows are the chunks' counts (so they come back in-band)."""
    import ray.data

    for sub in ("data", mf.QUARANTINE):
        dest_fs.create_dir(f"{staging}/{sub}", recursive=True)
    if not plan.chunks:
        return []
    source = _FlightsCsvDatasource(plan, spec, vocab, dest_fs, staging)
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


def _commit(plan: InputPlan, spec: EtlSpec, fp: str, vocab: Vocabulary, stats: list[dict],
            dest_fs: pafs.FileSystem, dest_path: str, staging: str, timings: dict,
            started: float) -> dict:
    """Check the counts, then replace DEST's previous outputs with the staged ones."""
    staged = sorted(i.path for i in dest_fs.get_file_info(pafs.FileSelector(f"{staging}/data"))
                    if i.path.endswith(".parquet"))
    outputs = [{"file": p.rsplit("/", 1)[1], "rows": _parquet_rows(dest_fs, p)} for p in staged]
    _remove_previous_outputs(dest_fs, dest_path)
    for path, out in zip(staged, outputs, strict=True):
        dest_fs.move(path, f"{dest_path}/{out['file']}")
    dest_fs.move(f"{staging}/{mf.QUARANTINE}", f"{dest_path}/{mf.QUARANTINE}")
    mf.write_json(dest_fs, f"{dest_path}/{mf.VOCAB}", vocabulary_to_json(vocab))
    timings["total"] = time.perf_counter() - started
    manifest = mf.build_manifest(plan, spec, stats, engine="ray", dest=dest_path,
                                 input_fingerprint=fp, outputs=outputs, timings=timings)
    manifest["quarantine_files"] = sorted(
        i.base_name for i in dest_fs.get_file_info(pafs.FileSelector(f"{dest_path}/{mf.QUARANTINE}")))
    mf.write_json(dest_fs, f"{dest_path}/{mf.MANIFEST}", manifest)
    return manifest


def _parquet_rows(filesystem: pafs.FileSystem, path: str) -> int:
    with filesystem.open_input_file(path) as f:
        return pq.read_metadata(f).num_rows


def _remove_previous_outputs(filesystem: pafs.FileSystem, dest_path: str) -> None:
    """Delete what an earlier run wrote into DEST (its manifest first); nothing else."""
    for name in (mf.MANIFEST, mf.VOCAB):
        if filesystem.get_file_info(f"{dest_path}/{name}").type == pafs.FileType.File:
            filesystem.delete_file(f"{dest_path}/{name}")
    _delete_dir(filesystem, f"{dest_path}/{mf.QUARANTINE}")
    for info in filesystem.get_file_info(pafs.FileSelector(dest_path)):
        if info.base_name.startswith("part-") and info.base_name.endswith(".parquet"):
            filesystem.delete_file(info.path)


def _delete_dir(filesystem: pafs.FileSystem, path: str) -> None:
    if filesystem.get_file_info(path).type == pafs.FileType.Directory:
        filesystem.delete_dir(path)


def _up_to_date(previous: dict | None, fp: str, filesystem: pafs.FileSystem, dest_path: str) -> bool:
    if not previous or previous.get("input_fingerprint") != fp:
        return False
    files = [f"{dest_path}/{o['file']}" for o in previous.get("outputs", [])]
    return all(filesystem.get_file_info(p).type == pafs.FileType.File for p in files)


def _read_chunk_task(filesystem: pafs.FileSystem, chunk: ChunkRef, spec: EtlSpec, vocab: Vocabulary,
                     dest_fs: pafs.FileSystem, staging: str) -> list[pa.Table]:
    """One Ray Data read task: featurised rows to Parquet, rejects to JSON lines, counts out."""
    result = process_chunk(read_range(filesystem, chunk), chunk, spec, vocab)
    name = f"part-{chunk.chunk_index:05d}"
    if result.table.num_rows:
        pq.write_table(result.table, f"{staging}/data/{name}.parquet", filesystem=dest_fs)
    if result.rejects:
        lines = "".join(json.dumps(r.to_json()) + "\n" for r in result.rejects)
        with dest_fs.open_output_stream(f"{staging}/{mf.QUARANTINE}/{name}.jsonl") as f:
            f.write(lines.encode())
    return [pa.Table.from_pylist([result.stats], schema=_STATS_SCHEMA)]


_STATS_SCHEMA = pa.schema([("source", pa.string()), ("file_index", pa.int64()), ("chunk_index", pa.int64()),
                           ("bytes", pa.int64()), ("rows_in", pa.int64()), ("rows_out", pa.int64()),
                           ("rows_filtered", pa.int64()), ("rows_rejected", pa.int64()),
                           ("rows_delayed", pa.int64())])


class _FlightsCsvDatasource(Datasource):
    """A Ray Data datasource: one read task per planned chunk, each yielding that chunk's counts."""

    def __init__(self, plan: InputPlan, spec: EtlSpec, vocab: Vocabulary,
                 dest_fs: pafs.FileSystem, staging: str):
        super().__init__()
        self._plan, self._spec, self._vocab = plan, spec, vocab
        self._dest_fs, self._staging = dest_fs, staging

    def get_name(self) -> str:
        return "FlightsCsv"

    def estimate_inmemory_data_size(self) -> int:
        return 200 * len(self._plan.chunks)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context=None) -> list:
        from ray.data.block import BlockMetadata
        from ray.data.datasource import ReadTask

        tasks = []
        for chunk in self._plan.chunks:
            read = functools.partial(_read_chunk_task, self._plan.filesystem, chunk, self._spec,
                                     self._vocab, self._dest_fs, self._staging)
            meta = BlockMetadata(num_rows=1, size_bytes=200, input_files=[chunk.source], exec_stats=None)
            tasks.append(ReadTask(read, meta, schema=_STATS_SCHEMA))
        return tasks
