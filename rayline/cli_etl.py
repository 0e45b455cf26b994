"""The `rayline etl`, `rayline compare` and `rayline bench etl` commands (parsing and printing only).

    rayline etl SOURCE --out DEST [--engine ray|spark|modin|pandas] [--spark-master URL]
    rayline compare --engines ray,spark,modin,pandas SOURCE [--out DIR]
    rayline bench etl --engines ray,spark,modin,pandas,pyarrow --copies 1,10,30 [--json]
"""

from __future__ import annotations

import argparse
import json
import math

from rich.console import Console

from cluster.errors import ConfigError
from rayline.report import output_console

_out = output_console()
_err = Console(stderr=True)


def add_etl_commands(commands, bench) -> None:
    """Add `etl` and `compare` to the command list and `etl` to `bench`."""
    etl = commands.add_parser("etl", help="CSV to validated, featurised Parquet (Ray Data by default)")
    etl.add_argument("source", help="a CSV file, a folder of CSVs or a glob (local or s3://...)")
    etl.add_argument("--out", required=True, help="output folder (local or s3://...)")
    etl.add_argument("--engine", default="ray", help="ray (default), spark, modin or pandas")
    etl.add_argument("--force", action="store_true", help="rerun even if DEST is up to date")
    etl.add_argument("--json", action="store_true", help="print the manifest as JSON")
    _add_spec_flags(etl)
    _add_engine_flags(etl)
    etl.set_defaults(run=_etl)
    compare = commands.add_parser("compare", help="the same ETL on several engines, checked to agree")
    compare.add_argument("source", help="a CSV file, a folder of CSVs or a glob")
    compare.add_argument("--engines", default="ray,spark,modin,pandas", help="default: %(default)s")
    compare.add_argument("--out", default="data/compare", help="each engine writes into OUT/<engine> "
                                                               "(default: %(default)s)")
    compare.add_argument("--json", action="store_true")
    _add_spec_flags(compare)
    _add_engine_flags(compare)
    compare.set_defaults(run=_compare)
    bench_etl = bench.add_parser("etl", help="every ETL engine and plain pyarrow at several input sizes")
    bench_etl.add_argument("--engines", default="ray,spark,modin,pandas,pyarrow", help="default: %(default)s")
    bench_etl.add_argument("--copies", default="1,10,30", help="input sizes, in copies of flights (31 MB)")
    bench_etl.add_argument("--files", type=int, default=None, help="files per size (default: one per copy)")
    bench_etl.add_argument("--json", action="store_true")
    bench_etl.add_argument("--results-dir", default="benchmarks/results")
    bench_etl.add_argument("--num-cpus", type=int, default=None)
    bench_etl.set_defaults(run=_bench_etl)


def _add_spec_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--null-values", default="NA,", help="comma-separated null markers (default 'NA,')")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the CSV (e.g. latin-1)")
    parser.add_argument("--delimiter", default=",", help="default: '%(default)s'")
    parser.add_argument("--chunk-mb", type=float, default=64,
                        help="size of one task's input in MiB (default %(default)s; a small input is cut "
                             "into 4 chunks of 4 MiB or more)")
    parser.add_argument("--valid-fraction", type=float, default=0.2, help="default: %(default)s")


def _add_engine_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default=None,
                        help="Ray address for ray and modin (default: RAY_ADDRESS, else a running "
                             "local cluster, else an in-process Ray)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of an in-process Ray")
    parser.add_argument("--spark-master", default="local[*]", help="Spark master URL (spark engine)")


def _spec(args: argparse.Namespace):
    from pipelines.csv_chunk import CsvOptions
    from pipelines.etl_config import EtlSpec
    from pipelines.features import FeatureSpec

    if not math.isfinite(args.chunk_mb):
        raise ConfigError(f"--chunk-mb must be a number of MiB, got {args.chunk_mb}")
    return EtlSpec(csv=CsvOptions(tuple(args.null_values.split(",")), args.encoding, args.delimiter),
                   features=FeatureSpec(valid_fraction=args.valid_fraction),
                   chunk_bytes=int(args.chunk_mb * (1 << 20)))


