"""Run a command and sample the resident memory (RSS) of its whole process tree.

RSS is read from /proc cheaply; PSS (smaps) was tried and its page-table walks cost the
2-core machine seconds of CPU per run, disturbing what is measured. Summed RSS counts
shared libraries once per process, so it overstates, never understates, the peak.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class MeasuredRun:
    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    peak_tree_mb: float


def run_measured(cmd: list[str], env: dict | None = None, interval: float = 0.2) -> MeasuredRun:
    """Run `cmd` to the end; the peak is the largest sum of RSS over its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            peak[0] = max(peak[0], _tree_bytes(root))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    return MeasuredRun(proc.returncode, stdout, stderr, time.perf_counter() - started, peak[0] / 2**20)


def _tree_bytes(root: psutil.Process) -> float:
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total
