"""The `rayline cluster` and `rayline submit` commands (parsing and printing only).

    rayline cluster start [--autoscale [--max-workers N]] | status [--json] | stop
    rayline submit [--address URL] [--job-id ID] [--no-wait] etl|train|compare|... ARGS
"""

from __future__ import annotations

import argparse
import json
import os

from rich.console import Console

from rayline.report import output_console

_out = output_console()
_err = Console(stderr=True)


def add_cluster_commands(commands) -> None:
    """Add `cluster start|status|stop` and `submit` to the command list."""
    cluster = commands.add_parser("cluster", help="a local Ray head node").add_subparsers()
    start = cluster.add_parser("start", help="start a local head node (127.0.0.1)")
    start.add_argument("--num-cpus", type=int, default=None)
    start.add_argument("--port", type=int, default=6379)
    start.add_argument("--dashboard-port", type=int, default=8265)
    start.add_argument("--autoscale", action="store_true",
                       help="a 0-CPU head whose autoscaler adds simulated worker nodes on demand")
    start.add_argument("--max-workers", type=int, default=None,
                       help="with --autoscale: most worker nodes (default 3)")
    start.add_argument("--cpus-per-worker", type=int, default=None, help="with --autoscale (default 1)")
    start.add_argument("--idle-timeout-s", type=float, default=None,
                       help="with --autoscale: remove a worker node idle this long (default 60)")
    start.set_defaults(run=_cluster_start)
    status = cluster.add_parser("status", help="nodes and resources of the running cluster")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_cluster_status)
    cluster.add_parser("stop", help="stop the local cluster").set_defaults(run=_cluster_stop)
    submit = commands.add_parser("submit", help="run a rayline command as a Ray job and follow its logs")
    submit.add_argument("--address", default=None,
                        help="job API (default: RAY_ADDRESS if http, else http://127.0.0.1:8265)")
    submit.add_argument("--job-id", default=None, help="submission id (default: Ray makes one)")
    submit.add_argument("--no-wait", action="store_true", help="submit and return")
    submit.add_argument("job_command", metavar="COMMAND", help="etl, train, compare, models, bench, data")
    submit.add_argument("job_args", nargs=argparse.REMAINDER, help="its arguments")
    submit.set_defaults(run=_submit)


def _cluster_start(args: argparse.Namespace) -> int:
    from cluster.autoscale import AutoscaleSettings
    from cluster.errors import ConfigError
    from cluster.local import LocalClusterSettings, start_local_cluster

    given = {k: v for k, v in (("max_workers", args.max_workers), ("cpus_per_worker", args.cpus_per_worker),
                                ("idle_timeout_s", args.idle_timeout_s)) if v is not None}
    if given and not args.autoscale:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(f"{flags}: only with --autoscale (a plain head has no worker nodes)")
    autoscale = AutoscaleSettings(**given) if args.autoscale else None
    settings = LocalClusterSettings(args.num_cpus, args.port, args.dashboard_port, autoscale=autoscale)
    address, started = start_local_cluster(settings)
    verb = "started" if started else "already running (as started: `rayline cluster stop` first to change it)"
    _out.print(f"local Ray cluster {verb} at {address}; dashboard "
               f"http://{settings.host}:{settings.dashboard_port}")
    if autoscale and started:
        _out.print(f"autoscaling: 0 to {autoscale.max_workers} worker nodes of {autoscale.cpus_per_worker} "
                   f"CPU, removed after {autoscale.idle_timeout_s:g} s idle (`rayline cluster status`)")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from cluster.errors import ConfigError
    from cluster.jobs import DEFAULT_JOB_ADDRESS, JobRequest, follow_job, submit_job
    from rayline.cli import _parser

    env_address = os.environ.get("RAY_ADDRESS", "")
    address = args.address or (env_address if env_address.startswith("http") else DEFAULT_JOB_ADDRESS)
    request = JobRequest(args.job_command, tuple(args.job_args), address, args.job_id)
    parsed = _parser().parse_args([request.command, *request.args])  # a bad argument fails here
    if not hasattr(parsed, "run"):
        raise ConfigError(f"rayline submit {request.command}: name its subcommand too "
                          f"(`rayline {request.command} --help` lists them)")
    job_id = submit_job(request)
    _err.print(f"submitted job {job_id} to {address}; logs: ray job logs --address {address} {job_id}",
               highlight=False, soft_wrap=True)
    if args.no_wait:
        print(job_id)
        return 0
    status, message, exit_code = follow_job(address, job_id, lambda text: print(text, end="", flush=True))
    if status != "SUCCEEDED":
        why = message if exit_code is None else f"exit code {exit_code}; its output is above"
        _err.print(f"[bold red]rayline: job {job_id} {status}[/bold red]: {why}", highlight=False,
                   soft_wrap=True)
        return exit_code or 1
    _err.print(f"job {job_id} succeeded", highlight=False)
    return 0


def _cluster_status(args: argparse.Namespace) -> int:
    from cluster.local import cluster_status

    status = cluster_status()
    if args.json:
        _out.print_json(json.dumps(status.__dict__))
        return 0
    from rayline.report import key_value_table

    rows = {"address": status.address, "nodes alive": status.nodes_alive,
            "dashboard": status.dashboard_url or "-",
            "pending demand": "; ".join(status.pending_demand) or "none",
            "nodes launching": status.pending_nodes}
    for name in ("CPU", "GPU"):
        if name in status.resources:
            rows[name] = f"{status.available.get(name, 0):,.0f} free of {status.resources[name]:,.0f}"
    for name in ("memory", "object_store_memory"):
        if name in status.resources:
            free, total = status.available.get(name, 0) / 2**30, status.resources[name] / 2**30
            rows[name] = f"{free:,.1f} GiB free of {total:,.1f} GiB"
    _out.print(key_value_table("Ray cluster", rows))
    from rayline.report import nodes_table

    _out.print(nodes_table(status.nodes))
    return 0


def _cluster_stop(args: argparse.Namespace) -> int:
    from cluster.local import stop_local_cluster

    was = stop_local_cluster()
    _out.print("local Ray cluster stopped" if was else "no local Ray cluster was running")
    return 0
