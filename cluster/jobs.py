"""Run rayline commands as Ray jobs on a cluster, and follow their logs.

    rayline submit etl data/raw/flights.csv --out data/processed/flights
    (the same as: ray job submit --runtime-env runtime_env.yaml -- rayline etl /abs/... --out /abs/...)

The runtime environment is the one in runtime_env.yaml. Local paths in the arguments become
absolute, because a job runs in a copy of the working tree; URIs (s3://...) pass unchanged.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cluster.auth import send_token_if_available
from cluster.errors import ClusterError, ConfigError

DEFAULT_JOB_ADDRESS = "http://127.0.0.1:8265"
RUNTIME_ENV_FILE = "runtime_env.yaml"
SUBMITTABLE = ("etl", "train", "compare", "models", "bench", "data")
# Flags whose value is a path, per rayline command (positional arguments that exist are paths too).
_PATH_FLAGS = ("--out", "--data", "--storage-path", "--registry", "--results-dir", "--source")


@dataclass(frozen=True)
class JobRequest:
    """A rayline command to run as a Ray job."""

    command: str
    args: tuple[str, ...] = ()
    address: str = DEFAULT_JOB_ADDRESS
    submission_id: str | None = None
    runtime_env_file: str = RUNTIME_ENV_FILE
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.command not in SUBMITTABLE:
            raise ConfigError(f"rayline submit: '{self.command}' cannot run as a job; "
                              f"choose from {', '.join(SUBMITTABLE)}")


def load_runtime_env(path: str, extra_env: dict[str, str] | None = None) -> dict:
    """runtime_env.yaml, with working_dir made absolute (relative to the file)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"no runtime environment file {path} (run from the repository root)")
    env = yaml.safe_load(file.read_text()) or {}
    if "working_dir" in env and "://" not in env["working_dir"]:
        env["working_dir"] = str((file.parent / env["working_dir"]).resolve())
    env["env_vars"] = {**env.get("env_vars", {}), **(extra_env or {})}
    return env


def entrypoint(request: JobRequest) -> str:
    """The job's shell command: `rayline COMMAND ARGS` with local paths made absolute."""
    return shlex.join(["rayline", request.command, *absolute_paths(list(request.args))])


def absolute_paths(args: list[str]) -> list[str]:
    """Arguments with relative local paths made absolute (path flags' values, existing paths)."""
    out = []
    for i, arg in enumerate(args):
        after_path_flag = i > 0 and args[i - 1] in _PATH_FLAGS
        is_path = not arg.startswith("-") and "://" not in arg and (after_path_flag or os.path.exists(arg))
        out.append(os.path.abspath(arg) if is_path and not os.path.isabs(arg) else arg)
    return out


def submit_job(request: JobRequest) -> str:
    """Submit the job; returns its submission id."""
    client = _client(request.address)
    env = load_runtime_env(request.runtime_env_file, request.extra_env)
    try:
        return client.submit_job(entrypoint=entrypoint(request), runtime_env=env,
                                 submission_id=request.submission_id)
    except (RuntimeError, ValueError) as e:
        raise ClusterError(f"could not submit the job to {request.address}: {e}") from e


def follow_job(address: str, job_id: str, write: Callable[[str], None]) -> tuple[str, str]:
    """Stream the job's logs to `write` until it ends; returns (status, message)."""
    client = _client(address)

    async def tail() -> None:
        async for lines in client.tail_job_logs(job_id):
            write(lines)

    asyncio.run(tail())
    for _ in range(50):  # the log stream ends a moment before the status is final
        info = client.get_job_info(job_id)
        if info.status.is_terminal():
            return str(info.status), info.message or ""
        time.sleep(0.2)
    return str(info.status), info.message or ""


def _client(address: str):
    from ray.job_submission import JobSubmissionClient

    send_token_if_available()
    try:
        return JobSubmissionClient(address)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ClusterError(f"no Ray job API at {address} (is the cluster running? "
                           f"`rayline cluster status`): {e}") from e
