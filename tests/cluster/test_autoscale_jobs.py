"""A real local autoscaling cluster (Ray's fake multi-node provider): it starts with 0 worker
nodes, an ETL submitted as a Ray job scales it up, the job writes the right manifest, and idle
workers are removed; a job with a bad argument fails with its error in `ray job logs`.

Runs with the other tests/cluster tests, before any in-process Ray (it ends with `ray stop`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cluster.autoscale import AutoscaleSettings
from cluster.connect import running_local_cluster
from cluster.local import LocalClusterSettings, start_local_cluster, stop_local_cluster, worker_node_count

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PORT, DASHBOARD = 6391, 8291
JOBS = f"http://127.0.0.1:{DASHBOARD}"


@pytest.fixture(scope="module")
def autoscaling_cluster():
    if running_local_cluster():
        pytest.fail("a local Ray cluster is already running; stop it first (`rayline cluster stop`)")
    settings = LocalClusterSettings(port=PORT, dashboard_port=DASHBOARD,
                                    autoscale=AutoscaleSettings(max_workers=3, idle_timeout_s=6))
    address, _ = start_local_cluster(settings)
    try:
        yield address
    finally:
        stop_local_cluster()


def submit(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.Popen([sys.executable, "-m", "rayline.cli", "submit", "--address", JOBS, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


class Timeline:
    """Worker-node counts sampled every second in a thread."""

    def __init__(self, gcs: str):
        self.gcs, self.samples, self._stop = gcs, [], threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            workers, launching = worker_node_count(self.gcs)
            self.samples.append((round(time.monotonic() - self._started, 1), workers, launching))
            self._stop.wait(1.0)

    def wait_for(self, predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.samples and predicate(self.samples[-1][1]):
                return True
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_an_etl_job_scales_the_cluster_up_and_back_to_zero(autoscaling_cluster, flights_csv, tmp_path):
    timeline = Timeline(autoscaling_cluster)
    try:
        assert timeline.wait_for(lambda w: w == 0, 30), "the cluster did not start with 0 workers"
        dest = tmp_path / "flights"
        job = submit("--job-id", "etl-autoscale", "etl", str(flights_csv), "--out", str(dest))
        out, err = job.communicate(timeout=600)
        assert job.returncode == 0, err[-3000:]
        peak = max(w for _, w, _ in timeline.samples)
        back_to_zero = timeline.wait_for(lambda w: w == 0, 120)
    finally:
        timeline.stop()
        print("\ntime s | worker nodes | launching")
        for t, workers, launching in timeline.samples:
            print(f"{t:6.1f} | {workers:12d} | {launching:9d}")
    assert peak >= 2, f"scaled only to {peak} worker nodes"
    assert back_to_zero, "idle worker nodes were not removed"
    manifest = json.loads((dest / "_manifest.json").read_text())
    assert (manifest["rows_in"], manifest["rows_out"], manifest["rows_rejected"]) == (336_776, 327_346, 0)
    assert "etl-autoscale" in err and "succeeded" in err


def test_a_job_with_a_bad_argument_fails_and_ray_job_logs_shows_why(autoscaling_cluster, tmp_path):
    missing = tmp_path / "nowhere.csv"
    job = submit("--job-id", "etl-bad-arg", "etl", str(missing), "--out", str(tmp_path / "o"))
    _, err = job.communicate(timeout=300)
    assert job.returncode == 2 and "etl-bad-arg FAILED" in err and "exit code 2" in err  # the job's own code
    again = submit("--job-id", "etl-bad-arg", "--no-wait", "data", "fetch")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2 and "--job-id etl-bad-arg: a job with that id already exists" in err
    logs = ray_cli("job", "logs", "--address", JOBS, "etl-bad-arg", timeout=120)
    assert logs.returncode == 0, logs.stderr
    assert f"no such file or folder: {missing}" in logs.stdout


def ray_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Ray's own CLI against the test cluster, with the token sent as the README says."""
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    return subprocess.run([sys.executable, "-m", "ray.scripts.scripts", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_ray_job_submit_with_the_working_dir_runs_rayline(autoscaling_cluster, tmp_path):
    out = tmp_path / "raw"
    done = ray_cli("job", "submit", "--address", JOBS, "--working-dir", ".",
                   "--submission-id", "ray-cli-data", "--", "rayline", "data", "fetch", "--out", str(out))
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "ray-cli-data" in done.stdout + done.stderr and "succeeded" in (done.stdout + done.stderr).lower()
    assert sum(1 for _ in open(out / "flights.csv")) == 336_777  # header + every flight


def test_relative_paths_of_rayline_submit_mean_the_submitters_folder(autoscaling_cluster, tmp_path):
    out = os.path.relpath(tmp_path / "raw", ROOT)  # relative to the folder `rayline submit` runs in
    job = submit("--job-id", "relative-out", "data", "fetch", f"--out={out}")
    _, err = job.communicate(timeout=300)
    assert job.returncode == 0, err[-3000:]
    assert sum(1 for _ in open(tmp_path / "raw" / "flights.csv")) == 336_777
