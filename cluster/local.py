"""Start, inspect and stop a local Ray head node (dashboard and ports on 127.0.0.1).

    rayline cluster start [--num-cpus N] [--autoscale [--max-workers N]]
    rayline cluster status   |   rayline cluster stop
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from cluster.auth import head_node_env, send_token_if_available, token_available
from cluster.autoscale import AutoscaleSettings, autoscaler_env, write_autoscaling_config
from cluster.connect import running_local_cluster
from cluster.errors import ClusterError, ConfigError

_RAY = [sys.executable, "-m", "ray.scripts.scripts"]


@dataclass(frozen=True)
class LocalClusterSettings:
    """Settings of the local head node."""

    num_cpus: int | None = None
    port: int = 6379
    dashboard_port: int = 8265
    host: str = "127.0.0.1"
    autoscale: AutoscaleSettings | None = None  # simulated worker nodes added and removed on demand

    def __post_init__(self) -> None:
        if self.num_cpus is not None and self.num_cpus < 0:
            raise ConfigError(f"--num-cpus must be 0 or more, got {self.num_cpus}")
        for flag, port in (("--port", self.port), ("--dashboard-port", self.dashboard_port)):
            if not 1024 <= port <= 65535:
                raise ConfigError(f"{flag} must be a port from 1024 to 65535, got {port}")


@dataclass(frozen=True)
class ClusterStatus:
    """What a running cluster has: its nodes and its total and free resources."""

    address: str
    nodes_alive: int
    resources: dict
    available: dict
    dashboard_url: str | None
    nodes: list[dict]  # one per alive node: id, ip, head or worker, CPU and GPU
    pending_demand: list[str]  # resource requests waiting for a node ("1x {'CPU': 1}")
    pending_nodes: int  # nodes the autoscaler is launching


def start_local_cluster(settings: LocalClusterSettings) -> tuple[str, bool]:
    """Start a head node unless one runs; returns (address, started_now)."""
    existing = running_local_cluster()
    if existing:
        return existing, False
    cmd = [*_RAY, "start", "--head", f"--node-ip-address={settings.host}",
           f"--port={settings.port}", f"--dashboard-host={settings.host}",
           f"--dashboard-port={settings.dashboard_port}", "--disable-usage-stats"]
    env = head_node_env()
    if settings.autoscale:
        if settings.num_cpus:
            raise ConfigError("--num-cpus is for a fixed cluster; with --autoscale the head has 0 CPUs "
                              "and workers have --cpus-per-worker")
        config = write_autoscaling_config(settings.autoscale, settings.host, settings.port)
        cmd += ["--num-cpus=0", f"--autoscaling-config={config}"]
        env = autoscaler_env(settings.autoscale, env)
    elif settings.num_cpus is not None:
        cmd.append(f"--num-cpus={settings.num_cpus}")
    if env["RAY_AUTH_MODE"] == "token" and not token_available():
        _run([*_RAY, "get-auth-token", "--generate"], "generate a Ray auth token")
    _run(cmd, "start the local Ray head node", env=env)
    address = running_local_cluster()
    if not address:
        raise ClusterError("`ray start --head` finished but left no cluster address")
    return address, True


def stop_local_cluster() -> bool:
    """Stop every local Ray process; returns whether a cluster was running."""
    was_running = running_local_cluster() is not None
    _run([*_RAY, "stop", "--force"], "stop the local Ray cluster")
    return was_running


def cluster_status(address: str | None = None) -> ClusterStatus:
    """Connect briefly to the cluster (the given address or the running local one) and report it."""
    import ray

    target = address or running_local_cluster()
    if not target:
        raise ClusterError("no local Ray cluster is running (start one: `rayline cluster start`)")
    send_token_if_available()
    try:
        context = ray.init(address=target, logging_level="ERROR", log_to_driver=False)
    except (ConnectionError, RuntimeError) as e:
        raise ClusterError(f"could not reach the Ray cluster at {target}: {e}") from e
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        url = getattr(context, "dashboard_url", None)
        demand, launching = autoscaler_view(target)
        return ClusterStatus(target, len(nodes), ray.cluster_resources(), ray.available_resources(),
                             f"http://{url}" if url else None, [_node_row(n) for n in nodes],
                             demand, launching)
    finally:
        ray.shutdown()


def worker_node_count(gcs_address: str) -> tuple[int, int]:
    """(alive worker nodes, nodes being launched) as the autoscaler sees them; no Ray driver needed."""
    from ray.autoscaler.v2.sdk import get_cluster_status

    send_token_if_available()
    status = get_cluster_status(gcs_address)
    workers = [n for n in status.active_nodes + status.idle_nodes
               if not any(u.resource_name == _HEAD_RESOURCE for u in n.resource_usage.usage)]
    return len(workers), len(status.pending_launches) + len(status.pending_nodes)


def autoscaler_view(gcs_address: str) -> tuple[list[str], int]:
    """The resource requests waiting for nodes, and how many nodes are being launched."""
    from ray.autoscaler.v2.sdk import get_cluster_status

    send_token_if_available()
    try:
        status = get_cluster_status(gcs_address)
    except Exception as e:  # noqa: BLE001  (status is best effort: say so instead of failing)
        return [f"(autoscaler state unavailable: {e})"], 0
    demand = [f"{b.count}x {b.bundle}" for d in status.resource_demands.ray_task_actor_demand
              for b in d.bundles_by_count]
    groups = status.resource_demands.placement_group_demand
    demand += [f"placement group {d.details or d.pg_id}" for d in groups]
    launching = sum(r.count for r in status.pending_launches) + len(status.pending_nodes)
    return demand, launching


_HEAD_RESOURCE = "node:__internal_head__"


def _node_row(node: dict) -> dict:
    resources = node.get("Resources", {})
    node_id = node["NodeID"]  # simulated nodes share a prefix of f's: show both ends
    return {"node_id": f"{node_id[:6]}..{node_id[-6:]}", "ip": node.get("NodeManagerAddress"),
            "kind": "head" if resources.get(_HEAD_RESOURCE) else "worker",
            "CPU": resources.get("CPU", 0), "GPU": resources.get("GPU", 0)}


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ClusterError(f"could not {what}: " + " | ".join(tail))


def join_persistent_cluster(address: str | None = None) -> list[str]:
    """Connect to a cluster that outlives this process (for Serve apps and detached actors):
    `address`, RAY_ADDRESS or the running local cluster; start a local one if there is none.
    Returns notes for the user (what was started)."""
    import os

    from cluster.connect import ensure_ray

    notes = []
    if not address and not os.environ.get("RAY_ADDRESS") and not running_local_cluster():
        local, _ = start_local_cluster(LocalClusterSettings())
        notes.append(f"started a local Ray cluster at {local} (stop it: `rayline cluster stop`)")
    ensure_ray(address, allow_in_process=False, log_to_driver=False)  # actor logs stay in the session
    return notes