def _etl(args: argparse.Namespace) -> int:
    from pipelines.etl_engines import EngineOptions, parse_engines, run_engine_etl
    from rayline.report import etl_summary

    (engine,) = _one_engine(args.engine, lambda text: parse_engines(text, "--engine"))
    options = EngineOptions(args.address, args.num_cpus, args.spark_master)
    report = run_engine_etl(engine, args.source, args.out, _spec(args), force=args.force, options=options)
    if args.json:
        print(json.dumps({**report.manifest, "up_to_date": report.skipped}, indent=1))
    else:
        etl_summary(_out, report.manifest, report.skipped)
    return _no_output(report.manifest, args.source)


def _no_output(manifest: dict, source: str) -> int:
    """3, saying why, when the ETL wrote no rows (no data rows, or none passed); else 0."""
    if manifest["rows_in"] == 0:
        states = ", ".join(f"{f['path']}: {f['status'].replace('_', ' ')}" for f in manifest["files"])
        _err.print(f"rayline: no data rows in {source} ({states})", highlight=False, soft_wrap=True)
        return 3
    if manifest["rows_out"] == 0:
        _err.print(f"rayline: no row of {source} passed: {manifest['rows_rejected']:,} rejected (see "
                   f"{manifest['dest']}/_quarantine/), {manifest['rows_filtered']:,} filtered out",
                   highlight=False, soft_wrap=True)
        return 3
    return 0


def _one_engine(text: str, parse) -> tuple[str]:
    names = parse(text)
    if len(names) != 1:
        raise ConfigError(f"--engine takes one engine, got '{text}' (rayline compare runs several)")
    return names


def _compare(args: argparse.Namespace) -> int:
    from pipelines.csv_sources import plan_input
    from pipelines.etl_compare import compare_engines
    from pipelines.etl_engines import parse_engines
    from pipelines.etl_output import check_dest, resolve_dest
    from pipelines.spark_master import check_spark_master
    from rayline.report import compare_table

    engines = parse_engines(args.engines)
    if len(engines) < 2:
        raise ConfigError(f"--engines '{args.engines}': compare needs two engines or more "
                          "(`rayline etl --engine NAME` runs one)")
    spec = _spec(args)
    plan = plan_input(args.source, spec.csv, spec.chunk_bytes)  # a bad SOURCE or --out fails here,
    for engine in engines:                                       # not once per engine
        dest_fs, dest_path = resolve_dest(f"{args.out}/{engine}")
        check_dest(plan, f"{args.out}/{engine}", dest_fs, dest_path)
    if "spark" in engines:
        check_spark_master(args.spark_master)
    runs, differences = compare_engines(engines, args.source, args.out, _passed_flags(args),
                                        log=lambda m: _err.print(m, highlight=False))
    if args.json:
        print(json.dumps({"runs": [r.__dict__ for r in runs], "differences": differences,
                          "agree": not differences}, indent=1, default=str))
    else:
        _out.print(compare_table(runs))
    if differences:
        _err.print("[bold red]rayline: the engines disagree:[/bold red]", highlight=False)
        for line in differences[:40]:
            _err.print(f"  {line}", highlight=False, soft_wrap=True)
        if len(differences) > 40:
            _err.print(f"  ... and {len(differences) - 40} more", highlight=False)
        return 1
    if not args.json:
        _out.print(f"[green]the {len(runs)} engines agree[/green]: identical manifests (engine, dest and "
                   "times aside), identical quarantine, per-carrier aggregates equal to 1e-9")
    return _no_output(runs[0].manifest, args.source)


def _passed_flags(args: argparse.Namespace) -> list[str]:
    """The ETL flags `compare` hands on to each engine's `rayline etl`."""
    flags = ["--null-values", args.null_values, "--encoding", args.encoding, "--delimiter", args.delimiter,
             "--chunk-mb", str(args.chunk_mb), "--valid-fraction", str(args.valid_fraction),
             "--spark-master", args.spark_master]
    if args.address:
        flags += ["--address", args.address]
    if args.num_cpus:
        flags += ["--num-cpus", str(args.num_cpus)]
    return flags


def _bench_etl(args: argparse.Namespace) -> int:
    from benchmarks.etl_bench import EtlBenchSettings, parse_copies, run_etl_benchmark
    from rayline.report import bench_etl_table, print_result

    settings = EtlBenchSettings(engines=tuple(n.strip() for n in args.engines.split(",") if n.strip()),
                                copies=parse_copies(args.copies), files=args.files,
                                results_dir=args.results_dir, num_cpus=args.num_cpus)
    result = run_etl_benchmark(settings, log=lambda m: _err.print(m, highlight=False))
    print_result(_out, result, args.json, bench_etl_table)
    return 0
