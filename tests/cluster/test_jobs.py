"""Building a job: the runtime environment from runtime_env.yaml, absolute local paths, a clear
error for a command that cannot be a job (pure: no cluster)."""

from __future__ import annotations

import os

import pytest

from cluster.errors import ConfigError
from cluster.jobs import JobRequest, absolute_paths, entrypoint, load_runtime_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_runtime_env_is_the_working_tree_without_data_or_venv():
    env = load_runtime_env(os.path.join(ROOT, "runtime_env.yaml"), {"EXTRA": "1"})
    assert env["working_dir"] == ROOT
    assert {".venv", "data", "models", ".git"} <= set(env["excludes"])
    assert env["env_vars"]["EXTRA"] == "1" and env["env_vars"]["RAY_USAGE_STATS_ENABLED"] == "0"


def test_local_paths_become_absolute_and_uris_do_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text("x")
    args = ["in.csv", "--out", "out/dir", "--chunk-mb", "8", "s3://b/k", "--data", "/abs/x"]
    assert absolute_paths(args) == [str(tmp_path / "in.csv"), "--out", str(tmp_path / "out/dir"),
                                    "--chunk-mb", "8", "s3://b/k", "--data", "/abs/x"]


def test_entrypoint_is_a_quoted_rayline_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    request = JobRequest("etl", ("s3://b/flights/", "--out", "my out"))
    assert entrypoint(request) == f"rayline etl s3://b/flights/ --out '{tmp_path}/my out'"


def test_a_command_that_cannot_be_a_job_is_refused():
    with pytest.raises(ConfigError, match="'serve' cannot run as a job"):
        JobRequest("serve")
