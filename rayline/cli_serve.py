"""The serving commands of `rayline`: argument parsing and printing only.

    rayline serve start [--model M] [--replicas N] [--port 8000]  |  serve status  |  serve stop
    rayline prompt "question" [--stream]
    rayline predict --csv data/raw/flights.csv --rows 5
    rayline bench serve [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from rich.console import Console

from rayline.report import output_console
from serve.client import DEFAULT_URL

_out = output_console()
_err = Console(stderr=True)


def add_serving_commands(commands, bench) -> None:
    """Register `serve`, `prompt`, `predict` and `bench serve`."""
    serving = commands.add_parser("serve", help="the LLM and delay-model endpoints on Ray Serve")
    sub = serving.add_subparsers()
    start = sub.add_parser("start", help="deploy on a Ray cluster (starts a local one if none runs)")
    _add_llm_flags(start)
    start.add_argument("--host", default="127.0.0.1", help="where Serve's HTTP proxy listens")
    start.add_argument("--port", type=int, default=8000)
    start.add_argument("--delay-model", default="models/latest", help="a registry run folder to serve")
    start.add_argument("--no-llm", action="store_true", help="deploy only the delay model")
    start.add_argument("--address", default=None, help="Ray address (default: RAY_ADDRESS, else local)")
    start.add_argument("--json", action="store_true")
    start.set_defaults(run=_serve_start)
    status = sub.add_parser("status", help="applications, deployments and replicas")
    status.add_argument("--address", default=None)
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_serve_status)
    stop = sub.add_parser("stop", help="remove the applications and shut Serve down")
    stop.add_argument("--address", default=None)
    stop.set_defaults(run=_serve_stop)
    _add_prompt(commands)
    _add_predict(commands)
    _add_bench_serve(bench)


def _add_llm_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="a Hugging Face id or local folder (default: bundled SmolLM2-135M-Instruct)")
    parser.add_argument("--gguf-file", default=None, help="a GGUF file inside --model")
    parser.add_argument("--replicas", type=int, default=None, help="fixed replica count (min = max)")
    parser.add_argument("--min-replicas", type=int, default=None)
    parser.add_argument("--max-replicas", type=int, default=None)
    parser.add_argument("--target-ongoing-requests", type=float, default=None)
    parser.add_argument("--max-batch-size", type=int, default=None)
    parser.add_argument("--max-ongoing-requests", type=int, default=None)
    parser.add_argument("--max-queued-requests", type=int, default=None)
    parser.add_argument("--num-cpus", type=float, default=None, help="CPUs per replica")
    parser.add_argument("--num-gpus", type=float, default=None, help="GPUs per replica (default: 1 if any)")


def _add_prompt(commands) -> None:
    prompt = commands.add_parser("prompt", help="ask the LLM endpoint one question")
    prompt.add_argument("text")
    prompt.add_argument("--stream", action="store_true", help="print tokens as they arrive")
    prompt.add_argument("--system", default=None, help="a system message")
    prompt.add_argument("--max-tokens", type=int, default=256)
    prompt.add_argument("--temperature", type=float, default=0.0)
    prompt.add_argument("--url", default=DEFAULT_URL)
    prompt.set_defaults(run=_prompt)


def _add_predict(commands) -> None:
    predict = commands.add_parser("predict", help="score flights with the delay-model endpoint")
    source = predict.add_mutually_exclusive_group()
    source.add_argument("--csv", default="data/raw/flights.csv", help="flights CSV to take rows from")
    source.add_argument("--json-file", default=None, help="a JSON list of flight records")
    predict.add_argument("--rows", type=int, default=5, help="how many CSV rows to score")
    predict.add_argument("--url", default=DEFAULT_URL)
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(run=_predict)


def _add_bench_serve(bench) -> None:
    serve_bench = bench.add_parser("serve", help="LLM endpoint (batched) vs sequential generate()")
    serve_bench.add_argument("--concurrency", default="1,4,16", help="client counts to measure")
    serve_bench.add_argument("--max-tokens", type=int, default=64)
    serve_bench.add_argument("--json", action="store_true")
    serve_bench.add_argument("--results-dir", default="benchmarks/results")
    serve_bench.set_defaults(run=_bench_serve)


def llm_spec_from_args(args: argparse.Namespace):
    from serve.llm_config import LlmSpec

    overrides = {name: getattr(args, name) for name in
                 ("model", "gguf_file", "min_replicas", "max_replicas", "target_ongoing_requests",
                  "max_batch_size", "max_ongoing_requests", "max_queued_requests", "num_cpus", "num_gpus")
                 if getattr(args, name) is not None}
    if args.replicas is not None:
        overrides["min_replicas"] = overrides["max_replicas"] = args.replicas
    elif "min_replicas" in overrides and "max_replicas" not in overrides:
        overrides["max_replicas"] = max(overrides["min_replicas"], 1)
    return LlmSpec(**overrides)


def _quiet_serve_logs(verbose: bool) -> None:
    """Serve's driver-side INFO lines ("Connecting to existing Serve app ...") only with -v;
    set after `ray.serve` is imported, which configures its logger."""
    import ray.serve  # noqa: F401

    logging.getLogger("ray.serve").setLevel(logging.INFO if verbose else logging.WARNING)


def _serve_start(args: argparse.Namespace) -> int:
    from serve.deploy import start_serving
    from serve.llm_config import ServeSpec

    spec = ServeSpec(host=args.host, port=args.port, llm=not args.no_llm, delay_model=args.delay_model)
    llm = llm_spec_from_args(args)
    _quiet_serve_logs(args.verbose)
    if spec.llm:
        _err.print("deploying (the LLM replica loads its model: about half a minute on CPU) ...",
                   highlight=False)
    report = start_serving(spec, llm, address=args.address)
    return _print_serving(report, args.json)


def _serve_status(args: argparse.Namespace) -> int:
    from serve.deploy import serving_status

    return _print_serving(serving_status(args.address), args.json)


def _serve_stop(args: argparse.Namespace) -> int:
    from serve.deploy import stop_serving

    had = stop_serving(args.address)
    _out.print("Serve stopped" if had else "no Serve application was running (Serve shut down)")
    return 0


def _print_serving(report, as_json: bool) -> int:
    from rayline.report import serving_table

    if as_json:
        print(json.dumps(report.__dict__, indent=1))
    else:
        for note in report.notes:
            _err.print(note, highlight=False)
        _out.print(serving_table(report))
    return 0


def _prompt(args: argparse.Namespace) -> int:
    from serve.client import PromptSettings, ask, ask_streaming

    settings = PromptSettings(args.text, args.system, args.max_tokens, args.temperature, args.url)
    if args.stream:
        for piece in ask_streaming(settings):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return 0
    body = ask(settings)
    print(body["choices"][0]["message"]["content"])
    u = body["usage"]
    _err.print(f"[dim]{u['prompt_tokens']} prompt + {u['completion_tokens']} completion tokens, "
               f"finish: {body['choices'][0]['finish_reason']}[/dim]")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from cluster.errors import InputError
    from rayline.report import predictions_table
    from serve.client import predict, read_csv_records

    if args.json_file:
        try:
            with open(args.json_file, encoding="utf-8") as f:
                records = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError(f"--json-file {args.json_file}: {e}") from e
    else:
        if args.rows < 1:
            raise InputError(f"--rows must be at least 1, got {args.rows}")
        records = read_csv_records(args.csv, args.rows)
    body = predict(records, args.url)
    if args.json:
        print(json.dumps(body, indent=1))
    else:
        _out.print(predictions_table(records, body))
    return 0


def _bench_serve(args: argparse.Namespace) -> int:
    from benchmarks.serve_bench import ServeBenchSettings, run_serve_benchmark
    from cluster.errors import ConfigError
    from rayline.report import print_result, serve_bench_table

    try:
        levels = tuple(int(c) for c in args.concurrency.split(","))
    except ValueError as e:
        raise ConfigError(f"--concurrency must be integers like 1,4,16, got {args.concurrency!r}") from e
    settings = ServeBenchSettings(concurrency=levels, max_tokens=args.max_tokens,
                                  results_dir=args.results_dir)
    result = run_serve_benchmark(settings, log=lambda m: _err.print(m, highlight=False))
    print_result(_out, result, args.json, serve_bench_table)
    return 0
