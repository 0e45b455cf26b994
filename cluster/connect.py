"""Connect this process to Ray: RAY_ADDRESS, else a running local cluster, else an in-process one.

`ensure_ray()` says which it used; nothing connects at import time.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from cluster.auth import send_token_if_available
from cluster.errors import ClusterError, ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RayConnection:
    """How this process reached Ray."""

    mode: str  # "address", "RAY_ADDRESS", "local cluster", "in-process" or "already connected"
    address: str | None
    dashboard_url: str | None

    def describe(self) -> str:
        where = f" at {self.address}" if self.address else ""
        board = f", dashboard {self.dashboard_url}" if self.dashboard_url else ""
        return f"Ray: {self.mode}{where}{board}"


def running_local_cluster() -> str | None:
    """The address of the local cluster that `ray start` (or `rayline cluster start`) left running."""
    from ray._private.utils import read_ray_address

    return read_ray_address(None)


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """ClusterError within seconds when nothing listens at a host:port address (ray.init
    itself retries for minutes). 'auto', 'local' and other forms are left to Ray."""
    host_port = address.removeprefix("ray://").removeprefix("http://").rsplit("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise ClusterError(f"cannot reach Ray at {address}: {e.strerror or e}") from e


def ensure_ray(address: str | None = None, num_cpus: int | None = None,
               allow_in_process: bool = True, log_to_driver: bool = True) -> RayConnection:
    """Connect to Ray once per process, choosing the cluster as the module docstring says.

    `allow_in_process=False` is for work that must outlive this process (Serve apps): then
    no cluster to join is a ClusterError rather than a private in-process Ray.
    """
    import ray

    if num_cpus is not None and num_cpus < 1:
        raise ConfigError(f"--num-cpus must be at least 1, got {num_cpus} (tasks would never run)")
    if ray.is_initialized():
        return RayConnection("already connected", None, None)
    env_address = os.environ.get("RAY_ADDRESS") or None
    if address:
        mode, target = "address", address
    elif env_address:
        mode, target = "RAY_ADDRESS", env_address
    elif local := running_local_cluster():
        mode, target = "local cluster", local
    elif allow_in_process:
        mode, target = "in-process", None
    else:
        raise ClusterError("no Ray cluster to join: start one (`rayline cluster start`), or pass "
                           "--address / set RAY_ADDRESS")
    if target:
        check_reachable(target)
        send_token_if_available()
        kwargs = {"address": target}
    else:
        kwargs = {"address": "local", "num_cpus": num_cpus, "include_dashboard": False}
    try:
        context = ray.init(logging_level=logging.WARNING, log_to_driver=log_to_driver, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        hint = " (is it running? `rayline cluster status`)" if target else ""
        raise ClusterError(f"could not connect to Ray {mode} {target or ''}{hint}: {e}") from e
    url = getattr(context, "dashboard_url", None)
    connection = RayConnection(mode, target, f"http://{url}" if url else None)
    log.info(connection.describe())
    return connection

