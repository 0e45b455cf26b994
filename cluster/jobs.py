"""Run rayline commands as Ray jobs on a cluster, and follow their logs.

    rayline submit etl data/raw/flights.csv --out data/processed/flights
    (the same as: ray job submit --runtime-env runtime_env.yaml -- rayline etl /abs/... --out /abs/...)

The runtime environment is the one in runtime_env.yaml. A job's code is a copy of the working
tree, but it runs in the submitter's folder when that folder is on the node (a local cluster),
so relative paths, globs and the commands' default paths mean what they mean here. On a remote
cluster they resolve in the job's copy of the tree: use s3:// URIs there.
"""

from __future__ import annotations

import asyncio
import contextlib
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
            hint = (" (Serve apps outlive a job: `rayline serve start --address ADDRESS` deploys them "
                    "onto the cluster)") if self.command == "serve" else ""
            raise ConfigError(f"rayline submit: '{self.command}' cannot run as a job; "
                              f"choose from {', '.join(SUBMITTABLE)}{hint}")


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


def entrypoint(request: JobRequest, cwd: str | None = None) -> str:
    """The job's shell command: `rayline COMMAND ARGS`, run in `cwd` (default: this folder) when
    the node has it, else (a remote cluster) in the job's copy of the tree, saying so."""
    folder = cwd or os.getcwd()
    note = f"rayline: {folder} is not on this node; relative paths resolve in the job's copy of the tree"
    command = shlex.join(["rayline", request.command, *request.args])
    return f"cd {shlex.quote(folder)} 2>/dev/null || echo {shlex.quote(note)} >&2; {command}"


def submit_job(request: JobRequest) -> str:
    """Submit the job; returns its submission id."""
    client = _client(request.address)
    env = load_runtime_env(request.runtime_env_file, request.extra_env)
    try:
        return client.submit_job(entrypoint=entrypoint(request), runtime_env=env,
                                 submission_id=request.submission_id)
    except (RuntimeError, ValueError) as e:
        reason = _last_line(str(e))
        if "already exists" in str(e):
            raise ConfigError(f"--job-id {request.submission_id}: a job with that id already exists at "
                              f"{request.address} (ids are unique; choose another)") from e
        raise ClusterError(f"could not submit the job to {request.address}: {reason}") from e


def _last_line(text: str) -> str:
    """The last non-empty line of a server error (Ray's job API sends the whole traceback)."""
    lines = [line.strip() for line in text.replace("\\n", "\n").splitlines() if line.strip(" .:")]
    return lines[-1].rstrip(".") if lines else text


def follow_job(address: str, job_id: str, write: Callable[[str], None]) -> tuple[str, str, int | None]:
    """Stream the job's logs to `write` until it ends; returns (status, message, exit code)."""
    client = _client(address)

    async def tail() -> None:
        async for lines in client.tail_job_logs(job_id):
            write(lines)

    asyncio.run(tail())
    for _ in range(50):  # the log stream ends a moment before the status is final
        info = client.get_job_info(job_id)
        if info.status.is_terminal():
            break
        time.sleep(0.2)
    return str(info.status), info.message or "", info.driver_exit_code


def _client(address: str):
    from ray.exceptions import RpcError
    from ray.job_submission import JobSubmissionClient

    send_token_if_available()
    try:
        with _api_address(address):
            return JobSubmissionClient(address)
    except (ConnectionError, RuntimeError, ValueError, RpcError) as e:
        raise ClusterError(f"no Ray job API at {address} (is the cluster running? "
                           f"`rayline cluster status`): {e}") from e


@contextlib.contextmanager
def _api_address(address: str):
    """Ray's client prefers RAY_API_SERVER_ADDRESS, then RAY_ADDRESS, to the address it is given;
    make it use ours (a RAY_ADDRESS like 127.0.0.1:6379 would send it to the GCS instead)."""
    name, before = "RAY_API_SERVER_ADDRESS", os.environ.get("RAY_API_SERVER_ADDRESS")
    os.environ[name] = address
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
