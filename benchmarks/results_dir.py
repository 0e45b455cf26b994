"""The benchmarks' results folder: made and checked for writing before a benchmark runs, so a
bad --results-dir fails at once with its name instead of after minutes of measuring."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cluster.errors import ConfigError


def results_folder(path: str) -> Path:
    """`path` as a folder that exists and takes files; ConfigError naming it otherwise."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as e:
        raise ConfigError(f"--results-dir {path}: cannot write results there ({e.strerror or e})") from e
    return folder
