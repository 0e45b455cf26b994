"""`rayline bench etl`: rayline's Ray Data ETL against plain pyarrow in one process, same run.

    rayline bench etl --copies 30 [--files 30] [--json]      (or: make bench)

Both run as fresh subprocesses on the same scaled data (made if missing), one after the
other, each with its whole process tree's memory sampled. `ratio` is rayline throughput
over baseline throughput (same bytes, so baseline seconds / rayline seconds); rayline's
seconds are the ETL's own, its Ray start-up is reported apart. JSON and a PNG chart go to
the results folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.process_memory import MeasuredRun, run_measured
from cluster.errors import PipelineError
from pipelines.sample_data import fetch_flights_data, scale_flights


@dataclass(frozen=True)
class EtlBenchSettings:
    copies: int = 30
    files: int = 30
    data_dir: str = "data"
    results_dir: str = "benchmarks/results"
    num_cpus: int | None = None


def run_etl_benchmark(settings: EtlBenchSettings, log: Callable[[str], None] = print) -> dict:
    """Run both ETLs once and return the result (also written as JSON and PNG)."""
    source = _scaled_data(settings, log)
    work = Path(tempfile.mkdtemp(prefix="rayline-bench-"))
    try:
        log("baseline: plain pyarrow, one process ...")
        base_cmd = [sys.executable, "-m", "benchmarks.pyarrow_baseline", str(source), str(work / "base")]
        base_run = _run(base_cmd)
        baseline = json.loads(base_run.stdout.strip().splitlines()[-1])
        log(f"baseline: {baseline['seconds']:.1f} s; rayline: Ray Data ...")
        cmd = [sys.executable, "-m", "rayline.cli", "etl", str(source), "--out", str(work / "ray"),
               "--force", "--json"]
        if settings.num_cpus:
            cmd += ["--num-cpus", str(settings.num_cpus)]
        ray_run = _run(cmd)
        manifest = json.loads(ray_run.stdout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = _result(settings, source, baseline, base_run, manifest, ray_run)
    _write_results(settings, result)
    return result


def _scaled_data(settings: EtlBenchSettings, log: Callable[[str], None]) -> Path:
    raw = Path(settings.data_dir) / "raw" / "flights.csv"
    if not raw.is_file():
        log(f"writing {raw} ...")
        fetch_flights_data(raw.parent)
    out = Path(settings.data_dir) / "scaled" / f"c{settings.copies}-f{settings.files}"
    log(f"scaled data: {out} ({settings.copies} copies over {settings.files} files)")
    scale_flights(raw, settings.copies, settings.files, out)
    return out


def _run(cmd: list[str]) -> MeasuredRun:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    run = run_measured(cmd, env=env)
    if run.returncode != 0:
        raise PipelineError(f"benchmark step failed ({' '.join(cmd)}): {run.stderr.strip()[-2000:]}")
    return run


def _result(settings: EtlBenchSettings, source: Path, baseline: dict, base_run: MeasuredRun,
            manifest: dict, ray_run: MeasuredRun) -> dict:
    for key in ("rows_in", "rows_out", "rows_rejected", "rows_delayed"):
        if baseline[key] != manifest[key]:
            raise PipelineError(f"engines disagree on {key}: "
                                f"baseline {baseline[key]}, rayline {manifest[key]}")
    size_mb = manifest["bytes_in"] / 1e6
    ray_seconds, base_seconds = manifest["seconds"], baseline["seconds"]
    connect = manifest["timings"].get("connect", 0.0)
    return {
        "benchmark": "etl", "copies": settings.copies, "files": settings.files, "source": str(source),
        "input_mb": round(size_mb, 1), "rows_in": manifest["rows_in"], "rows_out": manifest["rows_out"],
        "rayline_seconds": round(ray_seconds, 2), "baseline_seconds": round(base_seconds, 2),
        "ratio": round(base_seconds / ray_seconds, 3),
        "rayline_mb_per_s": round(size_mb / ray_seconds, 1),
        "baseline_mb_per_s": round(size_mb / base_seconds, 1),
        "rayline_wall_seconds_with_ray_start": round(ray_run.wall_seconds, 2),
        "peak_rss_mb": round(ray_run.peak_tree_mb, 1),
        "baseline_peak_rss_mb": round(base_run.peak_tree_mb, 1),
        "ray_connect_seconds": connect,
        "ratio_with_ray_start": round(base_seconds / (ray_seconds + connect), 3),
        "rayline_timings": manifest["timings"], "cpus": os.cpu_count(),
        "settings": asdict(settings),
    }


def _write_results(settings: EtlBenchSettings, result: dict) -> None:
    out = Path(settings.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"etl-c{settings.copies}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    _chart(result, stem.with_suffix(".png"))


def _chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    names = ["pyarrow (1 process)", "rayline (Ray Data)"]
    left.bar(names, [result["baseline_mb_per_s"], result["rayline_mb_per_s"]], color=["#999", "#2a7"])
    left.set_ylabel("MB/s (higher is better)")
    left.set_title(f"throughput, ratio {result['ratio']:.2f}")
    right.bar(names, [result["baseline_peak_rss_mb"], result["peak_rss_mb"]], color=["#999", "#2a7"])
    right.set_ylabel("peak memory of process tree, MB")
    right.set_title("peak memory")
    fig.suptitle(f"flights ETL, {result['input_mb']:.0f} MB CSV, {result['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
