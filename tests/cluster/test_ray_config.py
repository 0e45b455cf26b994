"""ray_config.yaml stays valid against Ray's own cluster-config schema."""

from __future__ import annotations

from pathlib import Path

import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CONFIG = Path(__file__).resolve().parents[2] / "ray_config.yaml"


def test_ray_config_validates():
    config = yaml.safe_load(CONFIG.read_text())
    validate_config(prepare_config(config))
    assert config["cluster_name"] == "rayline"
