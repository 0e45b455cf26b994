"""Start, inspect and stop a local Ray head node (dashboard and ports on 127.0.0.1).

    rayline cluster start [--num-cpus N]   |   rayline cluster status   |   rayline cluster stop
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from cluster.auth import head_node_env, send_token_if_available, token_available
from cluster.connect import running_local_cluster
from cluster.errors import ClusterError

_RAY = [sys.executable, "-m", "ray.scripts.scripts"]


@dataclass(frozen=True)
class LocalClusterSettings:
    """Settings of the local head node."""

    num_cpus: int | None = None
    port: int = 6379
    dashboard_port: int = 8265
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class ClusterStatus:
    """What a running cluster has: its nodes and its total and free resources."""

    address: str
    nodes_alive: int
    resources: dict
    available: dict
    dashboard_url: str | None


def start_local_cluster(settings: LocalClusterSettings) -> tuple[str, bool]:
    """Start a head node unless one runs; returns (address, started_now)."""
    existing = running_local_cluster()
    if existing:
        return existing, False
    cmd = [*_RAY, "start", "--head", f"--node-ip-address={settings.host}",
           f"--port={settings.port}", f"--dashboard-host={settings.host}",
           f"--dashboard-port={settings.dashboard_port}", "--disable-usage-stats"]
    if settings.num_cpus is not None:
        cmd.append(f"--num-cpus={settings.num_cpus}")
    env = head_node_env()
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
        return ClusterStatus(target, len(nodes), ray.cluster_resources(), ray.available_resources(),
                             f"http://{url}" if url else None)
    finally:
        ray.shutdown()


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
