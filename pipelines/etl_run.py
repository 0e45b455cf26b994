"""The ETL contract every engine runs under: plan, up-to-date check, staging, commit.

An engine (pipelines/etl_ray.py, etl_spark.py, etl_modin.py, etl_pandas.py) only says how
the planned chunks are executed: it returns the vocabularies and each chunk's counts, having
written each chunk's outputs with `etl_output.write_chunk`. Everything else (the input plan,
the schema and null markers, rules, features, quarantine and manifest) is shared here.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow.fs as pafs

from pipelines import etl_output as out
from pipelines import manifest as mf
from pipelines.csv_sources import InputPlan, plan_input
from pipelines.etl_config import EtlSpec
from pipelines.features import Vocabulary, build_vocabulary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EtlReport:
    """The manifest of the run, and whether the run was skipped as up to date."""

    manifest: dict
    skipped: bool = False

    @property
    def rows_in(self) -> int:
        return self.manifest["rows_in"]


@dataclass
class ChunkRun:
    """What an engine hands back: the vocabularies, each chunk's counts, and its phase timings."""

    vocab: Vocabulary
    stats: list[dict]
    timings: dict[str, float] = field(default_factory=dict)


class ChunkEngine(Protocol):
    """One way of executing the planned chunks."""

    name: str

    def start(self) -> None:
        """Connect to or start the engine (timed apart as `connect`)."""

    def run_chunks(self, plan: InputPlan, spec: EtlSpec, dest_fs: pafs.FileSystem, staging: str) -> ChunkRun:
        """Run every chunk: outputs into staging, counts back."""


def run_with_engine(engine: ChunkEngine, source: str, dest: str, spec: EtlSpec | None = None, *,
                    force: bool = False) -> EtlReport:
    """Run the ETL of `source` into `dest` on `engine`; the engine starts only when there is work,
    so a bad path or an up-to-date DEST answers at once."""
    spec = spec or EtlSpec()
    started = time.perf_counter()
    plan = plan_input(source, spec.csv, spec.chunk_bytes)
    timings = {"plan": time.perf_counter() - started}
    log.info("%d input files (%.1f MB), %d chunks", len(plan.files), plan.bytes_in / 1e6, len(plan.chunks))
    dest_fs, dest_path = out.resolve_dest(dest)
    out.check_dest(plan, dest, dest_fs, dest_path)
    fp = mf.fingerprint(plan, spec)
    previous = mf.read_json(dest_fs, f"{dest_path}/{mf.MANIFEST}")
    if not force and out.up_to_date(previous, fp, dest_fs, dest_path):
        return EtlReport(previous, skipped=True)
    if plan.chunks:
        mark = time.perf_counter()
        engine.start()
        timings["connect"] = time.perf_counter() - mark
    staging = f"{dest_path}/_staging-{uuid.uuid4().hex[:12]}"
    out.make_staging(dest_fs, staging)
    try:
        run = ChunkRun(build_vocabulary({}), [])
        if plan.chunks:
            run = engine.run_chunks(plan, spec, dest_fs, staging)
        timings.update(run.timings)
        log.info("vocabularies: %s", ", ".join(f"{len(v)} {k}" for k, v in run.vocab.items()))
        manifest = out.commit(plan, spec, fp, run.vocab, run.stats, engine=engine.name, dest_fs=dest_fs,
                              dest_path=dest_path, staging=staging, timings=timings, started=started)
    finally:
        out.delete_dir(dest_fs, staging)
    return EtlReport(manifest)


def merge_categories(parts: list[dict[str, set[str]]]) -> Vocabulary:
    """One vocabulary from the distinct values each chunk found."""
    merged: dict[str, set[str]] = {}
    for part in parts:
        for name, values in part.items():
            merged.setdefault(name, set()).update(values)
    return build_vocabulary(merged)
