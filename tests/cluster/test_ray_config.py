"""ray_config.yaml stays valid against Ray's own cluster-config schema, keeps the shape the
cloud needs, and no committed file holds a credential."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from cluster.autoscale import AutoscaleSettings, fake_cluster_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "ray_config.yaml"


def test_ray_config_validates_with_head_cpu_and_gpu_types():
    config = yaml.safe_load(CONFIG.read_text())
    prepared = prepare_config(config)
    validate_config(prepared)
    assert config["cluster_name"] == "rayline" and config["provider"]["type"] == "aws"
    types = config["available_node_types"]
    assert set(types) == {"head", "cpu", "gpu"} and config["head_node_type"] == "head"
    assert types["gpu"]["node_config"]["InstanceType"].startswith(("g", "p"))
    for name in ("cpu", "gpu"):
        assert types[name]["min_workers"] == 0
        assert types[name]["node_config"]["InstanceMarketOptions"]["MarketType"] == "spot"
        # Ray gives its instance profile to the head only; the tasks on workers need S3 too.
        assert types[name]["node_config"]["IamInstanceProfile"] == {"Name": "ray-autoscaler-v1"}
    assert "iam:PassRole" in CONFIG.read_text()
    assert types["cpu"]["max_workers"] >= 1
    # The gpu type stays off while its AMI is plain Ubuntu (no driver: setup would fail, relaunch).
    plain_ubuntu = types["gpu"]["node_config"]["ImageId"] == types["cpu"]["node_config"]["ImageId"]
    assert types["gpu"]["max_workers"] == 0 if plain_ubuntu else types["gpu"]["max_workers"] >= 1
    # A node type's own setup list replaces the global ones (Ray 2.60): none may have one.
    assert not any(set(t) & {"setup_commands", "worker_setup_commands"} for t in types.values())
    setup = "\n".join(config["setup_commands"])
    assert "0x10de" in setup and "! nvidia-smi" in setup  # no silent CPU training on a GPU node
    assert "cloud-init status --wait" in setup and "grep -qxF" in setup and "|| ~/venv" not in setup
    assert config["idle_timeout_minutes"] > 0
    assert config["file_mounts"]["~/rayline"] == "."
    starts = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in starts and "RAY_AUTH_MODE=token" in starts


def test_the_local_autoscaling_config_validates_too():
    config = fake_cluster_config(AutoscaleSettings(max_workers=3, idle_timeout_s=6), "127.0.0.1", 6391)
    validate_config(prepare_config(config))
    assert config["available_node_types"]["ray.head.default"]["resources"] == {"CPU": 0}
    assert config["idle_timeout_minutes"] == 0.1


_CREDENTIALS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"aws_secret_access_key\s*[:=]\s*\S+", re.I),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"RAY_AUTH_TOKEN\s*[:=]\s*['\"]?[0-9a-f]{16,}", re.I),
    re.compile(r"ssh_private_key\s*:\s*\S"),
    re.compile(r"(password|secret)\s*[:=]\s*['\"][^'\"$]{6,}['\"]", re.I),
]


def test_no_committed_file_holds_a_credential():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    found = []
    for name in files.stdout.splitlines():
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".gguf", ".parquet"):
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {m.group(0)[:40]}" for pattern in _CREDENTIALS for m in pattern.finditer(text)]
    assert found == []
