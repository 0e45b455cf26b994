"""`rayline bench train`: Ray Train samples/s (2 CPU workers) against a plain single-process
PyTorch loop over the same data, model and batch size, measured in the same run.

    rayline bench train [--epochs 2] [--json]

Both use their best epoch (the first carries start-up: worker processes, Ray Data's
pipeline, torch's first calls). `ratio` = Ray Train samples/s / baseline samples/s.
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

from benchmarks.results_dir import results_folder
from cluster.errors import PipelineError
from cluster.process_memory import run_measured
from pipelines.train_config import TrainSpec


@dataclass(frozen=True)
class TrainBenchSettings:
    data: str = "data/processed/flights"
    workers: int = 2
    epochs: int = 2
    batch_size: int = 1024
    results_dir: str = "benchmarks/results"


def run_train_benchmark(settings: TrainBenchSettings, log: Callable[[str], None] = print) -> dict:
    """Run the baseline (a subprocess), then Ray Train; return and save the comparison."""
    results_folder(settings.results_dir)  # a bad folder fails now, not after the run
    from pipelines.train_ray import run_train

    log("baseline: one PyTorch process ...")
    cmd = [sys.executable, "-m", "benchmarks.train_baseline", settings.data,
           "--epochs", str(settings.epochs), "--batch-size", str(settings.batch_size)]
    run = run_measured(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if run.returncode != 0:
        raise PipelineError(f"training baseline failed: {run.stderr.strip()[-2000:]}")
    baseline = json.loads(run.stdout.strip().splitlines()[-1])
    log(f"baseline: {max(baseline['samples_per_s_by_epoch']):,.0f} samples/s; Ray Train ...")
    work = Path(tempfile.mkdtemp(prefix="rayline-train-bench-"))
    try:
        spec = TrainSpec(data=settings.data, workers=settings.workers, epochs=settings.epochs,
                         batch_size=settings.batch_size, use_gpu=False, storage_path=str(work / "runs"),
                         registry=str(work / "models"), keep_checkpoints=1)
        report = run_train(spec)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ray_rates = [h["samples_per_s"] for h in report.history]
    result = {
        "benchmark": "train", "workers": settings.workers, "batch_size": settings.batch_size,
        "rows": baseline["rows"], "rayline_samples_per_s": round(max(ray_rates), 1),
        "baseline_samples_per_s": round(max(baseline["samples_per_s_by_epoch"]), 1),
        "rayline_samples_per_s_by_epoch": [round(r, 1) for r in ray_rates],
        "baseline_samples_per_s_by_epoch": [round(r, 1) for r in baseline["samples_per_s_by_epoch"]],
        "baseline_torch_threads": baseline["torch_threads"], "cpus": os.cpu_count(),
        "rayline_val_auc": round(report.best["val_auc"], 4), "settings": asdict(settings),
    }
    result["ratio"] = round(result["rayline_samples_per_s"] / result["baseline_samples_per_s"], 3)
    _write(settings, result)
    return result


def _write(settings: TrainBenchSettings, result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = results_folder(settings.results_dir)
    (out / "train.json").write_text(json.dumps(result, indent=1))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar(["PyTorch, 1 process", f"Ray Train, {settings.workers} CPU workers"],
           [result["baseline_samples_per_s"], result["rayline_samples_per_s"]], color=["#999", "#2a7"])
    ax.set_ylabel("training samples/s (best epoch)")
    ax.set_title(f"delay MLP, batch {settings.batch_size}: ratio {result['ratio']:.2f}")
    fig.tight_layout()
    fig.savefig(out / "train.png", dpi=100)
    plt.close(fig)
