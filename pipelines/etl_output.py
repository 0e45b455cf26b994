"""Where every ETL engine writes: the staging folder, each chunk's outputs, and the commit.

Each chunk writes `part-<chunk>.parquet` and `_quarantine/part-<chunk>.jsonl` into a staging
folder and yields its counts; the commit checks that the counts reconcile, moves the files
into DEST and writes the manifest last, so a DEST with a manifest is complete. The same chunk
plan gives the same files, whichever engine ran the chunks.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from cluster.errors import InputError
from pipelines import manifest as mf
from pipelines.csv_chunk import ChunkRef, CsvOptions, ParsedChunk, parse_chunk
from pipelines.csv_sources import InputPlan
from pipelines.etl_chunk import ChunkResult, check_chunk
from pipelines.etl_config import EtlSpec
from pipelines.features import Vocabulary, distinct_categories, vocabulary_to_json

STATS_SCHEMA = pa.schema([("source", pa.string()), ("file_index", pa.int64()), ("chunk_index", pa.int64()),
                          ("bytes", pa.int64()), ("rows_in", pa.int64()), ("rows_out", pa.int64()),
                          ("rows_filtered", pa.int64()), ("rows_rejected", pa.int64()),
                          ("rows_delayed", pa.int64())])


def resolve_dest(dest: str) -> tuple[pafs.FileSystem, str]:
    """Filesystem and path of an output folder (local path or URI)."""
    if "://" in dest:
        try:
            return pafs.FileSystem.from_uri(dest)
        except (OSError, pa.ArrowException) as e:
            raise InputError(f"cannot use the output folder {dest}: {str(e).splitlines()[0]}") from e
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(dest))


def check_dest(plan: InputPlan, dest: str, filesystem: pafs.FileSystem, path: str) -> None:
    """InputError (before any engine starts) for an output folder that cannot or must not be used."""
    if any(os.path.dirname(f.path.rstrip("/")) == path.rstrip("/") for f in plan.files):
        raise InputError(f"--out {dest} is the folder of the input files; choose another folder")
    try:
        if filesystem.get_file_info(path).type == pafs.FileType.File:
            raise InputError(f"--out {dest} is a file, not a folder")
        filesystem.create_dir(path, recursive=True)
        foreign = [i.base_name for i in filesystem.get_file_info(pafs.FileSelector(path))
                   if i.base_name.startswith("part-") and i.base_name.endswith(".parquet")]
        if foreign and filesystem.get_file_info(f"{path}/{mf.MANIFEST}").type != pafs.FileType.File:
            raise InputError(f"--out {dest} holds Parquet files no rayline ETL wrote ({foreign[0]}, no "
                             f"{mf.MANIFEST}); an ETL replaces its part-*.parquet: choose another folder")
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"cannot create the output folder {dest}: {e}") from e


def up_to_date(previous: dict | None, fp: str, filesystem: pafs.FileSystem, dest_path: str) -> bool:
    """Whether DEST holds a complete earlier run of the same input and settings."""
    if not previous or previous.get("input_fingerprint") != fp:
        return False
    files = [f"{dest_path}/{o['file']}" for o in previous.get("outputs", [])]
    return all(filesystem.get_file_info(p).type == pafs.FileType.File for p in files)


def make_staging(filesystem: pafs.FileSystem, staging: str) -> None:
    for sub in ("data", mf.QUARANTINE):
        filesystem.create_dir(f"{staging}/{sub}", recursive=True)


def read_range(filesystem: pafs.FileSystem, chunk: ChunkRef) -> bytes:
    """The bytes of one chunk."""
    path = pafs.FileSystem.from_uri(chunk.source)[1] if "://" in chunk.source else chunk.source
    with filesystem.open_input_file(path) as f:
        return f.read_at(chunk.end - chunk.start, chunk.start)


def check_chunk_at(filesystem: pafs.FileSystem, chunk: ChunkRef, spec: EtlSpec,
                   parse: Callable[[bytes, ChunkRef, CsvOptions], ParsedChunk] = parse_chunk) -> ChunkResult:
    """Read, parse (pyarrow by default), validate and filter one chunk: its rows still lack features."""
    data = read_range(filesystem, chunk)
    return check_chunk(parse(data, chunk, spec.csv), data, chunk, spec)


def categories_of_chunk(filesystem: pafs.FileSystem, chunk: ChunkRef, spec: EtlSpec) -> dict[str, set[str]]:
    """The distinct carrier/origin/dest values of the rows of one chunk that will be written.

    The vocabularies hold exactly the values of the output rows, whichever engine ran."""
    return distinct_categories(check_chunk_at(filesystem, chunk, spec).table)


def check_chunk_and_categories(filesystem: pafs.FileSystem, chunk: ChunkRef,
                               spec: EtlSpec) -> tuple[ChunkResult, dict[str, set[str]]]:
    """One chunk read, parsed and checked, with the categories of its rows: as a Ray task it
    needs no Ray Data in the worker (pipelines/etl_ray.py's first pass)."""
    checked = check_chunk_at(filesystem, chunk, spec)
    return checked, distinct_categories(checked.table)


def write_chunk(result: ChunkResult, chunk: ChunkRef, dest_fs: pafs.FileSystem, staging: str) -> dict:
    """Write a chunk's rows (Parquet) and rejects (JSON lines) into staging; returns its counts."""
    name = f"part-{chunk.chunk_index:05d}"
    if result.table.num_rows:
        pq.write_table(result.table, f"{staging}/data/{name}.parquet", filesystem=dest_fs)
    if result.rejects:
        lines = "".join(json.dumps(r.to_json()) + "\n" for r in result.rejects)
        with dest_fs.open_output_stream(f"{staging}/{mf.QUARANTINE}/{name}.jsonl") as f:
            f.write(lines.encode())
    return result.stats


def commit(plan: InputPlan, spec: EtlSpec, fp: str, vocab: Vocabulary, stats: list[dict], *, engine: str,
           dest_fs: pafs.FileSystem, dest_path: str, staging: str, timings: dict, started: float) -> dict:
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
    manifest = mf.build_manifest(plan, spec, stats, engine=engine, dest=dest_path,
                                 input_fingerprint=fp, outputs=outputs, timings=timings)
    manifest["quarantine_files"] = sorted(
        i.base_name for i in dest_fs.get_file_info(pafs.FileSelector(f"{dest_path}/{mf.QUARANTINE}")))
    mf.write_json(dest_fs, f"{dest_path}/{mf.MANIFEST}", manifest)
    return manifest


def delete_dir(filesystem: pafs.FileSystem, path: str) -> None:
    if filesystem.get_file_info(path).type == pafs.FileType.Directory:
        filesystem.delete_dir(path)


def _parquet_rows(filesystem: pafs.FileSystem, path: str) -> int:
    with filesystem.open_input_file(path) as f:
        return pq.read_metadata(f).num_rows


def _remove_previous_outputs(filesystem: pafs.FileSystem, dest_path: str) -> None:
    """Delete what an earlier run wrote into DEST (its manifest first); nothing else."""
    for name in (mf.MANIFEST, mf.VOCAB):
        if filesystem.get_file_info(f"{dest_path}/{name}").type == pafs.FileType.File:
            filesystem.delete_file(f"{dest_path}/{name}")
    delete_dir(filesystem, f"{dest_path}/{mf.QUARANTINE}")
    for info in filesystem.get_file_info(pafs.FileSelector(dest_path)):
        if info.base_name.startswith("part-") and info.base_name.endswith(".parquet"):
            filesystem.delete_file(info.path)
