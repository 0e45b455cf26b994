"""Building a job: the runtime environment from runtime_env.yaml, the entrypoint that runs in the
submitter's folder, clear errors for a command that cannot be a job (pure: no cluster)."""

from __future__ import annotations

import os
import subprocess

import pytest

from cluster.errors import ConfigError
from cluster.jobs import JobRequest, entrypoint, load_runtime_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_runtime_env_is_the_working_tree_without_data_or_venv():
    env = load_runtime_env(os.path.join(ROOT, "runtime_env.yaml"), {"EXTRA": "1"})
    assert env["working_dir"] == ROOT
    assert {"/.venv", "/data", "/models", "/.git"} <= set(env["excludes"])
    assert env["env_vars"]["EXTRA"] == "1" and env["env_vars"]["RAY_USAGE_STATS_ENABLED"] == "0"


def test_the_entrypoint_runs_rayline_in_the_submitters_folder_else_says_where(tmp_path):
    request = JobRequest("etl", ("data/raw/*.csv", "--out=my out"))
    command = entrypoint(request, cwd=str(tmp_path / "my tree"))
    assert command.startswith(f"cd '{tmp_path}/my tree' 2>/dev/null || echo ")
    assert command.endswith("; rayline etl 'data/raw/*.csv' '--out=my out'")
    in_tmp = entrypoint(request, cwd=str(tmp_path)).replace("; rayline", "; pwd #")
    here = subprocess.run(["bash", "-c", in_tmp], capture_output=True, text=True)
    assert here.stdout.strip() == str(tmp_path) and here.stderr == ""
    elsewhere = subprocess.run(["bash", "-c", command.replace("; rayline", "; pwd #")], capture_output=True,
                               text=True, cwd=ROOT)
    assert elsewhere.stdout.strip() == ROOT and "is not on this node" in elsewhere.stderr


def test_a_command_that_cannot_be_a_job_is_refused():
    with pytest.raises(ConfigError, match="'serve' cannot run as a job"):
        JobRequest("serve")


def test_rayline_submit_checks_the_arguments_before_submitting(capsys):
    from rayline.cli import main

    with pytest.raises(SystemExit) as exit_info:  # no cluster needed: it fails before submitting
        main(["submit", "--address", "http://127.0.0.1:9", "etl", "x.csv", "--bogus-flag"])
    assert exit_info.value.code == 2
    assert "usage: rayline etl" in capsys.readouterr().err


def test_the_job_api_address_given_wins_over_a_ray_address_in_the_environment(monkeypatch):
    from cluster.errors import ClusterError
    from cluster.jobs import submit_job

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # a GCS address: Ray's client would wait for it
    with pytest.raises(ClusterError, match="no Ray job API at http://127.0.0.1:9") as error:
        submit_job(JobRequest("data", ("fetch",), address="http://127.0.0.1:9"))
    assert "GCS" not in str(error.value)  # it asked the job API, not RAY_ADDRESS's GCS
    assert "RAY_API_SERVER_ADDRESS" not in os.environ


def test_a_server_error_becomes_its_last_meaningful_line():
    from cluster.jobs import _last_line

    text = ("Request failed with status code 500: Traceback (most recent call last):\n  File \"x\"\n"
            "ValueError: Job with submission_id j1 already exists. "
            "Please use a different submission_id.\n.\n.")
    assert _last_line(text) == ("ValueError: Job with submission_id j1 already exists. "
                                "Please use a different submission_id")


def test_rayline_submit_needs_the_subcommand_of_a_command_group(capsys):
    from rayline.cli import main

    assert main(["submit", "--address", "http://127.0.0.1:9", "models"]) == 2  # before submitting
    assert "rayline submit models: name its subcommand too" in capsys.readouterr().err
