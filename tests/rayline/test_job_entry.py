"""The `ray submit` entry point runs a rayline command against the cluster it is on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENTRY = Path(__file__).resolve().parents[2] / "rayline" / "job_entry.py"


def test_entry_runs_rayline_and_passes_its_exit_code(tmp_path):
    done = subprocess.run([sys.executable, str(ENTRY), "etl", str(tmp_path / "missing.csv"), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no such file or folder" in done.stderr
