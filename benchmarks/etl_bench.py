"""`rayline bench etl`: every ETL engine and plain pyarrow, at several input sizes, in one run.

    rayline bench etl --engines ray,spark,modin,pandas,pyarrow --copies 1,10,30 [--json]

For each size (copies of flights, about 31 MB each, one file per copy unless --files says
otherwise) each engine runs as a fresh `rayline etl --engine E` process, and the baseline
as plain pyarrow in one process (benchmarks/pyarrow_baseline.py), one after the other, each
with its whole process tree's memory sampled. `seconds` is the ETL's own time (starting Ray
or Spark is reported apart as `connect_seconds`). The engines must agree on every count.
`ratio` (and the fields of the first version of this benchmark) is Ray's throughput over
pyarrow's at the largest size. JSON and a PNG chart go to the results folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.results_dir import results_folder
from cluster.errors import ConfigError, PipelineError
from cluster.process_memory import run_measured
from pipelines.etl_compare import run_engine_process
from pipelines.etl_engines import ENGINES, parse_engines
from pipelines.sample_data import fetch_flights_data, scale_flights

BASELINE = "pyarrow"
DISTRIBUTED = ("ray", "spark", "modin")
_CHECKED = ("rows_in", "rows_out", "rows_rejected", "rows_delayed")


@dataclass(frozen=True)
class EtlBenchSettings:
    engines: tuple[str, ...] = (*ENGINES, BASELINE)
    copies: tuple[int, ...] = (1, 10, 30)
    files: int | None = None  # files per size; default one per copy
    data_dir: str = "data"
    results_dir: str = "benchmarks/results"
    num_cpus: int | None = None
    spark_master: str = "local[*]"
    extra_etl_args: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        parse_engines(",".join(self.engines), known=(*ENGINES, BASELINE))
        if not self.copies or min(self.copies) < 1:
            raise ConfigError(f"--copies must be whole numbers of 1 or more, got "
                              f"'{','.join(map(str, self.copies))}'")
        if self.files is not None and self.files < 1:
            raise ConfigError(f"--files must be 1 or more, got {self.files}")


def parse_copies(text: str) -> tuple[int, ...]:
    """Sizes from '1,10,30'; ConfigError on anything else (a size named twice too)."""
    try:
        copies = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as e:
        raise ConfigError(f"--copies takes comma-separated whole numbers, got '{text}'") from e
    if len(set(copies)) != len(copies):
        raise ConfigError(f"--copies: a size is named twice in '{text}'")
    return tuple(sorted(copies))


def run_etl_benchmark(settings: EtlBenchSettings, log: Callable[[str], None] = print) -> dict:
    """Run every engine at every size; returns the result (also written as JSON and PNG)."""
    results_folder(settings.results_dir)  # a bad folder fails now, not after the run
    results = []
    for copies in settings.copies:
        source = _scaled_data(settings, copies, log)
        size = [_run_one(settings, engine, copies, source, log) for engine in settings.engines]
        _check_agreement(size, copies)
        results += size
    result = _summary(settings, results)
    _write_results(settings, result)
    return result


def _scaled_data(settings: EtlBenchSettings, copies: int, log: Callable[[str], None]) -> Path:
    raw = Path(settings.data_dir) / "raw" / "flights.csv"
    if not raw.is_file():
        log(f"writing {raw} ...")
        fetch_flights_data(raw.parent)
    files = settings.files or copies
    out = Path(settings.data_dir) / "scaled" / f"c{copies}-f{files}"
    log(f"scaled data: {out} ({copies} copies over {files} files)")
    scale_flights(raw, copies, files, out)
    return out


def _run_one(settings: EtlBenchSettings, engine: str, copies: int, source: Path,
             log: Callable[[str], None]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rayline-bench-"))
    try:
        if engine == BASELINE:
            entry = _run_baseline(source, work / "out")
        else:
            entry = _run_engine(settings, engine, source, work / "out")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    entry |= {"engine": engine, "copies": copies, "files": settings.files or copies}
    entry["mb_per_s"] = round(entry["input_mb"] / entry["seconds"], 1) if entry["seconds"] else None
    log(f"  {engine:8s} {copies:3d} copies: {entry['seconds']:7.2f} s, peak {entry['peak_rss_mb']:,.0f} MB")
    return entry


def _run_baseline(source: Path, dest: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.pyarrow_baseline", str(source), str(dest)]
    run = run_measured(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if run.returncode != 0:
        raise PipelineError(f"pyarrow baseline failed: {run.stderr.strip()[-2000:]}")
    out = json.loads(run.stdout.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in source.glob("*.csv"))
    return {**{k: out[k] for k in _CHECKED}, "seconds": round(out["seconds"], 3), "connect_seconds": 0.0,
            "wall_seconds": round(run.wall_seconds, 2), "peak_rss_mb": round(run.peak_tree_mb, 1),
            "input_mb": round(size / 1e6, 1)}


def _run_engine(settings: EtlBenchSettings, engine: str, source: Path, dest: Path) -> dict:
    args = ["--spark-master", settings.spark_master, *settings.extra_etl_args]
    if settings.num_cpus:
        args += ["--num-cpus", str(settings.num_cpus)]
    run = run_engine_process(engine, str(source), str(dest), args)
    if run.manifest is None:
        raise PipelineError(f"{engine} failed: {run.error}")
    m = run.manifest
    return {**{k: m[k] for k in _CHECKED}, "seconds": m["seconds"],
            "connect_seconds": m["timings"].get("connect", 0.0), "timings": m["timings"],
            "wall_seconds": round(run.wall_seconds, 2), "peak_rss_mb": round(run.peak_rss_mb, 1),
            "input_mb": round(m["bytes_in"] / 1e6, 1)}


def _check_agreement(entries: list[dict], copies: int) -> None:
    first = entries[0]
    for entry in entries[1:]:
        for key in _CHECKED:
            if entry[key] != first[key]:
                raise PipelineError(f"{copies} copies: engines disagree on {key}: "
                                    f"{first['engine']} {first[key]}, {entry['engine']} {entry[key]}")


def _summary(settings: EtlBenchSettings, results: list[dict]) -> dict:
    by = {(r["engine"], r["copies"]): r for r in results}
    sizes = []
    for copies in settings.copies:
        here = [r for r in results if r["copies"] == copies]
        distributed = [r for r in here if r["engine"] in DISTRIBUTED]
        fastest = min(distributed, key=lambda r: r["seconds"])["engine"] if distributed else None
        row = {"copies": copies, "input_mb": here[0]["input_mb"],
               "fastest": min(here, key=lambda r: r["seconds"])["engine"], "fastest_distributed": fastest}
        if ("ray", copies) in by and (BASELINE, copies) in by:
            base, ray = by[(BASELINE, copies)], by[("ray", copies)]
            row["ray_vs_pyarrow"] = round(base["seconds"] / ray["seconds"], 3)
        sizes.append(row)
    result = {"benchmark": "etl", "engines": list(settings.engines), "copies": list(settings.copies),
              "cpus": os.cpu_count(), "results": results, "sizes": sizes, "settings": asdict(settings)}
    largest = max(settings.copies)
    if ("ray", largest) in by and (BASELINE, largest) in by:
        result |= _first_version_fields(by[("ray", largest)], by[(BASELINE, largest)])
    return result


def _first_version_fields(ray: dict, base: dict) -> dict:
    """The fields the one-engine version of this benchmark reported, for the largest size."""
    return {
        "input_mb": ray["input_mb"], "rows_in": ray["rows_in"], "rows_out": ray["rows_out"],
        "rayline_seconds": ray["seconds"], "baseline_seconds": base["seconds"],
        "ratio": round(base["seconds"] / ray["seconds"], 3),
        "rayline_mb_per_s": ray["mb_per_s"], "baseline_mb_per_s": base["mb_per_s"],
        "rayline_wall_seconds_with_ray_start": ray["wall_seconds"],
        "peak_rss_mb": ray["peak_rss_mb"], "baseline_peak_rss_mb": base["peak_rss_mb"],
        "ray_connect_seconds": ray["connect_seconds"],
        "ratio_with_ray_start": round(base["seconds"] / (ray["seconds"] + ray["connect_seconds"]), 3),
        "rayline_timings": ray["timings"],
    }


def _write_results(settings: EtlBenchSettings, result: dict) -> None:
    out = results_folder(settings.results_dir)
    (out / "etl.json").write_text(json.dumps(result, indent=1))
    _chart(result, out / "etl.png")


def _chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for engine in result["engines"]:
        rows = sorted((r for r in result["results"] if r["engine"] == engine), key=lambda r: r["input_mb"])
        style = "--" if engine == BASELINE else "-"
        left.plot([r["input_mb"] for r in rows], [r["seconds"] for r in rows], style, marker="o",
                  label=engine)
        right.plot([r["input_mb"] for r in rows], [r["peak_rss_mb"] for r in rows], style, marker="o",
                   label=engine)
    left.set(xlabel="input CSV, MB", ylabel="seconds (lower is better)", title="ETL time against input size")
    right.set(xlabel="input CSV, MB", ylabel="peak memory of process tree, MB", title="peak memory")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"flights ETL by engine, {result['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
