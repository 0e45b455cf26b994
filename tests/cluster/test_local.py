"""A real local head node: start, status, a command that finds it, stop.

Runs before any test starts the in-process Ray (tests/cluster sorts first), because
`ray stop` ends every Ray process on the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import good_rows

from cluster.connect import running_local_cluster
from cluster.local import LocalClusterSettings, cluster_status, start_local_cluster, stop_local_cluster

pytestmark = pytest.mark.slow


def test_start_status_use_stop(write_csv, tmp_path):
    if running_local_cluster():
        pytest.fail("a local Ray cluster is already running; stop it first (`rayline cluster stop`)")
    settings = LocalClusterSettings(num_cpus=1, port=6390, dashboard_port=8290)
    address, started = start_local_cluster(settings)
    try:
        assert started and address.endswith(":6390")
        assert start_local_cluster(settings) == (address, False)
        status = cluster_status()
        assert status.nodes_alive == 1 and status.resources["CPU"] == 1
        source = write_csv("a.csv", good_rows(5))
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        done = subprocess.run([sys.executable, "-m", "rayline.cli", "etl", str(source), "--out",
                               str(tmp_path / "out")], capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        assert f"Ray: local cluster at {address}" in done.stderr
    finally:
        assert stop_local_cluster()
    assert running_local_cluster() is None
