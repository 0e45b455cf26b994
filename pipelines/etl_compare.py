"""`rayline compare`: the same ETL on several engines, and a check that they agree.

    rayline compare --engines ray,spark,modin,pandas data/raw/flights.csv

Each engine runs as its own `rayline etl --engine E` process (so its peak memory, process
tree included, is its own) on the same input and settings. The engines agree when their
manifests are identical apart from engine-specific fields (engine, dest, times), their
quarantined records are identical, and the per-carrier mean `arr_delay` and delayed rate
of their outputs are equal to within 1e-9.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cluster.process_memory import run_measured

ENGINE_SPECIFIC = ("engine", "dest", "seconds", "mb_per_s", "timings", "created_at")
TOLERANCE = 1e-9


@dataclass(frozen=True)
class EngineRun:
    """One engine's run: its manifest (None when it failed) and what it cost."""

    engine: str
    dest: str
    manifest: dict | None
    wall_seconds: float
    peak_rss_mb: float
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        return self.manifest["seconds"] if self.manifest else None


def run_engine_process(engine: str, source: str, dest: str, etl_args: list[str]) -> EngineRun:
    """`rayline etl SOURCE --out DEST --engine ENGINE --force --json` in a measured subprocess."""
    cmd = [sys.executable, "-m", "rayline.cli", "etl", source, "--out", dest, "--engine", engine,
           "--force", "--json", *etl_args]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    run = run_measured(cmd, env=env)
    manifest, error = None, None
    if run.returncode in (0, 3):  # 3: ran, but the input held no data rows
        manifest = json.loads(run.stdout[run.stdout.index("{"):])
    else:
        lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        error = (errors or lines or ["no output"])[-1]
    return EngineRun(engine, dest, manifest, run.wall_seconds, run.peak_tree_mb, error)


def compare_engines(engines: tuple[str, ...], source: str, out_dir: str, etl_args: list[str],
                    log: Callable[[str], None] = lambda _m: None) -> tuple[list[EngineRun], list[str]]:
    """Run each engine in turn; returns the runs and the differences (empty when they agree)."""
    runs = []
    for engine in engines:
        log(f"{engine}: running ...")
        runs.append(run_engine_process(engine, source, str(Path(out_dir) / engine), etl_args))
    return runs, find_differences(runs)


def find_differences(runs: list[EngineRun]) -> list[str]:
    """What differs between each engine and the first: failures, manifests, rejects, aggregates."""
    failed = [f"{r.engine} failed: {r.error}" for r in runs if r.manifest is None]
    done = [r for r in runs if r.manifest is not None]
    if failed or len(done) < 2:
        return failed
    first, facts = done[0], {r.engine: _facts(r) for r in done}
    differences = []
    for run in done[1:]:
        differences += _diff(facts[first.engine], facts[run.engine], first.engine, run.engine)
    return differences


def comparable_manifest(manifest: dict) -> dict:
    """The manifest without what may differ between engines (engine name, output folder, times)."""
    return {k: v for k, v in manifest.items() if k not in ENGINE_SPECIFIC}


def carrier_aggregates(dest: str) -> dict[str, tuple[float, float, int]]:
    """Per carrier: mean arr_delay, delayed rate and rows, over an ETL output folder."""
    files = sorted(str(p) for p in Path(dest).glob("part-*.parquet"))
    if not files:
        return {}
    table = pa.concat_tables(pq.read_table(f, columns=["carrier", "arr_delay", "delayed"]) for f in files)
    table = table.append_column("delayed_f", pc.cast(table.column("delayed"), pa.float64()))
    grouped = table.group_by("carrier").aggregate([("arr_delay", "mean"), ("delayed_f", "mean"),
                                                   ("carrier", "count")])
    return {row["carrier"]: (row["arr_delay_mean"], row["delayed_f_mean"], row["carrier_count"])
            for row in grouped.to_pylist()}


def quarantine_records(dest: str) -> list[dict]:
    """Every quarantined record of an ETL output folder, in file and line order."""
    records = []
    for path in sorted(Path(dest, "_quarantine").glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def _facts(run: EngineRun) -> dict:
    return {"manifest": _flatten(comparable_manifest(run.manifest)),
            "aggregates": carrier_aggregates(run.dest), "quarantine": quarantine_records(run.dest)}


def _diff(a: dict, b: dict, name_a: str, name_b: str) -> list[str]:
    out = [f"manifest {key}: {name_a} {a['manifest'].get(key)!r}, {name_b} {b['manifest'].get(key)!r}"
           for key in sorted(set(a["manifest"]) | set(b["manifest"]))
           if a["manifest"].get(key) != b["manifest"].get(key)]
    for carrier in sorted(set(a["aggregates"]) | set(b["aggregates"])):
        left, right = a["aggregates"].get(carrier), b["aggregates"].get(carrier)
        if left is None or right is None or not _close(left, right):
            out.append(f"carrier {carrier} (mean arr_delay, delayed rate, rows): "
                       f"{name_a} {left}, {name_b} {right}")
    qa, qb = a["quarantine"], b["quarantine"]
    if qa != qb:
        pairs = enumerate(zip(qa, qb, strict=False))
        where = next((i for i, (x, y) in pairs if x != y), min(len(qa), len(qb)))
        out.append(f"quarantine: {name_a} {len(qa)} records, {name_b} {len(qb)}; first difference at "
                   f"record {where}: {name_a} {qa[where] if where < len(qa) else None}, "
                   f"{name_b} {qb[where] if where < len(qb) else None}")
    return out


def _close(left: tuple, right: tuple) -> bool:
    if left[2] != right[2]:
        return False
    return all((x is None and y is None) or (x is not None and y is not None and abs(x - y) <= TOLERANCE)
               for x, y in zip(left[:2], right[:2], strict=True))


def _flatten(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        items = {}
        for key, inner in value.items():
            items.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(value, list):
        items = {}
        for i, inner in enumerate(value):
            items.update(_flatten(inner, f"{prefix}[{i}]"))
        return items or {prefix: []}
    return {prefix: value}
