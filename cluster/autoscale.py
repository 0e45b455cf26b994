"""A local head node whose autoscaler adds and removes simulated worker nodes.

    rayline cluster start --autoscale [--max-workers 3] [--idle-timeout-s 60]

Ray's fake multi-node provider runs each "worker node" as a real raylet on this machine, so
tasks that wait for resources make the autoscaler launch nodes, and nodes idle for the
timeout are removed, exactly as `ray up` does with cloud machines. The head has 0 CPUs, so
all work lands on workers. Ray 2.60's wheel lacks the provider's default config file; the
config written here is the one that works (`../shared/KNOWN.md`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from cluster.errors import ConfigError

FAKE_PROVIDER = "ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"
WORKER_TYPE = "cpu_worker"


@dataclass(frozen=True)
class AutoscaleSettings:
    """The simulated worker nodes: how many at most, their size, and how long they may idle."""

    max_workers: int = 3
    cpus_per_worker: int = 1
    idle_timeout_s: float = 60.0
    update_interval_s: int = 1

    def __post_init__(self) -> None:
        if self.max_workers < 1:
            raise ConfigError(f"--max-workers must be at least 1, got {self.max_workers}")
        if self.cpus_per_worker < 1:
            raise ConfigError(f"--cpus-per-worker must be at least 1, got {self.cpus_per_worker}")
        if self.idle_timeout_s <= 0:
            raise ConfigError(f"--idle-timeout-s must be positive, got {self.idle_timeout_s}")


def fake_cluster_config(settings: AutoscaleSettings, host: str, port: int) -> dict:
    """The autoscaling config of a local fake multi-node cluster (pure)."""
    return {
        "cluster_name": "rayline-local",
        "max_workers": settings.max_workers,
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": settings.idle_timeout_s / 60,
        "provider": {
            "type": "external", "module": FAKE_PROVIDER, "gcs_address": f"{host}:{port}",
            "use_node_id_as_ip": True, "disable_node_updaters": True, "disable_launch_config_check": True,
        },
        "auth": {"ssh_user": "ubuntu"},
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 0}, "node_config": {}, "max_workers": 0},
            WORKER_TYPE: {"resources": {"CPU": settings.cpus_per_worker}, "node_config": {},
                          "min_workers": 0, "max_workers": settings.max_workers},
        },
        "head_node_type": "ray.head.default",
        "file_mounts": {}, "cluster_synced_files": [], "file_mounts_sync_continuously": False,
        "initialization_commands": [], "setup_commands": [], "head_setup_commands": [],
        "worker_setup_commands": [], "head_start_ray_commands": [], "worker_start_ray_commands": [],
    }


def write_autoscaling_config(settings: AutoscaleSettings, host: str, port: int) -> Path:
    """Write the config where the head can read it; returns its path."""
    path = Path(tempfile.gettempdir()) / f"rayline-autoscale-{port}.yaml"
    path.write_text(yaml.safe_dump(fake_cluster_config(settings, host, port), sort_keys=False))
    return path


def autoscaler_env(settings: AutoscaleSettings, env: dict[str, str]) -> dict[str, str]:
    """The head's environment: the fake provider switched on, the autoscaler looking every second."""
    return {**env, "RAY_FAKE_CLUSTER": "1",
            "AUTOSCALER_UPDATE_INTERVAL_S": str(settings.update_interval_s),
            "RAY_AUTH_MODE": env.get("RAY_AUTH_MODE", "token"),
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])}
